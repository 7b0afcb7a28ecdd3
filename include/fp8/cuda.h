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
 *   - All functions are thread-safe, except that one fp8_cuda_gemm handle
 *     must not be used by two threads at once.
 *
 * See docs/cuda.md. */
#ifndef FP8_CUDA_H
#define FP8_CUDA_H

#include <stddef.h>
#include <stdint.h>
#include "fp8/api.h"
#include "fp8/format.h"
#include "fp8/quantize.h"
#include "fp8/status.h"

FP8_BEGIN_DECLS

/* ---- devices and errors ---- */

/* *count = the number of CUDA devices of compute capability 8.9 or newer
 * (those this backend runs on). FP8_ERR_NO_DEVICE, with *count = 0, when
 * there is none (no GPU, no driver, or only older GPUs). */
FP8_API fp8_status fp8_cuda_device_count(int *count);

/* Why the last call on this thread that returned FP8_ERR_CUDA or
 * FP8_ERR_NO_DEVICE failed: the CUDA or cuBLAS error name and text, with
 * the call that failed ("cublasLtMatmul: CUBLAS_STATUS_NOT_SUPPORTED ...").
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

FP8_END_DECLS

#endif /* FP8_CUDA_H */
