# METADATA
# title: Monitoring gate
# description: A model in service, re-evaluated on live data (EU AI Act Art. 72 post-market monitoring).
# custom:
#   entrypoint: arbiter/monitoring/decision
package arbiter.monitoring

import data.arbiter.checks.binding
import data.arbiter.checks.drift
import data.arbiter.checks.fairness
import data.arbiter.checks.freshness
import data.arbiter.checks.input as input_check
import data.arbiter.checks.oversight
import data.arbiter.checks.performance
import data.arbiter.lib.decision as lib

# oversight.deny: a model whose card declares a prohibited practice (RISK-UNACCEPTABLE) may not stay in
# service any more than it may be deployed.
_denials := {v |
	some findings in [input_check.deny, drift.deny, performance.deny, fairness.deny, freshness.deny, oversight.deny]
	some v in findings
} | binding.deny

_warnings := (drift.warn | fairness.warn) | freshness.warn

# binding (the evidence is of the model decided) is kept apart from the lists above, which other code edits.
decision := lib.make(_denials, _warnings | binding.warn, oversight.obligations)
