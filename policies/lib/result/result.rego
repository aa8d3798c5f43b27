# METADATA
# title: Violation shape
# description: |
#   Every check reports through fail, so the engine reads one violation shape:
#   {rule, title, regulation, severity, message, evidence_keys}. The rule's own METADATA supplies the
#   id, title, regulation and severity; the rule body supplies the message and the evidence keys it read.
package arbiter.lib.result

# fail turns the annotation chain of the calling rule (rego.metadata.chain()) and the details of one
# finding into a violation.
fail(chain, details) := {
	"rule": annotations.custom.id,
	"title": annotations.title,
	"regulation": annotations.custom.regulation,
	"severity": annotations.custom.severity,
	"message": details.message,
	"evidence_keys": details.evidence_keys,
} if {
	annotations := chain[0].annotations
}

# obligation is fail's counterpart for duties the decision imposes rather than forbids.
obligation(chain, details) := object.union(
	{
		"rule": annotations.custom.id,
		"title": annotations.title,
		"regulation": annotations.custom.regulation,
	},
	details,
) if {
	annotations := chain[0].annotations
}
