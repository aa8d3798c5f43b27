# METADATA
# title: RFC 3339 timestamps without time builtins
# description: |
#   The Wasm runtime has no time.* builtins, and the clock must come in as input for replay anyway, so
#   timestamps are parsed here with string builtins that compile to Wasm natively.
package arbiter.lib.time

_rfc3339 := `^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$`

# epoch_seconds is the whole number of seconds since 1970-01-01T00:00:00Z; undefined when ts is not RFC 3339.
epoch_seconds(ts) := _instant(ts)[0]

# The timestamps of the input the checks and lib/decision read. Parsing is the costliest part of a decision and
# functions are not memoized, so each of these is parsed once per decision (_parsed, a rule, is), however many
# rules ask; any other timestamp is parsed where it is asked for. Both give the same result.
_input_timestamps contains input.event.now

_input_timestamps contains input.evidence.generated_at

_input_timestamps contains input.evidence.bias_audit.completed_at

_input_timestamps contains w.expires_at if some w in input.waivers

_parsed[ts] := _parse(ts) if some ts in _input_timestamps

# _instant is [whole seconds since the epoch, nanoseconds of the fraction, the offset from UTC in seconds];
# digits past the ninth are dropped.
_instant(ts) := _parsed[ts] if _input_timestamps[ts]

_instant(ts) := _parse(ts) if not _input_timestamps[ts]

_parse(ts) := [_epoch_seconds(m), _nanos(m[7]), _offset_seconds(m[8])] if {
	is_string(ts)
	[m] := regex.find_all_string_submatch_n(_rfc3339, ts, 1)
}

# _epoch_seconds is epoch_seconds of the submatches of _rfc3339; undefined for a date or time of day that does
# not exist (RFC 3339 section 5.7; second 60 is a leap second). An impossible field must not count as a later
# instant: "T99:99:99" would make evidence look four days younger than its date. A year before 1970 is
# refused too: no evidence, audit, waiver or decision clock predates the epoch, and before it the calendar
# arithmetic takes floor() of negative numbers, which truncates in OPA's Go evaluator but not in Wasm (year
# 0000 in January or February was a day apart between them).
_epoch_seconds(m) := seconds if {
	year := _int(m[1])
	year >= 1970
	month := _int(m[2])
	day := _int(m[3])
	hour := _int(m[4])
	minute := _int(m[5])
	second := _int(m[6])
	month >= 1
	month <= 12
	day >= 1
	day <= _days_in_month(year, month)
	hour <= 23
	minute <= 59
	second <= 60
	clock := ((hour * 3600) + (minute * 60)) + second
	seconds := ((_days_from_civil(year, month, day) * 86400) + clock) - _offset_seconds(m[8])
}

_days_in_month(_, month) := 31 if month in {1, 3, 5, 7, 8, 10, 12}

_days_in_month(_, month) := 30 if month in {4, 6, 9, 11}

_days_in_month(year, 2) := 29 if _leap_year(year)

_days_in_month(year, 2) := 28 if not _leap_year(year)

_leap_year(year) if {
	year % 4 == 0
	year % 100 != 0
}

_leap_year(year) if year % 400 == 0

# later_than holds when ts lies more than slack_seconds (a whole number) after ref, compared to the
# nanosecond: the whole seconds first, then the fraction. Undefined when either is not RFC 3339. Nanoseconds
# since the epoch (about 1.8e18) are not held as one number: the Wasm runtime's numbers are not exact there.
later_than(ts, ref, slack_seconds) if {
	[ts_s, ts_ns, _] := _instant(ts)
	[ref_s, ref_ns, _] := _instant(ref)
	_after(ts_s, ts_ns, ref_s + slack_seconds, ref_ns)
}

_after(s1, _, s2, _) if s1 > s2

_after(s1, ns1, s2, ns2) if {
	s1 == s2
	ns1 > ns2
}

_nanos("") := 0

_nanos(fraction) := _int(substring(concat("", [substring(fraction, 1, 9), "000000000"]), 0, 9)) if fraction != ""

# older_than_days holds when ts lies more than days whole days before now. Compared in seconds: floor() of a
# negative number truncates in OPA's Go evaluator but not in Wasm, so no division happens here.
older_than_days(ts, now, days) if epoch_seconds(now) - epoch_seconds(ts) > days * 86400

# older_than_months holds when now lies after ts plus months calendar months: the same day of the month (the
# month's last day where the later month is shorter) at the same time of day, counted on the calendar of ts's
# own offset (an audit dated 2023-02-28T19:00:00-05:00 was done on 28 February where it was done, though it
# was 1 March in UTC), then compared as instants. A law's "within the last year" is a calendar year, which
# 365 days is not across a 29 February. ts's local time is never negative (its year is 1970 or later), so
# no floor() here meets a negative number.
older_than_months(ts, now, months) if {
	[ts_s, ts_ns, offset] := _instant(ts)
	local := ts_s + offset
	[now_s, now_ns, _] := _instant(now)
	days := floor(local / 86400)
	[y, m, d] := _civil_from_days(days)
	later := ((y * 12) + (m - 1)) + months
	later_year := floor(later / 12)
	later_month := (later - (later_year * 12)) + 1
	later_day := min([d, _days_in_month(later_year, later_month)])
	limit := ((_days_from_civil(later_year, later_month, later_day) * 86400) + (local - (days * 86400))) - offset
	_after(now_s, now_ns, limit, ts_ns)
}

# age_days is the age of ts at now in whole days, for messages; undefined when ts lies in the future.
age_days(ts, now) := floor(seconds / 86400) if {
	seconds := epoch_seconds(now) - epoch_seconds(ts)
	seconds >= 0
}

# Leading zeros are trimmed because to_number's accepted forms differ between Go and the Wasm runtime.
_int(digits) := 0 if trim_left(digits, "0") == ""

_int(digits) := to_number(trimmed) if {
	trimmed := trim_left(digits, "0")
	trimmed != ""
}

_offset_seconds(zone) := 0 if lower(zone) == "z"

_offset_seconds(zone) := sign * ((hours * 3600) + (minutes * 60)) if {
	lower(zone) != "z"
	sign := _sign(substring(zone, 0, 1))
	hours := _int(substring(zone, 1, 2))
	minutes := _int(substring(zone, 4, 2))
	hours <= 23
	minutes <= 59
}

_sign("+") := 1

_sign("-") := -1

# Howard Hinnant's civil_from_days (proleptic Gregorian): [year, month, day] of a day count since 1970-01-01,
# for days >= 0.
_civil_from_days(days) := [year + _march_shift(month), month, day] if {
	z := days + 719468
	era := floor(z / 146097)
	doe := z - (era * 146097)
	yoe := floor((((doe - floor(doe / 1460)) + floor(doe / 36524)) - floor(doe / 146096)) / 365)
	year := yoe + (era * 400)
	doy := doe - (((365 * yoe) + floor(yoe / 4)) - floor(yoe / 100))
	mp := floor(((5 * doy) + 2) / 153)
	day := (doy - floor(((153 * mp) + 2) / 5)) + 1
	month := _month_of_march_index(mp)
}

_month_of_march_index(mp) := mp + 3 if mp < 10

_month_of_march_index(mp) := mp - 9 if mp >= 10

# Howard Hinnant's days_from_civil (proleptic Gregorian), for years >= 0 (called for 1970 and later).
_days_from_civil(y, m, d) := ((era * 146097) + doe) - 719468 if {
	year := y - _march_shift(m)
	era := floor(year / 400)
	yoe := year - (era * 400)
	doy := (floor(((153 * _month_from_march(m)) + 2) / 5) + d) - 1
	doe := (((yoe * 365) + floor(yoe / 4)) - floor(yoe / 100)) + doy
}

_march_shift(m) := 1 if m <= 2

_march_shift(m) := 0 if m > 2

_month_from_march(m) := m + 9 if m <= 2

_month_from_march(m) := m - 3 if m > 2
