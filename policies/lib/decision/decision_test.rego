package arbiter.lib.decision_test

import data.arbiter.lib.decision

_v(rule) := {"rule": rule, "title": "t", "regulation": [], "severity": "high", "message": "m", "evidence_keys": []}

_input(waivers) := {
	"event": {"stage": "deployment", "region": "eu", "now": "2026-11-23T00:00:00Z"},
	"subject": {"model": "credit", "version": "1"},
	"waivers": waivers,
}

_waiver(rule, expires_at) := {"id": "w1", "rule": rule, "model": "credit", "region": "eu", "expires_at": expires_at}

test_success_allow_without_denials if {
	d := decision.make(set(), {_v("W")}, {{"type": "human_review"}}) with input as _input([])
	d == {"allow": true, "deny": set(), "warn": {_v("W")}, "obligations": {{"type": "human_review"}}, "waived": set()}
}

test_fail_denial_blocks if {
	d := decision.make({_v("A")}, set(), set()) with input as _input([])
	d.allow == false
	d.deny == {_v("A")}
}

test_success_active_waiver_moves_denial_to_waived if {
	d := decision.make({_v("A"), _v("B")}, set(), set()) with input as _input([_waiver("A", "2026-12-01T00:00:00Z")])
	d.allow == false
	d.deny == {_v("B")}
	d.waived == {object.union(_v("A"), {"waiver_id": "w1"})}
}

test_success_all_denials_waived_allows if {
	d := decision.make({_v("A")}, set(), set()) with input as _input([_waiver("A", "2026-12-01T00:00:00Z")])
	d.allow == true
}

test_fail_expired_waiver_is_not_honoured if {
	d := decision.make({_v("A")}, set(), set()) with input as _input([_waiver("A", "2026-11-23T00:00:00Z")])
	d.allow == false
	d.waived == set()
}

test_fail_waiver_for_another_version_is_not_honoured if {
	other_version := object.union(_waiver("A", "2027-01-01T00:00:00Z"), {"version": "2"})
	d := decision.make({_v("A")}, set(), set()) with input as _input([other_version])
	d.allow == false
	d.waived == set()
}

test_success_waiver_for_this_version_is_honoured if {
	this_version := object.union(_waiver("A", "2027-01-01T00:00:00Z"), {"version": "1"})
	d := decision.make({_v("A")}, set(), set()) with input as _input([this_version])
	d.allow == true
	d.waived == {object.union(_v("A"), {"waiver_id": "w1"})}
}

test_fail_waiver_for_another_model_or_region_is_not_honoured if {
	other_model := object.union(_waiver("A", "2027-01-01T00:00:00Z"), {"model": "other"})
	other_region := object.union(_waiver("A", "2027-01-01T00:00:00Z"), {"region": "us"})
	d := decision.make({_v("A")}, set(), set()) with input as _input([other_model, other_region])
	d.allow == false
}

_unwaivable(rule) := object.union(_v(rule), {"waivable": false})

test_fail_rule_marked_not_waivable_is_never_waived if {
	d := decision.make({_unwaivable("RISK-UNACCEPTABLE"), _v("A")}, set(), set()) with input as _input([
		_waiver("RISK-UNACCEPTABLE", "2026-12-01T00:00:00Z"),
		_waiver("A", "2026-12-01T00:00:00Z"),
	])
	d.allow == false
	d.deny == {_v("RISK-UNACCEPTABLE")}
	d.waived == {object.union(_v("A"), {"waiver_id": "w1"})}
}

test_success_waivable_mark_is_not_returned if {
	d := decision.make({_unwaivable("INPUT-CLOCK-INVALID")}, {_unwaivable("W")}, set()) with input as _input([])
	d.deny == {_v("INPUT-CLOCK-INVALID")}
	d.warn == {_v("W")}
}

test_success_expiry_is_compared_below_the_second if {
	# The service's clock and waivers carry milliseconds; an expiry 800 ms ahead is still active.
	inp := object.union(_input([_waiver("A", "2026-11-23T00:00:00.900Z")]), {"event": {"now": "2026-11-23T00:00:00.100Z"}})
	d := decision.make({_v("A")}, set(), set()) with input as inp
	d.allow == true
	expired := object.union(_input([_waiver("A", "2026-11-23T00:00:00.100Z")]), {"event": {"now": "2026-11-23T00:00:00.100Z"}})
	d2 := decision.make({_v("A")}, set(), set()) with input as expired
	d2.allow == false
	later := object.union(_input([_waiver("A", "2026-11-23T00:00:00.099Z")]), {"event": {"now": "2026-11-23T00:00:00.100Z"}})
	d3 := decision.make({_v("A")}, set(), set()) with input as later
	d3.allow == false
}

test_success_two_waivers_for_one_rule_list_the_violation_once if {
	second := object.union(_waiver("A", "2026-12-24T00:00:00Z"), {"id": "w0"})
	d := decision.make({_v("A")}, set(), set()) with input as _input([_waiver("A", "2026-12-01T00:00:00Z"), second])
	d.allow == true
	d.waived == {object.union(_v("A"), {"waiver_id": "w0"})}
}

test_fail_waiver_without_id_or_with_malformed_expiry_is_not_honoured if {
	no_id := object.remove(_waiver("A", "2026-12-01T00:00:00Z"), ["id"])
	bad_expiry := _waiver("A", "next week")
	d := decision.make({_v("A")}, set(), set()) with input as _input([no_id, bad_expiry])
	d.allow == false
	d.deny == {_v("A")}
	d.waived == set()
}
