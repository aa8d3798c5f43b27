#!/usr/bin/env bash
# Installs what Arbiter needs on a fresh Debian machine (Node 20, Go, PostgreSQL 15 present) and nothing else.
# Idempotent: a second run checks and returns in seconds.
#   scripts/setup.sh             what the service and the demo need
#   scripts/setup.sh --for-tests also PostgreSQL running and poppler-utils (PDF checks)
set -euo pipefail
cd "$(dirname "$0")/.."

OPA_VERSION=1.20.2
for_tests=false
[[ "${1:-}" == "--for-tests" ]] && for_tests=true

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  say "Node.js 20 or newer is required (found $(node --version))"
  exit 1
fi

# npm: ONNX Runtime's installer and puppeteer would download from outside; neither may.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip PUPPETEER_SKIP_DOWNLOAD=true npm ci --no-fund --no-audit
fi

# The opa CLI compiles Rego to WebAssembly; pinned, from its Go module, into .tools/bin.
if ! .tools/bin/opa version 2>/dev/null | grep -qx "Version: ${OPA_VERSION}"; then
  say "installing opa v${OPA_VERSION} into .tools/bin (go install; a few minutes the first time)"
  GOBIN="$PWD/.tools/bin" GOTOOLCHAIN=local CGO_ENABLED=0 \
    go install -trimpath -ldflags='-s -w' "github.com/open-policy-agent/opa@v${OPA_VERSION}"
fi

# Debian packages: Chromium renders reports to PDF; git serves policy repositories; poppler checks PDFs in tests.
packages=()
command -v chromium >/dev/null || packages+=(chromium)
command -v git >/dev/null || packages+=(git)
$for_tests && ! command -v pdftotext >/dev/null && packages+=(poppler-utils)
if ((${#packages[@]} > 0)); then
  say "installing Debian packages: ${packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# The test suite runs against the machine's PostgreSQL server (the service itself defaults to embedded PGlite).
if $for_tests && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432
fi
say "ready"
