package arbiter.checks.oversight_test

import data.arbiter.checks.oversight as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation, "human_review_risk_tiers": ["high"]}}

_input(tier) := {"event": {"region": "eu"}, "model_card": {"risk_tier": tier}}

test_success_high_risk_carries_human_review if {
	policy.obligations == {{
		"rule": "OVERSIGHT-HUMAN-REVIEW",
		"title": "Human review of high-risk models",
		"regulation": ["eu-ai-act", "ca-dadm", "uk-gdpr-duaa", "sg-maigf"],
		"type": "human_review",
		"risk_tier": "high",
		"message": "risk tier \"high\" requires human review of the model's decisions",
	}} with input as _input("high")
		with data.regions as _data
	count(policy.deny) == 0 with input as _input("high") with data.regions as _data
}

test_success_limited_risk_has_no_obligation if {
	count(policy.obligations) == 0 with input as _input("limited") with data.regions as _data
}

test_fail_unacceptable_risk if {
	policy.deny == {{
		"rule": "RISK-UNACCEPTABLE",
		"title": "No unacceptable-risk model",
		"regulation": ["eu-ai-act"],
		"severity": "critical",
		"message": "the model card declares an unacceptable risk tier",
		"evidence_keys": ["model_card.risk_tier"],
		"waivable": false,
	}} with input as _input("unacceptable")
		with data.regions as _data
}
