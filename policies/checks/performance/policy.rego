# METADATA
# title: Performance minimums
# description: Declared accuracy levels (EU AI Act Art. 15) and validation minimums, per region.
package arbiter.checks.performance

import data.arbiter.lib.result

_limits := data.regions[input.event.region].performance

# METADATA
# title: Accuracy at or above the region's minimum
# custom:
#   id: PERF-ACCURACY-MIN
#   regulation: [eu-ai-act, sr-26-2, ca-dadm, sg-maigf]
#   severity: high
deny contains violation if {
	not _at_least(_metric("accuracy"), _limits.accuracy_min)
	violation := result.fail(rego.metadata.chain(), {
		"message": _message("accuracy", _limits.accuracy_min),
		"evidence_keys": ["performance.accuracy"],
	})
}

# METADATA
# title: ROC AUC at or above the region's minimum
# custom:
#   id: PERF-ROC-AUC-MIN
#   regulation: [eu-ai-act, sr-26-2, ca-dadm, sg-maigf]
#   severity: high
deny contains violation if {
	not _at_least(_metric("roc_auc"), _limits.roc_auc_min)
	violation := result.fail(rego.metadata.chain(), {
		"message": _message("roc_auc", _limits.roc_auc_min),
		"evidence_keys": ["performance.roc_auc"],
	})
}

# A metric that is absent or null reads as null, which never passes a minimum.
_metric(name) := input.evidence.performance[name]

_metric(name) := null if not _present(name)

_present(name) if input.evidence.performance[name] != null

# Accuracy and ROC AUC are rates: a figure outside [0, 1] (accuracy 5) is no evidence of either, and denies
# like one not reported rather than passing every minimum.
_at_least(value, minimum) if {
	_rate(value)
	value >= minimum
}

_rate(value) if {
	is_number(value)
	value >= 0
	value <= 1
}

_message(name, minimum) := concat("", [name, " not reported; the minimum is ", result.quote(minimum)]) if {
	_metric(name) == null
}

_message(name, minimum) := concat("", [
	name, " is ", result.quote(_metric(name)), ", below the minimum ", result.quote(minimum),
]) if {
	_rate(_metric(name))
}

_message(name, minimum) := concat("", [
	name, " is ", result.quote(_metric(name)), ", not a rate in [0, 1]; the minimum is ", result.quote(minimum),
]) if {
	_metric(name) != null
	not _rate(_metric(name))
}
