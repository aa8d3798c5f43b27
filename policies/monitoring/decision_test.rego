package arbiter.monitoring_test

import data.arbiter.monitoring

_regions := {"eu": {
	"fairness": {
		"impact_ratio_min": 0.8, "demographic_parity_difference_max": 0.1,
		"equalized_odds_difference_max": 0.1, "min_group_size": 30, "enforcement": "deny",
	},
	"performance": {"accuracy_min": 0.6, "roc_auc_min": 0.65},
	"drift": {"psi_max": 0.2, "ks_p_value_min": 0.01},
	"evidence": {"max_age_days": 90, "clock_skew_seconds": 300},
	"human_review_risk_tiers": ["high"],
}}

_input(psi) := {
	"event": {"stage": "monitoring", "region": "eu", "now": "2026-11-23T12:00:00Z"},
	"subject": {"model": "credit", "version": "2"},
	"evidence": {
		"generated_at": "2026-11-23T00:00:00Z",
		"performance": {"accuracy": 0.7, "roc_auc": 0.7},
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
