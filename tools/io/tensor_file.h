/* Tensor files for the tools: NumPy .npy (versions 1-3), safetensors and raw
 * little-endian data, read safely. Every length, offset and shape in a file
 * is checked against the file's size before anything is allocated or read:
 * a malformed file gives FP8_ERR_FILE_FORMAT and a one-line reason, never a
 * read outside the file or the buffers. FP8_ERR_IO for a file that cannot be
 * opened or read, FP8_ERR_OUT_OF_MEMORY when an allocation fails.
 *
 * This is tool code, not library API: it links against libfp8's public
 * functions (FP8 decoding, dequantization) and is shared by the tools, the
 * tests and the fuzz harnesses (fuzz/). */
#ifndef FP8_TOOLS_TENSOR_FILE_H
#define FP8_TOOLS_TENSOR_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fp8/status.h"

#define TENSOR_MAX_DIMS 16

typedef enum tensor_dtype {
    DTYPE_F32,
    DTYPE_F64,
    DTYPE_F16,
    DTYPE_BF16,
    DTYPE_E4M3,
    DTYPE_E5M2,
    DTYPE_OTHER /* a valid safetensors dtype the tools do not analyse (integers, F8_E8M0, ...) */
} tensor_dtype;

typedef struct tensor_error {
    char message[320];
} tensor_error;

typedef struct tensor_entry {
    char *name;          /* safetensors: the tensor's name; npy and raw: NULL */
    char dtype_name[16]; /* as the file spells it: "F32", "<f4" */
    tensor_dtype dtype;
    unsigned ndim;
    uint64_t shape[TENSOR_MAX_DIMS];
    uint64_t count;  /* elements: the product of shape (1 for a scalar) */
    uint64_t offset; /* of the data, from the start of the file */
    bool big_endian;
    bool fortran_order; /* npy: stored column-major; read as C order all the same */
} tensor_entry;

typedef enum tensor_file_kind { TENSOR_FILE_NPY, TENSOR_FILE_SAFETENSORS, TENSOR_FILE_RAW } tensor_file_kind;

/* What --dtype and --shape say about a raw file. */
typedef struct raw_layout {
    tensor_dtype dtype;
    unsigned ndim;
    uint64_t shape[TENSOR_MAX_DIMS];
} raw_layout;

typedef struct tensor_file {
    tensor_file_kind kind;
    FILE *file;          /* the bytes come from file, or from data */
    const uint8_t *data; /* (not owned) */
    uint64_t size;
    size_t count;
    tensor_entry *entries;
} tensor_file;

/* Opens and parses `path`. A file starting with NumPy's magic is .npy; one
 * named *.safetensors, or starting as one does, is safetensors; anything else
 * is raw when `raw` is given, else an error. */
fp8_status tensor_file_open(tensor_file *tf, const char *path, const raw_layout *raw, tensor_error *err);
/* The same over a buffer, of a given kind (tests, fuzzing); data must outlive tf. */
fp8_status tensor_file_open_memory(tensor_file *tf, const void *data, size_t size, tensor_file_kind kind,
                                   const raw_layout *raw, tensor_error *err);
void tensor_file_close(tensor_file *tf);

/* The entry named `name`, or NULL. */
const tensor_entry *tensor_file_find(const tensor_file *tf, const char *name);

/* Reads entry e as FP32 in C (row-major) order into dst[e->count]: F64
 * rounded to nearest, F16/BF16 exact, FP8 decoded without any scale.
 * FP8_ERR_FILE_FORMAT for DTYPE_OTHER. */
fp8_status tensor_file_read_f32(const tensor_file *tf, const tensor_entry *e, float *dst, tensor_error *err);

/* The matrix view the tools analyse: rows = product of all dimensions but the
 * last, cols = the last (a vector is 1 x n, a scalar 1 x 1). */
void tensor_entry_matrix(const tensor_entry *e, uint64_t *rows, uint64_t *cols);

/* "f32", "f64", "f16", "bf16", "e4m3", "e5m2", "other". */
const char *tensor_dtype_name(tensor_dtype d);
/* Parses those names (not "other"); false when unknown. */
bool tensor_dtype_from_name(const char *name, tensor_dtype *d);
/* Bytes per element. */
unsigned tensor_dtype_size(tensor_dtype d);

/* ---- DeepSeek-V3 FP8 checkpoints ----
 * An F8_E4M3 tensor `NAME` (2-D, out x in) with a companion `NAME_scale_inv`
 * (anywhere among the given files) holding one FP32 dequantization factor per
 * 128 x 128 block, row-major [ceil(out/128)][ceil(in/128)]. */
#define TENSOR_FP8_BLOCK 128

/* The companion of entry e, or NULL if e is not an FP8 weight that has one.
 * *file_index says which file it is in. */
const tensor_entry *tensor_scale_inv_of(const tensor_file *files, size_t nfiles, const tensor_entry *e,
                                        size_t *file_index);
/* True if e is some FP8 weight's companion (the tools analyse the weight). */
bool tensor_is_scale_inv(const tensor_file *files, size_t nfiles, const tensor_entry *e);

/* Loads entry e of files[file_index] as an FP32 rows x cols matrix (see
 * tensor_entry_matrix), dequantizing an FP8 weight with its companion
 * (*dequantized says so). *out is malloc'ed; free() it. */
fp8_status tensor_load_matrix(const tensor_file *files, size_t nfiles, size_t file_index, const tensor_entry *e,
                              float **out, bool *dequantized, tensor_error *err);

#endif
