package arbiter.checks.data_quality_test

import data.arbiter.checks.data_quality as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation, "data_quality": {"missing_rate_max": 0.05, "min_group_count": 30}}}

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
	[v] := [v | some v in policy.deny] with input as _input("deployment", {"data_quality": {"missing_rate": 0.01, "columns": {"age": {"missing_rate": 0.12}}}})
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
	}} with input as _input("training", {"data_quality": {"missing_rate": 0}, "fairness": _groups(18)})
		with data.regions as _data
}

test_success_small_group_is_not_a_data_quality_denial_at_deployment if {
	count(policy.deny) == 0 with input as _input("deployment", {"data_quality": {"missing_rate": 0}, "fairness": _groups(18)})
		with data.regions as _data
}

test_fail_group_without_numeric_count_in_training_data if {
	every n in ["400", null] {
		{v.message | some v in policy.deny} == {concat("", ["race group \"B\" has ", json.marshal(n), " rows, fewer than 30"])} with input as _input("training", {"data_quality": {"missing_rate": 0}, "fairness": _groups(n)})
			with data.regions as _data
	}
}

test_fail_no_data_quality_evidence if {
	every stage in ["training", "deployment"] {
		policy.deny == {{
			"rule": "DQ-EVIDENCE-MISSING",
			"title": "Missing-value evidence present and well-formed",
			"regulation": ["eu-ai-act", "sg-maigf"],
			"severity": "high",
			"message": "data_quality is missing: report the missing-value rates of the evaluation data",
			"evidence_keys": ["data_quality"],
		}} with input as _input(stage, {})
			with data.regions as _data
	}
}

test_fail_malformed_data_quality_evidence if {
	cases := [
		[{"data_quality": "clean"}, {"data_quality": "is missing: report the missing-value rates of the evaluation data"}],
		[{"data_quality": {}}, {"data_quality.missing_rate": "is null, not a rate between 0 and 1"}],
		[{"data_quality": {"missing_rate": null}}, {"data_quality.missing_rate": "is null, not a rate between 0 and 1"}],
		[{"data_quality": {"missing_rate": "0.5"}}, {"data_quality.missing_rate": "is \"0.5\", not a rate between 0 and 1"}],
		[{"data_quality": {"missing_rate": -0.1}}, {"data_quality.missing_rate": "is -0.1, not a rate between 0 and 1"}],
		[
			{"data_quality": {"missing_rate": 0, "columns": [{"missing_rate": 0.5}]}},
			{"data_quality.columns": "is not an object of columns"},
		],
		[
			{"data_quality": {"missing_rate": 0, "columns": {"age": {"missing_rate": "0.12"}, "sex": {}, "race": 0.1}}},
			{
				"data_quality.columns.age.missing_rate": "is \"0.12\", not a rate between 0 and 1",
				"data_quality.columns.sex.missing_rate": "is null, not a rate between 0 and 1",
				"data_quality.columns.race.missing_rate": "is null, not a rate between 0 and 1",
			},
		],
	]
	every case in cases {
		{v.evidence_keys[0]: trim_prefix(v.message, concat("", [v.evidence_keys[0], " "])) | some v in policy.deny} == case[1] with input as _input("deployment", case[0])
			with data.regions as _data
		{v.rule | some v in policy.deny} == {"DQ-EVIDENCE-MISSING"} with input as _input("deployment", case[0]) with data.regions as _data
	}
}

test_success_data_quality_evidence_not_required_at_monitoring if {
	count(policy.deny) == 0 with input as _input("monitoring", {}) with data.regions as _data
}
