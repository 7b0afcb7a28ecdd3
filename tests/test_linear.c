/* Linear-layer tests: each of the three GEMMs of every recipe against an
 * FP64 product of the same quantized operands (quantized independently here
 * with fp8_quantize_f32, on explicitly transposed matrices where the layer
 * transposes codes), delayed scaling over two steps, a finite-difference
 * check of the backward pass in FP32 mode, memory accounting and bad calls. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "support/reference.h"

static uint64_t state;
static double uniform(void)
{
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (double)(state >> 11) * 0x1p-53;
}
static float *random_matrix(size_t rows, size_t cols, double scale)
{
    float *m = malloc(rows * cols * sizeof *m);
    for (size_t i = 0; i < rows * cols; i++) m[i] = (float)((uniform() * 2 - 1) * scale * (1 + (i % 7)));
    return m;
}
static float *transposed(const float *m, size_t rows, size_t cols)
{
    float *t = malloc(rows * cols * sizeof *t);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
    return t;
}

/* The recipe's view of an operand, as the header documents it. */
typedef struct {
    size_t br, bk;
} blk;
static blk act_blocks(fp8_linear_recipe r)
{
    return r == FP8_LINEAR_DEEPSEEK ? (blk){1, 128} : r == FP8_LINEAR_ROWWISE ? (blk){1, 0} : r == FP8_LINEAR_MX ? (blk){1, 32} : (blk){0, 0};
}
static blk weight_blocks(fp8_linear_recipe r) { return r == FP8_LINEAR_DEEPSEEK ? (blk){128, 128} : act_blocks(r); }

/* Dequantized copy (FP64) of M (rows x cols) as the recipe quantizes it along its columns.
 * fixed_scale > 0: per tensor with that scale (delayed scaling). */
static double *operand_values(fp8_linear_recipe r, const float *m, size_t rows, size_t cols, blk b, float fixed_scale)
{
    double *v = malloc(rows * cols * sizeof *v);
    if (r == FP8_LINEAR_FP32) {
        for (size_t i = 0; i < rows * cols; i++) v[i] = m[i];
        return v;
    }
    if (r == FP8_LINEAR_BF16) {
        for (size_t i = 0; i < rows * cols; i++) {
            const uint32_t u = f32_bits(m[i]);
            v[i] = f32_from_bits(((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16) << 16);
        }
        return v;
    }
    fp8_quant_config qc = fp8_quant_config_init(FP8_E4M3, b.br, b.bk);
    qc.scale_mode = r == FP8_LINEAR_MX ? FP8_SCALE_POW2_OCP_MX : FP8_SCALE_F32;
    uint8_t *q = malloc(rows * cols);
    const size_t ns = fp8_scale_count(rows, cols, b.br, b.bk);
    float *s = malloc(ns * sizeof *s), amax;
    if (fixed_scale > 0) {
        fp8_quantize_f32_scaled(&qc, m, rows, cols, cols, fixed_scale, q, cols, &amax);
        s[0] = 1.0f / fixed_scale;
    } else {
        ck_assert_int_eq(fp8_quantize_f32(&qc, m, rows, cols, cols, q, cols, s), FP8_OK);
    }
    const size_t ebr = b.br ? b.br : rows, ebk = b.bk ? b.bk : cols, nbc = (cols + ebk - 1) / ebk;
    for (size_t i = 0; i < rows; i++)
        for (size_t k = 0; k < cols; k++) v[i * cols + k] = ref_decode(q[i * cols + k], FP8_E4M3) * s[(i / ebr) * nbc + k / ebk];
    free(q);
    free(s);
    return v;
}

/* |got - A B^T (+ base)| within the FP32 accumulation bound, for every element. */
static void check_product(const char *what, const float *got, size_t ldg, const double *a, const double *b, size_t M,
                          size_t N, size_t K, const float *base)
{
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double exact = base ? base[m * N + n] : 0, mag = fabs(exact);
            for (size_t k = 0; k < K; k++) {
                exact += a[m * K + k] * b[n * K + k];
                mag += fabs(a[m * K + k] * b[n * K + k]);
            }
            const double err = fabs((double)got[m * ldg + n] - exact);
            ck_assert_msg(err <= 4 * 0x1p-24 * mag * sqrt((double)K) + 1e-30, "%s (%zu,%zu): %.9g vs exact %.9g (bound %.3g)",
                          what, m, n, (double)got[m * ldg + n], exact, 4 * 0x1p-24 * mag * sqrt((double)K));
        }
}

typedef struct {
    fp8_linear *l;
    void *state, *ws;
    size_t ws_bytes;
} layer_t;

static layer_t make_layer(const fp8_linear_config *cfg, size_t K, size_t N, size_t T)
{
    layer_t L;
    const size_t bytes = fp8_linear_state_size(cfg, K, N, T);
    ck_assert_uint_gt(bytes, 0);
    L.state = malloc(bytes);
    ck_assert_int_eq(fp8_linear_init(&L.l, L.state, bytes, cfg, K, N, T), FP8_OK);
    L.ws_bytes = fp8_linear_workspace_size(L.l);
    ck_assert_uint_gt(L.ws_bytes, 0);
    L.ws = malloc(L.ws_bytes);
    return L;
}
static void free_layer(layer_t *L)
{
    free(L->state);
    free(L->ws);
}

/* Loop: recipe x cache_fp8_input. Sizes not multiples of the blocks; tokens fewer than max. */
START_TEST(gemms_match_reference)
{
    const fp8_linear_recipe recipe = (fp8_linear_recipe)(_i / 2);
    const int cache = _i % 2;
    const size_t K = 300, N = 200, T = 150, maxT = 170;
    state = 0x1234 + (uint64_t)_i;
    float *X = random_matrix(T, K, 1.0), *W = random_matrix(N, K, 0.05), *dY = random_matrix(T, N, 1e-3);
    fp8_linear_config cfg = fp8_linear_config_init(recipe);
    cfg.cache_fp8_input = cache;
    layer_t L = make_layer(&cfg, K, N, maxT);
    const size_t ldy = N + 3;
    float *Y = malloc(T * ldy * sizeof *Y), *dX = malloc(T * K * sizeof *dX), *dW = random_matrix(N, K, 1.0);
    float *dW0 = malloc(N * K * sizeof *dW0);
    memcpy(dW0, dW, N * K * sizeof *dW);
    ck_assert_int_eq(fp8_linear_forward(L.l, X, K, T, W, Y, ldy, L.ws, L.ws_bytes), FP8_OK);
    ck_assert_int_eq(fp8_linear_backward(L.l, cache && recipe <= FP8_LINEAR_MX ? NULL : X, K, dY, N, T, W, dX, K, dW, L.ws,
                                         L.ws_bytes),
                     FP8_OK);
    /* the reference: the first step of delayed scaling uses scale 1 */
    const float fixed = recipe == FP8_LINEAR_DELAYED ? 1.0f : 0.0f;
    const fp8_linear_recipe r = recipe == FP8_LINEAR_DELAYED ? FP8_LINEAR_TENSOR : recipe;
    const blk act = act_blocks(r), wb = weight_blocks(r);
    float *Wt = transposed(W, N, K), *dYt = transposed(dY, T, N), *Xt = transposed(X, T, K);
    double *x = operand_values(r, X, T, K, act, fixed), *w = operand_values(r, W, N, K, wb, fixed);
    double *dy = operand_values(r, dY, T, N, act, fixed), *wt = operand_values(r, Wt, K, N, wb, fixed);
    double *dyt = operand_values(r, dYt, N, T, act, fixed), *xt = operand_values(r, Xt, K, T, act, fixed);
    const char *name = fp8_linear_recipe_name(recipe);
    check_product(name, Y, ldy, x, w, T, N, K, NULL);
    check_product(name, dX, K, dy, wt, T, K, N, NULL);
    check_product(name, dW, K, dyt, xt, N, K, T, dW0);
    if (cache && recipe <= FP8_LINEAR_MX) {
        const size_t saved = fp8_linear_saved_input_bytes(L.l, T);
        ck_assert_uint_gt(saved, T * K);
        ck_assert_uint_lt(saved, 2 * T * K); /* about a quarter of FP32's 4 * T * K */
    } else {
        ck_assert_uint_eq(fp8_linear_saved_input_bytes(L.l, T), 0);
    }
    free(x); free(w); free(dy); free(wt); free(dyt); free(xt); free(Wt); free(dYt); free(Xt);
    free(X); free(W); free(dY); free(Y); free(dX); free(dW); free(dW0);
    free_layer(&L);
}
END_TEST

/* Delayed scaling: step 2 uses the scales from step 1's amaxes (TE: fmax / amax). */
START_TEST(delayed_second_step)
{
    const size_t K = 256, N = 128, T = 64;
    state = 77;
    float *X = random_matrix(T, K, 3.0), *W = random_matrix(N, K, 0.1), *dY = random_matrix(T, N, 1e-2);
    fp8_linear_config cfg = fp8_linear_config_init(FP8_LINEAR_DELAYED);
    cfg.amax_history_len = 4;
    layer_t L = make_layer(&cfg, K, N, T);
    float *Y = malloc(T * N * sizeof *Y), *dX = malloc(T * K * sizeof *dX), *dW = calloc(N * K, sizeof *dW);
    for (int step = 0; step < 2; step++) {
        ck_assert_int_eq(fp8_linear_forward(L.l, X, K, T, W, Y, N, L.ws, L.ws_bytes), FP8_OK);
        ck_assert_int_eq(fp8_linear_backward(L.l, NULL, K, dY, N, T, W, dX, K, dW, L.ws, L.ws_bytes), FP8_OK);
    }
    double amax_x = 0, amax_w = 0;
    for (size_t i = 0; i < T * K; i++) amax_x = fmax(amax_x, fabs(X[i]));
    for (size_t i = 0; i < N * K; i++) amax_w = fmax(amax_w, fabs(W[i]));
    double *x = operand_values(FP8_LINEAR_TENSOR, X, T, K, (blk){0, 0}, (float)(448.0 / amax_x));
    double *w = operand_values(FP8_LINEAR_TENSOR, W, N, K, (blk){0, 0}, (float)(448.0 / amax_w));
    check_product("delayed step 2", Y, N, x, w, T, N, K, NULL);
    free(x); free(w); free(X); free(W); free(dY); free(Y); free(dX); free(dW);
    free_layer(&L);
}
END_TEST

/* FP32 mode: dX and dW are the derivatives of L = sum(G o Y) (central differences in FP64). */
START_TEST(finite_differences)
{
    const size_t K = 40, N = 24, T = 9;
    state = 5;
    float *X = random_matrix(T, K, 1.0), *W = random_matrix(N, K, 0.3), *G = random_matrix(T, N, 1.0);
    fp8_linear_config cfg = fp8_linear_config_init(FP8_LINEAR_FP32);
    layer_t L = make_layer(&cfg, K, N, T);
    float *Y = malloc(T * N * sizeof *Y), *dX = malloc(T * K * sizeof *dX), *dW = calloc(N * K, sizeof *dW);
    ck_assert_int_eq(fp8_linear_forward(L.l, X, K, T, W, Y, N, L.ws, L.ws_bytes), FP8_OK);
    ck_assert_int_eq(fp8_linear_backward(L.l, X, K, G, N, T, W, dX, K, dW, L.ws, L.ws_bytes), FP8_OK);
    /* L(X, W) = sum_t,n G[t][n] * sum_k X[t][k] W[n][k], evaluated in FP64 */
    double h = 1e-3;
    for (int probe = 0; probe < 20; probe++) {
        const size_t t = (size_t)probe % T, k = (size_t)(probe * 7) % K, n = (size_t)(probe * 5) % N;
        double lp = 0, lm = 0, wp = 0, wm = 0;
        for (size_t nn = 0; nn < N; nn++) {
            double yp = 0, ym = 0;
            for (size_t kk = 0; kk < K; kk++) {
                const double xv = X[t * K + kk] + (kk == k ? h : 0), xm = X[t * K + kk] - (kk == k ? h : 0);
                yp += xv * W[nn * K + kk];
                ym += xm * W[nn * K + kk];
            }
            lp += G[t * N + nn] * yp;
            lm += G[t * N + nn] * ym;
        }
        for (size_t tt = 0; tt < T; tt++) {
            double yp = 0, ym = 0;
            for (size_t kk = 0; kk < K; kk++) {
                const double wv = W[n * K + kk] + (kk == k ? h : 0), wv2 = W[n * K + kk] - (kk == k ? h : 0);
                yp += X[tt * K + kk] * wv;
                ym += X[tt * K + kk] * wv2;
            }
            wp += G[tt * N + n] * yp;
            wm += G[tt * N + n] * ym;
        }
        const double gx = (lp - lm) / (2 * h), gw = (wp - wm) / (2 * h);
        ck_assert_msg(fabs(gx - dX[t * K + k]) <= 1e-4 * (1 + fabs(gx)), "dX[%zu][%zu] %g vs %g", t, k, dX[t * K + k], gx);
        ck_assert_msg(fabs(gw - dW[n * K + k]) <= 1e-4 * (1 + fabs(gw)), "dW[%zu][%zu] %g vs %g", n, k, dW[n * K + k], gw);
    }
    free(X); free(W); free(G); free(Y); free(dX); free(dW);
    free_layer(&L);
}
END_TEST

START_TEST(bad_calls)
{
    fp8_linear_config cfg = fp8_linear_config_init(FP8_LINEAR_DEEPSEEK);
    const size_t K = 128, N = 64, T = 32;
    const size_t bytes = fp8_linear_state_size(&cfg, K, N, T);
    void *st = malloc(bytes);
    fp8_linear *l = NULL;
    ck_assert_int_eq(fp8_linear_init(&l, st, bytes - 1, &cfg, K, N, T), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_linear_init(&l, st, bytes, &cfg, 0, N, T), FP8_ERR_INVALID_ARGUMENT);
    fp8_linear_config bad = cfg;
    bad.recipe = (fp8_linear_recipe)9;
    ck_assert_uint_eq(fp8_linear_state_size(&bad, K, N, T), 0);
    ck_assert_uint_eq(fp8_linear_state_size(&cfg, SIZE_MAX / 2, N, T), 0);
    ck_assert_int_eq(fp8_linear_init(&l, st, bytes, &cfg, K, N, T), FP8_OK);
    const size_t wsb = fp8_linear_workspace_size(l);
    void *ws = malloc(wsb);
    float *X = calloc(T * K, 4), *W = calloc(N * K, 4), *Y = calloc(T * N, 4), *dW = calloc(N * K, 4);
    ck_assert_int_eq(fp8_linear_forward(l, X, K, T, W, Y, N, ws, wsb - 100), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_linear_forward(l, X, K, T + 1, W, Y, N, ws, wsb), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_linear_forward(l, X, K - 1, T, W, Y, N, ws, wsb), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_linear_forward(l, NULL, K, T, W, Y, N, ws, wsb), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_linear_forward(l, X, K, T, W, Y, N, ws, wsb), FP8_OK);
    ck_assert_int_eq(fp8_linear_backward(l, NULL, K, Y, N, T - 1, W, NULL, K, dW, ws, wsb), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(fp8_linear_backward(l, NULL, K, Y, N, T, W, NULL, K, dW, ws, wsb), FP8_OK);
    X[5] = NAN;
    ck_assert_int_eq(fp8_linear_forward(l, X, K, T, W, Y, N, ws, wsb), FP8_ERR_NONFINITE);
    fp8_linear_recipe r;
    ck_assert_int_eq(fp8_linear_recipe_from_name("DeepSeek", &r), FP8_OK);
    ck_assert_int_eq(r, FP8_LINEAR_DEEPSEEK);
    ck_assert_int_eq(fp8_linear_recipe_from_name("int4", &r), FP8_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(fp8_linear_recipe_name((fp8_linear_recipe)42));
    free(st); free(ws); free(X); free(W); free(Y); free(dW);
}
END_TEST

static Suite *linear_suite(void)
{
    Suite *s = suite_create("linear");
    TCase *tc = tcase_create("gemms");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, gemms_match_reference, 0, 14);
    tcase_add_test(tc, delayed_second_step);
    tcase_add_test(tc, finite_differences);
    tcase_add_test(tc, bad_calls);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(linear_suite)
