/* libfp8: the CUDA backend. Conversion, block-scaled quantization and FP8
 * GEMM on NVIDIA Ada (sm_89) and Hopper (sm_90) GPUs, giving the same bytes
 * and scales as the CPU functions of the same name without "cuda_".
 *
 * Plain C: no CUDA header is needed. Conventions for every function here:
 *   - Array and matrix pointers are device memory (cudaMalloc, managed or
 *     mapped memory); scalars, configs and fp8_qmatrix structs are host
 *     memory. Layouts and leading dimensions are as on the CPU.
 *   - `stream` is a cudaStream_t passed as void *; NULL is the default stream.
 *     Work is enqueued on it and the call returns without waiting: results
 *     are ready when the stream reaches that point. The device current on the
 *     calling thread (cudaSetDevice) is used.
 *   - Invalid arguments (as the CPU function checks them, plus the device
 *     flags below) return FP8_ERR_INVALID_ARGUMENT before anything is
 *     enqueued. No device, or no driver, gives FP8_ERR_NO_DEVICE; a failing
 *     CUDA or cuBLASLt call gives FP8_ERR_CUDA. Faults in enqueued work (an
 *     invalid device pointer, say) surface from a later CUDA call.
 *   - Where the CPU function returns FP8_ERR_NONFINITE, the CUDA one takes
 *     `int *nonfinite`, a device pointer (or NULL) that it sets to 1 or 0 in
 *     stream order: returning the flag would mean waiting for the device.
 *   - All functions are thread-safe, except that one fp8_cuda_gemm handle or
 *     fp8_cuda_linear layer must not be used by two threads at once.
 *   - Ownership: the caller owns every array; a function reads its inputs
 *     and writes its outputs only within the shapes given, and outputs must
 *     not overlap inputs. fp8_cuda_gemm_create allocates a handle and its
 *     device buffers; fp8_cuda_gemm_destroy frees them. fp8_cuda_linear_create
 *     allocates a layer's host descriptor; its device memory is the caller's.
 *
 * See docs/cuda.md. */
#ifndef FP8_CUDA_H
#define FP8_CUDA_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/format.h"
#include "fp8/gemm.h"
#include "fp8/linear.h"
#include "fp8/quantize.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

/* ---- devices and errors ---- */

/* *count = the number of CUDA devices of compute capability 8.9 or newer
 * (those this backend runs on). FP8_ERR_NO_DEVICE, with *count = 0, when
 * there is none (no GPU, no driver, or only older GPUs). */
FP8_API fp8_status fp8_cuda_device_count(int *count);

/* Why the last call on this thread that returned FP8_ERR_CUDA,
 * FP8_ERR_NO_DEVICE or (from the GEMMs) FP8_ERR_UNSUPPORTED failed: the
 * CUDA or cuBLAS error name and text, or the unmet requirement, with the
 * call that failed ("cublasLtMatmul: CUBLAS_STATUS_NOT_SUPPORTED ...").
 * "" if none has failed on this thread. The string belongs to the thread
 * and stays valid until its next failing call; nothing is shared between
 * threads. */
FP8_API const char *fp8_cuda_last_error(void);

/* ---- conversion (fp8/convert.h) ----
 * n elements from src to dst, which must not overlap. Stochastic rounding
 * draws element i's bits from fp8_sr_random_bits(seed, offset + i), so the
 * GPU and the CPU give the same bytes for the same seed and offset. */
FP8_API fp8_status fp8_cuda_encode_f32(uint8_t *dst, const float *src, size_t n, fp8_format fmt, fp8_saturation sat,
                                       void *stream);
FP8_API fp8_status fp8_cuda_encode_bf16(uint8_t *dst, const uint16_t *src, size_t n, fp8_format fmt,
                                        fp8_saturation sat, void *stream);
FP8_API fp8_status fp8_cuda_encode_f16(uint8_t *dst, const uint16_t *src, size_t n, fp8_format fmt,
                                       fp8_saturation sat, void *stream);
FP8_API fp8_status fp8_cuda_encode_f32_sr(uint8_t *dst, const float *src, size_t n, fp8_format fmt,
                                          fp8_saturation sat, uint64_t seed, uint64_t offset, void *stream);
FP8_API fp8_status fp8_cuda_decode_f32(float *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream);
FP8_API fp8_status fp8_cuda_decode_bf16(uint16_t *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream);
FP8_API fp8_status fp8_cuda_decode_f16(uint16_t *dst, const uint8_t *src, size_t n, fp8_format fmt, void *stream);

/* ---- quantization (fp8/quantize.h) ----
 * Same arguments and results as the CPU functions; the amax of per-tensor
 * and other large blocks is found on the device. */
FP8_API fp8_status fp8_cuda_quantize_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                         size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, int *nonfinite,
                                         void *stream);
FP8_API fp8_status fp8_cuda_quantize_bf16(const fp8_quant_config *cfg, const uint16_t *x, size_t rows, size_t cols,
                                          size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, int *nonfinite,
                                          void *stream);
FP8_API fp8_status fp8_cuda_quantize_f32_sr(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                            size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, uint64_t seed,
                                            uint64_t offset, int *nonfinite, void *stream);
FP8_API fp8_status fp8_cuda_dequantize_f32(const fp8_quant_config *cfg, const uint8_t *q, size_t rows, size_t cols,
                                           size_t ldq, const float *scale_inv, float *x, size_t ldx, void *stream);
/* The fused dual-orientation pass: one read of x for block_cols <= 128;
 * wider tiles (up to the CPU's limit of 256) take two passes. */
FP8_API fp8_status fp8_cuda_quantize_dual_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                              size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, uint8_t *qt,
                                              size_t ldqt, float *scale_inv_t, int *nonfinite, void *stream);
/* Delayed scaling: `scale` is a host value (fp8_amax_history's scale);
 * *amax (device) receives the largest finite |x|. */
FP8_API fp8_status fp8_cuda_quantize_f32_scaled(const fp8_quant_config *cfg, const float *x, size_t rows,
                                                size_t cols, size_t ldx, float scale, uint8_t *q, size_t ldq,
                                                float *amax, int *nonfinite, void *stream);
/* MX storage. fp8_cuda_scales_to_e8m0 checks every value first, as the CPU
 * does: if one is not a power of two in [2^-127, 2^127], *invalid (device,
 * required) is set to 1 and e8m0 is left untouched; else *invalid = 0.
 * fp8_cuda_scales_from_e8m0 sets *nonfinite for the NaN code 0xFF. */
FP8_API fp8_status fp8_cuda_scales_to_e8m0(uint8_t *e8m0, const float *scale_inv, size_t n, int *invalid,
                                           void *stream);
FP8_API fp8_status fp8_cuda_scales_from_e8m0(float *scale_inv, const uint8_t *e8m0, size_t n, int *nonfinite,
                                             void *stream);

/* ---- FP8 GEMM (fp8/gemm.h's layout and operands) ----
 * D = alpha * A * B^T + beta * D with A: M x K and B: N x K quantized
 * (fp8_qmatrix: the struct on the host, its data and scale_inv on the
 * device), D: M x N row-major on the device, ldd >= N. Arguments are
 * checked as fp8_gemm_f32 checks them (FP8_ERR_INVALID_ARGUMENT); what one
 * path cannot run is FP8_ERR_UNSUPPORTED, with the reason in
 * fp8_cuda_last_error(). Results are not bitwise those of the CPU: tensor
 * cores add in their own order and precision (docs/cuda.md). */

/* Through cuBLASLt. A handle holds the cuBLASLt handle, a 32 MiB workspace,
 * a buffer for scales in cuBLASLt's layouts and the algorithms chosen for
 * the shapes seen (so the heuristic runs once per shape). It belongs to the
 * device current at creation. Calls through one handle share its buffers:
 * use one handle per thread, and per stream when streams run concurrently.
 * Growing the scale buffer (the first time a larger shape comes) waits for
 * the device. */
typedef struct fp8_cuda_gemm fp8_cuda_gemm;

FP8_API fp8_status fp8_cuda_gemm_create(fp8_cuda_gemm **handle);
/* Waits for the device's work to finish, then frees everything; NULL is ignored. */
FP8_API void fp8_cuda_gemm_destroy(fp8_cuda_gemm *handle);

typedef struct fp8_cuda_gemm_config {
    float alpha, beta;
    /* cuBLASLt's FAST_ACCUM: 1 lets the tensor cores accumulate all of K
     * without periodic promotion (faster, less accurate; Ada and Hopper).
     * Per-tensor and per-row scales only. */
    int fast_accum;
    /* 0 or 1: the algorithm cuBLASLt's heuristic ranks first. 2 .. 32: the
     * first call of each shape with beta == 0 times up to `tune` of the
     * heuristic's candidates on its own operands (D is written by the
     * trials; the call waits for them) and the handle keeps the fastest.
     * With beta != 0 it is ignored (a trial would change D). */
    int tune;
} fp8_cuda_gemm_config;

/* alpha 1, beta 0, fast_accum 0, tune 0. */
FP8_API fp8_cuda_gemm_config fp8_cuda_gemm_config_init(void);

/* Scale shapes cuBLASLt takes (anything else: FP8_ERR_UNSUPPORTED, use
 * fp8_cuda_gemm_mma_f32):
 *   per tensor x per tensor                     sm_89, sm_90
 *   per row or per tensor, at least one per row sm_90 (OUTER_VEC_32F)
 *   1x128 or 128x128 on each, not both 128x128  sm_90, cuBLAS >= 12.9,
 *                                               M, N multiples of 4, K of 128
 * Formats E4M3 or E5M2, not both E5M2. data, D and their leading dimensions
 * in bytes must be multiples of 16. K >= 1. */
FP8_API fp8_status fp8_cuda_gemm_f32(fp8_cuda_gemm *handle, const fp8_cuda_gemm_config *cfg, const fp8_qmatrix *A,
                                     const fp8_qmatrix *B, float *D, size_t ldd, void *stream);
/* D in BF16 (raw bits); beta reads D as BF16. */
FP8_API fp8_status fp8_cuda_gemm_bf16(fp8_cuda_gemm *handle, const fp8_cuda_gemm_config *cfg, const fp8_qmatrix *A,
                                      const fp8_qmatrix *B, uint16_t *D, size_t ldd, void *stream);
/* The baseline: a BF16 GEMM through cuBLASLt, same layout, BF16 in and
 * out (raw bits), FP32 accumulation; cfg->fast_accum must be 0. */
FP8_API fp8_status fp8_cuda_bf16_gemm(fp8_cuda_gemm *handle, const fp8_cuda_gemm_config *cfg, size_t M, size_t N,
                                      size_t K, const uint16_t *A, size_t lda, const uint16_t *B, size_t ldb,
                                      uint16_t *D, size_t ldd, void *stream);

/* libfp8's own tensor-core GEMM (mma.sync m16n8k32, sm_89 and newer): the
 * instrument for measuring real FP8 tensor-core accumulation. It follows
 * fp8_gemm_f32's arithmetic with the tensor core as the accumulator: each
 * segment of cfg->promote_interval elements of K (all of K when 0; a
 * multiple of 32, else FP8_ERR_UNSUPPORTED) is summed by the tensor cores
 * in FP32 registers, then promoted on CUDA cores, d = fma(sum, (alpha * sa)
 * * sb, d), d starting at beta * D. Any mix of scale shapes, E4M3 and E5M2.
 * cfg->accum_bits must be 0 (the hardware is the accumulator; the emulator
 * is CPU-only): else FP8_ERR_UNSUPPORTED. No alignment requirements. */
FP8_API fp8_status fp8_cuda_gemm_mma_f32(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B,
                                         float *D, size_t ldd, void *stream);

/* The same arithmetic on Hopper's warpgroup MMAs (wgmma, TMA; compute
 * capability 9.0 only, else FP8_ERR_UNSUPPORTED): DeepSeek-V3's block-scaled
 * GEMM at speed. Same arguments, checks and results as
 * fp8_cuda_gemm_mma_f32 (any scale shapes, E4M3 and E5M2, accum_bits 0),
 * except that cfg->promote_interval must be a multiple of 128 (or 0, or
 * cover K), and that TMA reads the codes: data 16-byte aligned and ld a
 * multiple of 16 when K > 0, else FP8_ERR_UNSUPPORTED. M, N and K need not
 * be multiples of the 128 x 128 tiles. Thread-safe; keeps nothing between
 * calls. */
FP8_API fp8_status fp8_cuda_gemm_wgmma_f32(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B,
                                           float *D, size_t ldd, void *stream);

/* ---- linear layers (fp8/linear.h's semantics, on the device) ----
 * The layer of fp8/linear.h with device matrices: same shapes, layouts,
 * recipes and configs, same call order (forward, then backward with the same
 * tokens and W). Memory is the caller's: `device_state` (device memory, any
 * alignment, fp8_cuda_linear_state_size bytes) holds what the layer keeps
 * between calls (the quantized W and cached FP8 X^T, delayed-scaling
 * histories and scales); each forward or backward call takes a device
 * `workspace` of fp8_cuda_linear_workspace_size bytes. Only create allocates
 * (the host descriptor, a few hundred bytes) and it initializes the state
 * with synchronous copies; forward and backward allocate nothing, enqueue
 * their work on `stream` and never wait for the device.
 *
 * Each FP8 GEMM runs through the cuBLASLt handle `gemm` when cuBLASLt takes
 * the operand pair and cfg->gemm.promote_interval is the default 128, else
 * through fp8_cuda_gemm_mma_f32 (MX's 1x32 blocks, rowwise and block scales
 * on sm_89, odd shapes and leading dimensions); both promote FP32 partial
 * sums. The BF16 recipe rounds the operands to BF16 on the device and the
 * FP32 recipe runs FP32 GEMMs (no TF32), both through cuBLASLt: they need
 * 16-byte rows, i.e. in_features, out_features and tokens multiples of 8 and
 * ldx, ldy, lddy, lddx multiples of 4, else FP8_ERR_UNSUPPORTED.
 *
 * `nonfinite`: a device int (or NULL) set in stream order to 1 when X, W or
 * (backward) dY held NaN or infinity, else 0: the CPU's FP8_ERR_NONFINITE.
 * Delayed scaling keeps its amax histories and scales on the device.
 *
 * Thread safety: one layer, and its gemm handle, are used by one thread and
 * stream at a time. The workspace must not be shared by calls in flight. */
typedef struct fp8_cuda_linear fp8_cuda_linear;

/* Device bytes of state; 0 for an invalid configuration or sizes that overflow. */
FP8_API size_t fp8_cuda_linear_state_size(const fp8_linear_config *cfg, size_t in_features, size_t out_features,
                                          size_t max_tokens);
/* Allocates the host descriptor, places the layer's state in device_state and initializes it
 * (waits for the device). The layer uses `gemm` (not owned) until destroyed.
 * FP8_ERR_UNSUPPORTED: cfg->gemm.accum_bits > 0 (the emulator is CPU-only), a promote_interval
 * not a multiple of 32, or the BF16/FP32 recipes with features not multiples of 8. */
FP8_API fp8_status fp8_cuda_linear_create(fp8_cuda_linear **layer, const fp8_linear_config *cfg, size_t in_features,
                                          size_t out_features, size_t max_tokens, fp8_cuda_gemm *gemm,
                                          void *device_state, size_t device_state_bytes);
/* Frees the descriptor (not the state, the caller's); NULL is ignored. Waits for nothing. */
FP8_API void fp8_cuda_linear_destroy(fp8_cuda_linear *layer);
/* Device bytes of workspace one forward or backward call needs; 0 for NULL. */
FP8_API size_t fp8_cuda_linear_workspace_size(const fp8_cuda_linear *layer);

/* Y = X W^T (fp8_linear_forward): X tokens x K (ldx), W N x K packed, Y tokens x N (ldy). */
FP8_API fp8_status fp8_cuda_linear_forward(fp8_cuda_linear *layer, const float *X, size_t ldx, size_t tokens,
                                           const float *W, float *Y, size_t ldy, void *workspace,
                                           size_t workspace_bytes, int *nonfinite, void *stream);
/* The same with a BF16 Y (raw bits, the FP32 result rounded to nearest even). */
FP8_API fp8_status fp8_cuda_linear_forward_bf16(fp8_cuda_linear *layer, const float *X, size_t ldx, size_t tokens,
                                                const float *W, uint16_t *Y, size_t ldy, void *workspace,
                                                size_t workspace_bytes, int *nonfinite, void *stream);
/* dX = dY W (dX may be NULL) and dW += dY^T X (fp8_linear_backward); X may be NULL when the
 * layer caches its FP8 input. */
FP8_API fp8_status fp8_cuda_linear_backward(fp8_cuda_linear *layer, const float *X, size_t ldx, const float *dY,
                                            size_t lddy, size_t tokens, const float *W, float *dX, size_t lddx,
                                            float *dW, void *workspace, size_t workspace_bytes, int *nonfinite,
                                            void *stream);
/* Device bytes kept of X between forward and backward, as fp8_linear_saved_input_bytes. */
FP8_API size_t fp8_cuda_linear_saved_input_bytes(const fp8_cuda_linear *layer, size_t tokens);

FP8_END_DECLS

#endif /* FP8_CUDA_H */
