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

test_fail_waiver_for_another_model_or_region_is_not_honoured if {
	other_model := object.union(_waiver("A", "2027-01-01T00:00:00Z"), {"model": "other"})
	other_region := object.union(_waiver("A", "2027-01-01T00:00:00Z"), {"region": "us"})
	d := decision.make({_v("A")}, set(), set()) with input as _input([other_model, other_region])
	d.allow == false
}
