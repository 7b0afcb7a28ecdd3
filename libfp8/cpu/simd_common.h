/* libfp8 internal: what the SIMD conversion kernels of every instruction set
 * share (cpu/avx2, cpu/avx512): per-format specialization, when to stream,
 * how far to prefetch. Included only by files compiled with ISA flags. */
#ifndef FP8_CPU_SIMD_COMMON_H
#define FP8_CPU_SIMD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

#define FP8_INLINE static inline __attribute__((always_inline))

/* Destinations this large bypass the caches with non-temporal stores, as
 * memcpy does: the output will not be read back before it is evicted, and a
 * normal store would first read every line it writes. */
#define FP8_STREAM_MIN_BYTES ((size_t)8 << 20)

#ifndef FP8_PREFETCH_BYTES
#define FP8_PREFETCH_BYTES 4096
#endif

/* Elements to convert in scalar code before dst is `align`-byte aligned (a power of two) for streaming. */
FP8_INLINE size_t stream_head(const void *dst, size_t elem_size, size_t n, size_t align)
{
    const size_t head = ((size_t)-(uintptr_t)dst & (align - 1)) / elem_size;
    return head < n ? head : n;
}

/* Calls body(&params_of_format, args...) with the format's parameters as constants. */
#define FP8_SPECIALIZE(p, body, ...)                                                                   \
    switch ((p)->format) {                                                                             \
    case FP8_E4M3: body(&fp8_format_params_table[FP8_E4M3], __VA_ARGS__); break;                       \
    case FP8_E5M2: body(&fp8_format_params_table[FP8_E5M2], __VA_ARGS__); break;                       \
    case FP8_E4M3FNUZ: body(&fp8_format_params_table[FP8_E4M3FNUZ], __VA_ARGS__); break;               \
    case FP8_E5M2FNUZ: body(&fp8_format_params_table[FP8_E5M2FNUZ], __VA_ARGS__); break;               \
    }

#endif /* FP8_CPU_SIMD_COMMON_H */
