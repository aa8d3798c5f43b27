# METADATA
# title: Evidence bound to the model decided
# description: |
#   Evidence is about one model file: the evaluator records its sha256 in evidence.subject.model_sha256, and
#   the request names the model decided in subject.model_sha256 (the service fills it in from an
#   evaluation_id). Evidence of another model, or evidence that cannot be shown to be of this one, says
#   nothing about the model in front of us.
package arbiter.checks.binding

import data.arbiter.lib.result

_decided := input.subject.model_sha256

_evaluated := input.evidence.subject.model_sha256

# The stages where unbound evidence is only reported: a model in service was bound to its evidence when it
# was deployed, and a monitoring run on live data that cannot name the model still has to be looked at.
_unbound_tolerated if input.event.stage == "monitoring"

# METADATA
# title: Evidence is of the model decided
# description: |
#   The request's subject.model_sha256 and the evidence's subject.model_sha256 differ: the evidence is about
#   another model file. Nothing can excuse judging one model on another's evidence, so no waiver lifts this.
# custom:
#   id: EVIDENCE-MODEL-MISMATCH
#   regulation: [eu-ai-act, sr-26-2, nyc-ll144]
#   severity: critical
#   waivable: false
deny contains violation if {
	_sha256(_decided)
	_sha256(_evaluated)
	lower(_decided) != lower(_evaluated)
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"the evidence is about model ", result.quote(_evaluated), ", not the model decided, subject.model_sha256 ",
			result.quote(_decided),
		]),
		"evidence_keys": ["subject.model_sha256"],
	})
}

# METADATA
# title: Evidence names the model decided
# description: |
#   Without a sha256 on both sides (subject.model_sha256 of the request, evidence.subject.model_sha256 of the
#   evaluation) the evidence cannot be shown to be of the model decided. Denies at deployment (every stage
#   but monitoring).
# custom:
#   id: EVIDENCE-MODEL-UNBOUND
#   regulation: [eu-ai-act, sr-26-2, nyc-ll144]
#   severity: high
deny contains violation if {
	not _unbound_tolerated
	some violation in _unbound(rego.metadata.chain())
}

# METADATA
# title: Evidence names the model decided
# description: |
#   At monitoring, evidence without a model sha256 on both sides is reported, not blocking: the model in
#   service was bound to its evidence when it was deployed.
# custom:
#   id: EVIDENCE-MODEL-UNBOUND
#   regulation: [eu-ai-act, sr-26-2, nyc-ll144]
#   severity: high
warn contains violation if {
	_unbound_tolerated
	some violation in _unbound(rego.metadata.chain())
}

_unbound(chain) := {violation |
	some key in _unbound_keys
	violation := result.fail(chain, {
		"message": concat("", [
			key, " is not the sha256 of a model file: the evidence cannot be shown to be of the model decided",
		]),
		"evidence_keys": ["subject.model_sha256"],
	})
}

_unbound_keys contains "subject.model_sha256" if not _decided_named

_unbound_keys contains "evidence.subject.model_sha256" if not _evaluated_named

# A negated call whose argument is undefined (no subject, no evidence.subject) would fail, not succeed: the
# argument is evaluated outside the negation, hence these helper rules.
_decided_named if _sha256(_decided)

_evaluated_named if _sha256(_evaluated)

# A sha256 in hex; anything else (absent, null, blank, a number) names no model file.
_sha256(value) if {
	is_string(value)
	regex.match(`^[0-9a-fA-F]{64}$`, value)
}
