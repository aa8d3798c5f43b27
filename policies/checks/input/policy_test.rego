package arbiter.checks.input_test

import data.arbiter.checks.input as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation}}

test_success_known_region_and_valid_clock if {
	count(policy.deny) == 0 with input as {"event": {"region": "eu", "now": "2026-11-23T00:00:00Z"}}
		with data.regions as _data
}

test_fail_unknown_region if {
	policy.deny == {{
		"rule": "INPUT-REGION-UNKNOWN",
		"title": "Region has policy data",
		"regulation": [],
		"severity": "critical",
		"message": "no policy data for region \"mars\"",
		"evidence_keys": [],
		"waivable": false,
	}} with input as {"event": {"region": "mars", "now": "2026-11-23T00:00:00Z"}}
		with data.regions as _data
}

test_fail_invalid_clock if {
	policy.deny == {{
		"rule": "INPUT-CLOCK-INVALID",
		"title": "Decision clock is RFC 3339",
		"regulation": [],
		"severity": "critical",
		"message": "input.event.now is not an RFC 3339 timestamp: \"today\"",
		"evidence_keys": [],
		"waivable": false,
	}} with input as {"event": {"region": "eu", "now": "today"}}
		with data.regions as _data
}
