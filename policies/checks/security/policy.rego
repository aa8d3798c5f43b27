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
	some i, finding in _findings
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
	some i, finding in _findings
	not _severity(finding) in _blocking
	violation := result.fail(rego.metadata.chain(), _details(i, finding))
}

# METADATA
# title: Model-file scan present at deployment
# description: |
#   A deployment without security.findings (an array, empty when the scanners found nothing) has not shown
#   that its model file was scanned.
# custom:
#   id: SEC-EVIDENCE-MISSING
#   regulation: [eu-ai-act, sr-26-2]
#   severity: high
deny contains violation if {
	input.event.stage == "deployment"
	not _scanned
	violation := result.fail(rego.metadata.chain(), {
		"message": "no model-file scan: security.findings is missing or not an array",
		"evidence_keys": ["security.findings"],
	})
}

_scanned if is_array(input.evidence.security.findings)

_findings := input.evidence.security.findings if _scanned

# A finding without a severity, or with one outside the scanners' scale, is treated as the worst: a scanner
# that cannot rate it must not wave it through.
_severities := {"info", "low", "medium", "high", "critical"}

_severity(finding) := finding.severity if _rated(finding)

_severity(finding) := "critical" if not _rated(finding)

_rated(finding) if {
	is_object(finding)
	finding.severity in _severities
}

_details(i, finding) := {
	"message": concat("", [
		_severity(finding), " model-file finding ", result.quote(_id(finding)), ": ", _message(finding),
	]),
	"evidence_keys": [concat(".", ["security", "findings", format_int(i, 10)])],
}

# A finding that is not an object is named by its own JSON.
_id(finding) := object.get(finding, "id", null) if is_object(finding)

_id(finding) := finding if not is_object(finding)

_message(finding) := _text(object.get(finding, "message", "")) if is_object(finding)

_message(finding) := "" if not is_object(finding)

_text(value) := value if is_string(value)

_text(value) := result.quote(value) if not is_string(value)
