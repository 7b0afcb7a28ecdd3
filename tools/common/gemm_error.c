#include "gemm_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/analysis.h" /* bf16_from_f32 */

static const char *const model_names[] = {[FP8_ACCUM_ALIGN_WITH_SUM] = "with-sum",
                                          [FP8_ACCUM_ALIGN_PRODUCTS] = "products"};

const char *gemm_model_name(fp8_accum_model model)
{
    return (unsigned)model < sizeof model_names / sizeof model_names[0] ? model_names[model] : "?";
}

bool gemm_model_from_name(const char *name, fp8_accum_model *model)
{
    for (unsigned k = 0; k < sizeof model_names / sizeof model_names[0]; k++) {
        if (strcmp(name, model_names[k]) == 0) {
            *model = (fp8_accum_model)k;
            return true;
        }
    }
    return false;
}

void gemm_method_label(const gemm_method *m, char *buf, size_t cap)
{
    const char *operands = m->operands == GEMM_OPERANDS_BF16 ? "bf16" : "e4m3";
    if (m->accum_bits == 0)
        snprintf(buf, cap, "%s, fp32", operands);
    else if (m->promote_interval == 0)
        snprintf(buf, cap, "%s, %u-bit, never promoted, %s", operands, m->accum_bits, gemm_model_name(m->model));
    else
        snprintf(buf, cap, "%s, %u-bit, promote %zu, %s", operands, m->accum_bits, m->promote_interval,
                 gemm_model_name(m->model));
}

void gemm_problem_free(gemm_problem *p)
{
    free(p->a);
    free(p->b);
    free(p->qa);
    free(p->qb);
    free(p->ha);
    free(p->hb);
    free(p->truth);
    free(p->truth_e4m3);
    free(p->truth_bf16);
    free(p->d);
    free(p->dd);
    memset(p, 0, sizeof *p);
}

static double bf16_value(uint16_t h)
{
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* truth[m][n] = sum_k va(row m, k) * vb(row n, k) in FP64, for the three operand kinds. */
static void truths(gemm_problem *p)
{
    double e4m3[256];
    for (int c = 0; c < 256; c++) e4m3[c] = fp8_to_f64((uint8_t)c, FP8_E4M3);
    const size_t K = p->K;
    const double scale = (double)p->sa * (double)p->sb;
    for (size_t m = 0; m < p->M; m++) {
        for (size_t n = 0; n < p->N; n++) {
            const float *a = p->a + m * K, *b = p->b + n * K;
            const uint8_t *qa = p->qa + m * K, *qb = p->qb + n * K;
            const uint16_t *ha = p->ha + m * K, *hb = p->hb + n * K;
            double t = 0, t8 = 0, t16 = 0;
            for (size_t k = 0; k < K; k++) {
                t += (double)a[k] * (double)b[k];
                t8 += e4m3[qa[k]] * e4m3[qb[k]];
                t16 += bf16_value(ha[k]) * bf16_value(hb[k]);
            }
            p->truth[m * p->N + n] = t;
            p->truth_e4m3[m * p->N + n] = t8 * scale;
            p->truth_bf16[m * p->N + n] = t16;
        }
    }
}

fp8_status gemm_problem_init(gemm_problem *p, const synth_spec *spec, size_t M, size_t N, size_t K)
{
    memset(p, 0, sizeof *p);
    size_t mk, nk, mn;
    if (__builtin_mul_overflow(M, K, &mk) || __builtin_mul_overflow(N, K, &nk) || __builtin_mul_overflow(M, N, &mn) ||
        mk > SIZE_MAX / 8 || nk > SIZE_MAX / 8 || mn > SIZE_MAX / 8)
        return FP8_ERR_INVALID_ARGUMENT;
    p->M = M, p->N = N, p->K = K;
    p->a = malloc(mk * sizeof *p->a), p->b = malloc(nk * sizeof *p->b);
    p->qa = malloc(mk), p->qb = malloc(nk);
    p->ha = malloc(mk * sizeof *p->ha), p->hb = malloc(nk * sizeof *p->hb);
    p->truth = malloc(mn * sizeof(double)), p->truth_e4m3 = malloc(mn * sizeof(double));
    p->truth_bf16 = malloc(mn * sizeof(double));
    p->d = malloc(mn * sizeof *p->d), p->dd = malloc(mn * sizeof *p->dd);
    if (!p->a || !p->b || !p->qa || !p->qb || !p->ha || !p->hb || !p->truth || !p->truth_e4m3 || !p->truth_bf16 ||
        !p->d || !p->dd) {
        gemm_problem_free(p);
        return FP8_ERR_OUT_OF_MEMORY;
    }
    synth_spec sa = *spec, sb = *spec;
    sa.seed = 2 * spec->seed;
    sb.seed = 2 * spec->seed + 1;
    synth_fill(&sa, p->a, 0, M, K);
    synth_fill(&sb, p->b, 0, N, K);
    const fp8_quant_config cfg = fp8_quant_config_init(FP8_E4M3, 0, 0);
    fp8_status st = fp8_quantize_f32(&cfg, p->a, M, K, K, p->qa, K, &p->sa);
    if (st == FP8_OK) st = fp8_quantize_f32(&cfg, p->b, N, K, K, p->qb, K, &p->sb);
    if (st != FP8_OK) {
        gemm_problem_free(p);
        return st;
    }
    for (size_t i = 0; i < mk; i++) p->ha[i] = bf16_from_f32(p->a[i]);
    for (size_t i = 0; i < nk; i++) p->hb[i] = bf16_from_f32(p->b[i]);
    truths(p);
    return FP8_OK;
}

static fp8_status error_of(const double *truth, const double *d, size_t n, fp8_error_stats *out)
{
    fp8_error_accum acc;
    fp8_error_accum_init(&acc);
    const fp8_status st = fp8_error_accum_add_f64(&acc, truth, d, n);
    if (st == FP8_OK) fp8_error_accum_finalize(&acc, out);
    return st;
}

fp8_status gemm_problem_measure(gemm_problem *p, const gemm_method *m, unsigned mma_k, fp8_error_stats *total,
                                fp8_error_stats *accumulation)
{
    fp8_gemm_config cfg = fp8_gemm_config_init();
    cfg.accum_bits = m->accum_bits;
    cfg.promote_interval = m->promote_interval;
    cfg.accum_model = m->model;
    cfg.mma_k = mma_k;
    fp8_status st;
    if (m->operands == GEMM_OPERANDS_BF16) {
        st = fp8_bf16_gemm_f32(&cfg, p->M, p->N, p->K, p->ha, p->K, p->hb, p->K, p->d, p->N);
    } else {
        const fp8_qmatrix A = {p->qa, p->M, p->K, p->K, FP8_E4M3, &p->sa, 0, 0};
        const fp8_qmatrix B = {p->qb, p->N, p->K, p->K, FP8_E4M3, &p->sb, 0, 0};
        st = fp8_gemm_f32(&cfg, &A, &B, p->d, p->N);
    }
    if (st != FP8_OK) return st;
    const size_t n = p->M * p->N;
    for (size_t i = 0; i < n; i++) p->dd[i] = p->d[i];
    st = error_of(p->truth, p->dd, n, total);
    if (st == FP8_OK)
        st = error_of(m->operands == GEMM_OPERANDS_BF16 ? p->truth_bf16 : p->truth_e4m3, p->dd, n, accumulation);
    return st;
}

/* ---- DeepSeek-V3's figure ---- */

static const gemm_result *find(const gemm_result *r, size_t n, const char *data, size_t K, gemm_operands operands,
                               unsigned bits, size_t interval, fp8_accum_model model)
{
    for (size_t i = 0; i < n; i++) {
        const gemm_method *m = &r[i].method;
        if (strcmp(r[i].data, data) == 0 && r[i].K == K && m->operands == operands && m->accum_bits == bits &&
            (bits == 0 ? m->promote_interval == 0 : m->promote_interval == interval && m->model == model))
            return &r[i];
    }
    return NULL;
}

bool gemm_deepseek_find(const gemm_result *r, size_t n, gemm_deepseek_context *c)
{
    const char *data = NULL;
    for (size_t i = 0; i < n && !data; i++)
        if (r[i].data_mean > 0 && r[i].K == GEMM_DEEPSEEK_K) data = r[i].data;
    if (!data) return false;
    const size_t K = GEMM_DEEPSEEK_K;
    const gemm_result *bf16 = find(r, n, data, K, GEMM_OPERANDS_BF16, 0, 0, 0);
    const gemm_result *e4m3 = find(r, n, data, K, GEMM_OPERANDS_E4M3, 0, 0, 0);
    if (!bf16 || !e4m3) return false;
    memset(c, 0, sizeof *c);
    for (int model = 0; model < 2; model++) {
        const gemm_result *never = find(r, n, data, K, GEMM_OPERANDS_E4M3, GEMM_DEEPSEEK_BITS, 0, (fp8_accum_model)model);
        const gemm_result *promoted =
            find(r, n, data, K, GEMM_OPERANDS_E4M3, GEMM_DEEPSEEK_BITS, GEMM_DEEPSEEK_INTERVAL, (fp8_accum_model)model);
        if (!never || !promoted) return false;
        c->unpromoted[model] = never->accumulation.max_rel_err;
        c->promoted[model] = promoted->accumulation.max_rel_err;
    }
    c->data = data;
    c->M = bf16->M, c->N = bf16->N, c->K = K;
    c->e4m3_fp32_accumulation = e4m3->accumulation.max_rel_err;
    c->e4m3_fp32_total = e4m3->total.max_rel_err;
    c->bf16_total = bf16->total.max_rel_err;
    c->bf16_accumulation = bf16->accumulation.max_rel_err;
    return true;
}

void gemm_deepseek_print(FILE *f, const gemm_deepseek_context *c, const char *indent)
{
    enum { SUM = FP8_ACCUM_ALIGN_WITH_SUM, PRODUCTS = FP8_ACCUM_ALIGN_PRODUCTS };
    const double *u = c->unpromoted, *p = c->promoted, bf16 = c->bf16_total;
    const double ratio_sum = p[SUM] / bf16, ratio_products = p[PRODUCTS] / bf16;
    const double worst = ratio_sum > ratio_products ? ratio_sum : ratio_products;
    fprintf(f, "%sDeepSeek-V3 in context (%s data, K = %zu, E4M3 per tensor; maximum relative error over %zu x %zu outputs)\n",
            indent, c->data, c->K, c->M, c->N);
    fprintf(f, "%s  DeepSeek-V3 reports nearly 2%% for Hopper's FP8 accumulation (about 14 bits) at K = 4096, unpromoted.\n",
            indent);
    fprintf(f, "%s  14-bit accumulator, never promoted:  %8.4f%% (with-sum)  %8.4f%% (products)%s\n", indent, 100 * u[SUM],
            100 * u[PRODUCTS],
            u[PRODUCTS] < 0.02 && 0.02 < u[SUM] ? "  (2% lies between the two models)" : "");
    fprintf(f, "%s  promoted to FP32 every 128:          %8.4f%% (with-sum)  %8.4f%% (products)\n", indent, 100 * p[SUM],
            100 * p[PRODUCTS]);
    fprintf(f, "%s  BF16 GEMM, FP32 accumulation:        %8.4f%% (its operands' rounding; the accumulation alone %.2g%%)\n",
            indent, 100 * bf16, 100 * c->bf16_accumulation);
    fprintf(f, "%s  => promotion every 128 takes FP8's accumulation error from %.0fx to %.2fx BF16's error (with-sum)\n"
               "%s     and from %.1fx to %.2fx (products): %s\n",
            indent, u[SUM] / bf16, ratio_sum, indent, u[PRODUCTS] / bf16, ratio_products,
            worst <= 1 ? "below BF16's level" : worst <= GEMM_BF16_LEVEL ? "BF16's level (within a factor of 4) or below"
                                                                        : "still above BF16's level (a factor of 4)");
    fprintf(f, "%s  E4M3's own rounding of the inputs costs more: %.3f%% with FP32 accumulation (whose own error is %.2g);\n"
               "%s  fine-grained scaling, not promotion, is what reduces that.\n",
            indent, 100 * c->e4m3_fp32_total, c->e4m3_fp32_accumulation, indent);
}

const char *const gemm_stat_names[GEMM_STAT_COUNT] = {"max_rel_err", "rel_l2", "sqnr_db", "calc_diff", "max_abs_err"};

double gemm_stat(const fp8_error_stats *s, size_t k)
{
    const double v[GEMM_STAT_COUNT] = {s->max_rel_err, s->rel_l2, s->sqnr_db, s->calc_diff, s->max_abs_err};
    return k < GEMM_STAT_COUNT ? v[k] : NAN;
}
