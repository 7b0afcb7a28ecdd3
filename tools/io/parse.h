/* Internal to tools/io: what the format parsers share. */
#ifndef FP8_TOOLS_IO_PARSE_H
#define FP8_TOOLS_IO_PARSE_H

#include "core/internal.h" /* FP8_FORWARD_IF_ERROR, fp8_mul_overflows */
#include "tensor_file.h"

/* Writes the reason into err (may be NULL) and returns status. */
fp8_status tensor_fail(tensor_error *err, fp8_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define TENSOR_BAD_FILE(err, ...) tensor_fail(err, FP8_ERR_FILE_FORMAT, __VA_ARGS__)

/* Reads n bytes at offset; offset + n must lie within tf->size. */
fp8_status tensor_source_read(const tensor_file *tf, uint64_t offset, void *dst, size_t n, tensor_error *err);

/* The number of elements of a shape, false when the product overflows 64 bits. */
bool tensor_shape_count(const uint64_t *shape, unsigned ndim, uint64_t *count);

/* Each parser fills tf->count and tf->entries from tf's bytes. */
fp8_status npy_parse(tensor_file *tf, tensor_error *err);
fp8_status safetensors_parse(tensor_file *tf, tensor_error *err);

#endif
