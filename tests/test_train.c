/* fp8-train's model (tools/train/): the FP32 forward pass against a plain
 * double-precision evaluation of the same network, the backward pass
 * against central finite differences of the loss (FP32 recipe, every
 * parameter of every tensor), the vocabulary and split of the text, and a
 * short training run on the real text whose DeepSeek-recipe loss must track
 * BF16's (the long case "training_tracks_bf16"). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp8.h"
#include "train/model.h"
#include "train/run.h"
#include "train/text.h"

static uint64_t test_seed(void)
{
    const char *env = getenv("FP8_TEST_SEED");
    return env != NULL ? strtoull(env, NULL, 0) : UINT64_C(20261129);
}

static uint64_t next_u64(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* A small model in the FP32 recipe with random tokens; layers varies. */
enum { GC_CONTEXT = 4, GC_EMBED = 8, GC_HIDDEN = 16, GC_VOCAB = 13, GC_TOKENS = 5 };

static void small_model(model *m, size_t layers, uint8_t *context, uint8_t *targets)
{
    const uint64_t seed = test_seed();
    printf("small model, %zu layers: seed %llu (FP8_TEST_SEED)\n", layers, (unsigned long long)seed);
    const model_shape shape = {GC_CONTEXT, GC_EMBED, GC_HIDDEN, layers, GC_VOCAB, GC_TOKENS};
    const fp8_linear_config cfg = fp8_linear_config_init(FP8_LINEAR_FP32);
    char err[256];
    ck_assert_msg(model_create(m, &shape, &cfg, seed, err, sizeof err) == 0, "%s", err);
    uint64_t s = seed | 1;
    for (size_t i = 0; i < GC_TOKENS * GC_CONTEXT; i++) context[i] = (uint8_t)(next_u64(&s) % GC_VOCAB);
    for (size_t i = 0; i < GC_TOKENS; i++) targets[i] = (uint8_t)(next_u64(&s) % GC_VOCAB);
    /* biases are zero at init: give them values so their gradients flow through every term */
    for (size_t l = 0; l <= layers; l++) {
        model_param *b = &m->params[2 + 2 * l];
        for (size_t i = 0; i < b->size; i++) b->value[i] = (float)((double)(next_u64(&s) % 2001) / 1000.0 - 1.0) * 0.3f;
    }
}

/* The network of train/model.h evaluated from its definition, in double. */
static double reference_loss(const model *m, const uint8_t *context, const uint8_t *targets, size_t T)
{
    const size_t C = m->shape.context, E = m->shape.embed, L = m->shape.layers;
    double in[GC_CONTEXT * GC_EMBED > GC_HIDDEN ? GC_CONTEXT * GC_EMBED : GC_HIDDEN], out[GC_HIDDEN + GC_VOCAB];
    double loss = 0.0;
    for (size_t t = 0; t < T; t++) {
        for (size_t c = 0; c < C; c++)
            for (size_t e = 0; e < E; e++) in[c * E + e] = m->params[0].value[context[t * C + c] * E + e];
        for (size_t l = 0; l <= L; l++) {
            const size_t K = m->in_features[l], N = m->out_features[l];
            const float *w = m->params[1 + 2 * l].value, *b = m->params[2 + 2 * l].value;
            for (size_t n = 0; n < N; n++) {
                double z = b[n];
                for (size_t k = 0; k < K; k++) z += (double)w[n * K + k] * in[k];
                out[n] = l < L ? 0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z * z * z))) : z;
            }
            memcpy(in, out, N * sizeof *in);
        }
        double zmax = in[0], sum = 0.0;
        for (size_t v = 1; v < m->shape.vocab; v++) zmax = fmax(zmax, in[v]);
        for (size_t v = 0; v < m->shape.vocab; v++) sum += exp(in[v] - zmax);
        loss += log(sum) + zmax - in[targets[t]];
    }
    return loss / (double)T;
}

START_TEST(forward_matches_reference)
{
    model m;
    uint8_t context[GC_TOKENS * GC_CONTEXT], targets[GC_TOKENS];
    small_model(&m, (size_t)_i, context, targets);
    const double got = model_loss(&m, context, targets, GC_TOKENS, 0), want = reference_loss(&m, context, targets, GC_TOKENS);
    /* FP32 sums of at most 32 terms of size ~1 and float exp: a few units of 2^-24 per step */
    ck_assert_msg(fabs(got - want) <= 1e-5 * want, "loss %.9g, reference %.9g", got, want);
    model_free(&m);
}
END_TEST

/* Central differences in double of the FP32 loss. The loss is ~2.6 with rounding noise ~1e-7;
 * h = 1e-2 keeps that noise at ~1e-5 of the quotient while the h^2 truncation term of these
 * smooth functions (GELU, softmax) stays near 1e-5 too; 2e-4 absolute plus 1% relative leaves
 * room for both yet fails for any missing or wrong term (a dropped GELU' term moves gradients by
 * 10% or more). */
START_TEST(backward_matches_finite_differences)
{
    model m;
    uint8_t context[GC_TOKENS * GC_CONTEXT], targets[GC_TOKENS];
    small_model(&m, (size_t)_i, context, targets);
    model_zero_grad(&m);
    ck_assert(isfinite(model_loss(&m, context, targets, GC_TOKENS, 1)));
    const float h = 1e-2f;
    size_t checked = 0;
    for (size_t p = 0; p < m.param_count; p++) {
        model_param *prm = &m.params[p];
        float *grad = malloc(prm->size * sizeof *grad);
        memcpy(grad, prm->grad, prm->size * sizeof *grad);
        for (size_t i = 0; i < prm->size; i++) {
            const float saved = prm->value[i];
            prm->value[i] = saved + h;
            const double up = model_loss(&m, context, targets, GC_TOKENS, 0);
            prm->value[i] = saved - h;
            const double down = model_loss(&m, context, targets, GC_TOKENS, 0);
            prm->value[i] = saved;
            const double fd = (up - down) / (2.0 * (double)h);
            ck_assert_msg(fabs(fd - grad[i]) <= 2e-4 + 1e-2 * fabs(fd), "%s (tensor %zu) [%zu]: backward %.9g, finite difference %.9g",
                          prm->name, p, i, (double)grad[i], fd);
            checked++;
        }
        free(grad);
    }
    printf("%zu layers: %zu gradients match finite differences\n", (size_t)_i, checked);
    model_free(&m);
}
END_TEST

START_TEST(gradients_accumulate)
{
    /* model_loss adds to the gradients: two backward passes give twice one */
    model m;
    uint8_t context[GC_TOKENS * GC_CONTEXT], targets[GC_TOKENS];
    small_model(&m, 2, context, targets);
    model_zero_grad(&m);
    model_loss(&m, context, targets, GC_TOKENS, 1);
    const float once = m.params[1].grad[3], head = m.params[m.param_count - 2].grad[5];
    model_loss(&m, context, targets, GC_TOKENS, 1);
    ck_assert_float_eq_tol(m.params[1].grad[3], 2.0f * once, 1e-6f * fabsf(once) + 1e-12f);
    ck_assert_float_eq_tol(m.params[m.param_count - 2].grad[5], 2.0f * head, 1e-6f * fabsf(head) + 1e-12f);
    model_free(&m);
}
END_TEST

START_TEST(bad_shapes)
{
    model m;
    char err[256];
    const fp8_linear_config cfg = fp8_linear_config_init(FP8_LINEAR_DEEPSEEK);
    const model_shape zero_layers = {8, 32, 512, 0, 70, 16}, too_deep = {8, 32, 512, MODEL_MAX_LAYERS + 1, 70, 16},
                      big_vocab = {8, 32, 512, 2, 257, 16}, no_tokens = {8, 32, 512, 2, 70, 0},
                      overflow = {SIZE_MAX / 2, 32, 512, 2, 70, 16};
    ck_assert_int_eq(model_create(&m, &zero_layers, &cfg, 1, err, sizeof err), -1);
    ck_assert_int_eq(model_create(&m, &too_deep, &cfg, 1, err, sizeof err), -1);
    ck_assert_int_eq(model_create(&m, &big_vocab, &cfg, 1, err, sizeof err), -1);
    ck_assert_int_eq(model_create(&m, &no_tokens, &cfg, 1, err, sizeof err), -1);
    ck_assert_int_eq(model_create(&m, &overflow, &cfg, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid model shape");
}
END_TEST

START_TEST(text_vocabulary_and_split)
{
    /* 1,000,000 bytes: 'a' and 'b' fill them, '!' appears once (rare: fewer than 2 per million),
       '?' twice (kept) */
    enum { LEN = 1000000 };
    uint8_t *bytes = malloc(LEN);
    for (size_t i = 0; i < LEN; i++) bytes[i] = (uint8_t)(i % 3 ? 'a' : 'b');
    bytes[10] = '!';
    bytes[20] = bytes[30] = '?';
    text_data t;
    ck_assert_int_eq(text_from_bytes(&t, bytes, LEN), 0);
    ck_assert_uint_eq(t.vocab, 4); /* '?', 'a', 'b' in byte order, then the rare symbol */
    ck_assert_int_eq(t.byte_of[0], '?');
    ck_assert_int_eq(t.byte_of[1], 'a');
    ck_assert_int_eq(t.byte_of[2], 'b');
    ck_assert_int_eq(t.byte_of[3], -1);
    ck_assert_uint_eq(t.symbol_of['!'], 3);
    /* chunks of 1e6 / 160 = 6250 bytes; every 20th is validation */
    ck_assert_uint_eq(t.chunk, 6250);
    ck_assert_uint_eq(t.train_len + t.val_len, LEN);
    ck_assert_uint_eq(t.val_len, 8 * 6250);
    ck_assert_uint_eq(t.train[10], 3);
    ck_assert_uint_eq(t.val[0], t.symbol_of[bytes[19 * 6250]]);
    ck_assert_uint_eq(t.train[19 * 6250], t.symbol_of[bytes[20 * 6250]]);
    text_free(&t);
    free(bytes);
}
END_TEST

/* The CI training run: BF16 and the DeepSeek recipe, same seed, 200 steps of 256 tokens on the
 * King James Bible, final loss on 4096 held-out positions. Both must learn (4.4 nats -> ~1.82),
 * and DeepSeek's final loss must lie within 0.5% of BF16's. Measured with this configuration
 * (fp8-train --steps 200 --eval-every 0 --eval-tokens 4096 --recipes bf16,deepseek --seed S):
 * DeepSeek minus BF16 was +0.109%, +0.057%, +0.065%, +0.055%, +0.018% for seeds 1..5; 0.5% is
 * over four times the largest, and far below what a broken scale or GEMM does (whole percents,
 * or no learning at all). The runs are deterministic, so this never flakes on one machine. */
#define CI_BOUND_PERCENT 0.5
START_TEST(training_tracks_bf16)
{
    /* One thread: CTest runs suites side by side on few cores, where the GEMMs' threads would only
       wait for each other (the results do not depend on the thread count). */
    fp8_set_num_threads(1);
    text_data text;
    char err[512];
    ck_assert_msg(text_load(&text, FP8_TRAIN_TEXT, err, sizeof err) == 0, "%s (install Debian's bible-kjv)", err);
    run_config cfg = run_config_init(); /* fp8-train's model, seed and optimizer */
    cfg.steps = 200;
    cfg.eval_every = 0;
    cfg.eval_tokens = 4096;
    run_result bf16, deepseek;
    const fp8_linear_config lb = fp8_linear_config_init(FP8_LINEAR_BF16), ld = fp8_linear_config_init(FP8_LINEAR_DEEPSEEK);
    ck_assert_msg(run_training(&cfg, &lb, &text, &bf16, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(run_training(&cfg, &ld, &text, &deepseek, err, sizeof err) == 0, "%s", err);
    const double pct = 100.0 * (deepseek.final_val_loss / bf16.final_val_loss - 1.0);
    printf("training_tracks_bf16: bf16 %.4f -> %.4f (%.1f s), deepseek %.4f -> %.4f (%.1f s): %+.3f%%\n",
           bf16.initial_val_loss, bf16.final_val_loss, bf16.seconds, deepseek.initial_val_loss,
           deepseek.final_val_loss, deepseek.seconds, pct);
    ck_assert_msg(!bf16.diverged && !deepseek.diverged, "a run diverged");
    ck_assert_msg(bf16.final_val_loss < 0.6 * bf16.initial_val_loss, "bf16 did not learn: %.4f -> %.4f",
                  bf16.initial_val_loss, bf16.final_val_loss);
    ck_assert_msg(deepseek.final_val_loss < 0.6 * deepseek.initial_val_loss, "deepseek did not learn: %.4f -> %.4f",
                  deepseek.initial_val_loss, deepseek.final_val_loss);
    ck_assert_msg(fabs(pct) <= CI_BOUND_PERCENT, "deepseek is %+.3f%% from bf16 (bound %.2f%%)", pct, CI_BOUND_PERCENT);
    run_result_free(&bf16);
    run_result_free(&deepseek);
    text_free(&text);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("forward_matches_reference");
    tcase_add_loop_test(tc, forward_matches_reference, 1, 4);
    suite_add_tcase(s, tc);
    tc = tcase_create("backward_matches_finite_differences");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, backward_matches_finite_differences, 1, 4);
    suite_add_tcase(s, tc);
    tc = tcase_create("gradients_accumulate");
    tcase_add_test(tc, gradients_accumulate);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_shapes");
    tcase_add_test(tc, bad_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("text_vocabulary_and_split");
    tcase_add_test(tc, text_vocabulary_and_split);
    suite_add_tcase(s, tc);
    tc = tcase_create("training_tracks_bf16");
    tcase_set_tags(tc, "long");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, training_tracks_bf16);
    suite_add_tcase(s, tc);
    return s;
}

#include "support/main.h"
FP8_TEST_MAIN(train_suite)
