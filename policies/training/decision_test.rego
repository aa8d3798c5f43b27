package arbiter.training_test

import data.arbiter.training

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_regions := {"eu": {
	"regulations": _every_regulation,
	"fairness": {
		"impact_ratio_min": 0.8, "demographic_parity_difference_max": 0.1,
		"equalized_odds_difference_max": 0.1, "min_group_size": 30, "enforcement": "deny",
	},
	"data_quality": {"missing_rate_max": 0.05, "min_group_count": 30},
}}

_input(count_b) := {
	"event": {"stage": "training", "region": "eu", "now": "2026-11-23T12:00:00Z"},
	"subject": {"model": "credit", "version": "2"},
	"evidence": {
		"data_quality": {"missing_rate": 0.01},
		"fairness": {"race": {
			"groups": {
				"A": {"count": 500, "impact_ratio": 1},
				"B": {"count": count_b, "impact_ratio": 0.9},
				"C": {"count": 400, "impact_ratio": 0.95},
			},
			"demographic_parity_difference": 0.02,
			"equalized_odds_difference": 0.03,
		}},
	},
}

test_success_balanced_training_data if {
	d := training.decision with input as _input(200) with data.regions as _regions
	d.allow == true
	d.obligations == set()
}

test_fail_small_group_blocks_training if {
	d := training.decision with input as _input(10) with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"DQ-GROUP-COUNT"}
	{v.rule | some v in d.warn} == {"FAIR-SMALL-GROUP"}
}

test_fail_training_without_data_quality_or_usable_fairness_evidence if {
	inp := object.union(_input(200), {"evidence": {"data_quality": null, "fairness": {"race": null}}})
	d := training.decision with input as inp with data.regions as _regions
	d.allow == false
	{v.rule | some v in d.deny} == {"DQ-EVIDENCE-MISSING", "FAIR-EVIDENCE-MISSING"}
}
