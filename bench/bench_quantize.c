/* Quantization throughput against memcpy (bytes moved: read + written), on
 * one thread and on all threads, in one run. The matrix is 4096 x 7168
 * (DeepSeek-V3's hidden size) unless given.
 * Usage: bench_quantize [rows cols [repetitions]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fp8.h"

typedef struct {
    size_t rows, cols;
    float *x;
    uint16_t *xb;
    uint8_t *q, *qt;
    float *s, *st;
    fp8_quant_config cfg;
    int op;        /* 0 f32, 1 bf16, 2 dual, 3 dequantize */
    size_t offset; /* bytes past a 64-byte line where x, q and qt start: 16 is what malloc gives */
} job;

static void run(void *c)
{
    job *j = c;
    float *x = (float *)((char *)j->x + j->offset);
    uint8_t *q = j->q + j->offset, *qt = j->qt + j->offset;
    switch (j->op) {
    case 0: fp8_quantize_f32(&j->cfg, x, j->rows, j->cols, j->cols, q, j->cols, j->s); break;
    case 1: fp8_quantize_bf16(&j->cfg, j->xb, j->rows, j->cols, j->cols, j->q, j->cols, j->s); break;
    case 2: fp8_quantize_dual_f32(&j->cfg, x, j->rows, j->cols, j->cols, q, j->cols, j->s, qt, j->rows, j->st); break;
    default: fp8_dequantize_f32(&j->cfg, j->q, j->rows, j->cols, j->cols, j->s, j->x, j->cols); break;
    }
}

int main(int argc, char **argv)
{
    job j = {.rows = 4096, .cols = 7168};
    int reps = 5;
    if (argc >= 3) {
        j.rows = (size_t)atol(argv[1]);
        j.cols = (size_t)atol(argv[2]);
    }
    if (argc >= 4) reps = atoi(argv[3]);
    if (j.rows == 0 || j.cols == 0 || reps < 1) {
        fprintf(stderr, "usage: bench_quantize [rows cols [repetitions]]\n");
        return 2;
    }
    const size_t n = j.rows * j.cols;
    j.x = bench_alloc(n * 4 + 64);
    j.xb = bench_alloc(n * 2);
    j.q = bench_alloc(n + 64);
    j.qt = bench_alloc(n + 64);
    j.s = bench_alloc(n * 4 / 32 + 64);
    j.st = bench_alloc(n * 4 / 32 + 64);
    if (!j.x || !j.xb || !j.q || !j.qt || !j.s || !j.st) {
        fprintf(stderr, "bench_quantize: out of memory\n");
        return 1;
    }
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        j.x[i] = (float)((double)(int32_t)(r >> 32) * 0x1p-31 * (1 + (i / j.cols) % 7));
        uint32_t bits;
        memcpy(&bits, &j.x[i], 4);
        j.xb[i] = (uint16_t)(bits >> 16); /* BF16 of the same data */
    }
    memset(j.x + n, 0, 64); /* read by the rows that start x 16 bytes on */
    bench_copy *copy = bench_copy_new(n * 4);
    if (!copy) {
        fprintf(stderr, "bench_quantize: out of memory\n");
        return 1;
    }
    const unsigned threads = fp8_num_threads();
    printf("libfp8 %s, CPU path %s, %zu x %zu, best of %d, %u threads\n", fp8_version_string(),
           fp8_cpu_isa_name(fp8_cpu_isa_active()), j.rows, j.cols, reps, threads);
    printf("each row alternates its kernel with a memcpy of the FP32 matrix on as many threads;\n"
           "rates are bytes moved (read + written), ratios are to the memcpy of the same row\n\n");
    printf("%-34s | %8s %8s %9s | %8s %9s %9s | %15s\n", "E4M3", "1 thread", "GB/s", "x memcpy", "all", "x memcpy",
           "x memcpy", "memcpy GB/s");
    printf("%-34s | %8s %8s %9s | %8s %9s %9s | %15s\n", "", "ns/elem", "", "1 thread", "GB/s", "1 thread", "all",
           "1 thread, all");
    const struct {
        const char *name;
        int op;
        size_t br, bc;
        double bytes; /* per element, read + written */
        size_t offset;
    } cases[] = {
        {"quantize f32, per tensor", 0, 0, 0, 5, 0},   {"quantize f32, per row", 0, 1, 0, 5, 0},
        {"quantize f32, 1x128 tiles", 0, 1, 128, 5, 0}, {"quantize f32, 128x128 blocks", 0, 128, 128, 5, 0},
        {"quantize f32, MX 1x32", 0, 1, 32, 5, 0},     {"quantize bf16, 1x128 tiles", 1, 1, 128, 3, 0},
        {"quantize bf16, 128x128 blocks", 1, 128, 128, 3, 0}, {"fused dual 1x128 (x and x^T)", 2, 1, 128, 6, 0},
        {"dequantize 1x128 -> f32", 3, 1, 128, 5, 0},
        {"1x128, buffers 16 B past a line", 0, 1, 128, 5, 16}, {"128x128, buffers 16 B past a line", 0, 128, 128, 5, 16},
        {"dual, buffers 16 B past a line", 2, 1, 128, 6, 16},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        j.op = cases[c].op;
        j.offset = cases[c].offset;
        j.cfg = fp8_quant_config_init(FP8_E4M3, cases[c].br, cases[c].bc);
        run(&j); /* dequantize needs scales from a quantization of the same shape */
        const bench_row b = bench_against_memcpy(reps, run, &j, copy);
        const double r1 = cases[c].bytes * (double)n / b.seconds_1, rn = cases[c].bytes * (double)n / b.seconds_all;
        printf("%-34s | %8.3f %8.2f %9.2f | %8.2f %9.2f %9.2f | %7.2f %7.2f\n", cases[c].name,
               1e9 * b.seconds_1 / (double)n, r1 / 1e9, r1 / b.memcpy_1, rn / 1e9, rn / b.memcpy_1, rn / b.memcpy_all,
               b.memcpy_1 / 1e9, b.memcpy_all / 1e9);
        if (cases[c].op == 0 && c + 1 < sizeof cases / sizeof cases[0] && cases[c + 1].op == 3) run(&j);
    }
    bench_copy_free(copy);
    free(j.x);
    free(j.xb);
    free(j.q);
    free(j.qt);
    free(j.s);
    free(j.st);
    return 0;
}
