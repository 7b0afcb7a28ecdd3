/* fp8-train's model: a character-level MLP language model (Bengio et al.
 * 2003, as in Karpathy's makemore) whose hidden linears are libfp8 layers.
 *
 *   context symbols c[0..C-1] -> embedding rows, concatenated: X0 (T x C*E)
 *   for each hidden layer l:  Z_l = A_{l-1} W_l^T + b_l  (fp8_linear)
 *                             A_l = GELU(Z_l)            (A_{-1} = X0)
 *   logits = A_last Wh^T + bh   (fp8_linear, FP32 recipe)
 *   softmax cross-entropy with the next symbol
 *
 * The embedding and the head stay in FP32, as DeepSeek-V3 keeps its
 * embedding and output head in higher precision; only the hidden linears run
 * in the chosen recipe. Every matrix is row-major, tokens along the rows.
 * The backward pass of everything but the linears' GEMMs is written out here
 * (train/model.c); the linears' dX and dW come from fp8_linear_backward. */
#ifndef FP8_TRAIN_MODEL_H
#define FP8_TRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "fp8.h"

#define MODEL_MAX_LAYERS 4

typedef struct model_shape {
    size_t context;    /* C: symbols of context */
    size_t embed;      /* E: embedding width per symbol */
    size_t hidden;     /* H: units per hidden layer */
    size_t layers;     /* hidden layers, 1..MODEL_MAX_LAYERS */
    size_t vocab;      /* V */
    size_t max_tokens; /* the most tokens one call handles */
} model_shape;

/* One trainable tensor: its values (FP32 master copy), gradient and AdamW moments. */
typedef struct model_param {
    const char *name;
    float *value, *grad, *m, *v;
    size_t size;
    int decay; /* AdamW weight decay applies (matrices, not biases or the embedding) */
} model_param;

typedef struct model {
    model_shape shape;
    fp8_linear_config linear_cfg; /* the hidden layers' recipe; the head is always FP8_LINEAR_FP32 */
    /* embedding, then weight and bias of each linear: the hidden layers, then the head */
    model_param params[2 * MODEL_MAX_LAYERS + 3];
    size_t param_count, total_params;
    /* linear l (0..layers; layers is the head): in_features[l] -> out_features[l] */
    size_t in_features[MODEL_MAX_LAYERS + 1], out_features[MODEL_MAX_LAYERS + 1];
    fp8_linear *linear[MODEL_MAX_LAYERS + 1];
    void *linear_state[MODEL_MAX_LAYERS + 1];
    void *workspace; /* shared: the linears' calls never overlap */
    size_t workspace_bytes;
    /* activations, max_tokens rows each */
    uint8_t *context;                   /* T x C symbols of the last forward pass */
    float *x0, *dx0;                    /* T x C*E: concatenated embeddings and their gradient */
    float *z[MODEL_MAX_LAYERS + 1];     /* T x out: each linear's output plus bias; z[layers] = logits */
    float *tanh_u[MODEL_MAX_LAYERS];    /* T x H: GELU's tanh, kept for the backward pass */
    float *a[MODEL_MAX_LAYERS];         /* T x H: GELU(z) */
    float *grad_out, *grad_in;          /* T x max(H, V): dL/d(linear output), dL/d(linear input) */
    size_t tokens;                      /* of the last forward pass */
    fp8_status last_status;             /* of the last failing library call, FP8_OK if none */
    unsigned long step;                 /* AdamW steps taken */
} model;

/* Allocates and initializes (same seed, same weights, whatever the recipe).
 * Returns 0, or -1 with a reason in err. */
int model_create(model *m, const model_shape *shape, const fp8_linear_config *cfg, uint64_t seed, char *err,
                 size_t err_len);
void model_free(model *m);

/* Mean cross-entropy (nats) of predicting targets[t] from context[t*C ..],
 * for tokens <= max_tokens. With backward, the gradients are *added* to the
 * params' grad (call model_zero_grad first). Returns NaN when a value or a
 * library call went non-finite (m->last_status says which call failed). */
double model_loss(model *m, const uint8_t *context, const uint8_t *targets, size_t tokens, int backward);
void model_zero_grad(model *m);

typedef struct adamw_config {
    float lr, beta1, beta2, eps, weight_decay;
} adamw_config;

/* One AdamW step (decoupled weight decay, bias-corrected moments) on every param. */
void model_adamw_step(model *m, const adamw_config *cfg);

/* Bytes the hidden linears keep of their inputs between forward and backward
 * for `tokens` tokens: what the layers hold (FP8 codes and scales when they
 * cache their input, else 0) and what the FP32 inputs take (4 * tokens * K each). */
void model_saved_input_bytes(const model *m, size_t tokens, size_t *layer_bytes, size_t *fp32_bytes);

#endif
