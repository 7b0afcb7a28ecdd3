/* fp8-train's training loop: one recipe, from the seed to the final
 * validation loss, with the loss curve on the way. */
#ifndef FP8_TRAIN_RUN_H
#define FP8_TRAIN_RUN_H

#include <stddef.h>
#include <stdint.h>
#include "train/model.h"
#include "train/text.h"

typedef struct run_config {
    model_shape shape;        /* vocab and max_tokens are filled in by run_training */
    size_t steps, batch;      /* optimizer steps, tokens per step */
    size_t eval_every;        /* steps between validation points (0: only first and last) */
    size_t eval_tokens;       /* fixed validation positions, evenly spaced over the held-out text */
    adamw_config adamw;       /* lr is the peak */
    double warmup_fraction;   /* of steps, linear warmup */
    double final_lr_fraction; /* cosine decay from lr to lr * this */
    uint64_t seed;            /* weights and batch order; same seed, same data for every recipe */
} run_config;

/* fp8-train's defaults: context 8, embedding 32, 2 hidden layers of 512;
 * 600 steps of 256 tokens; validation every 50 steps on 8192 positions;
 * seed 1; AdamW lr 2e-3, betas 0.9/0.95, eps 1e-8, weight decay 0.1;
 * 5% warmup, cosine to 10%. */
run_config run_config_init(void);

typedef struct run_point {
    size_t step;
    double lr;
    double train_loss; /* mean batch loss since the previous point (NaN at step 0) */
    double val_loss;
} run_point;

typedef struct run_result {
    run_point *points;
    size_t count;
    double initial_val_loss, final_val_loss; /* NaN when the run diverged */
    int diverged;          /* a loss went NaN or a library call failed */
    size_t diverged_step;
    fp8_status diverged_status; /* FP8_OK when the loss itself went non-finite */
    double seconds;
    size_t params;
    size_t saved_layer_bytes, saved_fp32_bytes; /* model_saved_input_bytes for one batch */
} run_result;

/* Trains one model with `lin` on `text`. Returns 0 (a diverged run included:
 * see r->diverged), or -1 with a reason in err when it could not start. */
int run_training(const run_config *cfg, const fp8_linear_config *lin, const text_data *text, run_result *r,
                 char *err, size_t err_len);
void run_result_free(run_result *r);

/* The learning rate at step s (0-based) of cfg's schedule. */
double run_lr(const run_config *cfg, size_t step);

#endif
