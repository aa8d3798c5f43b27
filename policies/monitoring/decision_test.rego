package arbiter.monitoring_test

import data.arbiter.monitoring

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
	"drift": {"psi_max": 0.2, "ks_p_value_min": 0.01},
	"evidence": {"max_age_days": 90, "clock_skew_seconds": 300},
	"human_review_risk_tiers": ["high"],
}}

_model_sha256 := "5f0c6e1d2b3a49e8c7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4"

_input(psi) := {
	"event": {"stage": "monitoring", "region": "eu", "now": "2026-11-23T12:00:00Z"},
	"subject": {"model": "credit", "version": "2", "model_sha256": _model_sha256},
	"evidence": {
		"generated_at": "2026-11-23T00:00:00Z",
		"subject": {"model_sha256": _model_sha256},
		"performance": {"accuracy": 0.7, "roc_auc": 0.7},
		"fairness": {"sex": {
			"groups": {"F": {"count": 300, "impact_ratio": 0.9}, "M": {"count": 300, "impact_ratio": 1}},
			"demographic_parity_difference": 0.04,
			"equalized_odds_difference": 0.03,
		}},
		"drift": {"features": {"age": {"test": "ks", "p_value": 0.5, "psi": psi}}},
	},
	"model_card": {"risk_tier": "limited"},
}

test_success_stable_model_in_service if {
	d := monitoring.decision with input as _input(0.05) with data.regions as _regions
	d.allow == true
	d.warn == set()
}

test_fail_drift_blocks if {
	d := monitoring.decision with input as _input(0.4) with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"DRIFT-PSI"}
}

test_fail_drift_without_psi_blocks if {
	d := monitoring.decision with input as _input(null) with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"DRIFT-PSI"}
}

test_fail_undated_monitoring_evidence_blocks if {
	inp := object.union(_input(0.05), {"evidence": {"generated_at": null}})
	d := monitoring.decision with input as inp with data.regions as _regions
	{v.rule | some v in d.deny} == {"EVIDENCE-UNDATED"}
}

test_fail_evidence_of_another_model_blocks if {
	other := "0000000000000000000000000000000000000000000000000000000000000000"
	inp := object.union(_input(0.05), {"evidence": {"subject": {"model_sha256": other}}})
	d := monitoring.decision with input as inp with data.regions as _regions
	{v.rule | some v in d.deny} == {"EVIDENCE-MODEL-MISMATCH"}
}

test_success_evidence_not_bound_to_the_model_warns if {
	inp := object.union(_input(0.05), {"evidence": {"subject": null}})
	d := monitoring.decision with input as inp with data.regions as _regions
	d.allow == true
	{v.rule | some v in d.warn} == {"EVIDENCE-MODEL-UNBOUND"}
}

test_fail_monitoring_without_fairness_evidence_blocks if {
	inp := object.union(_input(0.05), {"evidence": {"fairness": null}})
	d := monitoring.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"FAIR-EVIDENCE-MISSING"}
}

test_fail_unacceptable_risk_tier_blocks_in_service if {
	inp := object.union(_input(0.05), {"model_card": {"risk_tier": "unacceptable"}})
	d := monitoring.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"RISK-UNACCEPTABLE"}
	d.waived == set()
}

test_fail_unacceptable_risk_tier_is_not_waived_in_service if {
	inp := object.union(_input(0.05), {
		"model_card": {"risk_tier": "unacceptable"},
		"waivers": [{"id": "w-1", "rule": "RISK-UNACCEPTABLE", "model": "credit", "region": "eu", "expires_at": "2027-01-01T00:00:00Z"}],
	})
	d := monitoring.decision with input as inp with data.regions as _regions
	{v.rule | some v in d.deny} == {"RISK-UNACCEPTABLE"}
	d.waived == set()
}
