# METADATA
# title: Fairness
# description: |
#   Impact ratio (four-fifths rule), demographic parity and equalized odds gaps against the region's
#   thresholds. Where the region's framework is voluntary (fairness.enforcement = "warn") the same findings
#   are warnings instead of denials; a threshold the region lists in fairness.advisory_thresholds (one no
#   regulation of the region sets as a pass/fail line: NYC LL144 sets none, REGULATIONS.md §3) warns
#   only. Definitions follow Fairlearn's defaults (DESIGN.md, evidence document).
package arbiter.checks.fairness

import data.arbiter.lib.result

_limits := data.regions[input.event.region].fairness

_enforcement := object.get(_limits, "enforcement", "deny")

# The threshold findings, by the name of the threshold in fairness.advisory_thresholds.
_thresholds := {
	"impact_ratio": _impact_ratio,
	"demographic_parity_difference": _parity_gap,
	"equalized_odds_difference": _odds_gap,
}

_advisory(threshold) if threshold in object.get(_limits, "advisory_thresholds", [])

# What the region's enforcement decides: the evidence and attribute findings, and the thresholds it enforces.
_findings := ({violation |
	some threshold, violations in _thresholds
	not _advisory(threshold)
	some violation in violations
} | _missing) | _attribute_missing

deny contains violation if {
	_enforcement == "deny"
	some violation in _findings
}

warn contains violation if {
	_enforcement == "warn"
	some violation in _findings
}

# An advisory threshold is shown, never blocking (NYC LL144's four-fifths flag, REGULATIONS.md §3).
warn contains violation if {
	some threshold, violations in _thresholds
	_advisory(threshold)
	some violation in violations
}

warn contains violation if {
	some violation in _small_groups
}

# METADATA
# title: Impact ratio at or above the region's minimum
# description: |
#   A group's selection rate divided by the highest group's (29 CFR 1607.4(D); NYC LL144 §5-301). Groups
#   smaller than min_group_size are left out of the comparison and reported by FAIR-SMALL-GROUP instead.
#   UGESP's four-fifths rule is a screen for adverse impact (region us denies on it); LL144 reports the
#   ratio but sets no threshold, so us-nyc lists it in advisory_thresholds and it warns there.
# custom:
#   id: FAIR-IMPACT-RATIO
#   regulation: [eeoc-ugesp, nyc-ll144, eu-ai-act, uk-gdpr-duaa, ca-dadm, sg-mas-feat]
#   severity: high
_impact_ratio contains violation if {
	some attribute, report in input.evidence.fairness
	some group, stats in report.groups
	_compared(stats)
	is_number(stats.impact_ratio)
	stats.impact_ratio < _limits.impact_ratio_min
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"impact ratio of ", attribute, " group ", result.quote(group), " is ", json.marshal(stats.impact_ratio),
			", below the minimum ", json.marshal(_limits.impact_ratio_min),
		]),
		"evidence_keys": [concat(".", ["fairness", attribute, "groups", group, "impact_ratio"])],
	})
}

# METADATA
# title: Demographic parity difference within the region's maximum
# description: The spread of selection rates across groups (max minus min).
# custom:
#   id: FAIR-DP-GAP
#   regulation: [eu-ai-act, uk-gdpr-duaa, ca-dadm, sg-mas-feat]
#   severity: high
_parity_gap contains violation if {
	some attribute, report in input.evidence.fairness
	is_number(report.demographic_parity_difference)
	report.demographic_parity_difference > _limits.demographic_parity_difference_max
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"demographic parity difference on ", attribute, " is ", json.marshal(report.demographic_parity_difference),
			", above the maximum ", json.marshal(_limits.demographic_parity_difference_max),
		]),
		"evidence_keys": [concat(".", ["fairness", attribute, "demographic_parity_difference"])],
	})
}

# METADATA
# title: Equalized odds difference within the region's maximum
# description: The larger of the TPR range and the FPR range across groups.
# custom:
#   id: FAIR-EO-GAP
#   regulation: [eu-ai-act, uk-gdpr-duaa, ca-dadm, sg-mas-feat]
#   severity: high
_odds_gap contains violation if {
	some attribute, report in input.evidence.fairness
	is_number(report.equalized_odds_difference)
	report.equalized_odds_difference > _limits.equalized_odds_difference_max
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"equalized odds difference on ", attribute, " is ", json.marshal(report.equalized_odds_difference),
			", above the maximum ", json.marshal(_limits.equalized_odds_difference_max),
		]),
		"evidence_keys": [concat(".", ["fairness", attribute, "equalized_odds_difference"])],
	})
}

# METADATA
# title: Fairness evidence present
# description: |
#   A training, deployment or monitoring gate cannot judge fairness without per-group evidence (monitoring:
#   EU AI Act Art. 72, NYC LL144, EEOC, UK, Singapore). Every attribute reported must be usable: at least
#   two groups of min_group_size rows or more (an impact ratio compares groups), each such group with a
#   numeric impact_ratio, every group with a whole number of rows as its count, and numeric demographic
#   parity and equalized odds differences. A group left out of the comparison (under min_group_size, or
#   named only in excluded_groups) must hold under 2% of the attribute's rows (its groups' counts, those
#   named only in excluded_groups and the unknown category, `missing`, together), and its count must be
#   given: NYC LL144 §5-301(d) lets an audit leave out only a category under 2% of its data, and no other
#   region's rules leave out more. A group that ll144.excluded_under_2pct names must be under 2% too.
#   Figures out of range or contradicting each other are no evidence either: the differences must lie in
#   [0, 1], a compared group's impact ratio in [0, 1] (any group's at 0 or more), the per-group rates
#   (selection_rate, tpr, fpr, fnr, ppv, accuracy) in [0, 1]; and where the compared groups give selection
#   rates, each impact ratio must be its group's rate over the highest, and the demographic parity difference
#   the highest less the lowest (equalized odds: the larger of the TPR and FPR ranges), within 1e-6.
#   Equalized odds may be skipped only for want of labels: evidence that shows labels (a numeric
#   performance metric that needs them, or a group with a numeric tpr, fpr or fnr) must report it, whatever
#   `skipped` says. Groups under min_group_size are not required to have an impact ratio (FAIR-SMALL-GROUP).
# custom:
#   id: FAIR-EVIDENCE-MISSING
#   regulation: [eu-ai-act, eeoc-ugesp, nyc-ll144, uk-gdpr-duaa, ca-dadm, sg-mas-feat]
#   severity: high
_missing contains violation if {
	input.event.stage in {"training", "deployment", "monitoring"}
	some problem in _evidence_problems
	violation := result.fail(rego.metadata.chain(), problem)
}

_evidence_problems contains {
	"message": "no fairness evidence: evaluate the model per sensitive attribute",
	"evidence_keys": ["fairness"],
} if {
	not _reported
}

_evidence_problems contains {
	"message": concat("", [
		"fairness evidence on ", result.quote(attribute), " cannot be judged: ",
		concat("; ", sort(problems)),
	]),
	"evidence_keys": [concat(".", ["fairness", attribute])],
} if {
	some attribute, problems in _attribute_problems
}

# An attribute the evaluator could not measure (one with more distinct values than it groups by, an ID column
# read as a sensitive attribute) is left out of `fairness` and named in `skipped`: not judged is not fair.
_evidence_problems contains {
	"message": concat("", ["fairness evidence on ", result.quote(attribute), " was not measured: ", _text(entry.reason)]),
	"evidence_keys": [concat(".", ["fairness", attribute])],
} if {
	some entry in input.evidence.skipped
	is_string(entry.metric)
	startswith(entry.metric, "fairness.")
	attribute := substring(entry.metric, count("fairness."), -1)
	not attribute in _optional_metrics
}

# What `skipped` may name under fairness that is a measure left out, not an attribute.
_optional_metrics := {"bootstrap", "tpr_fpr_fnr_ppv_accuracy", "equalized_odds", "ll144.scoring"}

_text(value) := value if is_string(value)

_text(value) := result.quote(value) if not is_string(value)

_reported if count(_attributes) > 0

# The per-attribute reports; anything but an object (an array, a string) reports nothing.
_attributes := input.evidence.fairness if is_object(input.evidence.fairness)

# [attribute, group, stats] of every group an attribute's report lists.
_group_entries contains [attribute, group, stats] if {
	some attribute, report in _attributes
	some group, stats in object.get(report, "groups", {})
}

# Why each attribute's report cannot be judged, keyed by attribute so that collecting one attribute's
# problems is a lookup, not a scan of every attribute's (quadratic in the number of attributes).
_attribute_problems[attribute] contains "the report is not an object" if {
	some attribute, report in _attributes
	not is_object(report)
}

_attribute_problems[attribute] contains concat("", [gap, " is not a number"]) if {
	some attribute, report in _attributes
	is_object(report)
	some gap in _required_gaps
	not is_number(object.get(report, gap, null))
}

# The differences are of rates: within [0, 1].
_attribute_problems[attribute] contains concat("", [gap, " is ", result.quote(value), ", not in [0, 1]"]) if {
	some attribute, report in _reports
	some gap in ["demographic_parity_difference", "equalized_odds_difference"]
	value := report[gap]
	is_number(value)
	not _rate([attribute, gap])
}

# Whether the figure at path in the fairness report (its keys from the attribute on) is a rate, in [0, 1].
# A function of the path, not of the figure: OPA's Go evaluator caches a function's results in a hash table
# keyed by its arguments, where every number in [0, 1) hashes alike (ast.Number.Hash is the integer part),
# so each call on a figure was compared with every earlier call: quadratic in the number of groups, 70-110 ms
# of one decision on 20 groups. Paths of distinct names hash apart. The Wasm runtime caches nothing here.
_rate(path) if {
	value := object.get(_attributes, path, null)
	is_number(value)
	value >= 0
	value <= 1
}

# Equalized odds needs ground truth. An evaluation without labels (a hiring screen's selections, say) says
# in `skipped` that it could not measure it, and is judged on the rest. The evaluator skips it only then, and
# then has no performance metrics and no per-group error rates either: evidence showing labels cannot skip it.
_required_gaps contains "demographic_parity_difference"

_required_gaps contains "equalized_odds_difference" if not _skipped("fairness.equalized_odds")

_required_gaps contains "equalized_odds_difference" if _labelled

# Metrics that only ground truth gives: a numeric one shows the evaluation had labels.
_labelled if {
	some metric in {"accuracy", "precision", "recall", "f1", "roc_auc"}
	is_number(input.evidence.performance[metric])
}

_labelled if {
	some [_, _, stats] in _group_entries
	some rate in {"tpr", "fpr", "fnr"}
	is_number(stats[rate])
}

_skipped(metric) if {
	some entry in input.evidence.skipped
	entry.metric == metric
}

_attribute_problems[attribute] contains "groups is not an object" if {
	some attribute, report in _attributes
	is_object(report)
	not is_object(object.get(report, "groups", null))
}

_attribute_problems[attribute] contains concat("", ["group ", result.quote(group), " has no numeric count"]) if {
	some [attribute, group, stats] in _group_entries
	not is_number(_count(stats))
}

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " has a count of ", result.quote(rows), ", not a whole number of rows",
]) if {
	some [attribute, group, stats] in _group_entries
	rows := _count(stats)
	is_number(rows)
	not _whole(rows)
}

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " is compared but has no numeric impact_ratio",
]) if {
	some [attribute, group, stats] in _group_entries
	_compared(stats)
	not is_number(object.get(stats, "impact_ratio", null))
}

_attribute_problems[attribute] contains concat("", [
	"no group of at least ", result.quote(_limits.min_group_size), " rows with a numeric impact_ratio",
]) if {
	some attribute, _ in _reports
	count(object.get(_comparable, attribute, set())) == 0
}

# One group is no comparison: every other left out (too small, or moved to excluded_groups), its impact ratio
# of 1 against itself says nothing of the others.
_attribute_problems[attribute] contains concat("", [
	"only group ", result.quote(group), " has at least ", result.quote(_limits.min_group_size),
	" rows and a numeric impact_ratio: an impact ratio compares two groups or more",
]) if {
	some attribute, groups in _comparable
	count(groups) == 1
	some group in groups
}

# The per-group rates the evaluator writes (null where undefined: a group without positive labels has no tpr).
_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " has ", name, " ", result.quote(value), ", not a rate in [0, 1]",
]) if {
	some [attribute, group, stats] in _group_entries
	some name in ["selection_rate", "tpr", "fpr", "fnr", "ppv", "accuracy"]
	value := stats[name]
	value != null
	not _rate([attribute, "groups", group, name])
}

# A compared group's selection rate over the highest: in [0, 1]. A smaller group's may pass 1 (the highest is
# a compared group's), never go below 0.
_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " has impact_ratio ", json.marshal(stats.impact_ratio), ", not in [0, 1]",
]) if {
	some [attribute, group, stats] in _group_entries
	_compared(stats)
	is_number(stats.impact_ratio)
	not _rate([attribute, "groups", group, "impact_ratio"])
}

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " has impact_ratio ", json.marshal(stats.impact_ratio), ", below 0",
]) if {
	some [attribute, group, stats] in _group_entries
	not _compared(stats)
	is_number(stats.impact_ratio)
	stats.impact_ratio < 0
}

# Where an attribute's groups give selection rates, every compared group gives its own: the highest, which
# every impact ratio is taken against, and the parity difference are known only then.
_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " is compared but has no numeric selection_rate",
]) if {
	some [attribute, group, stats] in _group_entries
	_compared(stats)
	object.get(stats, "selection_rate", null) == null
	_gives_selection_rates[attribute]
}

_gives_selection_rates contains attribute if {
	some [attribute, _, stats] in _group_entries
	"selection_rate" in object.keys(stats)
}

# The selection rates of each attribute's compared groups, by group, where the evidence gives them as rates.
_selection_rates[attribute] := rates if {
	some attribute, report in _reports
	rates := {group: rate |
		some group, stats in object.get(report, "groups", {})
		_compared(stats)
		_rate([attribute, "groups", group, "selection_rate"])
		rate := stats.selection_rate
	}
	count(rates) > 0
}

# How far a figure may lie from what the rates give: the evaluator's own arithmetic, not a rounded report.
_tolerance := 0.000001

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " has impact_ratio ", json.marshal(ratio), ", not its selection_rate ",
	json.marshal(rate), " over the highest of a compared group, ", json.marshal(top),
]) if {
	some attribute, rates in _selection_rates
	top := max([rate | some rate in rates])
	top > 0
	some group, rate in rates
	ratio := _reports[attribute].groups[group].impact_ratio
	is_number(ratio)
	abs(ratio - (rate / top)) > _tolerance
}

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " has impact_ratio ", json.marshal(ratio),
	", but no compared group was selected (every selection_rate is 0): no ratio is defined",
]) if {
	some attribute, rates in _selection_rates
	max([rate | some rate in rates]) == 0
	some group, _ in rates
	ratio := _reports[attribute].groups[group].impact_ratio
	is_number(ratio)
}

_attribute_problems[attribute] contains concat("", [
	"demographic_parity_difference ", json.marshal(gap), " is not the range of the compared groups' selection",
	" rates, ", json.marshal(max(values)), " - ", json.marshal(min(values)),
]) if {
	some attribute, rates in _selection_rates
	values := [rate | some rate in rates]
	count(values) >= 2
	gap := _reports[attribute].demographic_parity_difference
	is_number(gap)
	abs(gap - (max(values) - min(values))) > _tolerance
}

# Equalized odds (Fairlearn): the larger of the compared groups' TPR range and FPR range, each over the groups
# whose rate is defined.
_attribute_problems[attribute] contains concat("", [
	"equalized_odds_difference ", json.marshal(gap), " is not the larger of the compared groups' tpr range, ",
	json.marshal(max(tpr)), " - ", json.marshal(min(tpr)), ", and fpr range, ", json.marshal(max(fpr)), " - ",
	json.marshal(min(fpr)),
]) if {
	some attribute, report in _reports
	tpr := _compared_rates(attribute, "tpr")
	fpr := _compared_rates(attribute, "fpr")
	count(tpr) >= 2
	count(fpr) >= 2
	gap := report.equalized_odds_difference
	is_number(gap)
	abs(gap - max([max(tpr) - min(tpr), max(fpr) - min(fpr)])) > _tolerance
}

_compared_rates(attribute, name) := [rate |
	some group, stats in object.get(_reports[attribute], "groups", {})
	_compared(stats)
	_rate([attribute, "groups", group, name])
	rate := stats[name]
]

# The groups of each attribute that take part in the impact-ratio comparison.
_comparable[attribute] contains group if {
	some [attribute, group, stats] in _group_entries
	_compared(stats)
	is_number(stats.impact_ratio)
}

_count(stats) := object.get(stats, "count", null) if is_object(stats)

_count(stats) := null if not is_object(stats)

# A count of rows: a whole number, not negative.
_whole(rows) if {
	is_number(rows)
	rows >= 0
	floor(rows) == rows
}

# The attribute reports that are objects (another is a problem of its own: "the report is not an object").
_reports[attribute] := report if {
	some attribute, report in _attributes
	is_object(report)
}

# Groups left out of the comparison may hold under 2% of an attribute's rows, no more (NYC LL144 §5-301(d)).
# The share is compared as rows * 50 against the total: whole numbers, exact in every runtime.
_share_limit := 50

# [attribute, group, why] of every group left out of the impact-ratio comparison: one in groups with fewer
# than min_group_size rows, or one that excluded_groups names without it in groups with a count (one there
# with min_group_size rows or more is compared whatever excluded_groups says, as the evaluator lists there a
# group left out of equalized odds only).
_left_out contains [attribute, group, concat("", ["fewer than ", result.quote(_limits.min_group_size), " rows"])] if {
	some [attribute, group, stats] in _group_entries
	_whole(_count(stats))
	_count(stats) < _limits.min_group_size
}

_left_out contains [attribute, group, "named only in excluded_groups"] if {
	some attribute, report in _reports
	some group in _listed_only(report)
}

# The groups excluded_groups names that groups does not give a count of.
_listed_only(report) := {group |
	some entry in _excluded_entries(report)
	group := entry.group
	is_string(group)
	not _counted_in_groups(report, group)
}

_counted_in_groups(report, group) if is_number(_count(report.groups[group]))

_excluded_entries(report) := entries if {
	entries := object.get(report, "excluded_groups", [])
	is_array(entries)
}

_excluded_entries(report) := [] if not is_array(object.get(report, "excluded_groups", []))

# The rows of a group: its count in groups, else the largest whole count excluded_groups gives it.
_rows_in(report, group) := report.groups[group].count if _whole(report.groups[group].count)

_rows_in(report, group) := max(listed) if {
	not _whole_in_groups(report, group)
	listed := [rows | some entry in _excluded_entries(report); entry.group == group; rows := entry.count; _whole(rows)]
	count(listed) > 0
}

# A negated call whose argument is undefined would fail, not succeed, hence these helper rules.
_whole_in_groups(report, group) if _whole(report.groups[group].count)

_rows_known(report, group) if _rows_in(report, group)

# An attribute's rows: its groups', those of the groups named only in excluded_groups, and the unknown
# category's (`missing`), as LL144 counts the audit data (evaluators/metrics/fairness.ts, ll144.total).
_total_rows[attribute] := (in_groups + listed) + _unknown_rows(report) if {
	some attribute, report in _reports
	in_groups := sum([rows | some _, stats in object.get(report, "groups", {}); rows := _count(stats); _whole(rows)])
	listed := sum([rows | some group in _listed_only(report); rows := _rows_in(report, group)])
}

_unknown_rows(report) := report.missing if _whole(report.missing)

_unknown_rows(report) := 0 if not _whole(object.get(report, "missing", null))

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " is left out of the comparison (", why, ") but holds ", result.quote(rows),
	" of the attribute's ", result.quote(_total_rows[attribute]), " rows, not under 2%",
]) if {
	some [attribute, group, why] in _left_out
	rows := _rows_in(_reports[attribute], group)
	rows > 0
	rows * _share_limit >= _total_rows[attribute]
}

_attribute_problems[attribute] contains concat("", [
	"group ", result.quote(group), " is left out of the comparison (", why, ") and no count of its rows is given",
]) if {
	some [attribute, group, why] in _left_out
	not _rows_known(_reports[attribute], group)
}

_attribute_problems[attribute] contains "excluded_groups is not an array" if {
	some attribute, report in _reports
	not is_array(object.get(report, "excluded_groups", []))
}

_attribute_problems[attribute] contains "excluded_groups holds an entry without a group name" if {
	some attribute, report in _reports
	some entry in _excluded_entries(report)
	not is_string(object.get(entry, "group", null))
}

_attribute_problems[attribute] contains concat("", [
	"missing is ", result.quote(report.missing), ", not a whole number of rows",
]) if {
	some attribute, report in _reports
	not _whole(object.get(report, "missing", 0))
}

# The categories the LL144 figures leave out as under 2% of the data must be.
_attribute_problems[attribute] contains concat("", [
	"ll144.excluded_under_2pct names group ", result.quote(group), ", which holds ", result.quote(rows),
	" of the attribute's ", result.quote(_total_rows[attribute]), " rows, not under 2%",
]) if {
	some attribute, report in _reports
	some group in _under_2pct(report)
	rows := _rows_in(report, group)
	rows > 0
	rows * _share_limit >= _total_rows[attribute]
}

_attribute_problems[attribute] contains concat("", [
	"ll144.excluded_under_2pct names group ", result.quote(group), ", of which no count of rows is given",
]) if {
	some attribute, report in _reports
	some group in _under_2pct(report)
	not _rows_known(report, group)
}

_attribute_problems[attribute] contains "ll144.excluded_under_2pct is not a list of group names" if {
	some attribute, report in _reports
	not _names(object.get(report, ["ll144", "excluded_under_2pct"], []))
}

_under_2pct(report) := names if {
	names := object.get(report, ["ll144", "excluded_under_2pct"], [])
	_names(names)
}

_names(names) if {
	is_array(names)
	every name in names {
		is_string(name)
	}
}

# A group large enough to take part in the comparisons (smaller ones are reported by FAIR-SMALL-GROUP).
_compared(stats) if {
	is_number(stats.count)
	stats.count >= _limits.min_group_size
}

# METADATA
# title: Fairness evidence covers the attributes the region requires
# description: |
#   A region may require fairness evidence on named attributes (fairness.required_attributes: NYC LL144
#   §5-301(b) asks for sex, race/ethnicity and their intersection). Evidence judged only on the attributes it
#   chooses to report would pass a model by leaving out the one it is unfair on, so a required attribute that
#   no key of `fairness` matches (its pattern, case-insensitive) denies at deployment and monitoring, also
#   when `skipped` names it: not measured is not fair.
# custom:
#   id: FAIR-ATTRIBUTE-MISSING
#   regulation: [nyc-ll144]
#   severity: high
_attribute_missing contains violation if {
	input.event.stage in {"deployment", "monitoring"}
	some required in object.get(_limits, "required_attributes", [])
	not _attribute_reported(required.pattern)
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			"no fairness evidence on ", required.name, ", which this region requires: no attribute of the evidence",
			" matches ", required.pattern, " (case-insensitive)", _skipped_note(required.pattern),
		]),
		"evidence_keys": ["fairness"],
	})
}

# Whether some attribute of the evidence's fairness report matches pattern, case-insensitive.
_attribute_reported(pattern) if {
	some attribute, _ in _attributes
	regex.match(concat("", ["(?i)", pattern]), attribute)
}

# Written as they are: the names go into a list, not a quoted value.
_skipped_note(pattern) := concat("", ["; ", concat(", ", sort(names)), " named in skipped: not measured"]) if {
	names := _skipped_attributes(pattern)
	count(names) > 0
}

_skipped_note(pattern) := "" if count(_skipped_attributes(pattern)) == 0

# The attributes matching pattern that `skipped` says were not measured.
_skipped_attributes(pattern) := {attribute |
	some entry in input.evidence.skipped
	is_string(entry.metric)
	startswith(entry.metric, "fairness.")
	attribute := substring(entry.metric, count("fairness."), -1)
	regex.match(concat("", ["(?i)", pattern]), attribute)
}

# METADATA
# title: Groups too small to compare
# description: |
#   Groups under the region's min_group_size are left out of the impact-ratio comparison and reported, so the
#   exclusion is visible. min_group_size is Arbiter's statistical floor (a rate over a handful of rows says
#   little), not a rule of any law, and leaves out only a group under 2% of the attribute's rows: NYC LL144
#   §5-301(d) lets an auditor leave out a category under 2% of the audit data, with a justification and that
#   category's counts and rate (the evaluator reports those categories in
#   fairness.<attribute>.ll144.excluded_under_2pct). A small group of 2% or more is FAIR-EVIDENCE-MISSING.
# custom:
#   id: FAIR-SMALL-GROUP
#   regulation: [nyc-ll144, eu-ai-act]
#   severity: low
_small_groups contains violation if {
	some attribute, report in input.evidence.fairness
	some group, stats in report.groups
	is_number(stats.count)
	stats.count < _limits.min_group_size
	violation := result.fail(rego.metadata.chain(), {
		"message": concat("", [
			attribute, " group ", result.quote(group), " has ", result.quote(stats.count),
			" rows, fewer than ", result.quote(_limits.min_group_size), "; left out of the impact-ratio comparison",
		]),
		"evidence_keys": [concat(".", ["fairness", attribute, "groups", group, "count"])],
	})
}
