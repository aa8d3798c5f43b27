#!/usr/bin/env bash
# README command 1: install what is missing, then run Arbiter's main job on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/arbiter.js demo "$@"
