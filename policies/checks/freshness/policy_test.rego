package arbiter.checks.freshness_test

import data.arbiter.checks.freshness as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {
	"eu": {"regulations": _every_regulation, "evidence": {"max_age_days": 90, "clock_skew_seconds": 300}},
	"us-nyc": {"regulations": _every_regulation, "evidence": {"max_age_days": 90, "bias_audit_max_age_months": 12, "clock_skew_seconds": 300}},
	"ca": {"regulations": _every_regulation, "evidence": {"max_age_days": 90}},
}

_input(region, evidence) := _staged("deployment", region, evidence)

_staged(stage, region, evidence) := {
	"event": {"stage": stage, "region": region, "now": "2026-11-23T12:00:00Z"},
	"evidence": evidence,
}

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

test_fail_undated_evidence_denies_at_deployment_and_monitoring if {
	every stage in ["deployment", "monitoring"] {
		policy.deny == {{
			"rule": "EVIDENCE-UNDATED",
			"title": "Evidence carries its generation time",
			"regulation": ["eu-ai-act", "sr-26-2"],
			"severity": "high",
			"message": "evidence has no RFC 3339 generated_at; its freshness cannot be judged",
			"evidence_keys": ["generated_at"],
		}} with input as _staged(stage, "eu", {})
			with data.regions as _data
		count(policy.warn) == 0 with input as _staged(stage, "eu", {}) with data.regions as _data
	}
}

test_fail_malformed_or_null_generated_at_is_undated if {
	every generated_at in ["2026-11-20", "yesterday", null, 1795394852, {}] {
		{v.rule | some v in policy.deny} == {"EVIDENCE-UNDATED"} with input as _input("eu", {"generated_at": generated_at})
			with data.regions as _data
	}
}

test_fail_undated_evidence_without_a_stage_denies if {
	{v.rule | some v in policy.deny} == {"EVIDENCE-UNDATED"} with input as {"event": {"region": "eu", "now": "2026-11-23T12:00:00Z"}, "evidence": {}}
		with data.regions as _data
}

test_fail_undated_evidence_warns_at_training if {
	policy.warn == {{
		"rule": "EVIDENCE-UNDATED",
		"title": "Evidence carries its generation time",
		"regulation": ["eu-ai-act"],
		"severity": "low",
		"message": "evidence has no RFC 3339 generated_at; its freshness cannot be judged",
		"evidence_keys": ["generated_at"],
	}} with input as _staged("training", "eu", {})
		with data.regions as _data
	count(policy.deny) == 0 with input as _staged("training", "eu", {}) with data.regions as _data
}

test_fail_future_generated_at if {
	policy.deny == {{
		"rule": "EVIDENCE-FUTURE-DATED",
		"title": "Evidence not dated after the decision clock",
		"regulation": ["eu-ai-act", "sr-26-2", "nyc-ll144"],
		"severity": "high",
		"message": "generated_at is \"2099-01-01T00:00:00Z\", after the decision clock (input.event.now) by more than the allowed clock skew of 300 s",
		"evidence_keys": ["generated_at"],
	}} with input as _input("eu", {"generated_at": "2099-01-01T00:00:00Z"})
		with data.regions as _data
}

test_success_generated_at_within_the_clock_skew if {
	count(policy.deny) == 0 with input as _input("eu", {"generated_at": "2026-11-23T12:05:00Z"}) with data.regions as _data
	{v.rule | some v in policy.deny} == {"EVIDENCE-FUTURE-DATED"} with input as _input("eu", {"generated_at": "2026-11-23T12:05:00.001Z"})
		with data.regions as _data
}

test_fail_region_without_clock_skew_allows_none if {
	count(policy.deny) == 0 with input as _input("ca", {"generated_at": "2026-11-23T12:00:00Z"}) with data.regions as _data
	{v.rule | some v in policy.deny} == {"EVIDENCE-FUTURE-DATED"} with input as _input("ca", {"generated_at": "2026-11-23T12:00:01Z"})
		with data.regions as _data
}

test_fail_future_bias_audit if {
	inp := _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": "2099-01-01T00:00:00Z"}})
	{v.rule: v.message | some v in policy.deny} == {
		"EVIDENCE-FUTURE-DATED": "bias_audit.completed_at is \"2099-01-01T00:00:00Z\", after the decision clock (input.event.now) by more than the allowed clock skew of 300 s",
		"LL144-BIAS-AUDIT-STALE": "bias audit dated \"2099-01-01T00:00:00Z\", after the decision clock: no audit within the last 12 months is shown",
	} with input as inp
		with data.regions as _data
	{v.evidence_keys | some v in policy.deny} == {["bias_audit.completed_at"]} with input as inp with data.regions as _data
}

test_fail_future_bias_audit_outside_nyc_is_still_future_dated if {
	inp := _input("eu", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": "2099-01-01T00:00:00Z"}})
	{v.rule | some v in policy.deny} == {"EVIDENCE-FUTURE-DATED"} with input as inp with data.regions as _data
}

test_fail_malformed_bias_audit_date_in_nyc if {
	every completed_at in ["last year", null, 20250101] {
		inp := _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": completed_at}})
		{v.message | some v in policy.deny} == {"no dated bias audit (bias_audit.completed_at) in the evidence"} with input as inp
			with data.regions as _data
	}
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
		"message": "bias audit completed 418 days ago, more than the 12 months allowed",
		"evidence_keys": ["bias_audit.completed_at"],
		"waivable": false,
	}} with input as _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": "2025-10-01T00:00:00Z"}})
		with data.regions as _data
}

test_success_bias_audit_within_a_calendar_year_across_a_leap_day if {
	# 365 days after 2027-03-01 is 2028-02-29, a day before the audit's first anniversary.
	inp := object.union(
		_input("us-nyc", {"generated_at": "2028-02-28T00:00:00Z", "bias_audit": {"completed_at": "2027-03-01T00:00:00Z"}}),
		{"event": {"now": "2028-02-29T12:00:00Z"}},
	)
	count(policy.deny) == 0 with input as inp with data.regions as _data
}

test_fail_bias_audit_a_moment_past_its_anniversary if {
	inp := object.union(
		_input("us-nyc", {"generated_at": "2028-02-28T00:00:00Z", "bias_audit": {"completed_at": "2027-03-01T00:00:00Z"}}),
		{"event": {"now": "2028-03-01T00:00:00.000000001Z"}},
	)
	{v.rule | some v in policy.deny} == {"LL144-BIAS-AUDIT-STALE"} with input as inp with data.regions as _data
}

test_fail_bias_audit_with_an_impossible_time_is_undated if {
	# Read as later instants, these would make an audit of 2025-11-20 look young enough.
	every completed_at in ["2025-11-20T99:99:99Z", "2025-11-20T00:00:00-99:59", "2025-11-31T00:00:00Z"] {
		inp := _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": completed_at}})
		{v.message | some v in policy.deny} == {"no dated bias audit (bias_audit.completed_at) in the evidence"} with input as inp
			with data.regions as _data
	}
}

test_fail_timestamps_before_1970_are_undated if {
	# Year 0000 read by the calendar arithmetic came out a day apart in Go and in Wasm; no real one predates 1970.
	every ts in ["0000-01-01T00:00:00Z", "0000-02-01T00:00:00Z", "1969-12-31T23:00:00Z"] {
		audit := _input("us-nyc", {"generated_at": "2026-11-20T00:00:00Z", "bias_audit": {"completed_at": ts}})
		{v.message | some v in policy.deny} == {"no dated bias audit (bias_audit.completed_at) in the evidence"} with input as audit
			with data.regions as _data
		{v.rule | some v in policy.deny} == {"EVIDENCE-UNDATED"} with input as _input("eu", {"generated_at": ts})
			with data.regions as _data
	}
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
