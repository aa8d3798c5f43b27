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

test_fail_impossible_times_and_dates_are_undefined if {
	every bad in [
		"2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z", "2026-01-01T99:99:99Z",
		"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00-00:60", "2026-01-01T00:00:00-99:99",
		"2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z",
	] {
		not time.epoch_seconds(bad)
	}
}

test_success_real_edges_of_dates_and_times if {
	time.epoch_seconds("2024-02-29T00:00:00Z") == 1709164800
	time.epoch_seconds("2000-02-29T00:00:00Z") == 951782400
	time.epoch_seconds("2026-12-31T23:59:60Z") == 1798761600
	time.epoch_seconds("2026-01-01T00:00:00+23:59") == 1767139260
}

test_success_older_than_months_counts_calendar_months if {
	not time.older_than_months("2027-03-01T00:00:00Z", "2028-02-29T12:00:00Z", 12)
	not time.older_than_months("2027-03-01T10:00:00Z", "2028-03-01T10:00:00Z", 12)
	time.older_than_months("2027-03-01T10:00:00Z", "2028-03-01T10:00:00.000000001Z", 12)
	time.older_than_months("2027-03-01T10:00:00.5Z", "2028-03-01T10:00:00.6Z", 12)
	not time.older_than_months("2027-03-01T10:00:00.5Z", "2028-03-01T10:00:00.5Z", 12)
}

test_success_older_than_months_ends_on_the_last_day_of_a_shorter_month if {
	# 29 February 2024 plus a year: 28 February 2025; 31 January plus a month: 29 February in a leap year.
	not time.older_than_months("2024-02-29T08:00:00Z", "2025-02-28T08:00:00Z", 12)
	time.older_than_months("2024-02-29T08:00:00Z", "2025-02-28T08:00:01Z", 12)
	not time.older_than_months("2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", 1)
	time.older_than_months("2024-01-31T00:00:00Z", "2024-02-29T00:00:01Z", 1)
	time.older_than_months("2026-12-15T00:00:00Z", "2028-01-15T00:00:01Z", 13)
}

test_success_older_than_months_counts_on_the_local_calendar_of_the_offset if {
	# 2027-03-01T01:00:00+02:00 (2027-02-28T23:00:00Z) was done on 1 March where it was done: its year ends on
	# 2028-03-01T01:00:00+02:00, 2028-02-29T23:00:00Z, not on 28 February as the UTC calendar would have it.
	not time.older_than_months("2027-03-01T01:00:00+02:00", "2028-02-29T00:00:00Z", 12)
	not time.older_than_months("2027-03-01T01:00:00+02:00", "2028-02-29T23:00:00Z", 12)
	time.older_than_months("2027-03-01T01:00:00+02:00", "2028-02-29T23:00:00.000000001Z", 12)

	# Two audits on 28 February 2023 in New York, one before and one after midnight UTC, lapse together:
	# 2024-02-28T18:00:00-05:00 (23:00Z) and 2024-02-28T19:00:00-05:00 (2024-02-29T00:00:00Z).
	time.older_than_months("2023-02-28T18:00:00-05:00", "2024-02-29T17:00:00Z", 12)
	time.older_than_months("2023-02-28T19:00:00-05:00", "2024-02-29T17:00:00Z", 12)
	not time.older_than_months("2023-02-28T19:00:00-05:00", "2024-02-29T00:00:00Z", 12)
	time.older_than_months("2023-02-28T19:00:00-05:00", "2024-02-29T00:00:01Z", 12)
	not time.older_than_months("2023-02-28T18:00:00-05:00", "2024-02-28T23:00:00Z", 12)
	time.older_than_months("2023-02-28T18:00:00-05:00", "2024-02-28T23:00:00.5Z", 12)

	# East of UTC: 2023-03-01T03:00:00+05:00 is 2023-02-28T22:00:00Z, but was done on 1 March.
	not time.older_than_months("2023-03-01T03:00:00+05:00", "2024-02-29T21:59:59Z", 12)
	not time.older_than_months("2023-03-01T03:00:00+05:00", "2024-02-29T22:00:00Z", 12)
	time.older_than_months("2023-03-01T03:00:00+05:00", "2024-02-29T22:00:01Z", 12)
}

test_success_older_than_months_handles_old_dates if {
	# 1970-01-01 where it was done, 1969 in UTC: counted on the local calendar all the same.
	not time.older_than_months("1970-01-01T01:00:00+02:00", "1971-01-01T01:00:00+02:00", 12)
	time.older_than_months("1970-01-01T01:00:00+02:00", "1971-01-01T01:00:01+02:00", 12)
	time.epoch_seconds("1970-01-01T01:00:00+02:00") == -3600
	not time.older_than_months("yesterday", "2026-11-23T00:00:00Z", 12)
}

test_fail_years_before_1970_are_undefined if {
	every bad in ["1969-12-31T23:59:59Z", "1969-06-01T00:00:00Z", "0000-01-01T00:00:00Z", "0000-02-01T00:00:00Z"] {
		not time.epoch_seconds(bad)
		not time.older_than_months(bad, "2026-11-23T00:00:00Z", 12)
		not time.older_than_days(bad, "2026-11-23T00:00:00Z", 90)
		not time.later_than(bad, "2026-11-23T00:00:00Z", 0)
		not time.later_than("2026-11-23T00:00:00Z", bad, 0)
	}
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
