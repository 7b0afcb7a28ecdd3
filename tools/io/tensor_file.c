/* Tensor files: opening and telling the formats apart, raw layouts, reading
 * data as FP32, and DeepSeek-V3's block-scaled FP8 weights. */
#define _POSIX_C_SOURCE 200809L /* fseeko, fileno */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert/reference.h" /* fp8_f16_to_f32_bits: the library's exact FP16 decoding */
#include "fp8.h"
#include "parse.h"

fp8_status tensor_fail(tensor_error *err, fp8_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

fp8_status tensor_source_read(const tensor_file *tf, uint64_t offset, void *dst, size_t n, tensor_error *err)
{
    if (offset > tf->size || n > tf->size - offset) /* the parsers check first; this is the last guard */
        return TENSOR_BAD_FILE(err, "a read of %zu bytes at %llu passes the end of the file", n,
                               (unsigned long long)offset);
    if (tf->data) {
        memcpy(dst, tf->data + offset, n);
        return FP8_OK;
    }
    if (fseeko(tf->file, (off_t)offset, SEEK_SET) != 0 || fread(dst, 1, n, tf->file) != n)
        return tensor_fail(err, FP8_ERR_IO, "read error at byte %llu: %s", (unsigned long long)offset,
                           ferror(tf->file) ? strerror(errno) : "the file is shorter than it was");
    return FP8_OK;
}

bool tensor_shape_count(const uint64_t *shape, unsigned ndim, uint64_t *count)
{
    size_t n = 1;
    for (unsigned k = 0; k < ndim; k++)
        if (fp8_mul_overflows(n, shape[k], &n)) return false;
    *count = n;
    return true;
}

static const struct {
    const char *name;
    unsigned size;
} dtype_table[] = {
    [DTYPE_F32] = {"f32", 4},   [DTYPE_F64] = {"f64", 8},   [DTYPE_F16] = {"f16", 2},   [DTYPE_BF16] = {"bf16", 2},
    [DTYPE_E4M3] = {"e4m3", 1}, [DTYPE_E5M2] = {"e5m2", 1}, [DTYPE_OTHER] = {"other", 0},
};

const char *tensor_dtype_name(tensor_dtype d) { return dtype_table[d].name; }
unsigned tensor_dtype_size(tensor_dtype d) { return dtype_table[d].size; }

bool tensor_dtype_from_name(const char *name, tensor_dtype *d)
{
    for (int k = 0; k < DTYPE_OTHER; k++) {
        if (strcmp(name, dtype_table[k].name) == 0) {
            *d = (tensor_dtype)k;
            return true;
        }
    }
    return false;
}

static fp8_status raw_parse(tensor_file *tf, const raw_layout *raw, tensor_error *err)
{
    if (!raw || raw->dtype == DTYPE_OTHER || raw->ndim > TENSOR_MAX_DIMS)
        return tensor_fail(err, FP8_ERR_INVALID_ARGUMENT, "raw data needs a dtype and a shape");
    tensor_entry *e = calloc(1, sizeof *e);
    if (!e) return tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "out of memory");
    e->dtype = raw->dtype;
    snprintf(e->dtype_name, sizeof e->dtype_name, "%s", tensor_dtype_name(raw->dtype));
    e->ndim = raw->ndim;
    memcpy(e->shape, raw->shape, sizeof e->shape);
    size_t bytes;
    fp8_status st = FP8_OK;
    if (!tensor_shape_count(e->shape, e->ndim, &e->count) ||
        fp8_mul_overflows(e->count, tensor_dtype_size(e->dtype), &bytes))
        st = TENSOR_BAD_FILE(err, "raw: the shape's size overflows");
    else if (bytes != tf->size)
        st = TENSOR_BAD_FILE(err, "raw: the shape needs %zu bytes of %s, the file holds %llu", bytes, e->dtype_name,
                             (unsigned long long)tf->size);
    if (st != FP8_OK) {
        free(e);
        return st;
    }
    tf->entries = e;
    tf->count = 1;
    return FP8_OK;
}

/* Natural order (layers.2 before layers.10), ties broken by strcmp so that it
 * is a total order: the order the tools report tensors in, and find's. */
static int natural_compare(const char *a, const char *b)
{
    const char *p = a, *q = b;
    while (*p && *q) {
        if (*p >= '0' && *p <= '9' && *q >= '0' && *q <= '9') {
            while (*p == '0') p++;
            while (*q == '0') q++;
            size_t lp = 0, lq = 0;
            while (p[lp] >= '0' && p[lp] <= '9') lp++;
            while (q[lq] >= '0' && q[lq] <= '9') lq++;
            if (lp != lq) return lp < lq ? -1 : 1;
            const int c = memcmp(p, q, lp);
            if (c) return c;
            p += lp;
            q += lq;
        } else {
            if (*p != *q) return (unsigned char)*p < (unsigned char)*q ? -1 : 1;
            p++;
            q++;
        }
    }
    if (*p || *q) return *p ? 1 : -1;
    return strcmp(a, b);
}

static int entry_order(const void *a, const void *b)
{
    return natural_compare(((const tensor_entry *)a)->name, ((const tensor_entry *)b)->name);
}

static fp8_status parse(tensor_file *tf, tensor_file_kind kind, const raw_layout *raw, tensor_error *err)
{
    tf->kind = kind;
    switch (kind) {
    case TENSOR_FILE_NPY: return npy_parse(tf, err);
    case TENSOR_FILE_SAFETENSORS:
        FP8_FORWARD_IF_ERROR(safetensors_parse(tf, err));
        if (tf->count > 1) /* a file of no tensors has no entries array to sort */
            qsort(tf->entries, tf->count, sizeof *tf->entries, entry_order);
        return FP8_OK;
    case TENSOR_FILE_RAW: return raw_parse(tf, raw, err);
    }
    return tensor_fail(err, FP8_ERR_INVALID_ARGUMENT, "unknown file kind");
}

fp8_status tensor_file_open_memory(tensor_file *tf, const void *data, size_t size, tensor_file_kind kind,
                                   const raw_layout *raw, tensor_error *err)
{
    memset(tf, 0, sizeof *tf);
    if (!data && size) return tensor_fail(err, FP8_ERR_INVALID_ARGUMENT, "no data");
    static const uint8_t empty[1];
    tf->data = data ? data : empty;
    tf->size = size;
    const fp8_status st = parse(tf, kind, raw, err);
    if (st != FP8_OK) tensor_file_close(tf);
    return st;
}

static bool ends_with(const char *s, const char *suffix)
{
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

fp8_status tensor_file_open(tensor_file *tf, const char *path, const raw_layout *raw, tensor_error *err)
{
    memset(tf, 0, sizeof *tf);
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f) return tensor_fail(err, FP8_ERR_IO, "cannot open: %s", strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return tensor_fail(err, FP8_ERR_IO, "not a regular file");
    }
    tf->file = f;
    tf->size = (uint64_t)st.st_size;
    /* tell the kinds apart: npy's magic, safetensors' name or its u64 length followed by '{' */
    uint8_t head[9] = {0};
    const size_t got = fread(head, 1, sizeof head, f);
    uint64_t len = 0;
    for (int k = 7; k >= 0; k--) len = len << 8 | head[k];
    tensor_file_kind kind;
    if (got >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
        kind = TENSOR_FILE_NPY;
    else if (ends_with(path, ".safetensors") || (!raw && got == 9 && head[8] == '{' && len <= tf->size - 8))
        kind = TENSOR_FILE_SAFETENSORS;
    else if (raw)
        kind = TENSOR_FILE_RAW;
    else {
        tensor_file_close(tf);
        return TENSOR_BAD_FILE(err, "neither .npy nor safetensors; give --dtype and --shape to read raw data");
    }
    const fp8_status status = parse(tf, kind, raw, err);
    if (status != FP8_OK) tensor_file_close(tf);
    return status;
}

void tensor_file_close(tensor_file *tf)
{
    if (!tf) return;
    for (size_t i = 0; i < tf->count; i++) free(tf->entries[i].name);
    free(tf->entries);
    if (tf->file) fclose(tf->file);
    memset(tf, 0, sizeof *tf);
}

const tensor_entry *tensor_file_find(const tensor_file *tf, const char *name)
{
    if (tf->kind != TENSOR_FILE_SAFETENSORS) return NULL;
    const tensor_entry key = {.name = (char *)name};
    return bsearch(&key, tf->entries, tf->count, sizeof *tf->entries, entry_order);
}

void tensor_entry_matrix(const tensor_entry *e, uint64_t *rows, uint64_t *cols)
{
    *cols = e->ndim ? e->shape[e->ndim - 1] : 1;
    *rows = *cols ? e->count / *cols : 0; /* an empty tensor is 0 x 0 */
}

/* An unsigned integer of `size` bytes in the given byte order. */
static uint64_t load_uint(const uint8_t *p, unsigned size, bool big_endian)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < size; k++) v = v << 8 | p[big_endian ? k : size - 1 - k];
    return v;
}

static void convert_to_f32(const uint8_t *src, size_t n, const tensor_entry *e, float *dst)
{
    const unsigned size = tensor_dtype_size(e->dtype);
    if (e->dtype == DTYPE_E4M3 || e->dtype == DTYPE_E5M2) {
        fp8_decode_f32(dst, src, n, e->dtype == DTYPE_E4M3 ? FP8_E4M3 : FP8_E5M2);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const uint64_t v = load_uint(src + i * size, size, e->big_endian);
        switch (e->dtype) {
        case DTYPE_F32: dst[i] = fp8_f32_from_bits((uint32_t)v); break;
        case DTYPE_F64: {
            double d;
            memcpy(&d, &v, sizeof d);
            dst[i] = (float)d;
            break;
        }
        case DTYPE_F16: dst[i] = fp8_f32_from_bits(fp8_f16_to_f32_bits((uint16_t)v)); break;
        case DTYPE_BF16: dst[i] = fp8_f32_from_bits((uint32_t)v << 16); break;
        default: break;
        }
    }
}

/* Column-major (Fortran) to row-major (C): walk the C order with a
 * multi-index, keeping the matching Fortran offset. */
static void fortran_to_c(const float *f, float *c, const tensor_entry *e)
{
    uint64_t idx[TENSOR_MAX_DIMS] = {0}, stride[TENSOR_MAX_DIMS];
    stride[0] = 1;
    for (unsigned k = 1; k < e->ndim; k++) stride[k] = stride[k - 1] * e->shape[k - 1];
    uint64_t off = 0;
    for (uint64_t i = 0; i < e->count; i++) {
        c[i] = f[off];
        for (unsigned k = e->ndim; k-- > 0;) {
            off += stride[k];
            if (++idx[k] < e->shape[k]) break;
            off -= stride[k] * e->shape[k];
            idx[k] = 0;
        }
    }
}

#define READ_CHUNK_BYTES ((size_t)1 << 16)

fp8_status tensor_file_read_f32(const tensor_file *tf, const tensor_entry *e, float *dst, tensor_error *err)
{
    if (e->dtype == DTYPE_OTHER) return TENSOR_BAD_FILE(err, "dtype %s is not a floating-point type the tools read", e->dtype_name);
    const unsigned size = tensor_dtype_size(e->dtype);
    const bool transpose = e->fortran_order && e->ndim > 1 && e->count > 1;
    float *linear = transpose ? malloc(e->count * sizeof *linear) : dst;
    uint8_t *chunk = malloc(READ_CHUNK_BYTES);
    fp8_status st = linear && chunk ? FP8_OK : tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint64_t done = 0; st == FP8_OK && done < e->count;) {
        const size_t n = e->count - done < READ_CHUNK_BYTES / size ? (size_t)(e->count - done) : READ_CHUNK_BYTES / size;
        st = tensor_source_read(tf, e->offset + done * size, chunk, n * size, err);
        if (st == FP8_OK) convert_to_f32(chunk, n, e, linear + done);
        done += n;
    }
    if (st == FP8_OK && transpose) fortran_to_c(linear, dst, e);
    if (transpose) free(linear);
    free(chunk);
    return st;
}

/* ---- DeepSeek-V3 FP8 weights ---- */

#define SCALE_INV_SUFFIX "_scale_inv"

const tensor_entry *tensor_scale_inv_of(const tensor_file *files, size_t nfiles, const tensor_entry *e,
                                        size_t *file_index)
{
    if (e->dtype != DTYPE_E4M3 || !e->name) return NULL;
    const size_t n = strlen(e->name);
    char *want = malloc(n + sizeof SCALE_INV_SUFFIX);
    if (!want) return NULL;
    memcpy(want, e->name, n);
    memcpy(want + n, SCALE_INV_SUFFIX, sizeof SCALE_INV_SUFFIX);
    const tensor_entry *found = NULL;
    for (size_t f = 0; f < nfiles && !found; f++) {
        found = tensor_file_find(&files[f], want);
        *file_index = f;
    }
    free(want);
    return found;
}

bool tensor_is_scale_inv(const tensor_file *files, size_t nfiles, const tensor_entry *e)
{
    if (!e->name || !ends_with(e->name, SCALE_INV_SUFFIX)) return false;
    const size_t n = strlen(e->name) - strlen(SCALE_INV_SUFFIX);
    char *weight = malloc(n + 1);
    if (!weight) return false;
    memcpy(weight, e->name, n);
    weight[n] = '\0';
    bool is = false;
    for (size_t f = 0; f < nfiles && !is; f++) {
        const tensor_entry *w = tensor_file_find(&files[f], weight);
        is = w && w->dtype == DTYPE_E4M3;
    }
    free(weight);
    return is;
}

static fp8_status dequantize_blocks(const tensor_file *wf, const tensor_entry *w, const tensor_file *sf,
                                    const tensor_entry *s, float *x, tensor_error *err)
{
    uint64_t rows, cols;
    tensor_entry_matrix(w, &rows, &cols);
    const uint64_t want_rows = (rows + TENSOR_FP8_BLOCK - 1) / TENSOR_FP8_BLOCK,
                   want_cols = (cols + TENSOR_FP8_BLOCK - 1) / TENSOR_FP8_BLOCK;
    if (w->ndim != 2) return TENSOR_BAD_FILE(err, "FP8 weight '%s' with a scale_inv is not 2-D", w->name);
    if (s->ndim != 2 || s->shape[0] != want_rows || s->shape[1] != want_cols || s->dtype == DTYPE_OTHER)
        return TENSOR_BAD_FILE(err,
                               "'%s' should hold one float per 128x128 block of the [%llu, %llu] weight: [%llu, %llu], "
                               "not %u-D of %s",
                               s->name, (unsigned long long)rows, (unsigned long long)cols,
                               (unsigned long long)want_rows, (unsigned long long)want_cols, s->ndim, s->dtype_name);
    float *scale_inv = malloc((s->count ? s->count : 1) * sizeof *scale_inv);
    uint8_t *codes = malloc(w->count ? w->count : 1);
    fp8_status st = scale_inv && codes ? FP8_OK : tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == FP8_OK) st = tensor_file_read_f32(sf, s, scale_inv, err);
    if (st == FP8_OK) st = tensor_source_read(wf, w->offset, codes, w->count, err);
    if (st == FP8_OK && w->count) {
        /* DeepSeek-V3's dequantization is libfp8's, with 128 x 128 blocks */
        const fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, TENSOR_FP8_BLOCK, TENSOR_FP8_BLOCK);
        st = fp8_dequantize_f32(&cfg, codes, rows, cols, cols, scale_inv, x, cols);
        if (st != FP8_OK) st = tensor_fail(err, st, "dequantizing '%s': %s", w->name, fp8_status_string(st));
    }
    free(scale_inv);
    free(codes);
    return st;
}

fp8_status tensor_load_matrix(const tensor_file *files, size_t nfiles, size_t file_index, const tensor_entry *e,
                              float **out, bool *dequantized, tensor_error *err)
{
    *out = NULL;
    *dequantized = false;
    size_t bytes;
    if (fp8_mul_overflows(e->count ? e->count : 1, sizeof(float), &bytes))
        return TENSOR_BAD_FILE(err, "tensor too large");
    float *x = malloc(bytes);
    if (!x) return tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "out of memory for %llu values", (unsigned long long)e->count);
    size_t scale_file = 0;
    const tensor_entry *s = tensor_scale_inv_of(files, nfiles, e, &scale_file);
    const fp8_status st = s ? dequantize_blocks(&files[file_index], e, &files[scale_file], s, x, err)
                            : tensor_file_read_f32(&files[file_index], e, x, err);
    if (st != FP8_OK) {
        free(x);
        return st;
    }
    *out = x;
    *dequantized = s != NULL;
    return FP8_OK;
}
