/* safetensors (huggingface/safetensors, docs "Format"):
 *
 *   | N: u64 LE | header: N bytes of UTF-8 JSON | data                         |
 *
 *   {"__metadata__": {"key": "value", ...},
 *    "NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...}
 *
 * Offsets count from the start of the data. As the reference implementation
 * requires, N is at most 100 MB, the header is valid UTF-8 and begins with
 * '{', each tensor's END - BEGIN is exactly its size, and the tensors sorted
 * by offset tile the data: each begins where the previous ended, the last
 * ends at the end of the file. Duplicate names are refused. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "parse.h"

#define SAFETENSORS_MAX_HEADER 100000000u
#define JSON_MAX_DEPTH 64

static const struct {
    const char *name;
    tensor_dtype dtype;
    unsigned bits;
} safetensors_dtypes[] = {
    {"F32", DTYPE_F32, 32},       {"F64", DTYPE_F64, 64},         {"F16", DTYPE_F16, 16},
    {"BF16", DTYPE_BF16, 16},     {"F8_E4M3", DTYPE_E4M3, 8},     {"F8_E5M2", DTYPE_E5M2, 8},
    {"BOOL", DTYPE_OTHER, 8},     {"U8", DTYPE_OTHER, 8},         {"I8", DTYPE_OTHER, 8},
    {"F8_E8M0", DTYPE_OTHER, 8},  {"I16", DTYPE_OTHER, 16},       {"U16", DTYPE_OTHER, 16},
    {"I32", DTYPE_OTHER, 32},     {"U32", DTYPE_OTHER, 32},       {"I64", DTYPE_OTHER, 64},
    {"U64", DTYPE_OTHER, 64},     {"C64", DTYPE_OTHER, 64},       {"F4", DTYPE_OTHER, 4},
    {"F6_E2M3", DTYPE_OTHER, 6},  {"F6_E3M2", DTYPE_OTHER, 6},
};

/* ---- a strict JSON reader over [p, end) ---- */

typedef struct json {
    const char *start, *p, *end;
    tensor_error *err;
    int depth;
} json;

static bool json_fail(json *j, const char *what)
{
    tensor_fail(j->err, FP8_ERR_FILE_FORMAT, "safetensors header: %s at byte %ld", what, (long)(j->p - j->start));
    return false;
}

/* A failure with the reason formatted: returns false. */
static bool header_fail(json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool header_fail(json *j, const char *fmt, ...)
{
    char what[sizeof j->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    tensor_fail(j->err, FP8_ERR_FILE_FORMAT, "safetensors: %s", what);
    return false;
}

static void json_space(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static bool json_accept(json *j, char c)
{
    json_space(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool json_hex4(json *j, unsigned *u)
{
    if (j->end - j->p < 4) return false;
    *u = 0;
    for (int k = 0; k < 4; k++) {
        const int d = hex_digit(j->p[k]);
        if (d < 0) return false;
        *u = *u << 4 | (unsigned)d;
    }
    j->p += 4;
    return true;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string, decoded into a malloc'ed NUL-terminated buffer (*out may be NULL
 * to only check it). An escape never decodes to more bytes than it takes. */
static bool json_string(json *j, char **out)
{
    json_space(j);
    if (j->p >= j->end || *j->p != '"') return json_fail(j, "expected a string");
    j->p++;
    /* the closing quote bounds the decoded length: no escape decodes longer than it is written */
    const size_t avail = (size_t)(j->end - j->p);
    size_t encoded = 0;
    while (encoded < avail && j->p[encoded] != '"') encoded += j->p[encoded] == '\\' ? 2 : 1;
    char *buf = out ? malloc(encoded + 1) : NULL;
    if (out && !buf) return json_fail(j, "out of memory");
    size_t n = 0;
    for (;;) {
        if (j->p >= j->end) break;
        const unsigned char c = (unsigned char)*j->p++;
        if (c == '"') {
            if (buf) {
                buf[n] = '\0';
                if (strlen(buf) != n) break; /* \u0000 inside a name */
                *out = buf;
            }
            return true;
        }
        if (c < 0x20) break;
        if (c != '\\') {
            if (buf) buf[n++] = (char)c;
            continue;
        }
        if (j->p >= j->end) break;
        const char esc = *j->p++;
        const char *simple = strchr("\"\\/bfnrt", esc);
        if (esc != '\0' && simple) {
            if (buf) buf[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned cp, lo;
        if (esc != 'u' || !json_hex4(j, &cp)) break;
        if (cp >= 0xDC00 && cp < 0xE000) break; /* a lone low surrogate */
        if (cp >= 0xD800 && cp < 0xDC00) {       /* a high surrogate needs its low half: \uD83D\uDE00 */
            if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') break;
            j->p += 2;
            if (!json_hex4(j, &lo) || lo < 0xDC00 || lo >= 0xE000) break;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (buf) n += put_utf8(buf + n, cp);
    }
    free(buf);
    return json_fail(j, "malformed string");
}

/* A JSON number that is a non-negative integer fitting 64 bits. */
static bool json_uint(json *j, uint64_t *v)
{
    json_space(j);
    const char *start = j->p;
    uint64_t x = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (fp8_mul_overflows(x, 10, &x) || __builtin_add_overflow(x, (uint64_t)(*j->p - '0'), &x))
            return json_fail(j, "integer overflows 64 bits");
        j->p++;
    }
    const size_t digits = (size_t)(j->p - start);
    if (digits == 0 || (digits > 1 && *start == '0')) return json_fail(j, "expected a non-negative integer");
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return json_fail(j, "expected an integer, not a fraction");
    *v = x;
    return true;
}

static bool json_value_skip(json *j);

/* Any number, for skipping: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number_skip(json *j)
{
    const char *p = j->p, *e = j->end;
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && *p >= '1' && *p <= '9')
        while (p < e && *p >= '0' && *p <= '9') p++;
    else
        return json_fail(j, "malformed value");
    if (p < e && *p == '.') {
        if (++p >= e || *p < '0' || *p > '9') return json_fail(j, "malformed number");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return json_fail(j, "malformed number");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    j->p = p;
    return true;
}

/* Iterates the members of an object: call with *first = true; returns true
 * with *key set (malloc'ed) for each member, false at the end or on error
 * (then *ok says which). */
static bool json_next_member(json *j, bool *first, char **key, bool *ok)
{
    *ok = true;
    if (json_accept(j, '}')) return false;
    if (!*first && !json_accept(j, ',')) return *ok = json_fail(j, "expected ',' or '}'");
    *first = false;
    if (!json_string(j, key)) return *ok = false;
    if (!json_accept(j, ':')) {
        free(*key);
        return *ok = json_fail(j, "expected ':'");
    }
    return true;
}

static bool json_value_skip(json *j)
{
    json_space(j);
    if (j->p >= j->end) return json_fail(j, "unexpected end");
    if (++j->depth > JSON_MAX_DEPTH) return json_fail(j, "nested too deeply");
    bool ok = true;
    const char c = *j->p;
    if (c == '{') {
        j->p++;
        bool first = true;
        char *key;
        while (json_next_member(j, &first, &key, &ok)) {
            free(key);
            if (!json_value_skip(j)) return false;
        }
    } else if (c == '[') {
        j->p++;
        if (!json_accept(j, ']')) {
            do {
                if (!json_value_skip(j)) return false;
            } while (json_accept(j, ','));
            ok = json_accept(j, ']') || json_fail(j, "expected ',' or ']'");
        }
    } else if (c == '"') {
        ok = json_string(j, NULL);
    } else if (j->end - j->p >= 4 && (memcmp(j->p, "true", 4) == 0 || memcmp(j->p, "null", 4) == 0)) {
        j->p += 4;
    } else if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        j->p += 5;
    } else {
        ok = json_number_skip(j);
    }
    j->depth--;
    return ok;
}

/* [a, b, ...] of non-negative integers, at most max of them. */
static bool json_uint_array(json *j, uint64_t *v, unsigned max, unsigned *n, const char *what)
{
    *n = 0;
    if (!json_accept(j, '[')) return json_fail(j, what);
    if (json_accept(j, ']')) return true;
    do {
        if (*n == max) return json_fail(j, what);
        if (!json_uint(j, &v[(*n)++])) return false;
    } while (json_accept(j, ','));
    return json_accept(j, ']') || json_fail(j, what);
}

/* ---- the header ---- */

typedef struct span {
    uint64_t begin, end;
    const char *name;
    size_t index; /* of its entry */
} span;

static bool parse_tensor(json *j, tensor_entry *e, span *s)
{
    bool first = true, ok, have_dtype = false, have_shape = false, have_offsets = false;
    unsigned bits = 0;
    char *key;
    if (!json_accept(j, '{')) return json_fail(j, "a tensor's description is not an object");
    while (json_next_member(j, &first, &key, &ok)) {
        bool member_ok;
        if (strcmp(key, "dtype") == 0 && !have_dtype) {
            char *dtype = NULL;
            member_ok = json_string(j, &dtype);
            size_t k = 0;
            while (member_ok && k < sizeof safetensors_dtypes / sizeof safetensors_dtypes[0] &&
                   strcmp(dtype, safetensors_dtypes[k].name) != 0)
                k++;
            if (member_ok && k == sizeof safetensors_dtypes / sizeof safetensors_dtypes[0]) {
                member_ok = header_fail(j, "tensor '%s' has an unknown dtype '%.20s'", e->name, dtype);
            } else if (member_ok) {
                e->dtype = safetensors_dtypes[k].dtype;
                bits = safetensors_dtypes[k].bits;
                snprintf(e->dtype_name, sizeof e->dtype_name, "%s", safetensors_dtypes[k].name);
            }
            free(dtype);
            have_dtype = true;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            member_ok = json_uint_array(j, e->shape, TENSOR_MAX_DIMS, &e->ndim, "shape is not a list of at most 16 sizes");
            have_shape = true;
        } else if (strcmp(key, "data_offsets") == 0 && !have_offsets) {
            uint64_t off[2];
            unsigned n;
            member_ok = json_uint_array(j, off, 2, &n, "data_offsets is not [begin, end]") &&
                        (n == 2 || json_fail(j, "data_offsets is not [begin, end]"));
            s->begin = off[0];
            s->end = off[1];
            have_offsets = true;
        } else if (strcmp(key, "dtype") == 0 || strcmp(key, "shape") == 0 || strcmp(key, "data_offsets") == 0) {
            member_ok = header_fail(j, "tensor '%s' repeats '%s'", e->name, key);
        } else {
            member_ok = json_value_skip(j);
        }
        free(key);
        if (!member_ok) return false;
    }
    if (!ok) return false;
    if (!have_dtype || !have_shape || !have_offsets)
        return header_fail(j, "tensor '%s' lacks '%s'", e->name,
                           !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    size_t total_bits;
    if (!tensor_shape_count(e->shape, e->ndim, &e->count) || fp8_mul_overflows(e->count, bits, &total_bits))
        return header_fail(j, "tensor '%s': the shape's size overflows", e->name);
    if (s->end < s->begin || total_bits % 8 != 0 || s->end - s->begin != total_bits / 8)
        return header_fail(j, "tensor '%s': data_offsets [%llu, %llu] do not hold its %llu elements of %s", e->name,
                           (unsigned long long)s->begin, (unsigned long long)s->end, (unsigned long long)e->count,
                           e->dtype_name);
    return true;
}

static bool parse_metadata(json *j)
{
    bool first = true, ok;
    char *key;
    if (!json_accept(j, '{')) return json_fail(j, "__metadata__ is not an object");
    while (json_next_member(j, &first, &key, &ok)) {
        free(key);
        if (!json_string(j, NULL)) return false; /* values are strings */
    }
    return ok;
}

static int span_order(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int name_order(const void *a, const void *b) { return strcmp(((const span *)a)->name, ((const span *)b)->name); }

static bool utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if ((len = utf8_char_length(s + i, n - i)) == 0) return false;
    return true;
}

static void free_entries(tensor_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) free(entries[i].name);
    free(entries);
}

/* Parses the header text into entries and spans; checks the tiling. */
static fp8_status parse_header(tensor_file *tf, const char *text, uint64_t len, uint64_t data_size, tensor_error *err)
{
    json j = {text, text, text + len, err, 0};
    size_t n = 0, cap = 0;
    tensor_entry *entries = NULL;
    span *spans = NULL;
    bool first = true, ok = true;
    char *key;
    fp8_status st = FP8_OK;
    if (len == 0 || text[0] != '{') st = TENSOR_BAD_FILE(err, "safetensors: the header does not begin with '{'");
    else if (!utf8_valid((const uint8_t *)text, len)) st = TENSOR_BAD_FILE(err, "safetensors: the header is not UTF-8");
    else j.p++;
    while (st == FP8_OK && json_next_member(&j, &first, &key, &ok)) {
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            if (!parse_metadata(&j)) st = FP8_ERR_FILE_FORMAT;
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            tensor_entry *grown_e = realloc(entries, cap * sizeof *entries);
            if (grown_e) entries = grown_e;
            span *grown_s = realloc(spans, cap * sizeof *spans);
            if (grown_s) spans = grown_s;
            if (!grown_e || !grown_s) {
                free(key);
                st = tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "safetensors: out of memory for the header");
                break;
            }
        }
        tensor_entry *e = &entries[n];
        memset(e, 0, sizeof *e);
        e->name = key;
        n++;
        spans[n - 1].name = e->name;
        spans[n - 1].index = n - 1;
        if (!parse_tensor(&j, e, &spans[n - 1])) st = FP8_ERR_FILE_FORMAT;
    }
    if (st == FP8_OK && !ok) st = FP8_ERR_FILE_FORMAT;
    json_space(&j);
    if (st == FP8_OK && j.p != j.end) st = TENSOR_BAD_FILE(err, "safetensors: text after the header's object");
    if (st == FP8_OK && n > 0) {
        qsort(spans, n, sizeof *spans, name_order);
        for (size_t i = 1; i < n && st == FP8_OK; i++)
            if (strcmp(spans[i - 1].name, spans[i].name) == 0)
                st = TENSOR_BAD_FILE(err, "safetensors: tensor '%s' appears twice", spans[i].name);
        qsort(spans, n, sizeof *spans, span_order);
        uint64_t expected = 0;
        for (size_t i = 0; i < n && st == FP8_OK; i++) {
            if (spans[i].begin != expected)
                st = TENSOR_BAD_FILE(err, "safetensors: tensor '%s' begins at data byte %llu, not %llu (tensors must "
                                          "tile the data without gaps or overlaps)",
                                     spans[i].name, (unsigned long long)spans[i].begin, (unsigned long long)expected);
            expected = spans[i].end;
        }
        if (st == FP8_OK && expected != data_size)
            st = TENSOR_BAD_FILE(err, "safetensors: the tensors cover %llu bytes of data, the file holds %llu",
                                 (unsigned long long)expected, (unsigned long long)data_size);
    } else if (st == FP8_OK && data_size != 0) {
        st = TENSOR_BAD_FILE(err, "safetensors: %llu bytes of data but no tensors", (unsigned long long)data_size);
    }
    if (st == FP8_OK) {
        for (size_t k = 0; k < n; k++) entries[spans[k].index].offset = 8 + len + spans[k].begin;
        tf->entries = entries;
        tf->count = n;
    } else {
        free_entries(entries, n);
    }
    free(spans);
    return st;
}

fp8_status safetensors_parse(tensor_file *tf, tensor_error *err)
{
    uint8_t prefix[8];
    if (tf->size < 8)
        return TENSOR_BAD_FILE(err, "safetensors: %llu bytes is too short for a header", (unsigned long long)tf->size);
    FP8_FORWARD_IF_ERROR(tensor_source_read(tf, 0, prefix, 8, err));
    uint64_t len = 0;
    for (int k = 7; k >= 0; k--) len = len << 8 | prefix[k];
    if (len > SAFETENSORS_MAX_HEADER)
        return TENSOR_BAD_FILE(err, "safetensors: header length %llu is above the format's limit of 100 MB",
                               (unsigned long long)len);
    if (len > tf->size - 8)
        return TENSOR_BAD_FILE(err, "safetensors: header length %llu exceeds the file's %llu bytes",
                               (unsigned long long)len, (unsigned long long)tf->size);
    char *text = malloc(len ? len : 1);
    if (!text) return tensor_fail(err, FP8_ERR_OUT_OF_MEMORY, "safetensors: out of memory for the header");
    fp8_status st = tensor_source_read(tf, 8, text, len, err);
    if (st == FP8_OK) st = parse_header(tf, text, len, tf->size - 8 - len, err);
    free(text);
    return st;
}
