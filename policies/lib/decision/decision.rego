# METADATA
# title: Decision document
# description: |
#   Assembles what every stage entrypoint returns (DESIGN.md): allow, deny, warn, obligations, plus the
#   denials an active waiver covers. allow is false whenever an unwaived denial exists.
package arbiter.lib.decision

import data.arbiter.lib.time

# make builds the decision from the stage's findings. A denial covered by an active waiver moves to "waived"
# and no longer blocks.
make(denials, warnings, obligations) := {
	"allow": count(blocking) == 0,
	"deny": blocking,
	"warn": warnings,
	"obligations": obligations,
	"waived": waived,
} if {
	waived := {object.union(v, {"waiver_id": w.id}) |
		some v in denials
		some w in active_waivers
		_covers(w, v)
	}
	blocking := {v | some v in denials; not _waived(v)}
}

# active_waivers are the waivers handed in for this model and region that have not expired at
# input.event.now. The caller filters too; this check makes an expired waiver powerless even when it
# reaches the policy, and keeps a replay of an old decision honest.
active_waivers contains w if {
	some w in input.waivers
	w.model == input.subject.model
	w.region == input.event.region
	time.epoch_seconds(w.expires_at) > time.epoch_seconds(input.event.now)
}

_covers(waiver, violation) if waiver.rule == violation.rule

_waived(violation) if {
	some w in active_waivers
	_covers(w, violation)
}
