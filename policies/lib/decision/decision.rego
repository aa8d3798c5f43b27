# METADATA
# title: Decision document
# description: |
#   Assembles what every stage entrypoint returns (DESIGN.md): allow, deny, warn, obligations, plus the
#   denials an active waiver covers. allow is false whenever an unwaived denial exists. A violation of a rule
#   marked `custom: {waivable: false}` (result.fail sets waivable: false) is never waived.
package arbiter.lib.decision

import data.arbiter.lib.time

# make builds the decision from the stage's findings. A denial covered by an active waiver moves to "waived"
# (once, crediting the covering waiver with the lowest id) and no longer blocks.
make(denials, warnings, obligations) := {
	"allow": count(blocking) == 0,
	"deny": blocking,
	"warn": {_public(v) | some v in warnings},
	"obligations": obligations,
	"waived": waived,
} if {
	waived := {object.union(_public(v), {"waiver_id": sort(_waiver_ids(v))[0]}) |
		some v in denials
		_waived(v)
	}
	blocking := {_public(v) | some v in denials; not _waived(v)}
}

# What a decision returns of a violation: the waivable mark is for this package only.
_public(violation) := object.remove(violation, ["waivable"])

# active_waivers are the waivers handed in for this model (and version) and region that have not expired at
# input.event.now, compared to the nanosecond (the service compares Dates to the millisecond, and both
# clocks reach the policy with millisecond digits). The caller filters too; this check makes an expired
# waiver powerless even when it reaches the policy, and keeps a replay of an old decision honest.
active_waivers contains w if {
	some w in input.waivers
	w.model == input.subject.model
	_covers_version(w)
	w.region == input.event.region
	time.later_than(w.expires_at, input.event.now, 0)
}

# A waiver without a version covers every version of its model; one with a version, that version only.
_covers_version(waiver) if not "version" in object.keys(waiver)

_covers_version(waiver) if waiver.version == input.subject.version

_covers(waiver, violation) if {
	waiver.rule == violation.rule
	not _unwaivable(violation)
}

_unwaivable(violation) if violation.waivable == false

# The ids of the active waivers that cover a violation. A waiver without an id covers nothing: a denial is
# either blocking or waived by a waiver the decision can name.
_waiver_ids(violation) := {w.id | some w in active_waivers; _covers(w, violation)}

_waived(violation) if count(_waiver_ids(violation)) > 0
