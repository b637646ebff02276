// qmv_kernel.h at the baseline of the target: SSE2 on x86-64, NEON on arm64 (4 floats a vector).
#define QMV_LANES 4
#include "qmv_kernel.h"
mlxs::cpu::Kernels mlxs::cpu::qmv_generic() { return {qmv, dequant}; }
