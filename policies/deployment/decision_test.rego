package arbiter.deployment_test

import data.arbiter.deployment

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_regions := {"eu": {
	"regulations": _every_regulation,
	"fairness": {
		"impact_ratio_min": 0.8, "demographic_parity_difference_max": 0.1,
		"equalized_odds_difference_max": 0.1, "min_group_size": 30, "enforcement": "deny",
	},
	"performance": {"accuracy_min": 0.6, "roc_auc_min": 0.65},
	"data_quality": {"missing_rate_max": 0.05, "min_group_count": 30},
	"security": {"blocking_severities": ["critical", "high"]},
	"evidence": {"max_age_days": 90, "clock_skew_seconds": 300},
	"model_card": {"required_fields": ["owner", "intended_purpose", "risk_tier"]},
	"human_review_risk_tiers": ["high"],
}}

_model_sha256 := "5f0c6e1d2b3a49e8c7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4"

_evidence(accuracy) := {
	"generated_at": "2026-11-20T00:00:00Z",
	"subject": {"model_sha256": _model_sha256},
	"performance": {"accuracy": accuracy, "roc_auc": 0.7},
	"fairness": {"sex": {
		"groups": {"F": {"count": 300, "impact_ratio": 0.9}, "M": {"count": 300, "impact_ratio": 1}},
		"demographic_parity_difference": 0.04,
		"equalized_odds_difference": 0.03,
	}},
	"data_quality": {"missing_rate": 0.01},
	"security": {"findings": []},
}

_input(accuracy, waivers) := {
	"event": {"stage": "deployment", "region": "eu", "now": "2026-11-23T12:00:00Z"},
	"subject": {"model": "credit", "version": "2", "model_sha256": _model_sha256},
	"evidence": _evidence(accuracy),
	"model_card": {"owner": "o", "intended_purpose": "p", "risk_tier": "high"},
	"waivers": waivers,
}

test_success_allow_with_human_review_obligation if {
	d := deployment.decision with input as _input(0.7, []) with data.regions as _regions
	d.allow == true
	d.deny == set()
	{o.type | some o in d.obligations} == {"human_review"}
}

test_fail_accuracy_denies if {
	d := deployment.decision with input as _input(0.5, []) with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"PERF-ACCURACY-MIN"}
}

test_success_waived_denial_allows_and_is_reported if {
	waiver := {"id": "w-1", "rule": "PERF-ACCURACY-MIN", "model": "credit", "region": "eu", "expires_at": "2026-12-31T00:00:00Z"}
	d := deployment.decision with input as _input(0.5, [waiver]) with data.regions as _regions
	d.allow == true
	[w] := [w | some w in d.waived]
	w.rule == "PERF-ACCURACY-MIN"
	w.waiver_id == "w-1"
}

test_fail_unknown_region_denies if {
	d := deployment.decision with input as object.union(_input(0.7, []), {"event": {"stage": "deployment", "region": "mars", "now": "2026-11-23T12:00:00Z"}})
		with data.regions as _regions
	d.allow == false
	"INPUT-REGION-UNKNOWN" in {v.rule | some v in d.deny}
}

test_fail_unacceptable_risk_is_not_waivable if {
	waiver := {"id": "w-1", "rule": "RISK-UNACCEPTABLE", "model": "credit", "region": "eu", "expires_at": "2026-12-31T00:00:00Z"}
	inp := object.union(_input(0.7, [waiver]), {"model_card": {"risk_tier": "unacceptable"}})
	d := deployment.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"RISK-UNACCEPTABLE"}
	d.waived == set()
	every v in d.deny {
		not "waivable" in object.keys(v)
	}
}

test_fail_stale_ll144_bias_audit_is_not_waivable if {
	waiver := {"id": "w-1", "rule": "LL144-BIAS-AUDIT-STALE", "model": "credit", "region": "us-nyc", "expires_at": "2026-12-31T00:00:00Z"}
	nyc := {"us-nyc": object.union(_regions.eu, {"evidence": {"bias_audit_max_age_months": 12}})}
	inp := object.union(_input(0.7, [waiver]), {
		"event": {"region": "us-nyc"},
		"evidence": {"bias_audit": {"completed_at": "2025-06-01T00:00:00Z"}},
	})
	d := deployment.decision with input as inp with data.regions as nyc
	d.allow == false
	{v.rule | some v in d.deny} == {"LL144-BIAS-AUDIT-STALE"}
	d.waived == set()
}

test_fail_input_rules_are_not_waivable if {
	waivers := [
		{"id": "w-1", "rule": "INPUT-CLOCK-INVALID", "model": "credit", "region": "eu", "expires_at": "2026-12-31T00:00:00Z"},
		{"id": "w-2", "rule": "INPUT-REGION-UNKNOWN", "model": "credit", "region": "mars", "expires_at": "2026-12-31T00:00:00Z"},
	]
	unknown := object.union(_input(0.7, waivers), {"event": {"region": "mars"}})
	d := deployment.decision with input as unknown with data.regions as _regions
	d.allow == false
	"INPUT-REGION-UNKNOWN" in {v.rule | some v in d.deny}
	d.waived == set()
}

test_fail_undated_evidence_denies if {
	inp := object.union(_input(0.7, []), {"evidence": {"generated_at": null}})
	d := deployment.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"EVIDENCE-UNDATED"}
}

test_fail_future_evidence_denies if {
	inp := object.union(_input(0.7, []), {"evidence": {"generated_at": "2099-01-01T00:00:00Z"}})
	d := deployment.decision with input as inp with data.regions as _regions
	{v.rule | some v in d.deny} == {"EVIDENCE-FUTURE-DATED"}
}

test_fail_missing_scan_and_data_quality_deny if {
	inp := object.union(_input(0.7, []), {"evidence": {"security": null, "data_quality": null}})
	d := deployment.decision with input as inp with data.regions as _regions
	{v.rule | some v in d.deny} == {"SEC-EVIDENCE-MISSING", "DQ-EVIDENCE-MISSING"}
}

test_fail_evidence_of_another_model_is_not_waivable if {
	waiver := {"id": "w-1", "rule": "EVIDENCE-MODEL-MISMATCH", "model": "credit", "region": "eu", "expires_at": "2026-12-31T00:00:00Z"}
	other := "0000000000000000000000000000000000000000000000000000000000000000"
	inp := object.union(_input(0.7, [waiver]), {"evidence": {"subject": {"model_sha256": other}}})
	d := deployment.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"EVIDENCE-MODEL-MISMATCH"}
	d.waived == set()
}

test_fail_evidence_not_bound_to_the_model_denies_unless_waived if {
	inp := object.union(_input(0.7, []), {"subject": {"model_sha256": null}})
	d := deployment.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"EVIDENCE-MODEL-UNBOUND"}

	waiver := {"id": "w-1", "rule": "EVIDENCE-MODEL-UNBOUND", "model": "credit", "region": "eu", "expires_at": "2026-12-31T00:00:00Z"}
	waived := deployment.decision with input as object.union(inp, {"waivers": [waiver]}) with data.regions as _regions
	waived.allow == true
	{v.rule | some v in waived.waived} == {"EVIDENCE-MODEL-UNBOUND"}
}
