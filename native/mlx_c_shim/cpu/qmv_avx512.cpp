// qmv_kernel.h with AVX-512 (16 floats a vector); this file is compiled with -mavx512f -mavx512bw -mavx512vl -mfma.
#if defined(__x86_64__)
#define QMV_LANES 16
#include "qmv_kernel.h"
mlxs::cpu::Kernels mlxs::cpu::qmv_avx512() { return {qmv, dequant}; }
#endif
