package arbiter.checks.fairness_test

import data.arbiter.checks.fairness as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_limits(enforcement) := {"eu": {"regulations": _every_regulation, "fairness": {
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

# Two groups compared and a third of small_count rows (of 900 + small_count).
_three(small_ratio, small_count) := {"sex": {
	"groups": {
		"Female": {"count": 400, "impact_ratio": 0.9},
		"Male": {"count": 500, "impact_ratio": 1},
		"Other": {"count": small_count, "impact_ratio": small_ratio},
	},
	"demographic_parity_difference": 0.05,
	"equalized_odds_difference": 0.05,
	"excluded_groups": [{"group": "Other", "count": small_count, "reason": "count is below min_group_size 30"}],
}}

test_success_impact_ratio_of_small_group_is_not_compared if {
	count(policy.deny) == 0 with input as _input("deployment", _three(0.5, 12))
		with data.regions as _limits("deny")
	count(policy.deny) == 0 with input as _input("deployment", _three(null, 12))
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
		"regulation": ["eu-ai-act", "eeoc-ugesp", "nyc-ll144", "uk-gdpr-duaa", "ca-dadm", "sg-mas-feat"],
		"severity": "high",
		"message": "no fairness evidence: evaluate the model per sensitive attribute",
		"evidence_keys": ["fairness"],
	}} with input as {"event": {"stage": "deployment", "region": "eu"}, "evidence": {}}
		with data.regions as _limits("deny")
}

test_fail_missing_fairness_evidence_at_monitoring if {
	{v.message | some v in policy.deny} == {"no fairness evidence: evaluate the model per sensitive attribute"} with input as {"event": {"stage": "monitoring", "region": "eu"}, "evidence": {}}
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
		"message": "sex group \"Other\" has 12 rows, fewer than 30; left out of the impact-ratio comparison",
		"evidence_keys": ["fairness.sex.groups.Other.count"],
	}} with input as _input("deployment", _three(0.5, 12))
		with data.regions as _limits("deny")
}

_missing_violation(message, keys) := {
	"rule": "FAIR-EVIDENCE-MISSING",
	"title": "Fairness evidence present",
	"regulation": ["eu-ai-act", "eeoc-ugesp", "nyc-ll144", "uk-gdpr-duaa", "ca-dadm", "sg-mas-feat"],
	"severity": "high",
	"message": message,
	"evidence_keys": keys,
}

test_fail_attribute_without_groups_or_gaps_is_missing_evidence if {
	policy.deny == {_missing_violation(
		concat("", [
			"fairness evidence on \"sex\" cannot be judged: demographic_parity_difference is not a number; ",
			"equalized_odds_difference is not a number; no group of at least 30 rows with a numeric impact_ratio",
		]),
		["fairness.sex"],
	)} with input as _input("deployment", {"sex": {"groups": {}, "demographic_parity_difference": null, "equalized_odds_difference": null}})
		with data.regions as _limits("deny")
}

test_success_equalized_odds_skipped_without_labels if {
	without_labels := object.union(_input("deployment", _sex(0.9, 400, 0.05, null)), {"evidence": {"skipped": [
		{"metric": "fairness.tpr_fpr_fnr_ppv_accuracy", "reason": "no label column in the spec"},
		{"metric": "fairness.equalized_odds", "reason": "no label column in the spec"},
	]}})
	count(policy.deny) == 0 with input as without_labels with data.regions as _limits("deny")
	policy.deny == {_missing_violation(
		"fairness evidence on \"sex\" cannot be judged: equalized_odds_difference is not a number",
		["fairness.sex"],
	)} with input as _input("deployment", _sex(0.9, 400, 0.05, null))
		with data.regions as _limits("deny")
}

test_fail_compared_group_without_impact_ratio_is_missing_evidence if {
	policy.deny == {_missing_violation(
		concat("", [
			"fairness evidence on \"sex\" cannot be judged: group \"Female\" is compared but has no numeric impact_ratio; ",
			"only group \"Male\" has at least 30 rows and a numeric impact_ratio: an impact ratio compares two groups or more",
		]),
		["fairness.sex"],
	)} with input as _input("deployment", _sex(null, 400, 0.05, 0.05))
		with data.regions as _limits("deny")
}

test_fail_only_small_groups_is_missing_evidence if {
	inp := _input("training", {"sex": {
		"groups": {"F": {"count": 12, "impact_ratio": 0.5}, "M": {"count": 20, "impact_ratio": 1}},
		"demographic_parity_difference": 0.05,
		"equalized_odds_difference": 0.05,
	}})
	{v.message | some v in policy.deny} == {_judged(concat("; ", [
		"group \"F\" is left out of the comparison (fewer than 30 rows) but holds 12 of the attribute's 32 rows, not under 2%",
		"group \"M\" is left out of the comparison (fewer than 30 rows) but holds 20 of the attribute's 32 rows, not under 2%",
		"no group of at least 30 rows with a numeric impact_ratio",
	]))} with input as inp
		with data.regions as _limits("deny")
	{v.rule | some v in policy.warn} == {"FAIR-SMALL-GROUP"} with input as inp with data.regions as _limits("deny")
}

test_fail_malformed_attribute_reports_are_missing_evidence if {
	cases := [
		[{"sex": "reported"}, "the report is not an object"],
		[
			{"sex": {"groups": ["F", "M"], "demographic_parity_difference": 0.05, "equalized_odds_difference": 0.05}},
			concat("; ", [
				"group 0 has no numeric count", "group 1 has no numeric count", "groups is not an object",
				"no group of at least 30 rows with a numeric impact_ratio",
			]),
		],
		[
			{"sex": {"demographic_parity_difference": "0.05", "equalized_odds_difference": 0.05}},
			"demographic_parity_difference is not a number; groups is not an object; no group of at least 30 rows with a numeric impact_ratio",
		],
		[
			object.union(_sex(0.9, 400, 0.05, 0.05), {"sex": {"groups": {"X": "many", "Y": {"count": "400", "impact_ratio": 0.5}}}}),
			"group \"X\" has no numeric count; group \"Y\" has no numeric count",
		],
	]
	every case in cases {
		{v.message | some v in policy.deny} == {concat("", ["fairness evidence on \"sex\" cannot be judged: ", case[1]])} with input as _input("deployment", case[0])
			with data.regions as _limits("deny")
	}
}

test_fail_one_unusable_attribute_among_good_ones if {
	inp := _input("deployment", object.union(_sex(0.9, 400, 0.05, 0.05), {"race": {"groups": {}}}))
	{v.evidence_keys | some v in policy.deny} == {["fairness.race"]} with input as inp with data.regions as _limits("deny")
}

test_fail_fairness_that_is_not_an_object_is_missing if {
	every fairness in [[], "sex", {}] {
		{v.message | some v in policy.deny} == {"no fairness evidence: evaluate the model per sensitive attribute"} with input as _input("training", fairness)
			with data.regions as _limits("deny")
	}
}

test_fail_unusable_evidence_at_monitoring if {
	{v.evidence_keys | some v in policy.deny} == {["fairness.sex"]} with input as _input("monitoring", {"sex": {"groups": {}}})
		with data.regions as _limits("deny")
}

test_success_voluntary_region_warns_about_unusable_evidence if {
	inp := _input("deployment", {"sex": {"groups": {}}})
	count(policy.deny) == 0 with input as inp with data.regions as _limits("warn")
	{v.rule | some v in policy.warn} == {"FAIR-EVIDENCE-MISSING"} with input as inp with data.regions as _limits("warn")
}

test_fail_attribute_not_measured_is_missing_evidence if {
	not_measured := object.union(_input("deployment", _sex(0.9, 400, 0.05, 0.05)), {"evidence": {"skipped": [
		{"metric": "fairness.bootstrap", "reason": "spec.bootstrap.resamples is 0 or not set"},
		{"metric": "fairness.zip", "reason": "column \"zip\" holds more than 5000 distinct values in the data"},
		{"metric": "fairness.surname", "reason": {"not": "a string"}},
	]}})
	policy.deny == {
		_missing_violation(
			"fairness evidence on \"zip\" was not measured: column \"zip\" holds more than 5000 distinct values in the data",
			["fairness.zip"],
		),
		_missing_violation(
			"fairness evidence on \"surname\" was not measured: {\"not\":\"a string\"}",
			["fairness.surname"],
		),
	} with input as not_measured with data.regions as _limits("deny")
}

test_fail_equalized_odds_skipped_although_labelled if {
	skipped := {"skipped": [{"metric": "fairness.equalized_odds", "reason": "no label column in the spec"}]}
	violation := _missing_violation(
		"fairness evidence on \"sex\" cannot be judged: equalized_odds_difference is not a number",
		["fairness.sex"],
	)

	# A numeric performance metric that needs labels.
	with_accuracy := object.union(_input("deployment", _sex(0.9, 400, 0.05, null)), {"evidence": object.union(skipped, {"performance": {"accuracy": 0.7}})})
	policy.deny == {violation} with input as with_accuracy with data.regions as _limits("deny")

	# Per-group error rates.
	with_rates := object.union(_input("deployment", object.union(_sex(0.9, 400, 0.05, null), {"sex": {"groups": {"Female": {"tpr": 0.6}}}})), {"evidence": skipped})
	policy.deny == {violation} with input as with_rates with data.regions as _limits("deny")

	# A metric present but not a number shows no labels.
	unlabelled := object.union(_input("deployment", _sex(0.9, 400, 0.05, null)), {"evidence": object.union(skipped, {"performance": {"accuracy": null}})})
	count(policy.deny) == 0 with input as unlabelled with data.regions as _limits("deny")
}

_nyc_limits := {"us-nyc": {"regulations": _every_regulation, "fairness": {
	"impact_ratio_min": 0.8,
	"demographic_parity_difference_max": 0.1,
	"equalized_odds_difference_max": 0.15,
	"min_group_size": 30,
	"enforcement": "deny",
	"required_attributes": [
		{"name": "sex", "pattern": "^(sex|gender)$"},
		{"name": "race/ethnicity", "pattern": "^(race|ethnicity)$"},
		{"name": "race/ethnicity x sex", "pattern": "^((race|ethnicity)&(sex|gender)|(sex|gender)&(race|ethnicity))$"},
	],
}}}

_nyc_input(stage, fairness, skipped) := {
	"event": {"stage": stage, "region": "us-nyc", "now": "2026-11-23T00:00:00Z"},
	"evidence": {"fairness": fairness, "skipped": skipped},
}

_report := {
	"groups": {"A": {"count": 400, "impact_ratio": 1}, "B": {"count": 400, "impact_ratio": 0.9}},
	"demographic_parity_difference": 0.05,
	"equalized_odds_difference": 0.05,
}

_attribute_violation(message) := {
	"rule": "FAIR-ATTRIBUTE-MISSING",
	"title": "Fairness evidence covers the attributes the region requires",
	"regulation": ["nyc-ll144"],
	"severity": "high",
	"message": message,
	"evidence_keys": ["fairness"],
}

test_success_required_attributes_reported if {
	every fairness in [
		{"sex": _report, "race": _report, "race&sex": _report},
		{"Gender": _report, "ETHNICITY": _report, "Gender&Ethnicity": _report, "age": _report},
	] {
		every stage in ["deployment", "monitoring"] {
			count(policy.deny) == 0 with input as _nyc_input(stage, fairness, []) with data.regions as _nyc_limits
		}
	}
}

test_fail_required_attribute_missing if {
	every stage in ["deployment", "monitoring"] {
		policy.deny == {_attribute_violation("no fairness evidence on sex, which this region requires: no attribute of the evidence matches ^(sex|gender)$ (case-insensitive)")} with input as _nyc_input(stage, {"race": _report, "race&sex": _report, "sexual_orientation": _report}, [])
			with data.regions as _nyc_limits
	}
}

test_fail_required_attribute_only_skipped if {
	inp := _nyc_input("deployment", {"sex": _report}, [
		{"metric": "fairness.race", "reason": "column \"race\" holds more than 5000 distinct values in the data"},
		{"metric": "fairness.race&sex", "reason": "column \"race\" holds more than 5000 distinct values in the data"},
	])
	{v | some v in policy.deny; v.rule == "FAIR-ATTRIBUTE-MISSING"} == {
		_attribute_violation(concat("", [
			"no fairness evidence on race/ethnicity, which this region requires: no attribute of the evidence matches ",
			"^(race|ethnicity)$ (case-insensitive); race named in skipped: not measured",
		])),
		_attribute_violation(concat("", [
			"no fairness evidence on race/ethnicity x sex, which this region requires: no attribute of the evidence ",
			"matches ^((race|ethnicity)&(sex|gender)|(sex|gender)&(race|ethnicity))$ (case-insensitive); race&sex named in skipped: not measured",
		])),
	} with input as inp with data.regions as _nyc_limits
}

test_success_required_attributes_not_checked_at_training if {
	count(policy.deny) == 0 with input as _nyc_input("training", {"age": _report}, []) with data.regions as _nyc_limits
}

test_success_no_required_attributes_without_region_list if {
	count(policy.deny) == 0 with input as _input("deployment", _sex(0.9, 400, 0.05, 0.05)) with data.regions as _limits("deny")
}

test_success_voluntary_region_warns_about_missing_attribute if {
	warn_limits := {"us-nyc": object.union(_nyc_limits["us-nyc"], {"fairness": {"enforcement": "warn"}})}
	inp := _nyc_input("deployment", {"sex": _report}, [])
	count(policy.deny) == 0 with input as inp with data.regions as warn_limits
	{v.rule | some v in policy.warn} == {"FAIR-ATTRIBUTE-MISSING"} with input as inp with data.regions as warn_limits
}

_judged(message) := concat("", ["fairness evidence on \"sex\" cannot be judged: ", message])

_only_male := "only group \"Male\" has at least 30 rows and a numeric impact_ratio: an impact ratio compares two groups or more"

test_fail_a_single_compared_group_is_missing_evidence if {
	single := {"sex": {
		"groups": {"Male": {"count": 5000, "impact_ratio": 1, "selection_rate": 0.4}},
		"demographic_parity_difference": 0,
		"equalized_odds_difference": 0,
	}}
	policy.deny == {_missing_violation(_judged(_only_male), ["fairness.sex"])} with input as _input("deployment", single)
		with data.regions as _limits("deny")

	# The others under min_group_size, each under 2% of the rows: still one group compared.
	small_others := {"sex": {
		"groups": {"Male": {"count": 5000, "impact_ratio": 1}, "Female": {"count": 29, "impact_ratio": 0.1}},
		"demographic_parity_difference": 0,
		"equalized_odds_difference": 0,
	}}
	{v.message | some v in policy.deny} == {_judged(_only_male)} with input as _input("deployment", small_others)
		with data.regions as _limits("deny")
}

test_fail_groups_moved_to_excluded_groups_are_missing_evidence if {
	# The most-selected group kept, the others moved out of groups: each holds 2% of the rows or more.
	moved := {"sex": {
		"groups": {"Male": {"count": 5000, "impact_ratio": 1}},
		"demographic_parity_difference": 0,
		"equalized_odds_difference": 0,
		"excluded_groups": [
			{"group": "Female", "count": 4000, "reason": "not compared"},
			{"group": "Other", "count": 20, "reason": "not compared"},
			{"group": "Female", "count": 3000, "reason": "listed twice"},
		],
	}}
	{v.message | some v in policy.deny} == {_judged(concat("; ", [
		"group \"Female\" is left out of the comparison (named only in excluded_groups) but holds 4000 of the attribute's 9020 rows, not under 2%",
		_only_male,
	]))} with input as _input("deployment", moved)
		with data.regions as _limits("deny")

	# Without their counts the share cannot be shown to be under 2%.
	uncounted := object.union(moved, {"sex": {"excluded_groups": [
		{"group": "Female", "reason": "not compared"},
		{"group": "Other", "count": -3, "reason": "not compared"},
	]}})
	{v.message | some v in policy.deny} == {_judged(concat("; ", [
		"group \"Female\" is left out of the comparison (named only in excluded_groups) and no count of its rows is given",
		"group \"Other\" is left out of the comparison (named only in excluded_groups) and no count of its rows is given",
		_only_male,
	]))} with input as _input("deployment", uncounted)
		with data.regions as _limits("deny")
}

test_fail_small_group_of_two_percent_or_more_is_missing_evidence if {
	# 20 rows of 1000: 2%, not under it.
	at_two := object.union(_three(0.5, 20), {"sex": {"groups": {"Female": {"count": 480}}}})
	{v.message | some v in policy.deny} == {_judged("group \"Other\" is left out of the comparison (fewer than 30 rows) but holds 20 of the attribute's 1000 rows, not under 2%")} with input as _input("deployment", at_two)
		with data.regions as _limits("deny")

	# 19 of 999 is under 2%; so is 20 of 1000 rows and 20 of unknown category (missing).
	under := object.union(_three(0.5, 19), {"sex": {"groups": {"Female": {"count": 480}}}})
	count(policy.deny) == 0 with input as _input("deployment", under) with data.regions as _limits("deny")
	with_unknown := object.union(at_two, {"sex": {"missing": 20}})
	count(policy.deny) == 0 with input as _input("deployment", with_unknown) with data.regions as _limits("deny")
}

test_success_group_excluded_from_equalized_odds_only_is_compared if {
	eo_only := object.union(_sex(0.9, 400, 0.05, 0.05), {"sex": {"excluded_groups": [
		{"group": "Female", "count": 400, "reason": "tpr undefined (no positive labels)"},
	]}})
	count(policy.deny) == 0 with input as _input("deployment", eo_only) with data.regions as _limits("deny")
}

test_fail_malformed_counts_and_exclusions_are_missing_evidence if {
	cases := [
		[
			{"sex": {"groups": {"Other": {"count": -1}}}},
			"group \"Other\" has a count of -1, not a whole number of rows",
		],
		[
			{"sex": {"groups": {"Other": {"count": 12.5}}}},
			"group \"Other\" has a count of 12.5, not a whole number of rows",
		],
		[{"sex": {"excluded_groups": "Other"}}, "excluded_groups is not an array"],
		[
			{"sex": {"excluded_groups": [{"count": 3}, "Other"]}},
			"excluded_groups holds an entry without a group name",
		],
		[{"sex": {"missing": -5}}, "missing is -5, not a whole number of rows"],
		[{"sex": {"missing": null}}, "missing is null, not a whole number of rows"],
	]
	every case in cases {
		{v.message | some v in policy.deny} == {_judged(case[1])} with input as _input("deployment", object.union(_three(0.5, 12), case[0]))
			with data.regions as _limits("deny")
	}
}

test_fail_ll144_exclusions_of_two_percent_or_more_are_missing_evidence if {
	cases := [
		[["Female"], "ll144.excluded_under_2pct names group \"Female\", which holds 400 of the attribute's 900 rows, not under 2%"],
		[["Nobody"], "ll144.excluded_under_2pct names group \"Nobody\", of which no count of rows is given"],
		[[7], "ll144.excluded_under_2pct is not a list of group names"],
		["Female", "ll144.excluded_under_2pct is not a list of group names"],
	]
	every case in cases {
		{v.message | some v in policy.deny} == {_judged(case[1])} with input as _input("deployment", object.union(_sex(0.9, 400, 0.05, 0.05), {"sex": {"ll144": {"excluded_under_2pct": case[0]}}}))
			with data.regions as _limits("deny")
	}

	# A category under 2% may be left out of the LL144 figures.
	under := object.union(_three(0.5, 12), {"sex": {"ll144": {"excluded_under_2pct": ["Other"]}}})
	count(policy.deny) == 0 with input as _input("deployment", under) with data.regions as _limits("deny")
}

# Figures as the evaluator writes them: every ratio its selection rate over the highest, the differences ranges.
_consistent := {"sex": {
	"groups": {
		"Female": {"count": 400, "selection_rate": 0.4, "impact_ratio": 0.8, "tpr": 0.6, "fpr": 0.2},
		"Male": {"count": 500, "selection_rate": 0.5, "impact_ratio": 1, "tpr": 0.7, "fpr": 0.25},
		"Other": {"count": 10, "selection_rate": 0.9, "impact_ratio": 1.8, "tpr": null, "fpr": 0.5},
	},
	"demographic_parity_difference": 0.1,
	"equalized_odds_difference": 0.1,
}}

test_success_figures_consistent_with_the_rates if {
	count(policy.deny) == 0 with input as _input("deployment", _consistent) with data.regions as _limits("deny")

	# Within 1e-6 of what the rates give.
	near := object.union(_consistent, {"sex": {
		"groups": {"Female": {"impact_ratio": 0.8000009}},
		"demographic_parity_difference": 0.0999991,
		"equalized_odds_difference": 0.0999991,
	}})
	count(policy.deny) == 0 with input as _input("deployment", near) with data.regions as _limits("deny")
}

test_fail_figures_out_of_range_are_missing_evidence if {
	cases := [
		[
			{"sex": {"demographic_parity_difference": -0.5, "equalized_odds_difference": -0.5}},
			concat("; ", [
				"demographic_parity_difference -0.5 is not the range of the compared groups' selection rates, 0.5 - 0.4",
				"demographic_parity_difference is -0.5, not in [0, 1]",
				"equalized_odds_difference -0.5 is not the larger of the compared groups' tpr range, 0.7 - 0.6, and fpr range, 0.25 - 0.2",
				"equalized_odds_difference is -0.5, not in [0, 1]",
			]),
		],
		[
			{"sex": {"groups": {"Female": {"impact_ratio": 7}, "Male": {"impact_ratio": 7}}}},
			concat("; ", [
				"group \"Female\" has impact_ratio 7, not in [0, 1]",
				"group \"Female\" has impact_ratio 7, not its selection_rate 0.4 over the highest of a compared group, 0.5",
				"group \"Male\" has impact_ratio 7, not in [0, 1]",
				"group \"Male\" has impact_ratio 7, not its selection_rate 0.5 over the highest of a compared group, 0.5",
			]),
		],
		[{"sex": {"groups": {"Other": {"impact_ratio": -1}}}}, "group \"Other\" has impact_ratio -1, below 0"],
		[
			{"sex": {"groups": {"Other": {"selection_rate": 5, "tpr": "0.6", "fpr": -0.1}}}},
			concat("; ", [
				"group \"Other\" has fpr -0.1, not a rate in [0, 1]",
				"group \"Other\" has selection_rate 5, not a rate in [0, 1]",
				"group \"Other\" has tpr \"0.6\", not a rate in [0, 1]",
			]),
		],
	]
	every case in cases {
		{v.message | some v in policy.deny} == {_judged(case[1])} with input as _input("deployment", object.union(_consistent, case[0]))
			with data.regions as _limits("deny")
	}
}

test_fail_figures_contradicting_the_rates_are_missing_evidence if {
	# A group selected at a tenth of the highest rate, reported at an impact ratio of 1 and no gaps.
	contradicting := object.union(_consistent, {"sex": {
		"groups": {"Female": {"selection_rate": 0.05, "impact_ratio": 1}},
		"demographic_parity_difference": 0,
		"equalized_odds_difference": 0,
	}})
	{v.message | some v in policy.deny} == {_judged(concat("; ", [
		"demographic_parity_difference 0 is not the range of the compared groups' selection rates, 0.5 - 0.05",
		"equalized_odds_difference 0 is not the larger of the compared groups' tpr range, 0.7 - 0.6, and fpr range, 0.25 - 0.2",
		"group \"Female\" has impact_ratio 1, not its selection_rate 0.05 over the highest of a compared group, 0.5",
	]))} with input as _input("deployment", contradicting)
		with data.regions as _limits("deny")

	# Nobody selected: no ratio is defined (the evaluator writes null), so none given is taken.
	none_selected := object.union(_consistent, {"sex": {
		"groups": {"Female": {"selection_rate": 0, "impact_ratio": 1}, "Male": {"selection_rate": 0, "impact_ratio": 1}},
		"demographic_parity_difference": 0,
	}})
	{v.message | some v in policy.deny} == {_judged(concat("; ", [
		"group \"Female\" has impact_ratio 1, but no compared group was selected (every selection_rate is 0): no ratio is defined",
		"group \"Male\" has impact_ratio 1, but no compared group was selected (every selection_rate is 0): no ratio is defined",
	]))} with input as _input("deployment", none_selected)
		with data.regions as _limits("deny")

	# Where the groups give selection rates, a compared group without one hides the highest.
	unrated := object.union(_consistent, {"sex": {"groups": {"Male": {"selection_rate": null}}}})
	{v.message | some v in policy.deny} == {_judged(concat("; ", [
		"group \"Female\" has impact_ratio 0.8, not its selection_rate 0.4 over the highest of a compared group, 0.4",
		"group \"Male\" is compared but has no numeric selection_rate",
	]))} with input as _input("deployment", unrated)
		with data.regions as _limits("deny")
}

_region_limits(region, regulations, advisory) := {region: {"regulations": regulations, "fairness": {
	"impact_ratio_min": 0.8,
	"demographic_parity_difference_max": 0.1,
	"equalized_odds_difference_max": 0.15,
	"min_group_size": 30,
	"enforcement": "deny",
	"advisory_thresholds": advisory,
}}}

_in_region(region, fairness) := {
	"event": {"stage": "deployment", "region": region, "now": "2026-11-23T00:00:00Z"},
	"evidence": {"fairness": fairness},
}

test_success_advisory_thresholds_warn_and_cite_the_regions_regulations if {
	# NYC LL144 sets no pass/fail threshold: the four-fifths flag, and the gaps, only warn.
	limits := _region_limits("us-nyc", ["nyc-ll144"], ["impact_ratio", "demographic_parity_difference", "equalized_odds_difference"])
	inp := _in_region("us-nyc", _sex(0.75, 400, 0.2, 0.2))
	count(policy.deny) == 0 with input as inp with data.regions as limits
	{[v.rule, v.regulation] | some v in policy.warn} == {
		["FAIR-IMPACT-RATIO", ["nyc-ll144"]],
		["FAIR-DP-GAP", []],
		["FAIR-EO-GAP", []],
	} with input as inp with data.regions as limits

	# Evidence that cannot be judged still denies there.
	{[v.rule, v.regulation] | some v in policy.deny} == {["FAIR-EVIDENCE-MISSING", ["nyc-ll144"]]} with input as _in_region("us-nyc", _sex(null, 400, 0.05, 0.05))
		with data.regions as limits
}

test_fail_four_fifths_denies_under_ugesp_while_the_gaps_warn if {
	limits := _region_limits("us", ["eeoc-ugesp", "ecoa-reg-b", "sr-26-2"], ["demographic_parity_difference", "equalized_odds_difference"])
	inp := _in_region("us", _sex(0.75, 400, 0.2, 0.2))
	{[v.rule, v.regulation] | some v in policy.deny} == {["FAIR-IMPACT-RATIO", ["eeoc-ugesp"]]} with input as inp
		with data.regions as limits
	{[v.rule, v.regulation] | some v in policy.warn} == {["FAIR-DP-GAP", []], ["FAIR-EO-GAP", []]} with input as inp
		with data.regions as limits
}

test_fail_thresholds_deny_without_advisory_thresholds if {
	limits := _region_limits("uk", ["uk-gdpr-duaa", "uk-atrs"], [])
	inp := _in_region("uk", _sex(0.75, 400, 0.2, 0.2))
	{[v.rule, v.regulation] | some v in policy.deny} == {
		["FAIR-IMPACT-RATIO", ["uk-gdpr-duaa"]],
		["FAIR-DP-GAP", ["uk-gdpr-duaa"]],
		["FAIR-EO-GAP", ["uk-gdpr-duaa"]],
	} with input as inp with data.regions as limits
	count(policy.warn) == 0 with input as inp with data.regions as limits
}
