# METADATA
# title: Evidence freshness
# description: Evidence older than the region allows no longer describes the model in front of us.
package arbiter.checks.freshness

import data.arbiter.lib.result
import data.arbiter.lib.time

_limits := data.regions[input.event.region].evidence

# METADATA
# title: Evidence younger than the region's maximum age
# custom:
#   id: EVIDENCE-STALE
#   regulation: [eu-ai-act, sr-26-2]
#   severity: high
deny contains violation if {
	time.older_than_days(input.evidence.generated_at, input.event.now, _limits.max_age_days)
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"evidence generated ", json.marshal(time.age_days(input.evidence.generated_at, input.event.now)),
			" days ago, more than the maximum of ", json.marshal(_limits.max_age_days),
		]),
		"evidence_keys": ["generated_at"],
	})
}

# METADATA
# title: Evidence carries its generation time
# custom:
#   id: EVIDENCE-UNDATED
#   regulation: [eu-ai-act]
#   severity: low
warn contains violation if {
	not _generated_at_dated
	violation := result.fail(rego.metadata.chain(), {
		"message": "evidence has no RFC 3339 generated_at; its freshness cannot be judged",
		"evidence_keys": ["generated_at"],
	})
}

# METADATA
# title: Bias audit no older than the region allows
# description: NYC LL144 §20-871 - an AEDT may be used only if a bias audit was done within the last year.
# custom:
#   id: LL144-BIAS-AUDIT-STALE
#   regulation: [nyc-ll144]
#   severity: critical
deny contains violation if {
	some message in _bias_audit_problems
	violation := result.fail(rego.metadata.chain(), {
		"message": message,
		"evidence_keys": ["bias_audit.completed_at"],
	})
}

_bias_audit_problems contains "no dated bias audit (bias_audit.completed_at) in the evidence" if {
	_limits.bias_audit_max_age_days
	not _bias_audit_dated
}

# A negated call whose argument is undefined would fail, not succeed (the argument is evaluated outside the
# negation), hence these helper rules.
_generated_at_dated if _dated(input.evidence.generated_at)

_bias_audit_dated if _dated(input.evidence.bias_audit.completed_at)

_dated(ts) if time.epoch_seconds(ts)

_bias_audit_problems contains message if {
	completed_at := input.evidence.bias_audit.completed_at
	time.older_than_days(completed_at, input.event.now, _limits.bias_audit_max_age_days)
	message := concat("", [
		"bias audit completed ", json.marshal(time.age_days(completed_at, input.event.now)),
		" days ago, more than the maximum of ", json.marshal(_limits.bias_audit_max_age_days),
	])
}
