/* NumPy .npy, versions 1.0, 2.0 and 3.0 (numpy/lib/format.py):
 *
 *   | \x93NUMPY | major | minor | header length | header (Python dict literal) | data |
 *     6 bytes     1       1       u16 LE (v1),    padded with spaces, '\n' last
 *                                 u32 LE (v2, v3)
 *
 * The header is {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }:
 * exactly these three keys, as numpy requires. Version 3 only allows UTF-8
 * in the header, which changes nothing here (the values are ASCII). The data
 * must be exactly count * itemsize bytes. */
#include <stdlib.h>
#include <string.h>

#include "parse.h"

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool accept(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool accept_word(cursor *c, const char *word)
{
    skip_space(c);
    const size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return false;
    c->p += n;
    return true;
}

/* A Python string literal without escapes, '...' or "...", into out[cap]. */
static bool parse_string(cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
    const char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= cap) return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return false;
    c->p++;
    out[n] = '\0';
    return true;
}

/* A non-negative Python integer (Python 2 files may add 'L'). */
static bool parse_uint(cursor *c, uint64_t *v)
{
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return false;
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (__builtin_mul_overflow(x, 10u, &x) || __builtin_add_overflow(x, (uint64_t)(*c->p - '0'), &x))
            return false;
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L') c->p++;
    *v = x;
    return true;
}

/* A tuple of integers: (), (3,), (3, 4) or (3, 4,). */
static fp8_status parse_shape(cursor *c, tensor_entry *e, tensor_error *err)
{
    if (!accept(c, '(')) return TENSOR_BAD_FILE(err, "npy header: 'shape' is not a tuple");
    e->ndim = 0;
    bool trailing_comma = false;
    while (!accept(c, ')')) {
        if (e->ndim == TENSOR_MAX_DIMS)
            return TENSOR_BAD_FILE(err, "npy header: more than %d dimensions", TENSOR_MAX_DIMS);
        if (!parse_uint(c, &e->shape[e->ndim]))
            return TENSOR_BAD_FILE(err, "npy header: shape entry %u is not a non-negative integer (or overflows)",
                                   e->ndim);
        e->ndim++;
        trailing_comma = accept(c, ',');
        if (!trailing_comma) {
            if (!accept(c, ')')) return TENSOR_BAD_FILE(err, "npy header: malformed shape tuple");
            break;
        }
    }
    if (e->ndim == 1 && !trailing_comma) return TENSOR_BAD_FILE(err, "npy header: shape (n) is not a tuple; (n,) is");
    return FP8_OK;
}

/* '<f4' and the like: byte order, then kind and size. */
static fp8_status parse_descr(const char *descr, tensor_entry *e, tensor_error *err)
{
    static const struct { const char *code; tensor_dtype dtype; } types[] = {
        {"f4", DTYPE_F32}, {"f8", DTYPE_F64}, {"f2", DTYPE_F16}};
    snprintf(e->dtype_name, sizeof e->dtype_name, "%.15s", descr);
    if ((descr[0] == '<' || descr[0] == '>') && strlen(descr) == 3) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcmp(descr + 1, types[i].code) == 0) {
                e->dtype = types[i].dtype;
                e->big_endian = descr[0] == '>';
                return FP8_OK;
            }
        }
    }
    return TENSOR_BAD_FILE(err, "npy dtype '%s' is not supported (f2, f4 or f8, either byte order)", descr);
}

static fp8_status parse_header(cursor *c, tensor_entry *e, tensor_error *err)
{
    bool have_descr = false, have_order = false, have_shape = false;
    if (!accept(c, '{')) return TENSOR_BAD_FILE(err, "npy header is not a dictionary");
    while (!accept(c, '}')) {
        char key[32], descr[32];
        if (!parse_string(c, key, sizeof key) || !accept(c, ':'))
            return TENSOR_BAD_FILE(err, "npy header: malformed dictionary");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (!parse_string(c, descr, sizeof descr))
                return TENSOR_BAD_FILE(err, "npy header: 'descr' is not a simple dtype string");
            FP8_FORWARD_IF_ERROR(parse_descr(descr, e, err));
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (accept_word(c, "True"))
                e->fortran_order = true;
            else if (accept_word(c, "False"))
                e->fortran_order = false;
            else
                return TENSOR_BAD_FILE(err, "npy header: 'fortran_order' is not True or False");
            have_order = true;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            FP8_FORWARD_IF_ERROR(parse_shape(c, e, err));
            have_shape = true;
        } else {
            return TENSOR_BAD_FILE(err, "npy header: unexpected or repeated key '%s'", key);
        }
        if (!accept(c, ',')) {
            if (!accept(c, '}')) return TENSOR_BAD_FILE(err, "npy header: malformed dictionary");
            break;
        }
    }
    skip_space(c);
    if (c->p != c->end) return TENSOR_BAD_FILE(err, "npy header: text after the dictionary");
    if (!have_descr || !have_order || !have_shape)
        return TENSOR_BAD_FILE(err, "npy header lacks '%s'", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return FP8_OK;
}

fp8_status npy_parse(tensor_file *tf, tensor_error *err)
{
    uint8_t prefix[12];
    if (tf->size < 10) return TENSOR_BAD_FILE(err, "npy: %llu bytes is too short for a header", (unsigned long long)tf->size);
    FP8_FORWARD_IF_ERROR(tensor_source_read(tf, 0, prefix, tf->size < 12 ? 10 : 12, err));
    if (memcmp(prefix, npy_magic, sizeof npy_magic) != 0) return TENSOR_BAD_FILE(err, "not a .npy file (no magic)");
    const unsigned major = prefix[6], minor = prefix[7];
    if (major < 1 || major > 3 || minor != 0)
        return TENSOR_BAD_FILE(err, "npy version %u.%u is not supported (1.0, 2.0, 3.0)", major, minor);
    if (major > 1 && tf->size < 12) return TENSOR_BAD_FILE(err, "npy: truncated header");
    const uint64_t header_len = major == 1 ? (uint64_t)prefix[8] | (uint64_t)prefix[9] << 8
                                           : (uint64_t)prefix[8] | (uint64_t)prefix[9] << 8 |
                                                 (uint64_t)prefix[10] << 16 | (uint64_t)prefix[11] << 24;
    const uint64_t header_start = major == 1 ? 10 : 12;
    if (header_len > tf->size - header_start)
        return TENSOR_BAD_FILE(err, "npy: header length %llu exceeds the file's %llu bytes",
                               (unsigned long long)header_len, (unsigned long long)tf->size);
    char *text = malloc(header_len ? header_len : 1);
    if (!text) return tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "npy: out of memory for the header");
    tensor_entry *e = calloc(1, sizeof *e);
    fp8_status st = e ? tensor_source_read(tf, header_start, text, header_len, err)
                      : tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "npy: out of memory");
    if (st == FP8_OK) {
        cursor c = {text, text + header_len};
        st = parse_header(&c, e, err);
    }
    free(text);
    if (st == FP8_OK) {
        size_t bytes;
        e->offset = header_start + header_len;
        if (!tensor_shape_count(e->shape, e->ndim, &e->count) ||
            fp8_mul_overflows(e->count, tensor_dtype_size(e->dtype), &bytes))
            st = TENSOR_BAD_FILE(err, "npy: the shape's size overflows");
        else if (bytes != tf->size - e->offset)
            st = TENSOR_BAD_FILE(err, "npy: the shape needs %llu bytes of data, the file holds %llu",
                                 (unsigned long long)bytes, (unsigned long long)(tf->size - e->offset));
    }
    if (st != FP8_OK) {
        free(e);
        return st;
    }
    tf->entries = e;
    tf->count = 1;
    return FP8_OK;
}
