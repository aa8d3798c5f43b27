package arbiter.checks.performance_test

import data.arbiter.checks.performance as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation, "performance": {"accuracy_min": 0.6, "roc_auc_min": 0.65}}}

_input(performance) := {"event": {"stage": "deployment", "region": "eu"}, "evidence": {"performance": performance}}

test_success_metrics_above_minimums if {
	count(policy.deny) == 0 with input as _input({"accuracy": 0.6, "roc_auc": 0.7}) with data.regions as _data
}

test_fail_accuracy_below_minimum if {
	policy.deny == {{
		"rule": "PERF-ACCURACY-MIN",
		"title": "Accuracy at or above the region's minimum",
		"regulation": ["eu-ai-act", "sr-26-2", "ca-dadm", "sg-maigf"],
		"severity": "high",
		"message": "accuracy is 0.55, below the minimum 0.6",
		"evidence_keys": ["performance.accuracy"],
	}} with input as _input({"accuracy": 0.55, "roc_auc": 0.7})
		with data.regions as _data
}

test_fail_roc_auc_not_reported if {
	policy.deny == {{
		"rule": "PERF-ROC-AUC-MIN",
		"title": "ROC AUC at or above the region's minimum",
		"regulation": ["eu-ai-act", "sr-26-2", "ca-dadm", "sg-maigf"],
		"severity": "high",
		"message": "roc_auc not reported; the minimum is 0.65",
		"evidence_keys": ["performance.roc_auc"],
	}} with input as _input({"accuracy": 0.7, "roc_auc": null})
		with data.regions as _data
}

test_fail_no_performance_evidence_denies_both if {
	rules := {v.rule | some v in policy.deny} with input as {"event": {"region": "eu"}, "evidence": {}}
		with data.regions as _data
	rules == {"PERF-ACCURACY-MIN", "PERF-ROC-AUC-MIN"}
}

test_fail_metrics_outside_zero_to_one_are_no_rates if {
	{v.message | some v in policy.deny} == {
		"accuracy is 5, not a rate in [0, 1]; the minimum is 0.6",
		"roc_auc is -0.2, not a rate in [0, 1]; the minimum is 0.65",
	} with input as _input({"accuracy": 5, "roc_auc": -0.2})
		with data.regions as _data
	{v.message | some v in policy.deny} == {
		"accuracy is \"NaN\", not a rate in [0, 1]; the minimum is 0.6",
		"roc_auc is 1.0000001, not a rate in [0, 1]; the minimum is 0.65",
	} with input as _input({"accuracy": "NaN", "roc_auc": 1.0000001})
		with data.regions as _data
	count(policy.deny) == 0 with input as _input({"accuracy": 1, "roc_auc": 1}) with data.regions as _data
}
