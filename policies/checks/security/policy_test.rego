package arbiter.checks.security_test

import data.arbiter.checks.security as policy

_data := {"eu": {"security": {"blocking_severities": ["critical", "high"]}}}

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
