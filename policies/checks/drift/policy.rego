# METADATA
# title: Drift limits
# description: Input drift per feature against the region's limits (EU AI Act Art. 72 post-market monitoring).
package arbiter.checks.drift

import data.arbiter.lib.result

_limits := data.regions[input.event.region].drift

# METADATA
# title: Population stability index within the region's maximum
# custom:
#   id: DRIFT-PSI
#   regulation: [eu-ai-act, sr-26-2, ca-dadm]
#   severity: high
deny contains violation if {
	some feature, stats in input.evidence.drift.features
	is_number(stats.psi)
	stats.psi > _limits.psi_max
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"PSI of feature ", json.marshal(feature), " is ", json.marshal(stats.psi),
			", above the maximum ", json.marshal(_limits.psi_max),
		]),
		"evidence_keys": [concat(".", ["drift", "features", feature, "psi"])],
	})
}

# METADATA
# title: Kolmogorov-Smirnov p-value at or above the region's minimum
# description: |
#   A warning, not a denial: on large samples the KS test rejects for shifts too small to matter, so PSI is
#   the blocking measure and KS the early signal.
# custom:
#   id: DRIFT-KS
#   regulation: [eu-ai-act, sr-26-2]
#   severity: medium
warn contains violation if {
	some feature, stats in input.evidence.drift.features
	stats.test == "ks"
	is_number(stats.p_value)
	stats.p_value < _limits.ks_p_value_min
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"KS test on feature ", json.marshal(feature), " has p-value ", json.marshal(stats.p_value),
			", below ", json.marshal(_limits.ks_p_value_min),
		]),
		"evidence_keys": [concat(".", ["drift", "features", feature, "p_value"])],
	})
}

# METADATA
# title: Drift evidence present at monitoring
# custom:
#   id: DRIFT-EVIDENCE-MISSING
#   regulation: [eu-ai-act]
#   severity: high
deny contains violation if {
	input.event.stage == "monitoring"
	not _reported
	violation := result.fail(rego.metadata.chain(), {
		"message": "no drift evidence: a monitoring event must report drift per feature",
		"evidence_keys": ["drift.features"],
	})
}

_reported if count(input.evidence.drift.features) > 0
