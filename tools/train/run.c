#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "train/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/rng.h"

run_config run_config_init(void)
{
    run_config c;
    memset(&c, 0, sizeof c);
    c.shape = (model_shape){8, 32, 512, 2, 0, 0};
    c.steps = 600;
    c.batch = 256;
    c.eval_every = 50;
    c.eval_tokens = 8192;
    c.seed = 1;
    c.adamw = (adamw_config){2e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
    c.warmup_fraction = 0.05;
    c.final_lr_fraction = 0.1;
    return c;
}

double run_lr(const run_config *cfg, size_t step)
{
    const double peak = cfg->adamw.lr, warmup = ceil(cfg->warmup_fraction * (double)cfg->steps);
    if ((double)step < warmup) return peak * (double)(step + 1) / warmup;
    const double span = (double)cfg->steps - warmup, done = span > 1 ? ((double)step - warmup) / (span - 1) : 1.0;
    const double floor_lr = peak * cfg->final_lr_fraction;
    return floor_lr + (peak - floor_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * done));
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The C symbols before position p, and the symbol at p, for each position. */
static void gather(const uint8_t *stream, const size_t *pos, size_t n, size_t C, uint8_t *context, uint8_t *target)
{
    for (size_t t = 0; t < n; t++) {
        memcpy(context + t * C, stream + pos[t] - C, C);
        target[t] = stream[pos[t]];
    }
}

/* Mean loss over the fixed validation positions, in batches the model takes. */
static double validation_loss(model *m, const uint8_t *context, const uint8_t *target, size_t n)
{
    const size_t C = m->shape.context, chunk = m->shape.max_tokens;
    double sum = 0.0;
    for (size_t s = 0; s < n; s += chunk) {
        const size_t k = n - s < chunk ? n - s : chunk;
        sum += model_loss(m, context + s * C, target + s, k, 0) * (double)k;
    }
    return sum / (double)n;
}

int run_training(const run_config *cfg_in, const fp8_linear_config *lin, const text_data *text, run_result *r,
                 char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    run_config cfg = *cfg_in;
    const size_t C = cfg.shape.context;
    if (cfg.steps == 0 || cfg.batch == 0 || cfg.eval_tokens == 0) {
        snprintf(err, err_len, "steps, batch and eval tokens must be positive");
        return -1;
    }
    if (text->train_len <= C || text->val_len <= C) {
        snprintf(err, err_len, "text too short: %zu training and %zu validation symbols for a context of %zu",
                 text->train_len, text->val_len, C);
        return -1;
    }
    if (cfg.eval_tokens > text->val_len - C) cfg.eval_tokens = text->val_len - C;
    cfg.shape.vocab = text->vocab;
    cfg.shape.max_tokens = cfg.batch;

    model m;
    if (model_create(&m, &cfg.shape, lin, cfg.seed, err, err_len) != 0) return -1;
    const size_t n_eval = cfg.eval_tokens, max_points = (cfg.eval_every ? cfg.steps / cfg.eval_every : 0) + 2;
    size_t *pos = malloc((n_eval > cfg.batch ? n_eval : cfg.batch) * sizeof *pos);
    uint8_t *eval_ctx = malloc(n_eval * C), *eval_tgt = malloc(n_eval);
    uint8_t *batch_ctx = malloc(cfg.batch * C), *batch_tgt = malloc(cfg.batch);
    r->points = malloc(max_points * sizeof *r->points);
    if (!pos || !eval_ctx || !eval_tgt || !batch_ctx || !batch_tgt || !r->points) {
        snprintf(err, err_len, "out of memory for the batches");
        free(pos), free(eval_ctx), free(eval_tgt), free(batch_ctx), free(batch_tgt);
        run_result_free(r);
        model_free(&m);
        return -1;
    }
    for (size_t i = 0; i < n_eval; i++) pos[i] = C + i * (text->val_len - C) / n_eval;
    gather(text->val, pos, n_eval, C, eval_ctx, eval_tgt);
    r->params = m.total_params;
    model_saved_input_bytes(&m, cfg.batch, &r->saved_layer_bytes, &r->saved_fp32_bytes);

    const double start = seconds_now();
    uint64_t order = cfg.seed ^ 0x6261746368ull; /* the batch stream: the same for every recipe */
    double train_sum = 0.0;
    size_t train_count = 0;
    r->initial_val_loss = validation_loss(&m, eval_ctx, eval_tgt, n_eval);
    r->points[r->count++] = (run_point){0, run_lr(&cfg, 0), NAN, r->initial_val_loss};
    for (size_t step = 0; step < cfg.steps; step++) {
        for (size_t t = 0; t < cfg.batch; t++) pos[t] = C + rng_below(&order, text->train_len - C);
        gather(text->train, pos, cfg.batch, C, batch_ctx, batch_tgt);
        model_zero_grad(&m);
        const double loss = model_loss(&m, batch_ctx, batch_tgt, cfg.batch, 1);
        if (!isfinite(loss)) {
            r->diverged = 1;
            r->diverged_step = step + 1;
            r->diverged_status = m.last_status;
            break;
        }
        adamw_config opt = cfg.adamw;
        opt.lr = (float)run_lr(&cfg, step);
        model_adamw_step(&m, &opt);
        train_sum += loss;
        train_count++;
        const size_t done = step + 1;
        if (done == cfg.steps || (cfg.eval_every && done % cfg.eval_every == 0)) {
            const double val = validation_loss(&m, eval_ctx, eval_tgt, n_eval);
            r->points[r->count++] = (run_point){done, opt.lr, train_sum / (double)train_count, val};
            train_sum = 0.0;
            train_count = 0;
            if (!isfinite(val)) {
                r->diverged = 1;
                r->diverged_step = done;
                r->diverged_status = m.last_status;
                break;
            }
        }
    }
    r->final_val_loss = r->diverged ? NAN : r->points[r->count - 1].val_loss;
    r->seconds = seconds_now() - start;
    free(pos), free(eval_ctx), free(eval_tgt), free(batch_ctx), free(batch_tgt);
    model_free(&m);
    return 0;
}

void run_result_free(run_result *r)
{
    free(r->points);
    r->points = NULL;
    r->count = 0;
}
