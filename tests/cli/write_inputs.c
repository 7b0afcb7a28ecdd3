/* write_inputs DIR: the tensor files the CLI tests feed the tools, written
 * byte by byte from the formats' definitions (independently of tools/io).
 *
 * The values v[i] = ((37 i) mod 101 - 50) / 8, i = 0, 1, ..., are exact in
 * F16, BF16 and F32 (at most 6 significant bits) and |v| reaches 6.25.
 *   a.npy               v1, <f4, shape (6, 256), C order: v[0 .. 1536)
 *   b_fortran_be.npy    v2, >f8, shape (256, 6), Fortran order: the same 1536 values
 *   c_f16.npy           v3, <f2, shape (300,): v[i] / 64
 *   d.raw               v[0 .. 1536) as little-endian BF16 (for --dtype bf16 --shape 6x256)
 *   model.safetensors   a DeepSeek-V3 FP8 weight layers.0.mlp.weight (F8_E4M3 [200, 100], codes
 *                       (29 i + 3) mod 127, every 128 x 128 block reaching 0x7E = 448) with its
 *                       layers.0.mlp.weight_scale_inv (F32 [2, 1]: 0.5, 0.25); layers.0.norm
 *                       (BF16 [256]: v[0 .. 256)); layers.10.norm (F16 [4]: 1, 2, 3, 4); step (I64 [1])
 * and bad ones:
 *   trunc.npy           a v1 <f4 (3,) file one byte short
 *   raw.bin             10 zero bytes
 *   notjson.safetensors a header of 5 bytes that is not JSON
 *   ints.safetensors    one I64 tensor only
 *   many.safetensors    13 F32 tensors blocks.t.w (t = 0 .. 12), [2, 8] each, element k = 1 + t + k / 8
 *   ok.safetensors      one F32 tensor w = [1, 2] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;

static double v(int i) { return ((37 * i) % 101 - 50) / 8.0; }

typedef struct bytes {
    unsigned char data[1 << 16];
    size_t n;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->n + n > sizeof b->data) {
        fprintf(stderr, "write_inputs: buffer too small\n");
        exit(1);
    }
    memcpy(b->data + b->n, p, n);
    b->n += n;
}

static void put_uint(bytes *b, uint64_t x, unsigned size, int big_endian)
{
    for (unsigned k = 0; k < size; k++) {
        const unsigned char byte = (unsigned char)(x >> 8 * (big_endian ? size - 1 - k : k));
        put(b, &byte, 1);
    }
}

/*   F32 | S | EEEEEEEE | MMMMMMMMMMMMMMMMMMMMMMM |  (bias 127)
 *   F64 | S | EEEEEEEEEEE | M x 52 |                 (bias 1023)
 *   F16 | S | EEEEE | MMMMMMMMMM |                   (bias 15)
 * For the exact, normal, non-zero dyadic values used here; 0 is all zeros. */
static uint64_t ieee_bits(double x, unsigned exponent_bits, unsigned mantissa_bits)
{
    if (x == 0) return 0;
    const uint64_t sign = x < 0;
    double m = x < 0 ? -x : x;
    int e = 0;
    while (m >= 2) m /= 2, e++;
    while (m < 1) m *= 2, e--;
    const uint64_t bias = ((uint64_t)1 << (exponent_bits - 1)) - 1;
    const uint64_t fraction = (uint64_t)((m - 1) * (double)((uint64_t)1 << mantissa_bits));
    return sign << (exponent_bits + mantissa_bits) | (uint64_t)(e + (int64_t)bias) << mantissa_bits | fraction;
}
static uint32_t f32_bits(double x) { return (uint32_t)ieee_bits(x, 8, 23); }
static uint16_t bf16_bits(double x) { return (uint16_t)(f32_bits(x) >> 16); } /* exact values: the top half */

static void write_file(const char *name, const bytes *b, size_t drop_last)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->n - drop_last, f) != b->n - drop_last || fclose(f) != 0) {
        fprintf(stderr, "write_inputs: cannot write %s\n", path);
        exit(1);
    }
}

/* An .npy header: magic, version, length, the dict padded with spaces to a
 * multiple of 64 bytes (as NumPy writes it) and ended by '\n'. */
static void npy_header(bytes *b, unsigned major, const char *dict)
{
    put(b, "\x93NUMPY", 6);
    const unsigned char version[2] = {(unsigned char)major, 0};
    put(b, version, 2);
    const size_t prefix = major == 1 ? 10 : 12;
    size_t len = strlen(dict) + 1;
    len += (64 - (prefix + len) % 64) % 64;
    put_uint(b, len, major == 1 ? 2 : 4, 0);
    put(b, dict, strlen(dict));
    for (size_t k = strlen(dict) + 1; k < len; k++) put(b, " ", 1);
    put(b, "\n", 1);
}

/* A safetensors file: the header's length (8 bytes, little-endian), the header, the data. */
static void safetensors(const char *name, const char *header, const bytes *data)
{
    static bytes b;
    b.n = 0;
    put_uint(&b, strlen(header), 8, 0);
    put(&b, header, strlen(header));
    put(&b, data->data, data->n);
    write_file(name, &b, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: write_inputs DIR\n", stderr);
        return 2;
    }
    dir = argv[1];
    enum { ROWS = 6, COLS = 256, N = ROWS * COLS };
    static bytes b, data;

    b.n = 0;
    npy_header(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 256), }");
    for (int i = 0; i < N; i++) put_uint(&b, f32_bits(v(i)), 4, 0);
    write_file("a.npy", &b, 0);

    /* the same matrix transposed (256 x 6), stored column-major: element (r, c) = v[c * 256 + r]
     * sits at c * 256 + r, so the bytes run through v in order */
    b.n = 0;
    npy_header(&b, 2, "{'descr': '>f8', 'fortran_order': True, 'shape': (256, 6), }");
    for (int i = 0; i < N; i++) put_uint(&b, ieee_bits(v(i), 11, 52), 8, 1);
    write_file("b_fortran_be.npy", &b, 0);

    b.n = 0;
    npy_header(&b, 3, "{'descr': '<f2', 'fortran_order': False, 'shape': (300,), }");
    for (int i = 0; i < 300; i++) put_uint(&b, ieee_bits(v(i) / 64, 5, 10), 2, 0);
    write_file("c_f16.npy", &b, 0);

    b.n = 0;
    for (int i = 0; i < N; i++) put_uint(&b, bf16_bits(v(i)), 2, 0);
    write_file("d.raw", &b, 0);

    data.n = 0;
    for (int i = 0; i < 200 * 100; i++) put_uint(&data, (uint64_t)((i * 29 + 3) % 0x7F), 1, 0);
    put_uint(&data, f32_bits(0.5), 4, 0);
    put_uint(&data, f32_bits(0.25), 4, 0);
    for (int i = 0; i < 256; i++) put_uint(&data, bf16_bits(v(i)), 2, 0);
    for (int i = 1; i <= 4; i++) put_uint(&data, ieee_bits(i, 5, 10), 2, 0);
    put_uint(&data, 0, 8, 0);
    safetensors("model.safetensors",
                "{\"__metadata__\": {\"format\": \"pt\"}, "
                "\"layers.0.mlp.weight\": {\"dtype\": \"F8_E4M3\", \"shape\": [200, 100], \"data_offsets\": [0, 20000]}, "
                "\"layers.0.mlp.weight_scale_inv\": {\"dtype\": \"F32\", \"shape\": [2, 1], \"data_offsets\": [20000, 20008]}, "
                "\"layers.0.norm\": {\"dtype\": \"BF16\", \"shape\": [256], \"data_offsets\": [20008, 20520]}, "
                "\"layers.10.norm\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [20520, 20528]}, "
                "\"step\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [20528, 20536]}}",
                &data);

    b.n = 0;
    npy_header(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    for (int i = 1; i <= 3; i++) put_uint(&b, f32_bits(i), 4, 0);
    write_file("trunc.npy", &b, 1);

    b.n = 0;
    put_uint(&b, 0, 8, 0);
    put_uint(&b, 0, 2, 0);
    write_file("raw.bin", &b, 0);

    data.n = 0;
    put(&data, "{oops", 5);
    b.n = 0;
    put_uint(&b, 5, 8, 0);
    put(&b, data.data, data.n);
    write_file("notjson.safetensors", &b, 0);

    data.n = 0;
    put_uint(&data, 0, 8, 0);
    put_uint(&data, 0, 8, 0);
    safetensors("ints.safetensors", "{\"ids\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [0, 16]}}", &data);

    /* 13 small layers: more than a page of histograms */
    static char header[4096];
    size_t len = 0;
    data.n = 0;
    for (int t = 0; t < 13; t++) {
        len += (size_t)snprintf(header + len, sizeof header - len,
                                "%s\"blocks.%d.w\": {\"dtype\": \"F32\", \"shape\": [2, 8], \"data_offsets\": [%d, %d]}",
                                t ? ", " : "{", t, 64 * t, 64 * (t + 1));
        for (int k = 0; k < 16; k++) put_uint(&data, f32_bits(1 + t + k / 8.0), 4, 0);
    }
    snprintf(header + len, sizeof header - len, "}");
    safetensors("many.safetensors", header, &data);

    data.n = 0;
    put_uint(&data, f32_bits(1), 4, 0);
    put_uint(&data, f32_bits(2), 4, 0);
    safetensors("ok.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", &data);
    return 0;
}
