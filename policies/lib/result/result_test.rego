package arbiter.lib.result_test

import data.arbiter.lib.result

_chain := [
	{
		"path": ["arbiter", "checks", "x", "deny"],
		"annotations": {
			"title": "A rule",
			"custom": {"id": "X-1", "regulation": ["eu-ai-act"], "severity": "high"},
		},
	},
	{"path": ["arbiter", "checks", "x"], "annotations": {"title": "package"}},
]

_eu := {
	"input": {"event": {"region": "eu"}},
	"regions": {"eu": {"regulations": ["eu-ai-act", "gdpr"]}, "us-nyc": {"regulations": ["nyc-ll144"]}},
}

test_fail_builds_the_violation_from_the_rule_annotations if {
	result.fail(_chain, {"message": "m", "evidence_keys": ["performance.accuracy"]}) == {
		"rule": "X-1",
		"title": "A rule",
		"regulation": ["eu-ai-act"],
		"severity": "high",
		"message": "m",
		"evidence_keys": ["performance.accuracy"],
	} with input as _eu.input with data.regions as _eu.regions
}

test_obligation_merges_details if {
	result.obligation(_chain, {"type": "human_review"}) == {
		"rule": "X-1",
		"title": "A rule",
		"regulation": ["eu-ai-act"],
		"type": "human_review",
	} with input as _eu.input with data.regions as _eu.regions
}

# A rule serves every region; a finding cites only the regulations its decision's region is subject to, in
# the order the rule names them.
test_fail_cites_only_the_regulations_of_the_decisions_region if {
	chain := [{"annotations": {"custom": {"id": "X-4", "regulation": ["nyc-ll144", "gdpr", "uk-gdpr-duaa", "eu-ai-act"]}}}]
	details := {"message": "m", "evidence_keys": []}
	result.fail(chain, details).regulation == ["gdpr", "eu-ai-act"] with input as _eu.input with data.regions as _eu.regions
	result.obligation(chain, {}).regulation == ["gdpr", "eu-ai-act"] with input as _eu.input with data.regions as _eu.regions
	result.fail(chain, details).regulation == ["nyc-ll144"] with input as {"event": {"region": "us-nyc"}}
		with data.regions as _eu.regions

	# No regulation of the region among the rule's, an unknown region, no region, no list: none cited, and
	# the finding still denies.
	result.fail([{"annotations": {"custom": {"id": "X-5", "regulation": ["sr-26-2"]}}}], details).regulation == [] with input as _eu.input
		with data.regions as _eu.regions
	every inp in [{"event": {"region": "atlantis"}}, {"event": {}}, {}] {
		result.fail(chain, details).regulation == [] with input as inp with data.regions as _eu.regions
	}
	result.fail(chain, details).regulation == [] with input as _eu.input with data.regions as {"eu": {}}
}

# A rule without METADATA (its chain entry has only a path) still yields a violation, so it still denies.
test_fail_without_metadata_still_denies if {
	result.fail([{"path": ["arbiter", "checks", "x", "deny"]}], {"message": "m", "evidence_keys": []}) == {
		"rule": "RULE-WITHOUT-ID",
		"title": "",
		"regulation": [],
		"severity": "critical",
		"message": "m",
		"evidence_keys": [],
	}
}

test_obligation_without_metadata_keeps_its_details if {
	result.obligation([{"path": ["arbiter", "checks", "x", "obligations"]}], {"type": "human_review"}) == {
		"rule": "RULE-WITHOUT-ID",
		"title": "",
		"regulation": [],
		"type": "human_review",
	}
}

test_fail_marks_a_rule_that_is_not_waivable if {
	chain := [{"annotations": {"title": "T", "custom": {"id": "X-2", "severity": "critical", "waivable": false}}}]
	result.fail(chain, {"message": "m", "evidence_keys": []}) == {
		"rule": "X-2",
		"title": "T",
		"regulation": [],
		"severity": "critical",
		"message": "m",
		"evidence_keys": [],
		"waivable": false,
	}
}

test_fail_waivable_true_or_other_values_leave_the_violation_unmarked if {
	every waivable in [true, "false", null] {
		chain := [{"annotations": {"custom": {"id": "X-3", "waivable": waivable}}}]
		not "waivable" in object.keys(result.fail(chain, {"message": "m", "evidence_keys": []}))
	}
}

test_quote_writes_a_string_as_json_with_its_ampersand_as_it_is if {
	result.quote("Black&Female") == `"Black&Female"`
	result.quote(["<a>", {"k": "x&y"}]) == `["<a>",{"k":"x&y"}]`
	result.quote("\t\n") == `"\t\n"`
	result.quote(0.79) == "0.79"
	result.quote(null) == "null"
}

test_quote_writes_line_and_paragraph_separators_as_they_are if {
	# Go writes them as \u2028 and \u2029 (for JavaScript's sake), the Wasm runtime as they are.
	result.quote("A\u2028B\u2029C") == concat("", [`"A`, "\u2028", "B", "\u2029", `C"`])
	result.quote({"k": "\u2028"}) == concat("", [`{"k":"`, "\u2028", `"}`])
}
