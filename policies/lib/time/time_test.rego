package arbiter.lib.time_test

import data.arbiter.lib.time

test_success_epoch_of_unix_epoch if {
	time.epoch_seconds("1970-01-01T00:00:00Z") == 0
}

test_success_epoch_matches_known_instants if {
	# date -u -d 2026-11-23T00:47:32Z +%s
	time.epoch_seconds("2026-11-23T00:47:32Z") == 1795394852
	time.epoch_seconds("2024-02-29T12:00:00.123456Z") == 1709208000
	time.epoch_seconds("2000-03-01T00:00:00z") == 951868800
}

test_success_offsets_are_applied if {
	time.epoch_seconds("2026-11-23T02:47:32+02:00") == 1795394852
	time.epoch_seconds("2026-11-22T19:17:32-05:30") == 1795394852
}

test_fail_malformed_timestamps_are_undefined if {
	not time.epoch_seconds("2026-11-23")
	not time.epoch_seconds("2026-13-01T00:00:00Z")
	not time.epoch_seconds("2026-00-01T00:00:00Z")
	not time.epoch_seconds("2026-01-00T00:00:00Z")
	not time.epoch_seconds("2026-01-32T00:00:00Z")
	not time.epoch_seconds(1795394852)
}

test_success_older_than_days if {
	time.older_than_days("2025-11-22T23:59:59Z", "2026-11-23T00:00:00Z", 365)
	not time.older_than_days("2025-11-23T00:00:00Z", "2026-11-23T00:00:00Z", 365)
	not time.older_than_days("2027-01-01T00:00:00Z", "2026-11-23T00:00:00Z", 365)
	not time.older_than_days("yesterday", "2026-11-23T00:00:00Z", 365)
}

test_success_age_days if {
	time.age_days("2025-11-22T12:00:00Z", "2026-11-23T00:00:00Z") == 365
	not time.age_days("2026-11-24T00:00:00Z", "2026-11-23T00:00:00Z")
}

test_success_later_than_compares_to_the_nanosecond if {
	time.later_than("2026-11-23T12:00:00.9Z", "2026-11-23T12:00:00.1Z", 0)
	not time.later_than("2026-11-23T12:00:00.1Z", "2026-11-23T12:00:00.9Z", 0)
	not time.later_than("2026-11-23T12:00:00.100Z", "2026-11-23T12:00:00.1Z", 0)
	time.later_than("2026-11-23T12:00:00.000000001Z", "2026-11-23T12:00:00Z", 0)
	time.later_than("2026-11-23T12:00:01Z", "2026-11-23T12:00:00.999999999Z", 0)
	not time.later_than("2026-11-23T12:00:00Z", "2026-11-23T12:00:01Z", 0)
	time.later_than("2026-11-23T14:00:00.5+02:00", "2026-11-23T12:00:00.4Z", 0)
}

test_success_later_than_allows_slack if {
	not time.later_than("2026-11-23T12:05:00Z", "2026-11-23T12:00:00Z", 300)
	time.later_than("2026-11-23T12:05:00.001Z", "2026-11-23T12:00:00Z", 300)
	time.later_than("2026-11-23T12:05:01Z", "2026-11-23T12:00:00Z", 300)
}

test_fail_later_than_is_undefined_for_malformed_timestamps if {
	every bad in ["2099-01-01", "2099-13-01T00:00:00Z", 4102444800, null] {
		not time.later_than(bad, "2026-11-23T12:00:00Z", 0)
		not time.later_than("2099-01-01T00:00:00Z", bad, 0)
	}
}
