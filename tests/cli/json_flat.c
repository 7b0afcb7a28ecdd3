/* json_flat: a strict JSON (RFC 8259) checker for the tool tests, which
 * prints each scalar of a valid document on a line of its own as
 *
 *     PATH <TAB> TOKEN      e.g.   .tensors[0].fp8[3].sqnr_db	31.54
 *
 * so that shell and awk can read the tools' JSON. PATH joins `.key` (or
 * `["key"]` for a key with other characters than [A-Za-z0-9_-]) and `[index]`;
 * TOKEN is the value as written in the file; empty containers print as {} and
 * []. Refused, with the line and column on stderr and exit status 1: anything
 * RFC 8259 does not allow (NaN, Infinity, comments, trailing commas, single
 * quotes, leading zeros, control characters or invalid UTF-8 in strings, lone
 * surrogates, bad escapes, trailing text, a byte order mark), and, stricter
 * than the RFC, duplicate keys in an object, numbers beyond FP64's range and
 * nesting deeper than 512.
 *
 * Usage: json_flat [-q] [FILE]   (-q: check only; FILE - or none: stdin) */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

typedef struct parser {
    const unsigned char *s;
    size_t n, pos;
    bool print;
    char *path; /* the current path, NUL-terminated at path_len */
    size_t path_len, path_cap;
    const char *name;
} parser;

static void fail(const parser *p, const char *why)
{
    size_t line = 1, column = 1;
    for (size_t i = 0; i < p->pos && i < p->n; i++) {
        if (p->s[i] == '\n')
            line++, column = 1;
        else
            column++;
    }
    fprintf(stderr, "json_flat: %s: line %zu column %zu: %s\n", p->name, line, column, why);
    exit(1);
}

static void path_push(parser *p, const char *text, size_t len)
{
    if (p->path_len + len + 1 > p->path_cap) {
        p->path_cap = 2 * (p->path_len + len + 1);
        p->path = realloc(p->path, p->path_cap);
        if (!p->path) fail(p, "out of memory");
    }
    memcpy(p->path + p->path_len, text, len);
    p->path_len += len;
    p->path[p->path_len] = '\0';
}

static void emit(const parser *p, size_t begin, size_t end)
{
    if (p->print) printf("%s\t%.*s\n", p->path_len ? p->path : ".", (int)(end - begin), (const char *)p->s + begin);
}

static void skip_space(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int peek(const parser *p) { return p->pos < p->n ? p->s[p->pos] : -1; }

static unsigned hex4(parser *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++, p->pos++) {
        const int c = peek(p);
        if (c >= '0' && c <= '9') v = v * 16 + (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v = v * 16 + (unsigned)(c - 'A' + 10);
        else fail(p, "\\u needs four hexadecimal digits");
    }
    return v;
}

/* The length of the valid UTF-8 sequence at p->pos: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(parser *p)
{
    static const uint32_t min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    const unsigned char *s = p->s + p->pos;
    const size_t left = p->n - p->pos;
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) len = 2, cp = s[0] & 0x1Fu;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, cp = s[0] & 0x0Fu;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, cp = s[0] & 0x07u;
    else fail(p, "invalid UTF-8");
    if (left < len) fail(p, "truncated UTF-8");
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) fail(p, "invalid UTF-8");
        cp = cp << 6 | (s[k] & 0x3Fu);
    }
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) fail(p, "invalid UTF-8");
    return len;
}

/* A string at p->pos (the opening quote); returns with p->pos past the closing one. */
static void string(parser *p)
{
    p->pos++;
    for (;;) {
        const int c = peek(p);
        if (c < 0) fail(p, "unterminated string");
        if (c == '"') {
            p->pos++;
            return;
        }
        if (c < 0x20) fail(p, "control character in a string");
        if (c != '\\') {
            p->pos += utf8_sequence(p);
            continue;
        }
        p->pos++;
        const int e = peek(p);
        if (e < 0 || !strchr("\"\\/bfnrtu", e)) fail(p, "bad escape");
        p->pos++;
        if (e != 'u') continue;
        const unsigned u = hex4(p);
        if (u >= 0xDC00 && u < 0xE000) fail(p, "lone low surrogate");
        if (u >= 0xD800 && u < 0xDC00) {
            if (peek(p) != '\\' || p->pos + 1 >= p->n || p->s[p->pos + 1] != 'u') fail(p, "lone high surrogate");
            p->pos += 2;
            const unsigned low = hex4(p);
            if (low < 0xDC00 || low >= 0xE000) fail(p, "high surrogate without a low one");
        }
    }
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, finite in FP64. */
static void number(parser *p)
{
    const size_t begin = p->pos;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0') {
        p->pos++;
        if (is_digit(peek(p))) fail(p, "leading zero");
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p))) p->pos++;
    } else {
        fail(p, "bad number");
    }
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) fail(p, "digits must follow the decimal point");
        while (is_digit(peek(p))) p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!is_digit(peek(p))) fail(p, "digits must follow the exponent");
        while (is_digit(peek(p))) p->pos++;
    }
    char text[512];
    const size_t len = p->pos - begin;
    if (len >= sizeof text) fail(p, "number too long");
    memcpy(text, p->s + begin, len);
    text[len] = '\0';
    if (!isfinite(strtod(text, NULL))) fail(p, "number beyond FP64's range");
    emit(p, begin, p->pos);
}

static void literal(parser *p, const char *word)
{
    const size_t len = strlen(word);
    if (p->n - p->pos < len || memcmp(p->s + p->pos, word, len) != 0) fail(p, "unexpected character");
    emit(p, p->pos, p->pos + len);
    p->pos += len;
}

static bool simple_key(const unsigned char *s, size_t len)
{
    if (len == 0) return false;
    for (size_t k = 0; k < len; k++)
        if (!(s[k] == '_' || s[k] == '-' || is_digit(s[k]) || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')))
            return false;
    return true;
}

static void value(parser *p, unsigned depth);

static void object(parser *p, unsigned depth)
{
    size_t *keys = NULL, nkeys = 0; /* offsets of the keys seen, for duplicates */
    const size_t base = p->path_len, open = p->pos;
    p->pos++;
    skip_space(p);
    if (peek(p) == '}') {
        p->pos++;
        emit(p, open, p->pos);
        return;
    }
    for (;;) {
        skip_space(p);
        if (peek(p) != '"') fail(p, "expected a key");
        const size_t key = p->pos;
        string(p);
        const size_t key_len = p->pos - key;
        for (size_t k = 0; k < nkeys; k++) {
            /* keys compare as written: the tools never escape what need not be */
            size_t other_end = keys[k] + 1;
            while (p->s[other_end] != '"') other_end += p->s[other_end] == '\\' ? 2 : 1;
            if (other_end + 1 - keys[k] == key_len && memcmp(p->s + keys[k], p->s + key, key_len) == 0)
                fail(p, "duplicate key");
        }
        keys = realloc(keys, (nkeys + 1) * sizeof *keys);
        if (!keys) fail(p, "out of memory");
        keys[nkeys++] = key;
        p->path_len = base;
        if (simple_key(p->s + key + 1, key_len - 2)) {
            path_push(p, ".", 1);
            path_push(p, (const char *)p->s + key + 1, key_len - 2);
        } else {
            path_push(p, "[", 1);
            path_push(p, (const char *)p->s + key, key_len);
            path_push(p, "]", 1);
        }
        skip_space(p);
        if (peek(p) != ':') fail(p, "expected ':'");
        p->pos++;
        value(p, depth + 1);
        skip_space(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) != '}') fail(p, "expected ',' or '}'");
        p->pos++;
        break;
    }
    p->path_len = base;
    p->path[base] = '\0';
    free(keys);
}

static void array(parser *p, unsigned depth)
{
    const size_t base = p->path_len, open = p->pos;
    p->pos++;
    skip_space(p);
    if (peek(p) == ']') {
        p->pos++;
        emit(p, open, p->pos);
        return;
    }
    for (size_t index = 0;; index++) {
        char tmp[32];
        p->path_len = base;
        path_push(p, tmp, (size_t)snprintf(tmp, sizeof tmp, "[%zu]", index));
        value(p, depth + 1);
        skip_space(p);
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) != ']') fail(p, "expected ',' or ']'");
        p->pos++;
        break;
    }
    p->path_len = base;
    p->path[base] = '\0';
}

static void value(parser *p, unsigned depth)
{
    if (depth > MAX_DEPTH) fail(p, "nested too deep");
    skip_space(p);
    const int c = peek(p);
    if (c == '{') object(p, depth);
    else if (c == '[') array(p, depth);
    else if (c == '"') {
        const size_t begin = p->pos;
        string(p);
        emit(p, begin, p->pos);
    } else if (c == '-' || is_digit(c)) number(p);
    else if (c == 't') literal(p, "true");
    else if (c == 'f') literal(p, "false");
    else if (c == 'n') literal(p, "null");
    else fail(p, c < 0 ? "unexpected end of input" : "unexpected character");
}

int main(int argc, char **argv)
{
    parser p = {.print = true, .name = "-"};
    int a = 1;
    if (a < argc && strcmp(argv[a], "-q") == 0) p.print = false, a++;
    if (a < argc) p.name = argv[a++];
    if (a != argc) {
        fputs("usage: json_flat [-q] [FILE]\n", stderr);
        return 2;
    }
    FILE *f = strcmp(p.name, "-") == 0 ? stdin : fopen(p.name, "rb");
    if (!f) {
        fprintf(stderr, "json_flat: %s: %s\n", p.name, strerror(errno));
        return 1;
    }
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap && !(buf = realloc(buf, cap = 2 * cap + 65536))) return 1;
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (f != stdin) fclose(f);
    p.s = buf, p.n = n;
    path_push(&p, "", 0);
    value(&p, 0);
    skip_space(&p);
    if (p.pos != p.n) fail(&p, "text after the value");
    free(buf);
    free(p.path);
    return fflush(stdout) == 0 ? 0 : 1;
}
