#!/usr/bin/env bash
# README command 2: install what is missing, then run every check and the whole test suite.
# The last line is the plain count: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --for-tests

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "typecheck (tsc --noEmit)"
npx tsc --noEmit
step "lint (eslint, module boundaries included)"
npx eslint --max-warnings 0 .
step "format (prettier --check)"
npx prettier --check --log-level warn .
if [[ -x scripts/check-policies.sh ]]; then
  step "policies (opa fmt, opa check --strict, opa test --coverage)"
  scripts/check-policies.sh
fi

step "tests (vitest: unit, integration on PostgreSQL and on PGlite, e2e)"
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || { echo "tests: 0 passed, 1 failed (vitest wrote no report)"; status=1; }
rm -f "$report"
exit "$status"
