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
	some column, stats in _columns
	rate := stats.missing_rate
	is_number(rate)
	key := concat(".", ["data_quality", "columns", column, "missing_rate"])
}

_columns := input.evidence.data_quality.columns if is_object(input.evidence.data_quality.columns)

# METADATA
# title: Missing-value evidence present and well-formed
# description: |
#   The stages that judge data quality (training, deployment) need data_quality.missing_rate, a rate in
#   [0, 1]; data_quality.columns may be left out, but when present it maps each column to a rate in [0, 1].
#   A null rate (the evaluator writes one for empty data) or a rate given as text shows nothing.
# custom:
#   id: DQ-EVIDENCE-MISSING
#   regulation: [eu-ai-act, sg-maigf]
#   severity: high
deny contains violation if {
	input.event.stage in {"training", "deployment"}
	some key, problem in _evidence_problems
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [key, " ", problem]),
		"evidence_keys": [key],
	})
}

_evidence_problems["data_quality"] := "is missing: report the missing-value rates of the evaluation data" if {
	not _data_quality_reported
}

_evidence_problems["data_quality.missing_rate"] := _rate_problem(rate) if {
	_data_quality_reported
	rate := object.get(input.evidence.data_quality, "missing_rate", null)
	not _rate(["missing_rate"])
}

_evidence_problems["data_quality.columns"] := "is not an object of columns" if {
	columns := object.get(input.evidence.data_quality, "columns", {})
	not is_object(columns)
}

_evidence_problems[key] := _rate_problem(rate) if {
	some column, _ in _columns
	rate := object.get(input.evidence.data_quality, ["columns", column, "missing_rate"], null)
	not _rate(["columns", column, "missing_rate"])
	key := concat(".", ["data_quality", "columns", column, "missing_rate"])
}

_data_quality_reported if is_object(input.evidence.data_quality)

# Whether the figure at path in data_quality is a rate, in [0, 1]. A function of the path, not of the figure:
# OPA's Go evaluator caches a function's results in a hash table keyed by its arguments, where every number
# in [0, 1) hashes alike (ast.Number.Hash is the integer part), so each call on a figure was compared with
# every earlier call: quadratic in the number of columns. Paths of distinct names hash apart.
_rate(path) if {
	value := object.get(input.evidence.data_quality, path, null)
	is_number(value)
	value >= 0
	value <= 1
}

_rate_problem(value) := concat("", ["is ", result.quote(value), ", not a rate between 0 and 1"])

# METADATA
# title: Enough rows per group in the training data
# description: |
#   Training data must be sufficiently representative of every group it will be judged on (Art. 10(3)); a
#   group with fewer rows than min_group_count, or without a numeric count, blocks training unless waived.
# custom:
#   id: DQ-GROUP-COUNT
#   regulation: [eu-ai-act]
#   severity: medium
deny contains violation if {
	input.event.stage == "training"
	some attribute, report in input.evidence.fairness
	some group, stats in report.groups
	not _at_least(object.get(stats, "count", null), _limits.min_group_count)
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			attribute, " group ", result.quote(group), " has ", result.quote(object.get(stats, "count", null)),
			" rows, fewer than ", result.quote(_limits.min_group_count),
		]),
		"evidence_keys": [concat(".", ["fairness", attribute, "groups", group, "count"])],
	})
}

_at_least(value, minimum) if {
	is_number(value)
	value >= minimum
}
