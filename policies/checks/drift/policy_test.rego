package arbiter.checks.drift_test

import data.arbiter.checks.drift as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation, "drift": {"psi_max": 0.2, "ks_p_value_min": 0.01}}}

_input(features) := {"event": {"stage": "monitoring", "region": "eu"}, "evidence": {"drift": {"features": features}}}

test_success_stable_features if {
	inp := _input({"age": {"test": "ks", "p_value": 0.4, "psi": 0.05}})
	count(policy.deny) == 0 with input as inp with data.regions as _data
	count(policy.warn) == 0 with input as inp with data.regions as _data
}

test_fail_psi_above_maximum if {
	policy.deny == {{
		"rule": "DRIFT-PSI",
		"title": "Population stability index within the region's maximum",
		"regulation": ["eu-ai-act", "sr-26-2", "ca-dadm"],
		"severity": "high",
		"message": "PSI of feature \"age\" is 0.31, above the maximum 0.2",
		"evidence_keys": ["drift.features.age.psi"],
	}} with input as _input({"age": {"test": "ks", "p_value": 0.4, "psi": 0.31}})
		with data.regions as _data
}

test_fail_ks_p_value_warns if {
	policy.warn == {{
		"rule": "DRIFT-KS",
		"title": "Kolmogorov-Smirnov p-value at or above the region's minimum",
		"regulation": ["eu-ai-act", "sr-26-2"],
		"severity": "medium",
		"message": "KS test on feature \"age\" has p-value 0.001, below 0.01",
		"evidence_keys": ["drift.features.age.p_value"],
	}} with input as _input({"age": {"test": "ks", "p_value": 0.001, "psi": 0.05}})
		with data.regions as _data
}

test_fail_no_drift_evidence_at_monitoring if {
	policy.deny == {{
		"rule": "DRIFT-EVIDENCE-MISSING",
		"title": "Drift evidence present at monitoring",
		"regulation": ["eu-ai-act"],
		"severity": "high",
		"message": "no drift evidence: a monitoring event must report drift per feature",
		"evidence_keys": ["drift.features"],
	}} with input as {"event": {"stage": "monitoring", "region": "eu"}, "evidence": {}}
		with data.regions as _data
}

test_success_no_drift_evidence_is_fine_at_deployment if {
	count(policy.deny) == 0 with input as {"event": {"stage": "deployment", "region": "eu"}, "evidence": {}}
		with data.regions as _data
}

test_fail_psi_not_reported if {
	policy.deny == {{
		"rule": "DRIFT-PSI",
		"title": "Population stability index within the region's maximum",
		"regulation": ["eu-ai-act", "sr-26-2", "ca-dadm"],
		"severity": "high",
		"message": "PSI of feature \"age\" not reported (null); the maximum is 0.2",
		"evidence_keys": ["drift.features.age.psi"],
	}} with input as _input({"age": {"test": "ks", "statistic": null, "p_value": null, "psi": null}})
		with data.regions as _data
}

test_fail_psi_missing_string_or_report_malformed if {
	every features in [
		{"age": {"test": "ks", "p_value": 0.4}},
		{"age": {"test": "ks", "p_value": 0.4, "psi": "0.05"}},
		{"age": {}},
		{"age": "stable"},
		{"age": {"test": "ks", "p_value": 0.4, "psi": 0.05}, "priors_count": {"test": "chi_square", "psi": null}},
	] {
		count(policy.deny) == 1 with input as _input(features) with data.regions as _data
		{v.rule | some v in policy.deny} == {"DRIFT-PSI"} with input as _input(features) with data.regions as _data
	}
}

test_fail_ks_p_value_not_reported_warns if {
	policy.warn == {{
		"rule": "DRIFT-KS",
		"title": "Kolmogorov-Smirnov p-value at or above the region's minimum",
		"regulation": ["eu-ai-act", "sr-26-2"],
		"severity": "medium",
		"message": "KS test on feature \"age\" reports no p-value (\"0.4\"); the minimum is 0.01",
		"evidence_keys": ["drift.features.age.p_value"],
	}} with input as _input({"age": {"test": "ks", "p_value": "0.4", "psi": 0.05}})
		with data.regions as _data
	count(policy.warn) == 0 with input as _input({"c": {"test": "chi_square", "p_value": null, "psi": 0.05}})
		with data.regions as _data
}

test_fail_features_that_are_not_an_object_are_no_drift_evidence if {
	every features in [["age"], "age", {}, null] {
		{v.rule | some v in policy.deny} == {"DRIFT-EVIDENCE-MISSING"} with input as _input(features) with data.regions as _data
	}
}

test_fail_feature_not_measured_denies if {
	not_measured := object.union(_input({"age": {"test": "ks", "p_value": 0.4, "psi": 0.05}}), {"evidence": {"skipped": [{
		"metric": "drift.features.customer_id",
		"reason": "column \"customer_id\" holds more than 5000 distinct values in the data",
	}]}})
	policy.deny == {{
		"rule": "DRIFT-PSI",
		"title": "Population stability index within the region's maximum",
		"regulation": ["eu-ai-act", "sr-26-2", "ca-dadm"],
		"severity": "high",
		"message": concat("", [
			"drift of feature \"customer_id\" was not measured: column \"customer_id\" holds more than 5000 ",
			"distinct values in the data; the maximum PSI is 0.2",
		]),
		"evidence_keys": ["drift.features.customer_id"],
	}} with input as not_measured with data.regions as _data
}

test_success_other_skipped_metrics_do_not_deny if {
	inp := object.union(_input({"age": {"test": "ks", "p_value": 0.4, "psi": 0.05}}), {"evidence": {"skipped": [
		{"metric": "robustness", "reason": "predictions come from a column"},
		{"metric": 7, "reason": null},
	]}})
	count(policy.deny) == 0 with input as inp with data.regions as _data
}

test_fail_figures_out_of_range_are_missing_evidence if {
	inp := _input({
		"age": {"test": "ks", "p_value": 5, "psi": -3},
		"income": {"test": "chi2", "p_value": -0.1, "psi": 0.05},
		"zip": {"test": "ks", "p_value": 0.5, "psi": 0},
	})
	policy.deny == {
		{
			"rule": "DRIFT-EVIDENCE-MISSING",
			"title": "Drift evidence within range",
			"regulation": ["eu-ai-act"],
			"severity": "high",
			"message": "drift evidence on feature \"age\" cannot be judged: p_value 5 is not in [0, 1]; psi -3 is below 0",
			"evidence_keys": ["drift.features.age"],
		},
		{
			"rule": "DRIFT-EVIDENCE-MISSING",
			"title": "Drift evidence within range",
			"regulation": ["eu-ai-act"],
			"severity": "high",
			"message": "drift evidence on feature \"income\" cannot be judged: p_value -0.1 is not in [0, 1]",
			"evidence_keys": ["drift.features.income"],
		},
	} with input as inp with data.regions as _data
	count(policy.warn) == 0 with input as inp with data.regions as _data
}

test_success_edges_of_the_ranges if {
	inp := _input({"age": {"test": "ks", "p_value": 1, "psi": 0}, "income": {"test": "ks", "p_value": 0.01, "psi": 0.2}})
	count(policy.deny) == 0 with input as inp with data.regions as _data
	count(policy.warn) == 0 with input as inp with data.regions as _data
}
