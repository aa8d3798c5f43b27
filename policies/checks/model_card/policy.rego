# METADATA
# title: Model card
# description: The fields every deployed model must document (EU AI Act Annex IV(1); UK ATRS; NIST AI RMF GV 1.6).
package arbiter.checks.model_card

import data.arbiter.lib.result

# The risk tiers a model card may declare (EU AI Act; the same list as decide.ts and the region schema).
_risk_tiers := ["minimal", "limited", "high", "unacceptable"]

# METADATA
# title: Required model-card field present
# description: |
#   A required field documents something only as a non-blank string; risk_tier must also be one of the
#   risk tiers. false, 0, null or "   " document nothing.
# custom:
#   id: CARD-REQUIRED-FIELD
#   regulation: [eu-ai-act, uk-atrs, ca-dadm, sg-maigf]
#   severity: high
deny contains violation if {
	some field in data.regions[input.event.region].model_card.required_fields
	not _valid(field)
	violation := result.fail(rego.metadata.chain(), {
		"message": _problem(field),
		"evidence_keys": [concat(".", ["model_card", field])],
	})
}

# A card that is not an object documents nothing.
_card := input.model_card if is_object(input.model_card)

_card := {} if not _card_object

_card_object if is_object(input.model_card)

_value(field) := object.get(_card, field, null)

_filled(field) if {
	value := _value(field)
	is_string(value)
	trim_space(value) != ""
}

_valid(field) if {
	field != "risk_tier"
	_filled(field)
}

_valid("risk_tier") if _value("risk_tier") in _risk_tiers

_problem(field) := concat("", ["model card lacks required field ", result.quote(field)]) if {
	_value(field) == null
}

_problem(field) := concat("", [
	"model card field ", result.quote(field), " must be a non-blank string, not ", result.quote(_value(field)),
]) if {
	_value(field) != null
	not _filled(field)
}

_problem("risk_tier") := concat("", [
	"model card field \"risk_tier\" must be one of ", result.quote(_risk_tiers), ", not ",
	result.quote(_value("risk_tier")),
]) if {
	_filled("risk_tier")
}
