#!/usr/bin/env bash
# Installs the llama.cpp peer: node-llama-cpp (pinned in package.json) plus only this machine's prebuilt binary.
#   bench/llama-cpp/install.sh           the CPU (or Metal) build for this OS and architecture (~85 MB)
#   bench/llama-cpp/install.sh --cuda    also the CUDA build (for bench/run.ts --device cuda)
# A plain `npm install` would fetch every platform's prebuilt (~700 MB); without any, node-llama-cpp's postinstall
# compiles llama.cpp from source. So: no optional packages, no install scripts, then the one prebuilt we run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VERSION="$(sed -n 's/.*"node-llama-cpp": *"\([^"]*\)".*/\1/p' package.json)"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PREBUILT=(linux-x64) ;;
  Linux-aarch64) PREBUILT=(linux-arm64) ;;
  Darwin-arm64) PREBUILT=(mac-arm64-metal) ;;
  Darwin-x86_64) PREBUILT=(mac-x64) ;;
  *) echo "install.sh: no node-llama-cpp prebuilt for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
if [ "${1:-}" = "--cuda" ]; then PREBUILT+=(linux-x64-cuda linux-x64-cuda-ext); fi
NPM=(npm --no-audit --no-fund --loglevel=error)
"${NPM[@]}" install --omit=optional --ignore-scripts
"${NPM[@]}" install --no-save --omit=optional --ignore-scripts $(printf '@node-llama-cpp/%s@'"$VERSION"' ' "${PREBUILT[@]}")
