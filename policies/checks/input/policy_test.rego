package arbiter.checks.input_test

import data.arbiter.checks.input as policy

_data := {"eu": {}}

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
