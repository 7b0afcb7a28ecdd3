/* libfp8 internal: what the SIMD conversion kernels of every instruction set
 * share (cpu/avx2, cpu/avx512): per-format specialization, when to stream,
 * how far to prefetch. Included only by files compiled with ISA flags. */
#ifndef FP8_CPU_SIMD_COMMON_H
#define FP8_CPU_SIMD_COMMON_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "cpu/kernels.h"

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

/* One 64-byte line to a 64-byte aligned dst, with non-temporal stores (one, where the ISA has
 * them 64 bytes wide). */
FP8_INLINE void stream_line(void *dst, const void *src)
{
#if defined(__AVX512F__)
    _mm512_stream_si512(dst, _mm512_loadu_si512(src));
#else
    _mm256_stream_si256((__m256i *)dst, _mm256_loadu_si256((const __m256i *)src));
    _mm256_stream_si256((__m256i *)dst + 1, _mm256_loadu_si256((const __m256i *)src + 1));
#endif
}

/* n bytes from src (in L1) to d: the piece of output row `row` of the carry (see fp8_row_carry).
 * With stream, its whole lines go out with non-temporal stores, its first partial line completed
 * from the carry (carry->in) or else written with normal stores, its last partial line left in the
 * carry (carry->out) or else written with normal stores. Pieces but a row's last must be at least
 * 64 bytes long. The caller fences. */
FP8_INLINE void write_piece(uint8_t *d, const uint8_t *src, size_t n, bool stream, const fp8_row_carry *carry,
                            size_t row)
{
    if (!stream) {
        memcpy(d, src, n);
        return;
    }
    uint8_t *line = carry->lines ? carry->lines + 64 * row : NULL;
    const size_t before = (uintptr_t)d & 63; /* the first line's bytes before d */
    size_t i = 0;
    if (before > 0) {
        i = 64 - before < n ? 64 - before : n;
        if (carry->in && i == 64 - before) {
            memcpy(line + before, src, i);
            stream_line(d - before, line);
        } else {
            if (carry->in) memcpy(d - before, line, before);
            memcpy(d, src, i);
        }
    }
    for (; i + 64 <= n; i += 64) stream_line(d + i, src + i);
    if (i < n) memcpy(carry->out ? line : d + i, src + i, n - i);
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
