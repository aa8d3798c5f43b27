# METADATA
# title: Evidence freshness
# description: |
#   Evidence older than the region allows no longer describes the model in front of us, and evidence dated
#   after the decision clock cannot be true. The clock is input.event.now.
package arbiter.checks.freshness

import data.arbiter.lib.result
import data.arbiter.lib.time

_limits := data.regions[input.event.region].evidence

# How far a timestamp may lie after input.event.now before it is future-dated. A region without the setting
# allows no skew at all, the stricter reading (regions/region-schema.ts defaults it to 300 s).
_skew := object.get(_limits, "clock_skew_seconds", 0)

# The stages that may take evidence of unknown age with a warning; any other (deployment, monitoring, a
# stage missing from the input) denies it.
_undated_tolerated if input.event.stage == "training"

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
			"evidence generated ", result.quote(time.age_days(input.evidence.generated_at, input.event.now)),
			" days ago, more than the maximum of ", result.quote(_limits.max_age_days),
		]),
		"evidence_keys": ["generated_at"],
	})
}

# METADATA
# title: Evidence not dated after the decision clock
# description: |
#   A timestamp later than input.event.now by more than the region's clock_skew_seconds cannot be true;
#   taken at its word it would make stale evidence, or a lapsed bias audit, look fresh.
# custom:
#   id: EVIDENCE-FUTURE-DATED
#   regulation: [eu-ai-act, sr-26-2, nyc-ll144]
#   severity: high
deny contains violation if {
	some key, ts in _timestamps
	time.later_than(ts, input.event.now, _skew)
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			key, " is ", result.quote(ts), ", after the decision clock (input.event.now)",
			" by more than the allowed clock skew of ", result.quote(_skew), " s",
		]),
		"evidence_keys": [key],
	})
}

# Every timestamp of the evidence a check relies on, by evidence key.
_timestamps["generated_at"] := input.evidence.generated_at

_timestamps["bias_audit.completed_at"] := input.evidence.bias_audit.completed_at

# METADATA
# title: Evidence carries its generation time
# description: |
#   Evidence of unknown age would pass EVIDENCE-STALE unseen, so it denies at deployment and monitoring
#   (every stage but training).
# custom:
#   id: EVIDENCE-UNDATED
#   regulation: [eu-ai-act, sr-26-2]
#   severity: high
deny contains violation if {
	not _undated_tolerated
	some violation in _undated(rego.metadata.chain())
}

# METADATA
# title: Evidence carries its generation time
# description: |
#   At training (which does not run this check today) undated evidence is only reported: evidence about a
#   dataset describes the data, not a model that may have changed since.
# custom:
#   id: EVIDENCE-UNDATED
#   regulation: [eu-ai-act]
#   severity: low
warn contains violation if {
	_undated_tolerated
	some violation in _undated(rego.metadata.chain())
}

_undated(chain) := {violation |
	not _generated_at_dated
	violation := result.fail(chain, {
		"message": "evidence has no RFC 3339 generated_at; its freshness cannot be judged",
		"evidence_keys": ["generated_at"],
	})
}

# METADATA
# title: Bias audit no older than the region allows
# description: |
#   NYC LL144 §20-871 - an AEDT may be used only if a bias audit was done within the last year. Only a
#   dated audit that is neither too old nor in the future shows that. The law forbids the use outright, so
#   no waiver lifts this.
# custom:
#   id: LL144-BIAS-AUDIT-STALE
#   regulation: [nyc-ll144]
#   severity: critical
#   waivable: false
deny contains violation if {
	some message in _bias_audit_problems
	violation := result.fail(rego.metadata.chain(), {
		"message": message,
		"evidence_keys": ["bias_audit.completed_at"],
	})
}

_bias_audit_problems contains "no dated bias audit (bias_audit.completed_at) in the evidence" if {
	_limits.bias_audit_max_age_months
	not _bias_audit_dated
}

# A negated call whose argument is undefined would fail, not succeed (the argument is evaluated outside the
# negation), hence these helper rules.
_generated_at_dated if _dated(input.evidence.generated_at)

_bias_audit_dated if _dated(input.evidence.bias_audit.completed_at)

_dated(ts) if time.epoch_seconds(ts)

_bias_audit_problems contains message if {
	completed_at := input.evidence.bias_audit.completed_at
	time.older_than_months(completed_at, input.event.now, _limits.bias_audit_max_age_months)
	message := concat("", [
		"bias audit completed ", result.quote(time.age_days(completed_at, input.event.now)),
		" days ago, more than the ", result.quote(_limits.bias_audit_max_age_months), " months allowed",
	])
}

_bias_audit_problems contains message if {
	_limits.bias_audit_max_age_months
	completed_at := input.evidence.bias_audit.completed_at
	time.later_than(completed_at, input.event.now, _skew)
	message := concat("", [
		"bias audit dated ", result.quote(completed_at), ", after the decision clock: no audit within the last ",
		result.quote(_limits.bias_audit_max_age_months), " months is shown",
	])
}
