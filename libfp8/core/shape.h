/* libfp8 internal: checks on matrix shapes and block grids, shared by the
 * CPU and CUDA backends so that both accept and refuse the same calls. */
#ifndef FP8_CORE_SHAPE_H
#define FP8_CORE_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Blocks along an extent; a block of 0, or one no smaller than the extent, is the whole extent. */
static inline size_t fp8_blocks_along(size_t extent, size_t block)
{
    if (block == 0 || block >= extent) return extent > 0 ? 1 : 0;
    return extent / block + (extent % block != 0);
}

/* A block size along an extent: 0 or anything larger means the whole extent (at least 1). */
static inline size_t fp8_effective_block(size_t block, size_t extent)
{
    const size_t b = block == 0 || block > extent ? extent : block;
    return b == 0 ? 1 : b;
}

/* rows x cols at stride ld can be addressed: ld >= cols and the last index fits in size_t. */
static inline bool fp8_extent_valid(size_t rows, size_t cols, size_t ld)
{
    size_t last;
    if (ld < cols) return false;
    if (rows == 0 || cols == 0) return true;
    return !fp8_mul_overflows(rows - 1, ld, &last) && last <= SIZE_MAX - cols;
}

/* As fp8_extent_valid, with a pointer that must exist when the matrix is not empty and a byte
 * size of the last element's offset that must fit too. */
static inline bool fp8_matrix_valid(const void *ptr, size_t rows, size_t cols, size_t ld, size_t elem_size)
{
    if (rows == 0 || cols == 0) return ld >= cols;
    size_t bytes;
    return ptr != NULL && fp8_extent_valid(rows, cols, ld) &&
           !fp8_mul_overflows((rows - 1) * ld + cols, elem_size, &bytes);
}

#endif /* FP8_CORE_SHAPE_H */
