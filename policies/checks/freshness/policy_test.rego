package arbiter.checks.freshness_test

import data.arbiter.checks.freshness as policy

_data := {
	"eu": {"evidence": {"max_age_days": 90}},
	"us-nyc": {"evidence": {"max_age_days": 90, "bias_audit_max_age_days": 365}},
}

_input(region, evidence) := {"event": {"region": region, "now": "2026-11-23T12:00:00Z"}, "evidence": evidence}

test_success_fresh_evidence if {
	inp := _input("eu", {"generated_at": "2026-11-20T00:00:00Z"})
	count(policy.deny) == 0 with input as inp with data.regions as _data
	count(policy.warn) == 0 with input as inp with data.regions as _data
}

test_fail_stale_evidence if {
	policy.deny == {{
		"rule": "EVIDENCE-STALE",
		"title": "Evidence younger than the region's maximum age",
		"regulation": ["eu-ai-act", "sr-26-2"],
		"severity": "high",
		"message": "evidence generated 175 days ago, more than the maximum of 90",
		"evidence_keys": ["generated_at"],
	}} with input as _input("eu", {"generated_at": "2026-06-01T00:00:00Z"})
		with data.regions as _data
}

test_fail_undated_evidence_warns if {
	policy.warn == {{
		"rule": "EVIDENCE-UNDATED",
		"title": "Evidence carries its generation time",
		"regulation": ["eu-ai-act"],
		"severity": "low",
		"message": "evidence has no RFC 3339 generated_at; its freshness cannot be judged",
		"evidence_keys": ["generated_at"],
	}} with input as _input("eu", {})
		with data.regions as _data
	count(policy.deny) == 0 with input as _input("eu", {}) with data.regions as _data
}

test_success_recent_bias_audit if {
	inp := _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": "2025-11-24T00:00:00Z"}})
	count(policy.deny) == 0 with input as inp with data.regions as _data
}

test_fail_bias_audit_older_than_a_year if {
	policy.deny == {{
		"rule": "LL144-BIAS-AUDIT-STALE",
		"title": "Bias audit no older than the region allows",
		"regulation": ["nyc-ll144"],
		"severity": "critical",
		"message": "bias audit completed 418 days ago, more than the maximum of 365",
		"evidence_keys": ["bias_audit.completed_at"],
	}} with input as _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": "2025-10-01T00:00:00Z"}})
		with data.regions as _data
}

test_fail_missing_bias_audit if {
	[v] := [v | some v in policy.deny] with input as _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z"})
		with data.regions as _data
	v.rule == "LL144-BIAS-AUDIT-STALE"
	v.message == "no dated bias audit (bias_audit.completed_at) in the evidence"
}

test_success_bias_audit_not_required_outside_nyc if {
	count(policy.deny) == 0 with input as _input("eu", {"generated_at": "2026-11-20T00:00:00Z"}) with data.regions as _data
}
