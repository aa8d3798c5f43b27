#!/usr/bin/env bash
# Installs what Arbiter needs on a fresh Debian machine (Node 20, Go, PostgreSQL 15 present) and nothing else.
# Idempotent: a second run checks and returns in seconds.
#   scripts/setup.sh             what the service and the demo need
#   scripts/setup.sh --for-tests also PostgreSQL running and poppler-utils (PDF checks)
#   scripts/setup.sh --gpu       also ONNX Runtime's CUDA execution provider (opt-in; Linux x86_64)
set -euo pipefail
cd "$(dirname "$0")/.."

OPA_VERSION=1.20.2
# ONNX Runtime 1.29.0's CUDA 13 provider libraries, as onnxruntime-node 1.29.0 needs them, pinned by hash.
GPU_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
GPU_PACKAGE_INTEGRITY=sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

for_tests=false
gpu=false
for arg in "$@"; do
  case "$arg" in
    --for-tests) for_tests=true ;;
    --gpu) gpu=true ;;
    *)
      say "unknown option $arg (known: --for-tests, --gpu)"
      exit 2
      ;;
  esac
done
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

# The CUDA execution provider (opt-in): onnxruntime-node's npm package ships without it, and its installer
# would download it from outside; onnxruntime-node loads it from beside its own libonnxruntime. A later
# npm ci replaces node_modules, and with it these libraries: run --gpu again after one.
if $gpu; then
  if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
    say "--gpu: ONNX Runtime's CUDA provider is built for Linux x86_64 only"
    exit 1
  fi
  ort_dir=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
  if [[ ! -f $ort_dir/libonnxruntime_providers_cuda.so || ! -f $ort_dir/libonnxruntime_providers_shared.so ]]; then
    say "installing ONNX Runtime's CUDA execution provider ($GPU_PACKAGE from npm, about 230 MB)"
    mkdir -p .tools/cache
    tarball=.tools/cache/$(cd .tools/cache && npm pack --silent "$GPU_PACKAGE")
    integrity=$(node -e 'const { createHash } = require("node:crypto");
      process.stdout.write("sha512-" + createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")
    if [[ $integrity != "$GPU_PACKAGE_INTEGRITY" ]]; then
      rm -f "$tarball"
      say "$GPU_PACKAGE: its tarball hashes to $integrity, not the pinned $GPU_PACKAGE_INTEGRITY; nothing installed"
      exit 1
    fi
    tar -xzf "$tarball" -C "$ort_dir" --no-same-owner --strip-components=4 \
      package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so \
      package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
    rm -f "$tarball"
  fi
  # The provider links against the NVIDIA driver and the CUDA 13 runtime, which only the machine can provide.
  missing=$(ldd "$ort_dir/libonnxruntime_providers_cuda.so" | awk '/not found/ { print $1 }' | tr '\n' ' ')
  if [[ -n $missing ]]; then
    say "CUDA provider installed, but these libraries it needs are missing: ${missing}(the NVIDIA driver and CUDA 13); until they are there, the evaluator's auto provider runs on the CPU and cuda is refused"
  else
    say "CUDA provider installed, and every library it links against is present"
  fi
fi

# The opa CLI compiles Rego to WebAssembly; pinned, from its Go module, into .tools/bin.
# grep reads all of the output: with -q it would stop at the match, and opa, writing on, would die of SIGPIPE,
# which pipefail takes for a missing opa.
if ! .tools/bin/opa version 2>/dev/null | grep -x "Version: ${OPA_VERSION}" >/dev/null; then
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
