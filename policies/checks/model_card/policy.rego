# METADATA
# title: Model card
# description: The fields every deployed model must document (EU AI Act Annex IV(1); UK ATRS; NIST AI RMF GV 1.6).
package arbiter.checks.model_card

import data.arbiter.lib.result

# METADATA
# title: Required model-card field present
# custom:
#   id: CARD-REQUIRED-FIELD
#   regulation: [eu-ai-act, uk-atrs, ca-dadm, sg-maigf]
#   severity: high
deny contains violation if {
	some field in data.regions[input.event.region].model_card.required_fields
	not _filled(field)
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", ["model card lacks required field ", json.marshal(field)]),
		"evidence_keys": [concat(".", ["model_card", field])],
	})
}

_filled(field) if {
	value := input.model_card[field]
	not value in {null, ""}
}
