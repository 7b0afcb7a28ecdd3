/* GEMM error against an FP64 truth (fp8-gemm-error, fp8-report).
 *
 * D = A B^T, A (M x K) and B (N x K) drawn from a synthetic distribution,
 * is computed by libfp8's GEMMs from BF16 operands or from E4M3 operands
 * scaled per tensor, accumulating in FP32 or in the emulated tensor-core
 * accumulator (fp8/gemm.h), and compared with two FP64 truths:
 *   total:        sum_k a b over the FP32 inputs: everything, the operands'
 *                 rounding included;
 *   accumulation: sum_k a' b' over the operands as the GEMM reads them
 *                 (decoded E4M3 times its scale, or BF16): the GEMM's own
 *                 rounding only.
 * The E4M3 truth is exact but for one rounding: every E4M3 value is a
 * multiple of 2^-9 below 2^9, so every partial sum of their products is a
 * multiple of 2^-18 below K 2^18, exact in FP64 for K < 2^17, and only the
 * final product with the two scales rounds. The others round in FP64, far
 * below any error measured here. Operands are scaled per tensor
 * so that K is one scale block: every promotion interval, none included,
 * is then possible. */
#ifndef FP8_TOOLS_GEMM_ERROR_H
#define FP8_TOOLS_GEMM_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/synth.h"
#include "fp8.h"

typedef enum gemm_operands { GEMM_OPERANDS_BF16, GEMM_OPERANDS_E4M3 } gemm_operands;

/* One way of computing D. */
typedef struct gemm_method {
    gemm_operands operands;
    unsigned accum_bits;     /* 0: FP32 accumulation; else the emulated accumulator's width */
    size_t promote_interval; /* K elements between promotions to FP32; 0: never */
    fp8_accum_model model;   /* the emulator's, when accum_bits > 0 */
} gemm_method;

/* "with-sum" (FP8_ACCUM_ALIGN_WITH_SUM), "products" (FP8_ACCUM_ALIGN_PRODUCTS). */
const char *gemm_model_name(fp8_accum_model model);
bool gemm_model_from_name(const char *name, fp8_accum_model *model);
/* e.g. "bf16, fp32", "e4m3, 14-bit, promote 128, with-sum", "e4m3, 14-bit, never promoted, products". */
void gemm_method_label(const gemm_method *m, char *buf, size_t cap);

/* One distribution at one K: the inputs, both operand kinds and the truths. */
typedef struct gemm_problem {
    size_t M, N, K;
    float *a, *b;        /* FP32 inputs */
    uint8_t *qa, *qb;    /* E4M3 codes */
    float sa, sb;        /* their scale_inv */
    uint16_t *ha, *hb;   /* BF16 */
    double *truth;       /* M x N: the FP32 inputs' product */
    double *truth_e4m3;  /* the E4M3 operands' */
    double *truth_bf16;  /* the BF16 operands' */
    float *d;
    double *dd;
} gemm_problem;

/* A from spec with seed 2 spec->seed, B with 2 spec->seed + 1.
 * FP8_ERR_OUT_OF_MEMORY, or FP8_ERR_INVALID_ARGUMENT for sizes that overflow. */
fp8_status gemm_problem_init(gemm_problem *p, const synth_spec *spec, size_t M, size_t N, size_t K);
void gemm_problem_free(gemm_problem *p);

/* Computes D by method m (mma_k products per accumulator step) and its error statistics. */
fp8_status gemm_problem_measure(gemm_problem *p, const gemm_method *m, unsigned mma_k, fp8_error_stats *total,
                                fp8_error_stats *accumulation);

/* One measurement, as the tools list them. */
typedef struct gemm_result {
    const char *data;  /* the distribution's name, e.g. "gaussian+1" */
    double data_mean;
    size_t M, N, K;
    gemm_method method;
    fp8_error_stats total, accumulation;
} gemm_result;

/* DeepSeek-V3's figure in context: "a maximum relative error of nearly 2%"
 * for Hopper's accumulation (about 14 bits) at K = 4096, with promotion to
 * FP32 every 128 elements as the remedy. Maximum relative errors over the
 * outputs of the first positive-mean distribution measured at K = 4096. */
#define GEMM_DEEPSEEK_K 4096
#define GEMM_DEEPSEEK_BITS 14
#define GEMM_DEEPSEEK_INTERVAL 128

typedef struct gemm_deepseek_context {
    const char *data;
    size_t M, N, K;
    double unpromoted[2];          /* [fp8_accum_model]: 14 bits, never promoted (accumulation error) */
    double promoted[2];            /* promoted every 128 */
    double e4m3_fp32_accumulation; /* the same E4M3 operands with FP32 accumulation */
    double e4m3_fp32_total;        /* and against the FP32 inputs: E4M3's own rounding */
    double bf16_total;             /* BF16 GEMM, FP32 accumulation, against the FP32 inputs */
    double bf16_accumulation;      /* and against its own operands */
} gemm_deepseek_context;

/* "BF16's level": FP8's promoted accumulation error within this factor (two bits) of
 * BF16's own error. */
#define GEMM_BF16_LEVEL 4.0

/* Finds the measurements above among r[0 .. n); false when some is missing. */
bool gemm_deepseek_find(const gemm_result *r, size_t n, gemm_deepseek_context *c);
/* Prints the context in plain words, each line starting with `indent`. */
void gemm_deepseek_print(FILE *f, const gemm_deepseek_context *c, const char *indent);
/* What the sweep lacks for it, in one line. */
#define GEMM_DEEPSEEK_NEEDS                                                                                           \
    "a positive-mean distribution (such as gaussian+1), K 4096, --bits 14, --promote 0,128 and both models "      \
    "(the defaults)"

/* The statistics the tools write for each measurement, in this order:
 * max_rel_err, rel_l2, sqnr_db, calc_diff, max_abs_err. */
#define GEMM_STAT_COUNT 5
extern const char *const gemm_stat_names[GEMM_STAT_COUNT];
double gemm_stat(const fp8_error_stats *s, size_t k);

#endif
