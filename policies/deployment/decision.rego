# METADATA
# title: Deployment gate
# description: Before a model version serves - everything a regulator asks for at placing on the market.
# custom:
#   entrypoint: arbiter/deployment/decision
package arbiter.deployment

import data.arbiter.checks.binding
import data.arbiter.checks.data_quality
import data.arbiter.checks.fairness
import data.arbiter.checks.freshness
import data.arbiter.checks.input as input_check
import data.arbiter.checks.model_card
import data.arbiter.checks.oversight
import data.arbiter.checks.performance
import data.arbiter.checks.security
import data.arbiter.lib.decision as lib

_denials := {v |
	some findings in [
		input_check.deny, fairness.deny, performance.deny, data_quality.deny,
		security.deny, model_card.deny, freshness.deny, oversight.deny,
	]
	some v in findings
} | binding.deny

_warnings := (fairness.warn | security.warn) | freshness.warn

# binding (the evidence is of the model decided) is kept apart from the lists above, which other code edits.
decision := lib.make(_denials, _warnings | binding.warn, oversight.obligations)
