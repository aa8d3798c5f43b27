# METADATA
# title: Model-file security
# description: Findings of the model-file scanners (EU AI Act Art. 15(5) cybersecurity; NIST AI RMF MS 2.7).
package arbiter.checks.security

import data.arbiter.lib.result

_blocking := {s | some s in data.regions[input.event.region].security.blocking_severities}

# METADATA
# title: No blocking model-file finding
# custom:
#   id: SEC-FINDING
#   regulation: [eu-ai-act, sr-26-2]
#   severity: critical
deny contains violation if {
	some i, finding in input.evidence.security.findings
	_severity(finding) in _blocking
	violation := result.fail(rego.metadata.chain(), _details(i, finding))
}

# METADATA
# title: Model-file finding below the blocking severity
# custom:
#   id: SEC-FINDING-ADVISORY
#   regulation: [eu-ai-act]
#   severity: low
warn contains violation if {
	some i, finding in input.evidence.security.findings
	not _severity(finding) in _blocking
	violation := result.fail(rego.metadata.chain(), _details(i, finding))
}

# A finding without a severity is treated as the worst: a scanner that cannot rate it must not wave it through.
_severity(finding) := object.get(finding, "severity", "critical")

_details(i, finding) := {
	"message": concat("", [
		_severity(finding), " model-file finding ",
		json.marshal(object.get(finding, "id", null)), ": ", object.get(finding, "message", ""),
	]),
	"evidence_keys": [concat(".", ["security", "findings", format_int(i, 10)])],
}
