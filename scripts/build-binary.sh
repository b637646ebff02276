#!/usr/bin/env bash
# Builds the standalone ollmlx: one `bun build --compile` executable plus the native shim and MLX beside it.
#
#   scripts/build-binary.sh                  dist/ for this machine (see docs/packaging.md for the layout)
#   scripts/build-binary.sh --darwin-arm64   also dist/darwin-arm64/ollmlx, cross-compiled (the executable only:
#                                            its libmlxs.dylib must be built on macOS against Homebrew's mlx)
#
# The shim is never embedded in the executable: Bun extracts an embedded library to a temp path, where its link
# to libmlx no longer resolves. It ships next to the executable, found there by src/ffi/lib.ts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${OLLMLX_DIST:-$ROOT/dist}"
WANT_DARWIN=0
for arg in "$@"; do
  case "$arg" in
    --darwin-arm64) WANT_DARWIN=1 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build-binary: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build-binary: %s\n' "$*" >&2; exit 1; }
cd "$ROOT"

case "$(uname -s)" in
  Darwin) SUFFIX=dylib ;;
  Linux) SUFFIX=so ;;
  *) die "unsupported OS $(uname -s)" ;;
esac

# 1. Dependencies, MLX and the development shim: scripts/setup.sh, only when something is missing.
if [ ! -x node_modules/.bin/bun ] || [ ! -f .deps/mlx-prefix ] || [ ! -f "build/libmlxs.$SUFFIX" ]; then
  say "setup (scripts/setup.sh)"
  OLLMLX_SKIP_DEFAULT_MODEL="${OLLMLX_SKIP_DEFAULT_MODEL:-1}" bash scripts/setup.sh
fi
BUN="$ROOT/node_modules/.bin/bun"
MLX_PREFIX="$(cat .deps/mlx-prefix)"
[ -d "$MLX_PREFIX/lib" ] || die "MLX is not at $MLX_PREFIX (from .deps/mlx-prefix): run scripts/setup.sh"
VERSION="$("$BUN" -e 'console.log(require("./package.json").version)')"

# 2. The executable. src/version.ts imports package.json, so the version is baked in by the bundle.
say "ollmlx $VERSION -> ${DIST#"$ROOT"/}/ollmlx"
mkdir -p "$DIST"
"$BUN" build --compile --minify ./src/index.ts --outfile "$DIST/ollmlx.tmp" >/dev/null || die "bun build --compile failed"
mv "$DIST/ollmlx.tmp" "$DIST/ollmlx"

# 3. The shim and MLX beside it.
rm -rf "$DIST/libmlxs.$SUFFIX" "$DIST/mlx" "$DIST/mlx_cpu.libs"
case "$SUFFIX" in
  so)
    # The development shim's RUNPATH is the absolute .deps/ folder. This copy is linked with RUNPATH
    # $ORIGIN/mlx/lib, and dist/ mirrors the wheel: libmlx.so's own RPATH, $ORIGIN/../../mlx_cpu.libs, then finds
    # the wheel's vendored BLAS/LAPACK/gfortran in dist/mlx_cpu.libs. dist/ runs from any folder.
    say "relocatable shim (RUNPATH \$ORIGIN/mlx/lib)"
    make -s -C native/mlx_c_shim MLX_PREFIX="$MLX_PREFIX" OUT="$ROOT/build/dist-shim" \
      LDFLAGS_EXTRA="-shared -Wl,-rpath,'\$\$ORIGIN/mlx/lib' -Wl,--no-undefined -pthread"
    cp "build/dist-shim/libmlxs.so" "$DIST/"
    mkdir -p "$DIST/mlx/lib"
    cp "$MLX_PREFIX/lib/libmlx.so" "$DIST/mlx/lib/"
    WHEEL_LIBS="$MLX_PREFIX/../mlx_cpu.libs"
    if [ -d "$WHEEL_LIBS" ]; then
      mkdir -p "$DIST/mlx_cpu.libs"
      cp "$WHEEL_LIBS"/* "$DIST/mlx_cpu.libs/"
    fi
    if missing=$(ldd "$DIST/libmlxs.so" | grep 'not found'); then die "dist/libmlxs.so cannot load: $missing"; fi
    ;;
  dylib)
    # On macOS the shim links Homebrew's mlx by absolute path (its opt/ prefix, stable across upgrades of the
    # same version); mlx is a runtime dependency, as in Formula/ollmlx.rb, so nothing else is copied.
    cp "build/libmlxs.dylib" "$DIST/"
    ;;
esac

# 4. Optional: the macOS executable, cross-compiled (Bun fetches its darwin-arm64 runtime the first time).
if [ "$WANT_DARWIN" = 1 ]; then
  say "cross-compile -> ${DIST#"$ROOT"/}/darwin-arm64/ollmlx (build libmlxs.dylib on macOS: make -C native/mlx_c_shim)"
  mkdir -p "$DIST/darwin-arm64"
  "$BUN" build --compile --minify --target=bun-darwin-arm64 ./src/index.ts --outfile "$DIST/darwin-arm64/ollmlx" >/dev/null \
    || die "cross-compiling for darwin-arm64 failed (it needs to download Bun's darwin-arm64 runtime once)"
fi

# 5. Sizes.
say "dist ($(du -sh "$DIST" | cut -f1) in all)"
( cd "$DIST" && find . -type f ! -name '*.tmp' -exec du -h {} + | sort -k2 ) >&2
