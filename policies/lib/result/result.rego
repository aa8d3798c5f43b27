# METADATA
# title: Violation shape
# description: |
#   Every check reports through fail, so the engine reads one violation shape:
#   {rule, title, regulation, severity, message, evidence_keys}. The rule's own METADATA supplies the
#   id, title, regulation and severity; the rule body supplies the message and the evidence keys it read.
package arbiter.lib.result

# fail turns the annotation chain of the calling rule (rego.metadata.chain()) and the details of one
# finding into a violation. It is defined whatever the METADATA holds: a rule whose author left out its id
# or severity still denies (as RULE-WITHOUT-ID, critical) rather than silently finding nothing.
fail(chain, details) := {
	"rule": object.get(annotations, ["custom", "id"], "RULE-WITHOUT-ID"),
	"title": object.get(annotations, "title", ""),
	"regulation": object.get(annotations, ["custom", "regulation"], []),
	"severity": object.get(annotations, ["custom", "severity"], "critical"),
	"message": details.message,
	"evidence_keys": details.evidence_keys,
} if {
	annotations := object.get(chain[0], "annotations", {})
}

# obligation is fail's counterpart for duties the decision imposes rather than forbids.
obligation(chain, details) := object.union(
	{
		"rule": object.get(annotations, ["custom", "id"], "RULE-WITHOUT-ID"),
		"title": object.get(annotations, "title", ""),
		"regulation": object.get(annotations, ["custom", "regulation"], []),
	},
	details,
) if {
	annotations := object.get(chain[0], "annotations", {})
}
