#!/usr/bin/env bash
# The Rego checks CI runs (STYLE.md item 18): formatting, strict compile under the Wasm capabilities, the
# Rego unit tests with full coverage, and a samples folder (allowed + denied) for every stage entrypoint.
# The opa CLI: $ARBITER_OPA, else the pinned .tools/bin/opa, else opa on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
opa="${ARBITER_OPA:-$root/.tools/bin/opa}"
[[ -x "$opa" ]] || opa="$(command -v opa)" || { echo "opa CLI not found (set ARBITER_OPA)" >&2; exit 2; }
policies="$root/policies"
threshold="${POLICY_COVERAGE_THRESHOLD:-100}"

echo "== opa fmt"
"$opa" fmt --list --fail "$policies"
echo "== opa check --strict (capabilities: policies/capabilities.json)"
"$opa" check --strict --capabilities "$policies/capabilities.json" -b "$policies"
echo "== opa test --coverage --threshold $threshold"
# With a threshold opa prints the whole coverage report; show it only when the check fails.
if ! report="$(cd "$policies" && "$opa" test -b . --capabilities capabilities.json --threshold "$threshold" 2>&1)"; then
  echo "$report"
  exit 1
fi
echo "$report" | tail -n 3 | grep -o '"coverage": [0-9.]*' | sed 's/"coverage"/overall coverage/'
(cd "$policies" && "$opa" test -b . --capabilities capabilities.json)
echo "== samples"
for stage in training deployment monitoring; do
  for kind in allowed denied; do
    if ! compgen -G "$policies/$stage/samples/$kind/*.json" >/dev/null; then
      echo "policies/$stage has no samples/$kind/*.json" >&2
      exit 1
    fi
  done
done
echo "policy checks passed"
