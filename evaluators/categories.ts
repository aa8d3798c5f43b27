/**
 * A sensitive-attribute value that names the unknown category, as HR exports write it for people who did not
 * say. NYC LL144 (6 RCNY §5-301) counts that category and never rates it, so fairness counts such a value as
 * missing: it is no group, never the reference, and none is compared against it. Other spellings can be made
 * missing with spec.data.na_values. reports/ shares this definition, for evidence that still rates such a value
 * as a group (from earlier versions, or from elsewhere). A module of its own, importing nothing, so that reports/
 * reads it without loading the evaluators (ONNX Runtime among them) into every process that renders a report or
 * only migrates the database.
 */
export const UNKNOWN_CATEGORY = /^\s*(?:unknown|not provided|undisclosed)\s*$/i;
