# METADATA
# title: Input sanity
# description: |
#   Fail closed when the thresholds or the clock a decision depends on are missing. No waiver lifts these:
#   without them the waiver's own scope and expiry cannot be judged either.
package arbiter.checks.input

import data.arbiter.lib.result
import data.arbiter.lib.time

# METADATA
# title: Region has policy data
# description: Without the region's thresholds every other check would be silent, so the decision denies.
# custom:
#   id: INPUT-REGION-UNKNOWN
#   regulation: []
#   severity: critical
#   waivable: false
deny contains violation if {
	not _region_known
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", ["no policy data for region ", result.quote(input.event.region)]),
		"evidence_keys": [],
	})
}

# METADATA
# title: Decision clock is RFC 3339
# description: Freshness and waiver expiry are judged against input.event.now; without it nothing can be.
# custom:
#   id: INPUT-CLOCK-INVALID
#   regulation: []
#   severity: critical
#   waivable: false
deny contains violation if {
	not _clock_valid
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", ["input.event.now is not an RFC 3339 timestamp: ", result.quote(input.event.now)]),
		"evidence_keys": [],
	})
}

# Negating the expressions directly would fail when the input lacks event.region or event.now: a reference
# inside `not` is evaluated outside the negation.
_region_known if data.regions[input.event.region]

_clock_valid if time.epoch_seconds(input.event.now)
