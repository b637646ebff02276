#!/usr/bin/env bash
# Installs ollmlx from this source checkout: set-up, the standalone binary (dist/), and a symlink on your PATH.
# Idempotent: run it again after `git pull` to rebuild and relink.
#
#   scripts/install_ollmlx.sh                 links ~/.local/bin/ollmlx
#   PREFIX=/usr/local scripts/install_ollmlx.sh   links /usr/local/bin/ollmlx
#
# The link points into this checkout's dist/, where the shim and MLX sit next to the executable (docs/packaging.md):
# keep the checkout, or copy dist/ somewhere stable and link that instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
BIN="$PREFIX/bin"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'install_ollmlx: %s\n' "$*" >&2; exit 1; }

[ -f "$ROOT/package.json" ] && [ -d "$ROOT/src" ] || die "run this from an ollmlx source checkout ($ROOT has no package.json/src)"

say "set-up (scripts/setup.sh)"
bash "$ROOT/scripts/setup.sh" || die "set-up failed; see the messages above"

say "binary (scripts/build-binary.sh)"
bash "$ROOT/scripts/build-binary.sh" || die "building the binary failed; see the messages above"
"$ROOT/dist/ollmlx" --version >/dev/null 2>&1 || die "dist/ollmlx was built but does not run"

mkdir -p "$BIN" || die "cannot create $BIN (set PREFIX to a folder you can write)"
LINK="$BIN/ollmlx"
if [ -e "$LINK" ] && [ ! -L "$LINK" ]; then
  die "$LINK exists and is not a symlink; remove it or set PREFIX"
fi
ln -sfn "$ROOT/dist/ollmlx" "$LINK"
say "linked $LINK -> $ROOT/dist/ollmlx"

case ":$PATH:" in
  *":$BIN:"*) ;;
  *) say "note: $BIN is not on your PATH; add: export PATH=\"$BIN:\$PATH\"" ;;
esac
say "done: ollmlx serve"
