/* Tensor file readers (tools/io): .npy, safetensors and raw files written
 * here byte by byte, read back against values from the independent reference
 * decoders (support/reference.c); DeepSeek-V3 block-scaled FP8 weights; and
 * malformed files of every kind (every truncation, lying headers, absurd
 * shapes, bad JSON, unknown dtypes, random corruption), each of which must
 * give FP8_ERR_FILE_FORMAT and a reason, never a crash (the sanitizer build
 * checks "never a read outside the buffer"). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fp8.h"
#include "io/tensor_file.h"
#include "support/reference.h"

/* ---- building files ---- */

typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert(b->p != NULL);
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_str(bytes *b, const char *s) { put(b, s, strlen(s)); }
static void put_uint(bytes *b, uint64_t v, unsigned size, int big_endian)
{
    uint8_t tmp[8];
    for (unsigned k = 0; k < size; k++) tmp[big_endian ? size - 1 - k : k] = (uint8_t)(v >> (8 * k));
    put(b, tmp, size);
}
static void put_fmt(bytes *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put_str(b, tmp);
}

/* An .npy file: magic, version, header length, the header padded with spaces
 * to a multiple of 64 (as numpy does) and ended by '\n', then the data. */
static bytes npy_file(unsigned major, const char *dict, const void *data, size_t data_bytes)
{
    bytes b = {0};
    put(&b, "\x93NUMPY", 6);
    const uint8_t version[2] = {(uint8_t)major, 0};
    put(&b, version, 2);
    const size_t prefix = major == 1 ? 10 : 12;
    size_t len = strlen(dict) + 1;
    len += (64 - (prefix + len) % 64) % 64;
    put_uint(&b, len, major == 1 ? 2 : 4, 0);
    put_str(&b, dict);
    for (size_t k = strlen(dict) + 1; k < len; k++) put_str(&b, " ");
    put_str(&b, "\n");
    put(&b, data, data_bytes);
    return b;
}

/* A safetensors file from its header text and data. */
static bytes st_file(const char *header, const void *data, size_t data_bytes)
{
    bytes b = {0};
    put_uint(&b, strlen(header), 8, 0);
    put_str(&b, header);
    put(&b, data, data_bytes);
    return b;
}

/* ---- seeded values ---- */

static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int same_float(float got, double want)
{
    return isnan(want) ? isnan(got) : (double)got == want && !signbit(got) == !signbit(want);
}

/* Opens a buffer, expecting success, one entry per `expect_count`. */
static void open_ok(tensor_file *tf, const bytes *b, tensor_file_kind kind, const raw_layout *raw, size_t expect_count)
{
    tensor_error err = {{0}};
    const fp8_status st = tensor_file_open_memory(tf, b->p, b->n, kind, raw, &err);
    ck_assert_msg(st == FP8_OK, "expected a valid file, got %s: %s", fp8_status_string(st), err.message);
    ck_assert_uint_eq(tf->count, expect_count);
}

/* Expects FP8_ERR_FILE_FORMAT with a message containing `why`. */
static void open_bad(const bytes *b, tensor_file_kind kind, const raw_layout *raw, const char *why, const char *what)
{
    tensor_file tf;
    tensor_error err = {{0}};
    const fp8_status st = tensor_file_open_memory(&tf, b->p, b->n, kind, raw, &err);
    ck_assert_msg(st == FP8_ERR_FILE_FORMAT, "%s: expected a format error, got %s", what, fp8_status_string(st));
    ck_assert_msg(strstr(err.message, why) != NULL, "%s: message '%s' lacks '%s'", what, err.message, why);
    ck_assert(tf.count == 0 && tf.entries == NULL);
}

/* ---- .npy ---- */

/* Every version, dtype and byte order: values from the reference decoders. */
START_TEST(npy_dtypes)
{
    static const struct { const char *descr; unsigned size; } types[] = {
        {"<f4", 4}, {">f4", 4}, {"<f8", 8}, {">f8", 8}, {"<f2", 2}, {">f2", 2}};
    const unsigned major = 1 + (unsigned)_i / 6;
    const char *descr = types[_i % 6].descr;
    const unsigned size = types[_i % 6].size;
    const int big = descr[0] == '>';
    rng_state = 0x10AD0000u + (uint64_t)_i;
    printf("npy_dtypes v%u %s: seed %#llx\n", major, descr, (unsigned long long)rng_state);
    enum { N = 257 };
    bytes data = {0};
    double want[N];
    for (int i = 0; i < N; i++) {
        const uint64_t r = rng_next();
        if (size == 2) {
            put_uint(&data, r & 0xFFFF, 2, big);
            want[i] = ref_f16_value((uint16_t)r);
        } else if (size == 4) {
            put_uint(&data, (uint32_t)r, 4, big);
            want[i] = (double)f32_from_bits((uint32_t)r);
        } else {
            double d = ldexp((double)(r >> 11), -53) * ldexp(1.0, (int)(r % 300) - 150) * ((r & 1) ? -1 : 1);
            uint64_t bits;
            memcpy(&bits, &d, 8);
            put_uint(&data, bits, 8, big);
            want[i] = (double)(float)d; /* round to nearest, overflow to infinity */
        }
    }
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }", descr, N);
    bytes b = npy_file(major, dict, data.p, data.n);
    tensor_file tf;
    open_ok(&tf, &b, TENSOR_FILE_NPY, NULL, 1);
    const tensor_entry *e = &tf.entries[0];
    ck_assert(e->ndim == 1 && e->shape[0] == N && e->count == N && e->big_endian == big);
    uint64_t rows, cols;
    tensor_entry_matrix(e, &rows, &cols);
    ck_assert(rows == 1 && cols == N);
    float got[N];
    tensor_error err;
    ck_assert_int_eq(tensor_file_read_f32(&tf, e, got, &err), FP8_OK);
    for (int i = 0; i < N; i++) ck_assert_msg(same_float(got[i], want[i]), "%s [%d]: got %a want %a", descr, i, got[i], want[i]);
    tensor_file_close(&tf);
    free(b.p);
    free(data.p);
}
END_TEST

/* Fortran order is read back in C order; scalars and empty arrays. */
START_TEST(npy_shapes)
{
    enum { A = 2, B = 3, C = 4 };
    bytes data = {0};
    /* element (i, j, k) has value 100 i + 10 j + k; Fortran order runs i fastest */
    for (int k = 0; k < C; k++)
        for (int j = 0; j < B; j++)
            for (int i = 0; i < A; i++) put_uint(&data, f32_bits((float)(100 * i + 10 * j + k)), 4, 0);
    bytes b = npy_file(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", data.p, data.n);
    tensor_file tf;
    open_ok(&tf, &b, TENSOR_FILE_NPY, NULL, 1);
    float got[A * B * C];
    ck_assert_int_eq(tensor_file_read_f32(&tf, &tf.entries[0], got, NULL), FP8_OK);
    for (int i = 0; i < A; i++)
        for (int j = 0; j < B; j++)
            for (int k = 0; k < C; k++) ck_assert(got[(i * B + j) * C + k] == (float)(100 * i + 10 * j + k));
    uint64_t rows, cols;
    tensor_entry_matrix(&tf.entries[0], &rows, &cols);
    ck_assert(rows == A * B && cols == C);
    tensor_file_close(&tf);
    free(b.p);

    /* a scalar: shape (), one element, a 1 x 1 matrix; Python 2's 3L and double quotes */
    const uint8_t one[4] = {0, 0, 0x80, 0x3F};
    b = npy_file(2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": ()}", one, 4);
    open_ok(&tf, &b, TENSOR_FILE_NPY, NULL, 1);
    ck_assert(tf.entries[0].ndim == 0 && tf.entries[0].count == 1);
    tensor_entry_matrix(&tf.entries[0], &rows, &cols);
    ck_assert(rows == 1 && cols == 1);
    tensor_file_close(&tf);
    free(b.p);
    b = npy_file(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3L), }", NULL, 0);
    open_ok(&tf, &b, TENSOR_FILE_NPY, NULL, 1);
    ck_assert(tf.entries[0].count == 0 && tf.entries[0].shape[1] == 3);
    tensor_file_close(&tf);
    free(b.p);
    free(data.p);
}
END_TEST

START_TEST(npy_malformed)
{
    const uint8_t four[4] = {0};
    static const struct { unsigned major; const char *dict; size_t data; const char *why; } cases[] = {
        {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", 4, "not supported"},
        {1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", 4, "not supported"},
        {1, "{'descr': '<f4 ', 'fortran_order': False, 'shape': (1,), }", 4, "not supported"},
        {1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, "descr"},
        {1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", 4, "fortran_order"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1), }", 4, "not a tuple"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': 1, }", 4, "not a tuple"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, "non-negative"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,), }", 4, "shape"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4, "overflows"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 4, "overflows"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }", 4, "overflows"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }", 4, "dimensions"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 4, "needs 8 bytes"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 4, "needs 0 bytes"},
        {1, "{'descr': '<f4', 'fortran_order': False, }", 4, "lacks 'shape'"},
        {1, "{'descr': '<f4', 'shape': (1,), }", 4, "lacks 'fortran_order'"},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, "repeated key"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 4, "unexpected"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, "after the dictionary"},
        {1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", 4, "malformed"},
        {1, "['descr', '<f4']", 4, "not a dictionary"},
        {1, "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,), }", 4, "descr"},
        {1, "{'descr': '<f4", 4, "descr"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bytes b = npy_file(cases[c].major, cases[c].dict, four, cases[c].data);
        open_bad(&b, TENSOR_FILE_NPY, NULL, cases[c].why, cases[c].dict);
        free(b.p);
    }
    /* the prefix: magic, version, header length */
    bytes good = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four, 4);
    bytes b = {0};
    put(&b, good.p, good.n);
    b.p[0] = 0x92;
    open_bad(&b, TENSOR_FILE_NPY, NULL, "no magic", "bad magic");
    memcpy(b.p, good.p, good.n);
    b.p[6] = 4;
    open_bad(&b, TENSOR_FILE_NPY, NULL, "version 4.0", "version 4");
    b.p[6] = 1;
    b.p[7] = 1;
    open_bad(&b, TENSOR_FILE_NPY, NULL, "version 1.1", "version 1.1");
    b.p[7] = 0;
    b.p[8] = 0xFF, b.p[9] = 0xFF; /* a header longer than the file */
    open_bad(&b, TENSOR_FILE_NPY, NULL, "exceeds", "lying header length");
    /* a version 2 header length of 4 GiB - 1 */
    bytes v2 = npy_file(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four, 4);
    memset(v2.p + 8, 0xFF, 4);
    open_bad(&v2, TENSOR_FILE_NPY, NULL, "exceeds", "lying v2 header length");
    /* every truncation of valid files */
    bytes v3 = npy_file(3, "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }", "\0\0\0\0\0\0\xF0\x3F", 8);
    const bytes *valid[] = {&good, &v3};
    for (int f = 0; f < 2; f++) {
        for (size_t len = 0; len < valid[f]->n; len++) {
            bytes t = {valid[f]->p, len, len};
            char what[96];
            snprintf(what, sizeof what, "npy truncated to %zu of %zu bytes", len, valid[f]->n);
            open_bad(&t, TENSOR_FILE_NPY, NULL, "", what);
        }
    }
    free(good.p);
    free(b.p);
    free(v2.p);
    free(v3.p);
}
END_TEST

/* ---- safetensors ---- */

/* Every dtype, with the values from the reference decoders; the tensors are
 * reported in natural order whatever the header's order. */
START_TEST(safetensors_dtypes)
{
    rng_state = 0x5AFE0001u;
    printf("safetensors_dtypes: seed %#llx\n", (unsigned long long)rng_state);
    enum { N = 300 };
    static const struct { const char *name, *dtype; unsigned size; } tensors[] = {
        {"layers.10.f32", "F32", 4}, {"layers.2.f16", "F16", 2},    {"layers.2.bf16", "BF16", 2},
        {"e4m3", "F8_E4M3", 1},      {"e5m2", "F8_E5M2", 1},        {"layers.1.f64", "F64", 8},
        {"ids", "I64", 8},
    };
    enum { T = sizeof tensors / sizeof tensors[0] };
    bytes data = {0}, header = {0};
    static double want[T][N];
    put_str(&header, "{\"__metadata__\": {\"format\": \"pt\"}");
    for (int t = 0; t < T; t++) {
        put_fmt(&header, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [3, 100], \"data_offsets\": [%zu, %zu]}",
                tensors[t].name, tensors[t].dtype, data.n, data.n + (size_t)N * tensors[t].size);
        for (int i = 0; i < N; i++) {
            const uint64_t r = rng_next();
            const char *d = tensors[t].dtype;
            put_uint(&data, r, tensors[t].size, 0);
            if (strcmp(d, "F32") == 0) want[t][i] = f32_from_bits((uint32_t)r);
            else if (strcmp(d, "F16") == 0) want[t][i] = ref_f16_value((uint16_t)r);
            else if (strcmp(d, "BF16") == 0) want[t][i] = ref_bf16_value((uint16_t)r);
            else if (strcmp(d, "F8_E4M3") == 0) want[t][i] = ref_decode((uint8_t)r, FP8_E4M3);
            else if (strcmp(d, "F8_E5M2") == 0) want[t][i] = ref_decode((uint8_t)r, FP8_E5M2);
            else if (strcmp(d, "F64") == 0) {
                double v;
                memcpy(&v, &r, 8);
                want[t][i] = (double)(float)v;
            }
        }
    }
    put_str(&header, "}   "); /* padding, as writers align the data */
    put(&header, "", 1);
    bytes b = st_file((const char *)header.p, data.p, data.n);
    tensor_file tf;
    open_ok(&tf, &b, TENSOR_FILE_SAFETENSORS, NULL, T);
    static const char *const natural[T] = {"e4m3", "e5m2", "ids", "layers.1.f64", "layers.2.bf16", "layers.2.f16",
                                           "layers.10.f32"};
    for (int t = 0; t < T; t++) ck_assert_str_eq(tf.entries[t].name, natural[t]);
    for (int t = 0; t < T; t++) {
        const tensor_entry *e = tensor_file_find(&tf, tensors[t].name);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->dtype_name, tensors[t].dtype);
        ck_assert(e->ndim == 2 && e->count == N);
        float got[N];
        tensor_error err;
        if (e->dtype == DTYPE_OTHER) {
            ck_assert_int_eq(tensor_file_read_f32(&tf, e, got, &err), FP8_ERR_FILE_FORMAT);
            continue;
        }
        ck_assert_int_eq(tensor_file_read_f32(&tf, e, got, &err), FP8_OK);
        for (int i = 0; i < N; i++)
            ck_assert_msg(same_float(got[i], want[t][i]), "%s [%d]: got %a want %a", e->name, i, got[i], want[t][i]);
    }
    ck_assert_ptr_null(tensor_file_find(&tf, "layers.3.f16"));
    tensor_file_close(&tf);
    free(b.p);
    free(data.p);
    free(header.p);
}
END_TEST

START_TEST(safetensors_malformed)
{
    static const uint8_t zeros[64] = {0};
    static const struct { const char *header; size_t data; const char *why; } cases[] = {
        {"", 0, "begin with '{'"},
        {"[]", 0, "begin with '{'"},
        {"{", 0, "expected a string"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}", 4, "expected ',' or '}'"},
        {"{} x", 0, "after the header"},
        {"{}", 4, "but no tensors"},
        {"{\"a\": {\"dtype\": \"F99\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "unknown dtype"},
        {"{\"a\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "expected a string"},
        {"{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "lacks 'dtype'"},
        {"{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "lacks 'shape'"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "lacks 'data_offsets'"},
        {"{\"a\": {\"dtype\": \"F32\", \"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "repeats"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "non-negative integer"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1.0], \"data_offsets\": [0, 4]}}", 4, "not a fraction"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [01], \"data_offsets\": [0, 4]}}", 4, "non-negative integer"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [18446744073709551616], \"data_offsets\": [0, 4]}}", 4, "overflows"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 4]}}", 4, "overflows"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 4]}}", 4, "overflows"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4,
         "at most 16"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0, 4]}}", 4, "shape is not"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8, "not [begin, end]"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, "not [begin, end]"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4, "do not hold"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, "do not hold"},
        {"{\"a\": {\"dtype\": \"F4\", \"shape\": [3], \"data_offsets\": [0, 2]}}", 2, "do not hold"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 8, "cover 4 bytes"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "begins at data byte 4"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
         "\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "not 8"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
         "\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "appears twice"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 0, "cover 4 bytes"},
        {"{\"__metadata__\": {\"k\": 1}}", 0, "expected a string"},
        {"{\"__metadata__\": []}", 0, "not an object"},
        {"{\"a\": []}", 0, "not an object"},
        {"{\"a\\u0000b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "malformed string"},
        {"{\"a\\ud800\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "malformed string"},
        {"{\"a\\udc00\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "malformed string"},
        {"{\"a\\x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "malformed string"},
        {"{\"a\n\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "malformed string"},
        {"{\"\xC0\xAF\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "not UTF-8"},
        {"{\"\xED\xA0\x80\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "not UTF-8"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": [1, -2.5e+3, true, null, "
         "{\"y\": 01}]}}", 4, "expected ','"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": tru}}", 4, "malformed"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": [1 2]}}", 4, "expected ','"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bytes b = st_file(cases[c].header, zeros, cases[c].data);
        open_bad(&b, TENSOR_FILE_SAFETENSORS, NULL, cases[c].why, cases[c].header);
        free(b.p);
    }
    /* deep nesting in an unknown key: refused, not a stack overflow */
    bytes deep = {0};
    put_str(&deep, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": ");
    for (int k = 0; k < 100000; k++) put_str(&deep, "[");
    put(&deep, "", 1);
    bytes b = st_file((const char *)deep.p, zeros, 4);
    open_bad(&b, TENSOR_FILE_SAFETENSORS, NULL, "nested too deeply", "deep nesting");
    free(b.p);
    free(deep.p);
    /* unknown keys and nesting within the limit are skipped; \u escapes decode to UTF-8 */
    b = st_file("{\"\\u00e9\\ud83d\\ude00\\/\": {\"x\": [[{\"y\": [1e5, -0.5, \"\\\"\"]}], false, null], \"dtype\": "
                "\"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                zeros, 4);
    tensor_file tf;
    open_ok(&tf, &b, TENSOR_FILE_SAFETENSORS, NULL, 1);
    ck_assert_str_eq(tf.entries[0].name, "\xC3\xA9\xF0\x9F\x98\x80/");
    tensor_file_close(&tf);
    free(b.p);
    /* the length prefix */
    bytes good = st_file("{\"a\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", zeros, 4);
    bytes lie = {0};
    put(&lie, good.p, good.n);
    lie.p[0] += 1;
    open_bad(&lie, TENSOR_FILE_SAFETENSORS, NULL, "", "header length one too long");
    memset(lie.p, 0, 8);
    lie.p[3] = 0x10; /* 256 MiB: over the format's limit */
    open_bad(&lie, TENSOR_FILE_SAFETENSORS, NULL, "limit of 100 MB", "huge header length");
    memset(lie.p, 0xFF, 8);
    open_bad(&lie, TENSOR_FILE_SAFETENSORS, NULL, "limit", "header length 2^64 - 1");
    for (size_t len = 0; len < good.n; len++) {
        bytes t = {good.p, len, len};
        char what[96];
        snprintf(what, sizeof what, "safetensors truncated to %zu of %zu bytes", len, good.n);
        open_bad(&t, TENSOR_FILE_SAFETENSORS, NULL, "", what);
    }
    free(good.p);
    free(lie.p);
}
END_TEST

/* ---- raw ---- */

/* A header with no tensors is a valid, empty file (libFuzzer found it sorting a NULL array). */
START_TEST(safetensors_empty)
{
    const unsigned char file[] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    const bytes b = {(uint8_t *)file, sizeof file, sizeof file};
    tensor_file tf;
    open_ok(&tf, &b, TENSOR_FILE_SAFETENSORS, NULL, 0);
    tensor_file_close(&tf);
}
END_TEST

START_TEST(raw_layouts)
{
    bytes data = {0};
    for (int i = 0; i < 12; i++) put_uint(&data, (uint16_t)(0x3F80 + i), 2, 0);
    raw_layout raw = {.dtype = DTYPE_BF16, .ndim = 2, .shape = {3, 4}};
    tensor_file tf;
    open_ok(&tf, &data, TENSOR_FILE_RAW, &raw, 1);
    float got[12];
    ck_assert_int_eq(tensor_file_read_f32(&tf, &tf.entries[0], got, NULL), FP8_OK);
    for (int i = 0; i < 12; i++) ck_assert(got[i] == (float)ref_bf16_value((uint16_t)(0x3F80 + i)));
    tensor_file_close(&tf);
    raw.shape[1] = 5;
    open_bad(&data, TENSOR_FILE_RAW, &raw, "needs 30 bytes of bf16, the file holds 24", "raw too short");
    raw.shape[0] = 1ull << 40, raw.shape[1] = 1ull << 30;
    open_bad(&data, TENSOR_FILE_RAW, &raw, "overflows", "raw overflow");
    raw = (raw_layout){.dtype = DTYPE_F32, .ndim = 1, .shape = {5}};
    open_bad(&data, TENSOR_FILE_RAW, &raw, "needs 20 bytes", "raw too long");
    tensor_error err;
    ck_assert_int_eq(tensor_file_open_memory(&tf, data.p, data.n, TENSOR_FILE_RAW, NULL, &err), FP8_ERR_INVALID_ARGUMENT);
    tensor_dtype d;
    ck_assert(tensor_dtype_from_name("e5m2", &d) && d == DTYPE_E5M2);
    ck_assert(!tensor_dtype_from_name("other", &d) && !tensor_dtype_from_name("F32", &d));
    free(data.p);
}
END_TEST

/* ---- files on disk: kinds told apart, I/O errors ---- */

static char tmpdir[64];

static void write_file(const char *name, const bytes *b, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b->p, 1, b->n, f), b->n);
    fclose(f);
}

START_TEST(files_on_disk)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fp8_test_io_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    const uint8_t data[8] = {0, 0, 0x80, 0x3F, 0, 0, 0, 0x40};
    bytes npy = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data, 8);
    bytes st = st_file("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", data, 8);
    bytes raw = {0};
    put(&raw, data, 8);
    char p_npy[128], p_st[128], p_st_noext[128], p_raw[128];
    write_file("a.npy", &npy, p_npy, sizeof p_npy);
    write_file("b.safetensors", &st, p_st, sizeof p_st);
    write_file("b.bin", &st, p_st_noext, sizeof p_st_noext);
    write_file("c.bin", &raw, p_raw, sizeof p_raw);
    tensor_file tf;
    tensor_error err;
    const raw_layout layout = {.dtype = DTYPE_F32, .ndim = 1, .shape = {2}};
    ck_assert_int_eq(tensor_file_open(&tf, p_npy, NULL, &err), FP8_OK);
    ck_assert_int_eq(tf.kind, TENSOR_FILE_NPY);
    float got[2];
    ck_assert_int_eq(tensor_file_read_f32(&tf, &tf.entries[0], got, &err), FP8_OK);
    ck_assert(got[0] == 1.0f && got[1] == 2.0f);
    tensor_file_close(&tf);
    ck_assert_int_eq(tensor_file_open(&tf, p_st, &layout, &err), FP8_OK); /* the name wins over --dtype */
    ck_assert_int_eq(tf.kind, TENSOR_FILE_SAFETENSORS);
    ck_assert_int_eq(tensor_file_read_f32(&tf, tensor_file_find(&tf, "w"), got, &err), FP8_OK);
    ck_assert(got[0] == 1.0f && got[1] == 2.0f);
    tensor_file_close(&tf);
    ck_assert_int_eq(tensor_file_open(&tf, p_st_noext, NULL, &err), FP8_OK); /* recognized by its content */
    ck_assert_int_eq(tf.kind, TENSOR_FILE_SAFETENSORS);
    tensor_file_close(&tf);
    ck_assert_int_eq(tensor_file_open(&tf, p_raw, &layout, &err), FP8_OK);
    ck_assert_int_eq(tf.kind, TENSOR_FILE_RAW);
    ck_assert_int_eq(tensor_file_read_f32(&tf, &tf.entries[0], got, &err), FP8_OK);
    ck_assert(got[0] == 1.0f && got[1] == 2.0f);
    tensor_file_close(&tf);
    ck_assert_int_eq(tensor_file_open(&tf, p_raw, NULL, &err), FP8_ERR_FILE_FORMAT);
    ck_assert(strstr(err.message, "--dtype and --shape") != NULL);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.npy", tmpdir);
    ck_assert_int_eq(tensor_file_open(&tf, missing, NULL, &err), FP8_ERR_IO);
    ck_assert_int_eq(tensor_file_open(&tf, tmpdir, NULL, &err), FP8_ERR_IO);
    const char *paths[] = {p_npy, p_st, p_st_noext, p_raw};
    for (int k = 0; k < 4; k++) unlink(paths[k]);
    rmdir(tmpdir);
    free(npy.p);
    free(st.p);
    free(raw.p);
}
END_TEST

/* ---- DeepSeek-V3 FP8 weights ---- */

/* A 200 x 300 E4M3 weight (2 x 3 blocks of 128 x 128, partial at the edges)
 * and its scale_inv, against decode(code) * scale_inv of the block computed
 * here from the reference decoder; the companion may live in another file. */
START_TEST(deepseek_fp8_weight)
{
    enum { R = 200, C = 300, BR = 2, BC = 3 };
    rng_state = 0xD5EE0001u;
    printf("deepseek_fp8_weight: seed %#llx\n", (unsigned long long)rng_state);
    static uint8_t codes[R * C];
    float scale_inv[BR * BC];
    for (int i = 0; i < R * C; i++) {
        codes[i] = (uint8_t)rng_next();
        if ((codes[i] & 0x7F) == 0x7F) codes[i] ^= 1; /* no NaN codes: compare values plainly */
    }
    for (int b = 0; b < BR * BC; b++) scale_inv[b] = ldexpf(1.0f + (float)b / 8, b - 10);
    bytes data = {0};
    put(&data, codes, sizeof codes);
    const size_t scale_at = data.n;
    for (int b = 0; b < BR * BC; b++) put_uint(&data, f32_bits(scale_inv[b]), 4, 0);
    char header[512];
    snprintf(header, sizeof header,
             "{\"model.layers.0.mlp.down_proj.weight\": {\"dtype\": \"F8_E4M3\", \"shape\": [%d, %d], \"data_offsets\": "
             "[0, %d]}, \"model.layers.0.mlp.down_proj.weight_scale_inv\": {\"dtype\": \"F32\", \"shape\": [%d, %d], "
             "\"data_offsets\": [%zu, %zu]}}",
             R, C, R * C, BR, BC, scale_at, data.n);
    bytes b = st_file(header, data.p, data.n);
    tensor_file tf[2];
    open_ok(&tf[0], &b, TENSOR_FILE_SAFETENSORS, NULL, 2);
    const tensor_entry *w = tensor_file_find(&tf[0], "model.layers.0.mlp.down_proj.weight");
    const tensor_entry *s = tensor_file_find(&tf[0], "model.layers.0.mlp.down_proj.weight_scale_inv");
    ck_assert(w && s);
    ck_assert(tensor_is_scale_inv(tf, 1, s) && !tensor_is_scale_inv(tf, 1, w));
    size_t where;
    ck_assert(tensor_scale_inv_of(tf, 1, w, &where) == s && where == 0);
    float *x;
    bool dequantized;
    tensor_error err;
    ck_assert_int_eq(tensor_load_matrix(tf, 1, 0, w, &x, &dequantized, &err), FP8_OK);
    ck_assert(dequantized);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            const float want = (float)ref_decode(codes[r * C + c], FP8_E4M3) * scale_inv[(r / 128) * BC + c / 128];
            ck_assert_msg(x[r * C + c] == want, "(%d, %d): got %a want %a", r, c, x[r * C + c], want);
        }
    free(x);
    /* the scale tensor itself loads plainly */
    ck_assert_int_eq(tensor_load_matrix(tf, 1, 0, s, &x, &dequantized, &err), FP8_OK);
    ck_assert(!dequantized && x[5] == scale_inv[5]);
    free(x);

    /* the weight in one file, its companion in another */
    char h1[256], h2[256];
    snprintf(h1, sizeof h1, "{\"w.weight\": {\"dtype\": \"F8_E4M3\", \"shape\": [%d, %d], \"data_offsets\": [0, %d]}}",
             R, C, R * C);
    snprintf(h2, sizeof h2,
             "{\"w.weight_scale_inv\": {\"dtype\": \"F32\", \"shape\": [%d, %d], \"data_offsets\": [0, %d]}}", BR, BC,
             4 * BR * BC);
    bytes b1 = st_file(h1, codes, sizeof codes), b2 = st_file(h2, data.p + scale_at, data.n - scale_at);
    tensor_file split[2];
    open_ok(&split[0], &b1, TENSOR_FILE_SAFETENSORS, NULL, 1);
    open_ok(&split[1], &b2, TENSOR_FILE_SAFETENSORS, NULL, 1);
    ck_assert_int_eq(tensor_load_matrix(split, 2, 0, &split[0].entries[0], &x, &dequantized, &err), FP8_OK);
    ck_assert(dequantized && x[C + 200] == (float)ref_decode(codes[C + 200], FP8_E4M3) * scale_inv[1]);
    free(x);
    ck_assert(tensor_is_scale_inv(split, 2, &split[1].entries[0]) && !tensor_is_scale_inv(split + 1, 1, &split[1].entries[0]));
    /* alone, the weight is plain E4M3 */
    ck_assert_int_eq(tensor_load_matrix(split, 1, 0, &split[0].entries[0], &x, &dequantized, &err), FP8_OK);
    ck_assert(!dequantized && x[7] == (float)ref_decode(codes[7], FP8_E4M3));
    free(x);
    tensor_file_close(&split[0]);
    tensor_file_close(&split[1]);
    free(b1.p);
    free(b2.p);

    /* a companion of the wrong shape is a format error */
    snprintf(h2, sizeof h2,
             "{\"w.weight_scale_inv\": {\"dtype\": \"F32\", \"shape\": [%d, %d], \"data_offsets\": [0, %d]}}", BC, BR,
             4 * BR * BC);
    b1 = st_file(h1, codes, sizeof codes);
    b2 = st_file(h2, data.p + scale_at, data.n - scale_at);
    open_ok(&split[0], &b1, TENSOR_FILE_SAFETENSORS, NULL, 1);
    open_ok(&split[1], &b2, TENSOR_FILE_SAFETENSORS, NULL, 1);
    ck_assert_int_eq(tensor_load_matrix(split, 2, 0, &split[0].entries[0], &x, &dequantized, &err), FP8_ERR_FILE_FORMAT);
    ck_assert_msg(strstr(err.message, "one float per 128x128 block") != NULL, "%s", err.message);
    ck_assert_ptr_null(x);
    tensor_file_close(&split[0]);
    tensor_file_close(&split[1]);
    tensor_file_close(&tf[0]);
    free(b1.p);
    free(b2.p);
    free(b.p);
    free(data.p);
}
END_TEST

/* ---- random corruption ----
 * Seeded byte flips, insertions and truncations of valid files: every result
 * is a clean open (then every tensor reads) or a format error. libFuzzer
 * (fuzz/) searches far harder; this keeps a cheap version in every run. */
START_TEST(random_corruption)
{
    const uint64_t seed = 0xC0AA0000u + (uint64_t)_i;
    rng_state = seed;
    printf("random_corruption %s: seed %#llx\n", _i ? "safetensors" : "npy", (unsigned long long)seed);
    const uint8_t data[16] = {0, 0, 0x80, 0x3F, 0x38, 0x40, 0xFF, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8};
    bytes valid = _i == 0 ? npy_file(1, "{'descr': '<f2', 'fortran_order': True, 'shape': (2, 4), }", data, 16)
                          : st_file("{\"__metadata__\": {\"a\": \"b\"}, \"x.weight\": {\"dtype\": \"F8_E4M3\", \"shape\": "
                                    "[2, 4], \"data_offsets\": [0, 8]}, \"x.weight_scale_inv\": {\"dtype\": \"BF16\", "
                                    "\"shape\": [1, 1], \"data_offsets\": [8, 10]}, \"y\": {\"dtype\": \"F16\", "
                                    "\"shape\": [3], \"data_offsets\": [10, 16]}}",
                                    data, 16);
    const tensor_file_kind kind = _i == 0 ? TENSOR_FILE_NPY : TENSOR_FILE_SAFETENSORS;
    unsigned opened = 0;
    for (int iter = 0; iter < 20000; iter++) {
        bytes m = {0};
        put(&m, valid.p, valid.n);
        const int edits = 1 + (int)(rng_next() % 4);
        for (int k = 0; k < edits; k++) {
            const size_t at = rng_next() % m.n;
            switch (rng_next() % 4) {
            case 0: m.p[at] ^= (uint8_t)(1u << (rng_next() % 8)); break;
            case 1: m.p[at] = (uint8_t)rng_next(); break;
            case 2: m.p[at] = "{}[]\",:0123456789 -.eE\\u"[rng_next() % 25]; break;
            case 3: m.n = at + 1; break;
            }
        }
        tensor_file tf;
        tensor_error err;
        const fp8_status st = tensor_file_open_memory(&tf, m.p, m.n, kind, NULL, &err);
        ck_assert_msg(st == FP8_OK || st == FP8_ERR_FILE_FORMAT, "iteration %d: %s", iter, fp8_status_string(st));
        if (st == FP8_OK) {
            opened++;
            for (size_t t = 0; t < tf.count; t++) {
                float *x;
                bool dequantized;
                const fp8_status ls = tensor_load_matrix(&tf, 1, 0, &tf.entries[t], &x, &dequantized, &err);
                ck_assert(ls == FP8_OK || ls == FP8_ERR_FILE_FORMAT);
                free(x);
            }
            tensor_file_close(&tf);
        }
        free(m.p);
    }
    printf("random_corruption: %u of 20000 corrupted files were still valid\n", opened);
    free(valid.p);
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc;
    tc = tcase_create("npy_dtypes");
    tcase_add_loop_test(tc, npy_dtypes, 0, 18);
    suite_add_tcase(s, tc);
    tc = tcase_create("npy_shapes");
    tcase_add_test(tc, npy_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("npy_malformed");
    tcase_add_test(tc, npy_malformed);
    suite_add_tcase(s, tc);
    tc = tcase_create("safetensors_dtypes");
    tcase_add_test(tc, safetensors_dtypes);
    suite_add_tcase(s, tc);
    tc = tcase_create("safetensors_malformed");
    tcase_add_test(tc, safetensors_malformed);
    tcase_add_test(tc, safetensors_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("raw_layouts");
    tcase_add_test(tc, raw_layouts);
    suite_add_tcase(s, tc);
    tc = tcase_create("files_on_disk");
    tcase_add_test(tc, files_on_disk);
    suite_add_tcase(s, tc);
    tc = tcase_create("deepseek_fp8_weight");
    tcase_add_test(tc, deepseek_fp8_weight);
    suite_add_tcase(s, tc);
    tc = tcase_create("random_corruption");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, random_corruption, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(io_suite)
