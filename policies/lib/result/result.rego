# METADATA
# title: Violation shape
# description: |
#   Every check reports through fail, so the engine reads one violation shape:
#   {rule, title, regulation, severity, message, evidence_keys}. The rule's own METADATA supplies the
#   id, title, regulation and severity (the regulations the decision's region is subject to among those it
#   names); the rule body supplies the message and the evidence keys it read.
#   A rule marked `custom: {waivable: false}` adds waivable: false, which only lib/decision reads.
package arbiter.lib.result

# fail turns the annotation chain of the calling rule (rego.metadata.chain()) and the details of one
# finding into a violation. It is defined whatever the METADATA holds: a rule whose author left out its id
# or severity still denies (as RULE-WITHOUT-ID, critical) rather than silently finding nothing.
fail(chain, details) := object.union(
	{
		"rule": object.get(annotations, ["custom", "id"], "RULE-WITHOUT-ID"),
		"title": object.get(annotations, "title", ""),
		"regulation": _cited(object.get(annotations, ["custom", "regulation"], [])),
		"severity": object.get(annotations, ["custom", "severity"], "critical"),
		"message": details.message,
		"evidence_keys": details.evidence_keys,
	},
	_waivability(annotations),
) if {
	annotations := object.get(chain[0], "annotations", {})
}

# A rule whose METADATA says `custom: {waivable: false}` marks its violations so, and lib/decision never
# waives them; lib/decision removes the mark from what a decision returns. Any other value, or none, leaves
# the rule waivable and the violation unmarked.
_waivability(annotations) := {"waivable": false} if {
	object.get(annotations, ["custom", "waivable"], true) == false
}

_waivability(annotations) := {} if {
	object.get(annotations, ["custom", "waivable"], true) != false
}

# A finding cites the regulations of its rule's METADATA that the decision's region is subject to
# (data.regions[<region>].regulations: the ids of regions/<id>/region.yaml's `regulations`), in the METADATA's
# order: a rule serves every region, and an EU AI Act article is no ground for a decision in New York. A rule
# none of whose regulations the region has cites none there; a region unknown or without the list, none.
_cited(regulations) := [regulation |
	some regulation in regulations
	regulation in _region_regulations
]

default _region_regulations := []

_region_regulations := data.regions[input.event.region].regulations

# obligation is fail's counterpart for duties the decision imposes rather than forbids.
obligation(chain, details) := object.union(
	{
		"rule": object.get(annotations, ["custom", "id"], "RULE-WITHOUT-ID"),
		"title": object.get(annotations, "title", ""),
		"regulation": _cited(object.get(annotations, ["custom", "regulation"], [])),
	},
	details,
) if {
	annotations := object.get(chain[0], "annotations", {})
}

# A value as JSON text for a message, the same in every runtime: Go's json.marshal (opa eval, opa test, OPA's
# server) writes &, <, > and the line and paragraph separators U+2028 and U+2029 as \u0026, \u003c, \u003e,
# \u2028 and \u2029, the Wasm runtime's as they are, so that a message naming the group "Black&Female" would
# differ between them. Go's escapes are written back as the characters. (Text that itself reads \u0026 comes
# out as \& in both: a message, never a decision, and alike everywhere.)
#
# A value known to be a number needs none of this: messages write figures with json.marshal, which both
# runtimes write alike. Passed here, a figure would cost, in OPA's Go evaluator, a comparison with every
# figure quoted before it (its function cache hashes every number in [0, 1) alike; policies/README.md).
quote(value) := replace(
	replace(
		replace(replace(replace(json.marshal(value), "\\u0026", "&"), "\\u003c", "<"), "\\u003e", ">"),
		"\\u2028", "\u2028",
	),
	"\\u2029", "\u2029",
)
