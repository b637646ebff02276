/*
 * mlxs: ollmlx's C ABI over MLX's C++ API (mlx::core).
 *
 * Rules every entry point follows (bun:ffi can only pass flat scalars and pointers):
 *  - Arguments are int32_t / double / float / pointers. No struct by value, no C++ type, no exception
 *    crosses this boundary: every function catches, stores the message per thread
 *    (mlxs_last_error), and returns its error value.
 *  - Arrays are int32_t handles (> 0) into a per-thread table with a generation check. 0 is "no array"
 *    when passed as an optional argument, and the error value when returned. A freed or stale handle
 *    is an error ("invalid array handle"), never a crash.
 *  - Functions returning int32_t status return 0 on success and -1 on error.
 *  - Functions returning double return NaN on error (sizes and memory figures are doubles: exact to 2^53,
 *    no BigInt on the JS side).
 *  - Shapes, axes and handle lists are (const int32_t* p, int32_t n) pairs.
 *  - Every handle a function creates is recorded in the innermost open scope (if any);
 *    mlxs_scope_end frees all of them except the ones kept, which move to the enclosing scope.
 *    Handles created with no scope open live until mlxs_free.
 *  - Optional scalars: group_size == 0 / bits == 0 mean MLX's default; NaN base in rope means "use freqs".
 *  - All calls of a process must come from one OS thread (MLX >= 0.31 keeps streams per thread).
 */
#ifndef MLXS_H
#define MLXS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLXS_ABI_VERSION 7

/* dtypes: same order as mlx::core::Dtype::Val */
enum mlxs_dtype {
  MLXS_BOOL = 0, MLXS_UINT8, MLXS_UINT16, MLXS_UINT32, MLXS_UINT64, MLXS_INT8, MLXS_INT16, MLXS_INT32,
  MLXS_INT64, MLXS_FLOAT16, MLXS_FLOAT32, MLXS_FLOAT64, MLXS_BFLOAT16, MLXS_COMPLEX64
};

enum mlxs_unary_op {
  MLXS_NEG = 0, MLXS_ABS, MLXS_EXP, MLXS_LOG, MLXS_LOG1P, MLXS_SQRT, MLXS_RSQRT, MLXS_SQUARE, MLXS_SIN, MLXS_COS,
  MLXS_TANH, MLXS_SIGMOID, MLXS_ERF, MLXS_FLOOR, MLXS_CEIL, MLXS_ROUND, MLXS_SIGN, MLXS_LOGICAL_NOT,
  MLXS_RECIPROCAL, MLXS_STOP_GRADIENT, MLXS_COPY, MLXS_CONTIGUOUS, MLXS_SILU, MLXS_GELU, MLXS_GELU_APPROX,
  MLXS_RELU, MLXS_ISNAN, MLXS_ISINF, MLXS_EXPM1
};

enum mlxs_binary_op {
  MLXS_ADD = 0, MLXS_SUBTRACT, MLXS_MULTIPLY, MLXS_DIVIDE, MLXS_MAXIMUM, MLXS_MINIMUM, MLXS_POWER,
  MLXS_EQUAL, MLXS_NOT_EQUAL, MLXS_LESS, MLXS_LESS_EQUAL, MLXS_GREATER, MLXS_GREATER_EQUAL,
  MLXS_LOGICAL_AND, MLXS_LOGICAL_OR, MLXS_FLOOR_DIVIDE, MLXS_REMAINDER, MLXS_ARCTAN2, MLXS_LOGADDEXP
};

enum mlxs_reduce_op {
  MLXS_SUM = 0, MLXS_MEAN, MLXS_MAX, MLXS_MIN, MLXS_PROD, MLXS_ALL, MLXS_ANY, MLXS_LOGSUMEXP, MLXS_VAR
};

/* quantization modes */
/* MLXS_AFFINE_Q8: affine weights whose products on the shim's CPU kernels round x to int8 in runs of 32 (llama.cpp's
 * q8 blocks; GGUF models), wherever the policy of mlxs_cpu_activations lets them; MLX's ops see "affine" */
enum mlxs_quant_mode { MLXS_AFFINE = 0, MLXS_MXFP4, MLXS_MXFP8, MLXS_NVFP4, MLXS_AFFINE_Q8 };

/* attention mask kinds for mlxs_sdpa */
enum mlxs_mask_kind { MLXS_MASK_NONE = 0, MLXS_MASK_CAUSAL, MLXS_MASK_ARRAY };

/* devices */
enum mlxs_device { MLXS_CPU = 0, MLXS_GPU = 1 };

/* ---- library, errors ---- */
int32_t mlxs_abi_version(void);
const char* mlxs_version(void);            /* MLX's version string */
const char* mlxs_last_error(void);         /* message of this thread's last error, "" if none */
void mlxs_clear_error(void);

/* ---- handles and scopes ---- */
int32_t mlxs_scope_begin(void);            /* returns a mark (>= 0) */
int32_t mlxs_scope_end(int32_t mark, const int32_t* keep, int32_t nkeep);
int32_t mlxs_free(int32_t h);              /* free one handle; error if stale */
int32_t mlxs_live_count(void);             /* handles alive on this thread */
int32_t mlxs_is_valid(int32_t h);          /* 1 live, 0 not */
int32_t mlxs_retain(int32_t h);            /* a second handle to the same array */
int32_t mlxs_detach(int32_t h);            /* take h out of every open scope: it lives until mlxs_free */

/* ---- arrays from and to host memory ---- */
int32_t mlxs_from_bytes(const void* data, double nbytes, const int32_t* shape, int32_t ndim, int32_t dtype);
int32_t mlxs_from_f64(const double* data, const int32_t* shape, int32_t ndim, int32_t dtype); /* converts */
int32_t mlxs_scalar(double v, int32_t dtype);
int32_t mlxs_ndim(int32_t h);
int32_t mlxs_shape(int32_t h, int32_t* out, int32_t cap);   /* writes min(ndim, cap) dims, returns ndim */
int32_t mlxs_dtype(int32_t h);
const char* mlxs_primitive_name(int32_t h);                /* the op that computes it ("" once evaluated); NULL on error */
double mlxs_size(int32_t h);
double mlxs_nbytes(int32_t h);
int32_t mlxs_eval(const int32_t* hs, int32_t n);
int32_t mlxs_async_eval(const int32_t* hs, int32_t n);
int32_t mlxs_item(int32_t h, double* out);                 /* eval; size must be 1; any dtype */
int32_t mlxs_to_bytes(int32_t h, void* dst, double cap);     /* eval + contiguous + memcpy of nbytes */

/* ---- elementwise, reductions ---- */
int32_t mlxs_unary(int32_t op, int32_t a);
int32_t mlxs_binary(int32_t op, int32_t a, int32_t b);
int32_t mlxs_binary_scalar(int32_t op, int32_t a, double s, int32_t scalar_first); /* scalar takes a's dtype if a is floating */
int32_t mlxs_reduce(int32_t op, int32_t a, const int32_t* axes, int32_t naxes, int32_t keepdims); /* naxes==0: all */
int32_t mlxs_argmax(int32_t a, int32_t axis, int32_t keepdims);
int32_t mlxs_argmin(int32_t a, int32_t axis, int32_t keepdims);
int32_t mlxs_clip(int32_t a, double lo, double hi);          /* NaN bound = none */
int32_t mlxs_where(int32_t cond, int32_t x, int32_t y);
int32_t mlxs_softmax(int32_t a, const int32_t* axes, int32_t naxes, int32_t precise);
int32_t mlxs_cumsum(int32_t a, int32_t axis, int32_t reverse, int32_t inclusive);
int32_t mlxs_sort(int32_t a, int32_t axis);
int32_t mlxs_argsort(int32_t a, int32_t axis);
int32_t mlxs_argpartition(int32_t a, int32_t kth, int32_t axis);
int32_t mlxs_topk(int32_t a, int32_t k, int32_t axis);

/* ---- shapes and indexing ---- */
int32_t mlxs_reshape(int32_t a, const int32_t* shape, int32_t n);
int32_t mlxs_transpose(int32_t a, const int32_t* axes, int32_t n);          /* n == 0: reverse */
int32_t mlxs_swapaxes(int32_t a, int32_t a1, int32_t a2);
int32_t mlxs_expand_dims(int32_t a, const int32_t* axes, int32_t n);
int32_t mlxs_squeeze(int32_t a, const int32_t* axes, int32_t n);            /* n == 0: all size-1 axes */
int32_t mlxs_flatten(int32_t a, int32_t start_axis, int32_t end_axis);
int32_t mlxs_slice(int32_t a, const int32_t* start, const int32_t* stop, const int32_t* strides, int32_t n); /* strides may be NULL */
int32_t mlxs_slice_dynamic(int32_t a, int32_t start, const int32_t* axes, int32_t naxes, const int32_t* sizes, int32_t nsizes);
int32_t mlxs_slice_update(int32_t src, int32_t update, const int32_t* start, const int32_t* stop, const int32_t* strides, int32_t n);
int32_t mlxs_slice_update_dynamic(int32_t src, int32_t update, int32_t start, const int32_t* axes, int32_t naxes);
int32_t mlxs_concatenate(const int32_t* hs, int32_t n, int32_t axis);
int32_t mlxs_stack(const int32_t* hs, int32_t n, int32_t axis);
int32_t mlxs_split(int32_t a, const int32_t* indices, int32_t nindices, int32_t axis, int32_t* out, int32_t cap); /* returns parts */
int32_t mlxs_split_equal(int32_t a, int32_t parts, int32_t axis, int32_t* out, int32_t cap);
int32_t mlxs_take(int32_t a, int32_t indices, int32_t axis);
int32_t mlxs_take_along_axis(int32_t a, int32_t indices, int32_t axis);
int32_t mlxs_put_along_axis(int32_t a, int32_t indices, int32_t values, int32_t axis);
int32_t mlxs_broadcast_to(int32_t a, const int32_t* shape, int32_t n);
int32_t mlxs_astype(int32_t a, int32_t dtype);
int32_t mlxs_view(int32_t a, int32_t dtype);
int32_t mlxs_zeros(const int32_t* shape, int32_t n, int32_t dtype);
int32_t mlxs_ones(const int32_t* shape, int32_t n, int32_t dtype);
int32_t mlxs_full(const int32_t* shape, int32_t n, double v, int32_t dtype);
int32_t mlxs_arange(double start, double stop, double step, int32_t dtype);
int32_t mlxs_tri(int32_t n, int32_t m, int32_t k, int32_t dtype);
int32_t mlxs_tril(int32_t a, int32_t k);
int32_t mlxs_triu(int32_t a, int32_t k);
int32_t mlxs_repeat(int32_t a, int32_t repeats, int32_t axis);
int32_t mlxs_pad(int32_t a, const int32_t* axes, const int32_t* lo, const int32_t* hi, int32_t n, double value);

/* ---- matmul, quantization ---- */
int32_t mlxs_matmul(int32_t a, int32_t b);
int32_t mlxs_addmm(int32_t c, int32_t a, int32_t b, float alpha, float beta);
/* writes {wq, scales, biases} (biases = 0 for fp modes) into out[3]; returns the number of arrays (2 or 3) */
int32_t mlxs_quantize(int32_t w, int32_t group_size, int32_t bits, int32_t mode, int32_t* out);
int32_t mlxs_dequantize(int32_t wq, int32_t scales, int32_t biases, int32_t group_size, int32_t bits, int32_t mode, int32_t dtype); /* dtype -1: from scales */
int32_t mlxs_quantized_matmul(int32_t x, int32_t wq, int32_t scales, int32_t biases, int32_t transpose,
                              int32_t group_size, int32_t bits, int32_t mode);
int32_t mlxs_gather_qmm(int32_t x, int32_t wq, int32_t scales, int32_t biases, int32_t lhs_indices, int32_t rhs_indices,
                        int32_t transpose, int32_t group_size, int32_t bits, int32_t mode, int32_t sorted_indices);
int32_t mlxs_gather_mm(int32_t a, int32_t b, int32_t lhs_indices, int32_t rhs_indices, int32_t sorted_indices);

/* ---- fused helpers (architecture-agnostic) ---- */
/* y = x @ w.T (+ bias) when scales == 0; quantized_matmul(x, wq, scales, biases, transpose=1) (+ bias) otherwise */
int32_t mlxs_linear(int32_t x, int32_t w, int32_t scales, int32_t biases, int32_t bias, int32_t group_size, int32_t bits, int32_t mode);
/* rows of an embedding table (dense: take; quantized: take wq/scales/biases then dequantize) */
int32_t mlxs_embedding(int32_t ids, int32_t w, int32_t scales, int32_t biases, int32_t group_size, int32_t bits, int32_t mode);
int32_t mlxs_swiglu(int32_t gate, int32_t up);             /* silu(gate) * up, compiled */
int32_t mlxs_geglu_approx(int32_t gate, int32_t up);       /* gelu_approx(gate) * up, compiled */
/* mx::conv1d: x (N, L, C_in), w (C_out, K, C_in / groups) -> (N, L_out, C_out) */
int32_t mlxs_conv1d(int32_t x, int32_t w, int32_t stride, int32_t padding, int32_t dilation, int32_t groups);
/* the gated delta rule as mlx-lm's CPU path runs it (gated_delta.cpp), each compiled as mlx-lm compiles it:
 * decay exp(-exp(A_log) * softplus(a + dt_bias)); one recurrent step, q, k (B, H, Dk), v (B, H, Dv), g, beta (B, H),
 * state (B, H, Dv, Dk) -> out[0] y (B, H, Dv), out[1] the new state, returns 2; silu(gate) * x in float32 as h's dtype */
int32_t mlxs_gdn_decay(int32_t a_log, int32_t a, int32_t dt_bias);
int32_t mlxs_gdn_step(int32_t q, int32_t k, int32_t v, int32_t g, int32_t beta, int32_t state, int32_t* out);
int32_t mlxs_precise_swiglu(int32_t h, int32_t gate, int32_t x);

/* ---- the shim's own CPU kernels (qlinear.cpp) ---- */
/* what runs quantized linears on CPU streams: MLX's op, or ours at the instruction set the CPU has */
/* MLXS_CPU_AVX512_VNNI: AVX-512 with x rounded to int8 (runs of 32, as llama.cpp does) for 4-bit layers; by name
 * only, never MLXS_CPU_BEST */
enum mlxs_cpu_isa { MLXS_CPU_MLX = 0, MLXS_CPU_BASELINE, MLXS_CPU_AVX2, MLXS_CPU_AVX512, MLXS_CPU_AVX512_VNNI, MLXS_CPU_BEST };
/* prompt-sized batches (32 rows and more): expand W a panel at a time for the process's cblas_sgemm, never,
 * only when it is an optimized BLAS (OpenBLAS, Accelerate), or always (tests of that path) */
enum mlxs_cpu_gemm { MLXS_GEMM_NEVER = 0, MLXS_GEMM_AUTO, MLXS_GEMM_ALWAYS };
/* isa: MLXS_CPU_MLX runs MLX's ops; MLXS_CPU_BEST ours at the best set this CPU has; a set by name forces it
 * (an error if the CPU lacks it); -1 leaves the choice. threads > 0 sets the kernels' thread count (caller
 * included), else unchanged. gemm: an mlxs_cpu_gemm, or -1 unchanged. Returns the mlxs_cpu_isa now in use,
 * or -1 on error. */
int32_t mlxs_cpu_kernels(int32_t isa, int32_t threads, int32_t gemm);
int32_t mlxs_cpu_spin(int32_t microseconds); /* how long idle kernel threads spin before they sleep; 0 on success */
/* which quantized layers round x to int8 on the CPU kernels (where the CPU has an int8 kernel: AVX2, AVX-512 VNNI):
 * those made as MLXS_AFFINE_Q8 (per layer), none (the default), or every 4-bit one; returns the previous policy */
enum mlxs_cpu_activations { MLXS_ACT_PER_LAYER = 0, MLXS_ACT_FLOAT, MLXS_ACT_INT8 };
int32_t mlxs_cpu_activations(int32_t policy);

/* ---- GGUF (gguf_repack.cpp) ---- */
/* the blocks of a Q4_0 (2), Q4_1 (3), Q5_0 (6), Q5_1 (7), Q8_0 (8) or Q4_K (12) tensor as MLX affine group-32 words,
 * float32 scales and biases, as src/formats/gguf/repack.ts writes them; 1: done, 0: another type (not handled),
 * -1: nbytes is not whole blocks */
int32_t mlxs_gguf_repack(int32_t type, const uint8_t* src, double nbytes, uint8_t* wq, float* scales, float* biases);

/* ---- mlx::fast ---- */
int32_t mlxs_rms_norm(int32_t x, int32_t weight, float eps);                  /* weight 0: none */
int32_t mlxs_layer_norm(int32_t x, int32_t weight, int32_t bias, float eps);  /* 0: none */
/* offset_array 0: use offset; base NaN: use freqs (a 1-D array of dims/2 periods) */
int32_t mlxs_rope(int32_t x, int32_t dims, int32_t traditional, float base, float scale, int32_t offset, int32_t offset_array, int32_t freqs);
int32_t mlxs_sdpa(int32_t q, int32_t k, int32_t v, float scale, int32_t mask_kind, int32_t mask, int32_t sinks);
/* sdpa over a batch cache whose rows are padded on the left: row b's keys before starts[b] (int32, B) are never
 * seen, and query i of L sees keys up to T - L + i */
int32_t mlxs_sdpa_padded(int32_t q, int32_t k, int32_t v, float scale, int32_t starts);

/* ---- random (explicit keys; key 0 = the thread's global key sequence) ---- */
int32_t mlxs_random_key(double seed);
int32_t mlxs_random_split(int32_t key, int32_t num);       /* (num, 2) array of keys */
int32_t mlxs_random_seed(double seed);
int32_t mlxs_random_categorical(int32_t logits, int32_t axis, int32_t key);
int32_t mlxs_random_uniform(const int32_t* shape, int32_t n, double low, double high, int32_t dtype, int32_t key);
int32_t mlxs_random_normal(const int32_t* shape, int32_t n, double loc, double scale, int32_t dtype, int32_t key);
int32_t mlxs_random_gumbel(const int32_t* shape, int32_t n, int32_t dtype, int32_t key);
int32_t mlxs_random_randint(const int32_t* shape, int32_t n, double low, double high, int32_t dtype, int32_t key);

/* ---- safetensors ---- */
/* opens a file lazily; returns a bundle id (> 0) or 0. Arrays are read at eval. */
int32_t mlxs_st_open(const char* path);
const char* mlxs_st_json(int32_t bundle);                 /* {"tensors":["name",...],"metadata":{"k":"v"}} */
int32_t mlxs_st_get(int32_t bundle, const char* name);    /* a new handle, or 0 */
int32_t mlxs_st_close(int32_t bundle);
/* names and metadata as NUL-separated strings: names has n entries; meta has 2*nmeta (key, value, key, value...) */
int32_t mlxs_st_save(const char* path, const char* names, const int32_t* hs, int32_t n, const char* meta, int32_t nmeta);

/* ---- memory, devices, streams ---- */
/* Autograd. fn is called back once, on this thread, with the traced inputs (handles it frees before it returns);
 * it writes its outputs' handles (detached from any scope, none of them an input's; the shim takes them) to out
 * and returns how many, or a negative value on error. Gradients are of its first output, a scalar. */
#define MLXS_MAX_OUTPUTS 64
typedef int32_t (*mlxs_fn)(const int32_t* in, int32_t nin, int32_t* out, int32_t cap, void* payload);
/* out: fn's outputs at primals, then the gradients w.r.t. primals[argnums]; *nvalues = how many outputs. */
int32_t mlxs_value_and_grad(mlxs_fn fn, void* payload, const int32_t* primals, int32_t n, const int32_t* argnums, int32_t nargs,
                            int32_t* out, int32_t cap, int32_t* nvalues);
/* mx::checkpoint(fn) applied to inputs: its outputs' handles in out (at most cap), returns how many. Under a
 * gradient fn is called again in the backward pass, with the same payload, to recompute its activations. */
int32_t mlxs_checkpoint(mlxs_fn fn, void* payload, const int32_t* inputs, int32_t n, int32_t* out, int32_t cap);

double mlxs_active_memory(void);
double mlxs_peak_memory(void);
int32_t mlxs_reset_peak_memory(void);
double mlxs_cache_memory(void);
double mlxs_memory_limit(void);
double mlxs_set_memory_limit(double bytes);   /* returns the previous limit */
double mlxs_set_cache_limit(double bytes);
double mlxs_set_wired_limit(double bytes);
int32_t mlxs_clear_cache(void);
int32_t mlxs_gpu_count(void);                 /* 0 without a GPU backend */
int32_t mlxs_default_device(void);            /* MLXS_CPU or MLXS_GPU */
int32_t mlxs_set_default_device(int32_t device);
const char* mlxs_device_info_json(int32_t device);
int32_t mlxs_synchronize(void);
int32_t mlxs_clear_streams(void);

#ifdef __cplusplus
}
#endif
#endif
