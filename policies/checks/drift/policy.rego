# METADATA
# title: Drift limits
# description: Input drift per feature against the region's limits (EU AI Act Art. 72 post-market monitoring).
package arbiter.checks.drift

import data.arbiter.lib.result

_limits := data.regions[input.event.region].drift

# METADATA
# title: Population stability index within the region's maximum
# description: |
#   A feature reported without a numeric PSI (the evaluator writes null when either sample is empty), or
#   named in `skipped` as not measured (one with more distinct values than the evaluator counts), is not
#   shown to be stable, so it denies like one above the maximum.
# custom:
#   id: DRIFT-PSI
#   regulation: [eu-ai-act, sr-26-2, ca-dadm]
#   severity: high
deny contains violation if {
	some problem in _psi_problems
	violation := result.fail(rego.metadata.chain(), problem)
}

_psi_problems contains {
	"message": _psi_message(feature, _field(feature, "psi")),
	"evidence_keys": [concat(".", ["drift", "features", feature, "psi"])],
} if {
	some feature, _ in _features
	not _at_most(feature, "psi", _limits.psi_max)
}

_psi_problems contains {
	"message": concat("", [
		"drift of feature ", result.quote(feature), " was not measured: ", _text(entry.reason),
		"; the maximum PSI is ", json.marshal(_limits.psi_max),
	]),
	"evidence_keys": [concat(".", ["drift", "features", feature])],
} if {
	some entry in input.evidence.skipped
	is_string(entry.metric)
	startswith(entry.metric, "drift.features.")
	feature := substring(entry.metric, count("drift.features."), -1)
}

_text(value) := value if is_string(value)

_text(value) := result.quote(value) if not is_string(value)

_psi_message(feature, psi) := concat("", [
	"PSI of feature ", result.quote(feature), " is ", json.marshal(psi),
	", above the maximum ", json.marshal(_limits.psi_max),
]) if {
	is_number(psi)
}

_psi_message(feature, psi) := concat("", [
	"PSI of feature ", result.quote(feature), " not reported (", result.quote(psi),
	"); the maximum is ", json.marshal(_limits.psi_max),
]) if {
	not is_number(psi)
}

# METADATA
# title: Kolmogorov-Smirnov p-value at or above the region's minimum
# description: |
#   A warning, not a denial: on large samples the KS test rejects for shifts too small to matter, so PSI is
#   the blocking measure and KS the early signal. A KS feature without a numeric p-value warns too.
# custom:
#   id: DRIFT-KS
#   regulation: [eu-ai-act, sr-26-2]
#   severity: medium
warn contains violation if {
	some feature, _ in _features
	_field(feature, "test") == "ks"
	not _at_least(feature, "p_value", _limits.ks_p_value_min)
	violation := result.fail(rego.metadata.chain(), {
		"message": _ks_message(feature, _field(feature, "p_value")),
		"evidence_keys": [concat(".", ["drift", "features", feature, "p_value"])],
	})
}

_ks_message(feature, p_value) := concat("", [
	"KS test on feature ", result.quote(feature), " has p-value ", json.marshal(p_value),
	", below ", json.marshal(_limits.ks_p_value_min),
]) if {
	is_number(p_value)
}

_ks_message(feature, p_value) := concat("", [
	"KS test on feature ", result.quote(feature), " reports no p-value (", result.quote(p_value),
	"); the minimum is ", json.marshal(_limits.ks_p_value_min),
]) if {
	not is_number(p_value)
}

# METADATA
# title: Drift evidence present at monitoring
# custom:
#   id: DRIFT-EVIDENCE-MISSING
#   regulation: [eu-ai-act]
#   severity: high
deny contains violation if {
	input.event.stage == "monitoring"
	not _reported
	violation := result.fail(rego.metadata.chain(), {
		"message": "no drift evidence: a monitoring event must report drift per feature",
		"evidence_keys": ["drift.features"],
	})
}

_reported if count(_features) > 0

# METADATA
# title: Drift evidence within range
# description: |
#   A PSI is 0 or more and a p-value lies in [0, 1]: a feature reporting a PSI of -3 would pass every
#   maximum, a p-value of 5 every minimum, so figures out of range deny as evidence that cannot be judged,
#   wherever drift is checked.
# custom:
#   id: DRIFT-EVIDENCE-MISSING
#   regulation: [eu-ai-act]
#   severity: high
deny contains violation if {
	some feature, problems in _invalid
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"drift evidence on feature ", result.quote(feature), " cannot be judged: ",
			concat("; ", sort(problems)),
		]),
		"evidence_keys": [concat(".", ["drift", "features", feature])],
	})
}

_invalid[feature] contains concat("", ["psi ", json.marshal(psi), " is below 0"]) if {
	some feature, _ in _features
	psi := _field(feature, "psi")
	is_number(psi)
	psi < 0
}

_invalid[feature] contains concat("", ["p_value ", json.marshal(p_value), " is not in [0, 1]"]) if {
	some feature, _ in _features
	p_value := _field(feature, "p_value")
	is_number(p_value)
	not _probability(feature, "p_value")
}

_probability(feature, name) if {
	value := _field(feature, name)
	value >= 0
	value <= 1
}

# The per-feature reports; anything but an object (an array, a string) reports nothing.
_features := input.evidence.drift.features if is_object(input.evidence.drift.features)

# A field of a feature's report, null when absent or when the report is not an object.
#
# These functions take the feature's name and the field's, not the report or the figure: OPA's Go evaluator
# caches a function's results in a hash table keyed by its arguments, where every number in [0, 1) hashes
# alike (ast.Number.Hash is the integer part), and so does every report with the same fields and whole
# numbers. Each call on a figure was compared with every earlier call: quadratic in the number of features.
# Names hash apart. The Wasm runtime caches nothing here.
_field(feature, name) := object.get(_features[feature], name, null) if is_object(_features[feature])

_field(feature, _) := null if not is_object(_features[feature])

_at_most(feature, name, maximum) if {
	value := _field(feature, name)
	is_number(value)
	value <= maximum
}

_at_least(feature, name, minimum) if {
	value := _field(feature, name)
	is_number(value)
	value >= minimum
}
