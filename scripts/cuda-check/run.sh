#!/usr/bin/env bash
# The CUDA check, on the device machine (see stage.sh): MLX's CUDA backend under our shim (built here for the CPU
# wheel of the same MLX version: the C++ headers are the same) and the engine's tests on the GPU stream. Tests that
# name the shim's CPU primitives (CpuAttention, QLinear, ...) fail there by design: a GPU stream keeps MLX's ops.
set -u
S=/tmp/stage
mkdir -p /tmp/site/mlx/lib
cat $S/libmlx.part.* | xz -dc -T0 > /tmp/site/mlx/lib/libmlx.so || exit 1
tar xJf $S/rest.tar.xz -C /tmp/site || exit 1
NV=$(python3 -c "import nvidia; print(list(nvidia.__path__)[0])")
ln -sfn "$NV" /tmp/site/nvidia # libmlx's RPATH: $ORIGIN/../../nvidia/*/lib
export LD_LIBRARY_PATH=$(ls -d "$NV"/*/lib | tr '\n' ':')
xz -dc -T0 .dev/c/bun.xz > /tmp/bun && chmod +x /tmp/bun || exit 1
mkdir -p node_modules/.bin .deps && ln -sf /tmp/bun node_modules/.bin/bun
# The fixtures' cache is keyed by the oracle's path: the same path, with an (empty) mlx_lm, keeps it current.
ORACLE=$(cat .dev/c/oracle-path)
mkdir -p "$ORACLE/mlx_lm" && cp .dev/c/oracle-path .deps/oracle-path
export OLLMLX_MLX_LIB=/tmp/site/mlx/lib
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
/tmp/bun -e 'import { device } from "./src/ffi/index.ts";
console.log(JSON.stringify({ gpus: device.gpuCount(), default: device.defaultDevice(), gpu: device.info("gpu") }));' 2>&1 | tee "${OUT:-/tmp}/device.txt"
set -o pipefail
/tmp/bun test --timeout 120000 test/ffi/qlinear.test.ts test/ffi/fused.test.ts test/ffi/fused-attention.test.ts \
  test/ffi/attention.test.ts test/ffi/numerics.test.ts test/ffi/quant.test.ts test/ffi/memory.test.ts \
  test/engine/decode-batch.test.ts test/engine/prefix-cache.test.ts test/models/parity.test.ts test/engine/runner.test.ts \
  2>&1 | tee "${OUT:-/tmp}/tests.log" | grep -v "^(pass)"
