package arbiter.checks.fairness_test

import data.arbiter.checks.fairness as policy

_limits(enforcement) := {"eu": {"fairness": {
	"impact_ratio_min": 0.8,
	"demographic_parity_difference_max": 0.1,
	"equalized_odds_difference_max": 0.1,
	"min_group_size": 30,
	"enforcement": enforcement,
}}}

_input(stage, fairness) := {
	"event": {"stage": stage, "region": "eu", "now": "2026-11-23T00:00:00Z"},
	"evidence": {"fairness": fairness},
}

_sex(female_ratio, female_count, dp, eo) := {"sex": {
	"groups": {
		"Female": {"count": female_count, "impact_ratio": female_ratio},
		"Male": {"count": 500, "impact_ratio": 1},
	},
	"demographic_parity_difference": dp,
	"equalized_odds_difference": eo,
}}

test_success_fair_model if {
	count(policy.deny) == 0 with input as _input("deployment", _sex(0.9, 400, 0.05, 0.05))
		with data.regions as _limits("deny")
	count(policy.warn) == 0 with input as _input("deployment", _sex(0.9, 400, 0.05, 0.05))
		with data.regions as _limits("deny")
}

test_fail_impact_ratio_below_minimum if {
	policy.deny == {{
		"rule": "FAIR-IMPACT-RATIO",
		"title": "Impact ratio at or above the region's minimum",
		"regulation": ["eeoc-ugesp", "nyc-ll144", "eu-ai-act", "uk-gdpr-duaa", "ca-dadm", "sg-mas-feat"],
		"severity": "high",
		"message": "impact ratio of sex group \"Female\" is 0.75, below the minimum 0.8",
		"evidence_keys": ["fairness.sex.groups.Female.impact_ratio"],
	}} with input as _input("deployment", _sex(0.75, 400, 0.05, 0.05))
		with data.regions as _limits("deny")
}

test_success_impact_ratio_of_small_or_undefined_group_is_not_compared if {
	count(policy.deny) == 0 with input as _input("deployment", _sex(0.5, 12, 0.05, 0.05))
		with data.regions as _limits("deny")
	count(policy.deny) == 0 with input as _input("deployment", _sex(null, 400, 0.05, 0.05))
		with data.regions as _limits("deny")
}

test_fail_parity_gap if {
	policy.deny == {{
		"rule": "FAIR-DP-GAP",
		"title": "Demographic parity difference within the region's maximum",
		"regulation": ["eu-ai-act", "uk-gdpr-duaa", "ca-dadm", "sg-mas-feat"],
		"severity": "high",
		"message": "demographic parity difference on sex is 0.2, above the maximum 0.1",
		"evidence_keys": ["fairness.sex.demographic_parity_difference"],
	}} with input as _input("deployment", _sex(0.9, 400, 0.2, 0.05))
		with data.regions as _limits("deny")
}

test_fail_odds_gap if {
	policy.deny == {{
		"rule": "FAIR-EO-GAP",
		"title": "Equalized odds difference within the region's maximum",
		"regulation": ["eu-ai-act", "uk-gdpr-duaa", "ca-dadm", "sg-mas-feat"],
		"severity": "high",
		"message": "equalized odds difference on sex is 0.15, above the maximum 0.1",
		"evidence_keys": ["fairness.sex.equalized_odds_difference"],
	}} with input as _input("deployment", _sex(0.9, 400, 0.05, 0.15))
		with data.regions as _limits("deny")
}

test_fail_missing_fairness_evidence_at_deployment if {
	policy.deny == {{
		"rule": "FAIR-EVIDENCE-MISSING",
		"title": "Fairness evidence present",
		"regulation": ["eu-ai-act", "eeoc-ugesp", "nyc-ll144"],
		"severity": "high",
		"message": "no fairness evidence: evaluate the model per sensitive attribute",
		"evidence_keys": ["fairness"],
	}} with input as {"event": {"stage": "deployment", "region": "eu"}, "evidence": {}}
		with data.regions as _limits("deny")
}

test_success_missing_fairness_evidence_is_fine_at_monitoring if {
	count(policy.deny) == 0 with input as {"event": {"stage": "monitoring", "region": "eu"}, "evidence": {}}
		with data.regions as _limits("deny")
}

test_success_voluntary_region_warns_instead_of_denying if {
	count(policy.deny) == 0 with input as _input("deployment", _sex(0.75, 400, 0.2, 0.15))
		with data.regions as _limits("warn")
	rules := {v.rule | some v in policy.warn} with input as _input("deployment", _sex(0.75, 400, 0.2, 0.15))
		with data.regions as _limits("warn")
	rules == {"FAIR-IMPACT-RATIO", "FAIR-DP-GAP", "FAIR-EO-GAP"}
}

test_success_small_group_is_reported_as_a_warning if {
	policy.warn == {{
		"rule": "FAIR-SMALL-GROUP",
		"title": "Groups too small to compare",
		"regulation": ["nyc-ll144", "eu-ai-act"],
		"severity": "low",
		"message": "sex group \"Female\" has 12 rows, fewer than 30; left out of the impact-ratio comparison",
		"evidence_keys": ["fairness.sex.groups.Female.count"],
	}} with input as _input("deployment", _sex(0.5, 12, 0.05, 0.05))
		with data.regions as _limits("deny")
}
