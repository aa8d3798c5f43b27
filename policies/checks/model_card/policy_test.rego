package arbiter.checks.model_card_test

import data.arbiter.checks.model_card as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation, "model_card": {"required_fields": ["owner", "intended_purpose", "risk_tier"]}}}

_card := {"owner": "team@example.org", "intended_purpose": "credit pre-screening", "risk_tier": "high"}

test_success_complete_card if {
	count(policy.deny) == 0 with input as {"event": {"region": "eu"}, "model_card": _card} with data.regions as _data
}

test_fail_missing_owner if {
	policy.deny == {{
		"rule": "CARD-REQUIRED-FIELD",
		"title": "Required model-card field present",
		"regulation": ["eu-ai-act", "uk-atrs", "ca-dadm", "sg-maigf"],
		"severity": "high",
		"message": "model card lacks required field \"owner\"",
		"evidence_keys": ["model_card.owner"],
	}} with input as {"event": {"region": "eu"}, "model_card": object.remove(_card, ["owner"])}
		with data.regions as _data
}

test_fail_empty_field_counts_as_missing if {
	count(policy.deny) == 1 with input as {"event": {"region": "eu"}, "model_card": object.union(_card, {"risk_tier": ""})}
		with data.regions as _data
}

test_fail_no_card_lacks_every_field if {
	count(policy.deny) == 3 with input as {"event": {"region": "eu"}} with data.regions as _data
}

test_fail_blank_or_non_string_fields if {
	cases := [
		["owner", false, "model card field \"owner\" must be a non-blank string, not false"],
		["owner", 0, "model card field \"owner\" must be a non-blank string, not 0"],
		["intended_purpose", "   ", "model card field \"intended_purpose\" must be a non-blank string, not \"   \""],
		["intended_purpose", "\t\n", "model card field \"intended_purpose\" must be a non-blank string, not \"\\t\\n\""],
		["owner", {"team": "x"}, "model card field \"owner\" must be a non-blank string, not {\"team\":\"x\"}"],
		["owner", null, "model card lacks required field \"owner\""],
		["risk_tier", "", "model card field \"risk_tier\" must be a non-blank string, not \"\""],
		["risk_tier", true, "model card field \"risk_tier\" must be a non-blank string, not true"],
		[
			"risk_tier", "High",
			"model card field \"risk_tier\" must be one of [\"minimal\",\"limited\",\"high\",\"unacceptable\"], not \"High\"",
		],
	]
	every case in cases {
		{[v.message, v.evidence_keys] | some v in policy.deny} == {[case[2], [concat(".", ["model_card", case[0]])]]} with input as {"event": {"region": "eu"}, "model_card": object.union(_card, {case[0]: case[1]})}
			with data.regions as _data
	}
}

test_fail_card_that_is_not_an_object_lacks_every_field if {
	every card in ["a card", [_card], null] {
		count(policy.deny) == 3 with input as {"event": {"region": "eu"}, "model_card": card} with data.regions as _data
	}
}
