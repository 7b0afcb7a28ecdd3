/* Error statistics throughput (fp8/stats.h) on one thread, against what they
 * measure, in the same run: the per-tensor quantize + dequantize pass of the
 * same data, and memcpy of the bytes the statistics read (x, y and the codes).
 * Usage: bench_stats [log2(n) [repetitions]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fp8.h"

typedef struct {
    size_t n;
    float *x, *y, *scratch;
    uint8_t *q;
    uint16_t *b;
    fp8_quant_config cfg;
    float scale_inv;
    int op;
} job;

enum { OP_MEMCPY, OP_QUANT_DEQUANT, OP_ADD_FP8, OP_ADD_BF16, OP_ADD_F32, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "memcpy of the 9 bytes/elem read", "quantize + dequantize (per tensor)", "fp8_error_accum_add_fp8",
    "fp8_error_accum_add_bf16", "fp8_error_accum_add_f32"};

static void run(void *c)
{
    job *j = c;
    fp8_error_accum acc;
    fp8_error_accum_init(&acc);
    switch (j->op) {
    case OP_MEMCPY:
        memcpy(j->scratch, j->x, j->n * 4);
        memcpy(j->scratch + j->n, j->y, j->n * 4);
        memcpy(j->scratch + 2 * j->n, j->q, j->n);
        break;
    case OP_QUANT_DEQUANT:
        fp8_quantize_f32(&j->cfg, j->x, 1, j->n, j->n, j->q, j->n, &j->scale_inv);
        fp8_dequantize_f32(&j->cfg, j->q, 1, j->n, j->n, &j->scale_inv, j->y, j->n);
        break;
    case OP_ADD_FP8: fp8_error_accum_add_fp8(&acc, j->x, j->q, FP8_E4M3, j->y, j->n); break;
    case OP_ADD_BF16: fp8_error_accum_add_bf16(&acc, j->x, j->b, j->n); break;
    default: fp8_error_accum_add_f32(&acc, j->x, j->y, j->n); break;
    }
}

int main(int argc, char **argv)
{
    const int log2n = argc >= 2 ? atoi(argv[1]) : 24, reps = argc >= 3 ? atoi(argv[2]) : 5;
    if (log2n < 10 || log2n > 30 || reps < 1) {
        fprintf(stderr, "usage: bench_stats [log2(n) [repetitions]]\n");
        return 2;
    }
    job j = {.n = (size_t)1 << log2n, .cfg = fp8_quant_config_init(FP8_E4M3, 0, 0)};
    j.x = bench_alloc(j.n * 4);
    j.y = bench_alloc(j.n * 4);
    j.scratch = bench_alloc(j.n * 9);
    j.q = bench_alloc(j.n);
    j.b = bench_alloc(j.n * 2);
    if (!j.x || !j.y || !j.scratch || !j.q || !j.b) {
        fprintf(stderr, "bench_stats: out of memory\n");
        return 1;
    }
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < j.n; i++) { /* a rough Gaussian: the sum of four uniforms */
        float s = 0;
        for (int k = 0; k < 4; k++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            s += (float)(r >> 40) * 0x1p-24f - 0.5f;
        }
        j.x[i] = s * 1.7f;
        j.b[i] = fp8_to_bf16(fp8_from_f32(j.x[i], FP8_E5M2, FP8_SATFINITE), FP8_E5M2);
    }
    fp8_set_num_threads(1); /* the statistics run on the caller's thread; compare like with like */
    double seconds[OP_COUNT];
    for (int op = 0; op < OP_COUNT; op++) {
        j.op = op;
        seconds[op] = bench_best(reps, run, &j);
    }
    printf("libfp8 %s, CPU path %s, n = 2^%d, best of %d, 1 thread\n\n", fp8_version_string(),
           fp8_cpu_isa_name(fp8_cpu_isa_active()), log2n, reps);
    printf("%-36s %10s %14s %14s\n", "", "ns/elem", "x memcpy", "x quant+deq");
    for (int op = 0; op < OP_COUNT; op++)
        printf("%-36s %10.3f %14.2f %14.2f\n", op_names[op], seconds[op] * 1e9 / (double)j.n,
               seconds[op] / seconds[OP_MEMCPY], seconds[op] / seconds[OP_QUANT_DEQUANT]);
    return 0;
}
