# METADATA
# title: Data quality
# description: Missing values and group representation in the evaluation data (EU AI Act Art. 10(3)).
package arbiter.checks.data_quality

import data.arbiter.lib.result

_limits := data.regions[input.event.region].data_quality

# METADATA
# title: Missing-value rate within the region's maximum
# custom:
#   id: DQ-MISSING-RATE
#   regulation: [eu-ai-act, sg-maigf]
#   severity: medium
deny contains violation if {
	some key, rate in _missing_rates
	rate > _limits.missing_rate_max
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"missing-value rate of ", key, " is ", json.marshal(rate),
			", above the maximum ", json.marshal(_limits.missing_rate_max),
		]),
		"evidence_keys": [key],
	})
}

_missing_rates["data_quality.missing_rate"] := rate if {
	rate := input.evidence.data_quality.missing_rate
	is_number(rate)
}

_missing_rates[key] := rate if {
	some column, stats in input.evidence.data_quality.columns
	rate := stats.missing_rate
	is_number(rate)
	key := concat(".", ["data_quality", "columns", column, "missing_rate"])
}

# METADATA
# title: Enough rows per group in the training data
# description: |
#   Training data must be sufficiently representative of every group it will be judged on (Art. 10(3)); a
#   group with fewer rows than min_group_count blocks training unless waived.
# custom:
#   id: DQ-GROUP-COUNT
#   regulation: [eu-ai-act]
#   severity: medium
deny contains violation if {
	input.event.stage == "training"
	some attribute, report in input.evidence.fairness
	some group, stats in report.groups
	stats.count < _limits.min_group_count
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			attribute, " group ", json.marshal(group), " has ", json.marshal(stats.count),
			" rows, fewer than ", json.marshal(_limits.min_group_count),
		]),
		"evidence_keys": [concat(".", ["fairness", attribute, "groups", group, "count"])],
	})
}
