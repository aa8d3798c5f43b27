package arbiter.checks.security_test

import data.arbiter.checks.security as policy

# A region under every regulation the rules cite, so that a finding cites all of its rule's (lib/result keeps
# only those of the decision's region).
_every_regulation := ["eu-ai-act", "gdpr", "sr-26-2", "ca-dadm", "sg-maigf", "sg-mas-feat", "uk-gdpr-duaa", "uk-atrs", "eeoc-ugesp", "nyc-ll144", "ecoa-reg-b"]

_data := {"eu": {"regulations": _every_regulation, "security": {"blocking_severities": ["critical", "high"]}}}

_input(findings) := {"event": {"region": "eu"}, "evidence": {"security": {"findings": findings}}}

test_success_no_findings if {
	count(policy.deny) == 0 with input as _input([]) with data.regions as _data
	count(policy.warn) == 0 with input as _input([]) with data.regions as _data
}

test_fail_blocking_finding if {
	policy.deny == {{
		"rule": "SEC-FINDING",
		"title": "No blocking model-file finding",
		"regulation": ["eu-ai-act", "sr-26-2"],
		"severity": "critical",
		"message": "high model-file finding \"ONNX-EXTERNAL-DATA\": tensor data outside the model file",
		"evidence_keys": ["security.findings.0"],
	}} with input as _input([{"id": "ONNX-EXTERNAL-DATA", "severity": "high", "message": "tensor data outside the model file"}])
		with data.regions as _data
}

test_fail_finding_without_severity_blocks if {
	count(policy.deny) == 1 with input as _input([{"id": "X"}]) with data.regions as _data
}

test_success_minor_finding_is_advisory if {
	policy.warn == {{
		"rule": "SEC-FINDING-ADVISORY",
		"title": "Model-file finding below the blocking severity",
		"regulation": ["eu-ai-act"],
		"severity": "low",
		"message": "low model-file finding \"ONNX-OPSET-OLD\": opset 9",
		"evidence_keys": ["security.findings.0"],
	}} with input as _input([{"id": "ONNX-OPSET-OLD", "severity": "low", "message": "opset 9"}])
		with data.regions as _data
	count(policy.deny) == 0 with input as _input([{"id": "ONNX-OPSET-OLD", "severity": "low"}]) with data.regions as _data
}

test_fail_unrated_or_malformed_findings_block if {
	cases := [
		[{"id": "X", "severity": null, "message": "m"}, "critical model-file finding \"X\": m"],
		[{"id": "X", "severity": "CRITICAL", "message": "m"}, "critical model-file finding \"X\": m"],
		[{"id": "X", "severity": 5, "message": ["m"]}, "critical model-file finding \"X\": [\"m\"]"],
		["os.system in the pickle", "critical model-file finding \"os.system in the pickle\": "],
	]
	every case in cases {
		{v.message | some v in policy.deny} == {case[1]} with input as _input([case[0]]) with data.regions as _data
		{v.rule | some v in policy.deny} == {"SEC-FINDING"} with input as _input([case[0]]) with data.regions as _data
	}
}

test_fail_no_scan_at_deployment if {
	policy.deny == {{
		"rule": "SEC-EVIDENCE-MISSING",
		"title": "Model-file scan present at deployment",
		"regulation": ["eu-ai-act", "sr-26-2"],
		"severity": "high",
		"message": "no model-file scan: security.findings is missing or not an array",
		"evidence_keys": ["security.findings"],
	}} with input as {"event": {"stage": "deployment", "region": "eu"}, "evidence": {}}
		with data.regions as _data
}

test_fail_malformed_scan_at_deployment if {
	every security in [{}, {"findings": null}, {"findings": {"0": {"id": "X"}}}, {"findings": "none"}, "clean"] {
		{v.rule | some v in policy.deny} == {"SEC-EVIDENCE-MISSING"} with input as {"event": {"stage": "deployment", "region": "eu"}, "evidence": {"security": security}}
			with data.regions as _data
	}
}

test_success_scan_not_required_outside_deployment if {
	count(policy.deny) == 0 with input as {"event": {"stage": "monitoring", "region": "eu"}, "evidence": {}} with data.regions as _data
}
