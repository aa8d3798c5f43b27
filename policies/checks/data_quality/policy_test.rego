package arbiter.checks.data_quality_test

import data.arbiter.checks.data_quality as policy

_data := {"eu": {"data_quality": {"missing_rate_max": 0.05, "min_group_count": 30}}}

_input(stage, evidence) := {"event": {"stage": stage, "region": "eu"}, "evidence": evidence}

_groups(n) := {"race": {"groups": {"A": {"count": 100}, "B": {"count": n}}}}

test_success_complete_and_balanced_data if {
	inp := _input("training", {
		"data_quality": {"missing_rate": 0.01, "columns": {"age": {"missing_rate": 0.05}}},
		"fairness": _groups(30),
	})
	count(policy.deny) == 0 with input as inp with data.regions as _data
}

test_fail_overall_missing_rate if {
	policy.deny == {{
		"rule": "DQ-MISSING-RATE",
		"title": "Missing-value rate within the region's maximum",
		"regulation": ["eu-ai-act", "sg-maigf"],
		"severity": "medium",
		"message": "missing-value rate of data_quality.missing_rate is 0.2, above the maximum 0.05",
		"evidence_keys": ["data_quality.missing_rate"],
	}} with input as _input("deployment", {"data_quality": {"missing_rate": 0.2}})
		with data.regions as _data
}

test_fail_column_missing_rate if {
	[v] := [v | some v in policy.deny] with input as _input("deployment", {"data_quality": {"columns": {"age": {"missing_rate": 0.12}}}})
		with data.regions as _data
	v.evidence_keys == ["data_quality.columns.age.missing_rate"]
}

test_fail_small_group_in_training_data if {
	policy.deny == {{
		"rule": "DQ-GROUP-COUNT",
		"title": "Enough rows per group in the training data",
		"regulation": ["eu-ai-act"],
		"severity": "medium",
		"message": "race group \"B\" has 18 rows, fewer than 30",
		"evidence_keys": ["fairness.race.groups.B.count"],
	}} with input as _input("training", {"fairness": _groups(18)})
		with data.regions as _data
}

test_success_small_group_is_not_a_data_quality_denial_at_deployment if {
	count(policy.deny) == 0 with input as _input("deployment", {"fairness": _groups(18)}) with data.regions as _data
}
