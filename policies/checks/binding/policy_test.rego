package arbiter.checks.binding_test

import data.arbiter.checks.binding as policy

_sha := "5f0c6e1d2b3a49e8c7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4"

_zeros := "0000000000000000000000000000000000000000000000000000000000000000"

_input(stage, decided, evaluated) := {
	"event": {"stage": stage, "region": "eu", "now": "2026-11-23T00:00:00Z"},
	"subject": {"model": "credit", "version": "2", "model_sha256": decided},
	"evidence": {"subject": {"model_sha256": evaluated}},
}

_regulation := ["eu-ai-act", "sr-26-2", "nyc-ll144"]

# A region under every regulation the rule cites: a finding cites those of its region (lib/result).
_data := {"eu": {"regulations": ["nyc-ll144", "sr-26-2", "eu-ai-act"]}}

_unbound(key) := {
	"rule": "EVIDENCE-MODEL-UNBOUND",
	"title": "Evidence names the model decided",
	"regulation": _regulation,
	"severity": "high",
	"message": concat("", [
		key, " is not the sha256 of a model file: the evidence cannot be shown to be of the model decided",
	]),
	"evidence_keys": ["subject.model_sha256"],
}

test_success_evidence_of_the_model_decided if {
	every stage in ["deployment", "monitoring"] {
		count(policy.deny) == 0 with input as _input(stage, _sha, _sha)
		count(policy.warn) == 0 with input as _input(stage, _sha, _sha)
	}

	# Hex digits compare case-insensitively.
	count(policy.deny) == 0 with input as _input("deployment", upper(_sha), _sha)
}

test_fail_evidence_of_another_model if {
	every stage in ["deployment", "monitoring"] {
		policy.deny == {{
			"rule": "EVIDENCE-MODEL-MISMATCH",
			"title": "Evidence is of the model decided",
			"regulation": _regulation,
			"severity": "critical",
			"waivable": false,
			"message": concat("", [
				"the evidence is about model ", json.marshal(_zeros),
				", not the model decided, subject.model_sha256 ", json.marshal(_sha),
			]),
			"evidence_keys": ["subject.model_sha256"],
		}} with input as _input(stage, _sha, _zeros) with data.regions as _data
	}
}

test_fail_unbound_evidence_denies_at_deployment if {
	policy.deny == {_unbound("evidence.subject.model_sha256")} with input as _input("deployment", _sha, null) with data.regions as _data
	policy.deny == {_unbound("subject.model_sha256")} with input as _input("deployment", "", _sha) with data.regions as _data
	policy.deny == {_unbound("subject.model_sha256"), _unbound("evidence.subject.model_sha256")} with input as {
		"event": {"stage": "deployment", "region": "eu"},
		"evidence": {},
	}
		with data.regions as _data
	count(policy.warn) == 0 with input as _input("deployment", _sha, null)
}

test_fail_malformed_hashes_are_unbound if {
	policy.deny == {_unbound("subject.model_sha256")} with input as _input("deployment", "not-a-sha", _sha) with data.regions as _data
	policy.deny == {_unbound("evidence.subject.model_sha256")} with input as _input("deployment", _sha, 42) with data.regions as _data
}

test_success_unbound_evidence_warns_at_monitoring if {
	inp := _input("monitoring", null, _sha)
	count(policy.deny) == 0 with input as inp
	policy.warn == {_unbound("subject.model_sha256")} with input as inp with data.regions as _data
}

test_fail_cites_the_regulations_of_the_region if {
	inp := _input("deployment", _sha, _zeros)
	[v] := [v | some v in policy.deny] with input as inp with data.regions as {"eu": {"regulations": ["eu-ai-act", "gdpr"]}}
	v.regulation == ["eu-ai-act"]
	[w] := [w | some w in policy.deny] with input as inp
	w.regulation == []
}
