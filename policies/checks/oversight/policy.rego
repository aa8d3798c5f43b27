# METADATA
# title: Human oversight and risk tier
# description: What the model card's risk tier demands (EU AI Act Art. 5 and Art. 14; Canada DADM Appendix C).
package arbiter.checks.oversight

import data.arbiter.lib.result

# METADATA
# title: Human review of high-risk models
# description: The deployment carries a duty of human review; the decision allows, the obligation travels with it.
# custom:
#   id: OVERSIGHT-HUMAN-REVIEW
#   regulation: [eu-ai-act, ca-dadm, uk-gdpr-duaa, sg-maigf]
obligations contains obligation if {
	tier := input.model_card.risk_tier
	tier in data.regions[input.event.region].human_review_risk_tiers
	obligation := result.obligation(rego.metadata.chain(), {
		"type": "human_review",
		"risk_tier": tier,
		"message": concat("", ["risk tier ", result.quote(tier), " requires human review of the model's decisions"]),
	})
}

# METADATA
# title: No unacceptable-risk model
# description: |
#   Prohibited practices (EU AI Act Art. 5) are not deployed, whatever their evidence; no waiver lifts this.
# custom:
#   id: RISK-UNACCEPTABLE
#   regulation: [eu-ai-act]
#   severity: critical
#   waivable: false
deny contains violation if {
	input.model_card.risk_tier == "unacceptable"
	violation := result.fail(rego.metadata.chain(), {
		"message": "the model card declares an unacceptable risk tier",
		"evidence_keys": ["model_card.risk_tier"],
	})
}
