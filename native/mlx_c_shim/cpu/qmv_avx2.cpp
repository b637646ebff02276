// qmv_kernel.h with AVX2 and FMA (8 floats a vector); this file is compiled with -mavx2 -mfma.
#if defined(__x86_64__)
#define QMV_LANES 8
#include "qmv_kernel.h"
mlxs::cpu::Kernels mlxs::cpu::qmv_avx2() { return {qmv, dequant}; }
#endif
