#!/usr/bin/env bash
# Stages the CUDA check (issue 15: "the CUDA path keeps MLX's own ops, and its engine tests are run wherever a CUDA
# machine is available") for a session that is lent an NVIDIA device machine, which has no network. MLX's CUDA
# build (the mlx-cuda-13 wheel, ~90 MB) and Bun (~107 MB) exceed what one call carries (64 MiB), so they travel
# xz-compressed in three parts, in three calls made back to back while the machine stays warm:
#   1. carry .dev/a: mkdir -p /tmp/stage && cp .dev/a/* /tmp/stage/
#   2. carry .dev/b: cp .dev/b/* /tmp/stage/
#   3. carry .dev/c, build, test/fixtures/.cache, node_modules/@huggingface: bash scripts/cuda-check/run.sh
# .dev/ must be in .git/info/exclude. Run from the repository root after `bash scripts/setup.sh --oracle` and one run
# of test/models/parity.test.ts (it builds the tiny fixtures the check reuses).
set -euo pipefail
VERSION=$(basename "$(cat .deps/mlx-prefix | xargs dirname)" | sed 's/^mlx-cpu-//')
work=$(mktemp -d)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_35_x86_64 -d "$work" "mlx-cuda-13==$VERSION"
(cd "$work" && unzip -q mlx_cuda_13-*.whl && xz -T0 -6 -c mlx/lib/libmlx.so > libmlx.so.xz &&
  tar cJf rest.tar.xz mlx/include mlx/share mlx_cuda_13.libs && split -b 34M libmlx.so.xz libmlx.part.)
mkdir -p .dev/a .dev/b .dev/c
mv "$work"/libmlx.part.aa "$work"/rest.tar.xz .dev/a/
mv "$work"/libmlx.part.ab .dev/b/
xz -T0 -6 -c "$(readlink -f node_modules/.bin/bun)" > .dev/c/bun.xz
cp .deps/oracle-path .dev/c/oracle-path
rm -rf "$work"
du -sh .dev/*
