# METADATA
# title: Training gate
# description: Before a model is trained on a dataset - data quality and fairness of the training data.
# custom:
#   entrypoint: arbiter/training/decision
package arbiter.training

import data.arbiter.checks.data_quality
import data.arbiter.checks.fairness
import data.arbiter.checks.input as input_check
import data.arbiter.lib.decision as lib

decision := lib.make(
	((input_check.deny | data_quality.deny) | fairness.deny),
	fairness.warn,
	set(),
)
