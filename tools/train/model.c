#include "train/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/rng.h"

static void fill_normal(float *x, size_t n, double stddev, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) { /* Box-Muller, one value per pair of uniforms */
        const double r = sqrt(-2.0 * log(rng_uniform(state))), phi = 6.283185307179586 * rng_uniform(state);
        x[i] = (float)(stddev * r * cos(phi));
    }
}

/* GELU, tanh form (GPT-2): GELU(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
 * tanh(u) = 1 - 2 / (exp(2u) + 1): one expf, several times faster than tanhf, and exact
 * at the ends (exp overflowing to inf gives 1, underflowing to 0 gives -1). */
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f
static float gelu_tanh(float x) { return 1.0f - 2.0f / (expf(2.0f * GELU_K * (x + GELU_C * x * x * x)) + 1.0f); }
static float gelu_grad(float x, float t)
{
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
}

static int size_ok(size_t a, size_t b) { return a == 0 || b <= SIZE_MAX / sizeof(float) / a; }

int model_create(model *m, const model_shape *shape, const fp8_linear_config *cfg, uint64_t seed, char *err,
                 size_t err_len)
{
    memset(m, 0, sizeof *m);
    const size_t C = shape->context, E = shape->embed, H = shape->hidden, L = shape->layers, V = shape->vocab,
                 T = shape->max_tokens, wide = H > V ? H : V;
    if (!C || !E || !H || !V || !T || L < 1 || L > MODEL_MAX_LAYERS || V > 256 || !size_ok(C, E) ||
        !size_ok(T, C * E) || !size_ok(T, wide) || !size_ok(H, C * E > H ? C * E : H) || !size_ok(V, E)) {
        snprintf(err, err_len, "invalid model shape");
        return -1;
    }
    m->shape = *shape;
    m->linear_cfg = *cfg;
    for (size_t l = 0; l <= L; l++) {
        m->in_features[l] = l ? H : C * E;
        m->out_features[l] = l < L ? H : V;
    }

    size_t np = 0;
    m->params[np++] = (model_param){"embedding", NULL, NULL, NULL, NULL, V * E, 0};
    for (size_t l = 0; l <= L; l++) {
        m->params[np++] = (model_param){l < L ? "linear.w" : "head.w", NULL, NULL, NULL, NULL,
                                        m->out_features[l] * m->in_features[l], 1};
        m->params[np++] = (model_param){l < L ? "linear.b" : "head.b", NULL, NULL, NULL, NULL, m->out_features[l], 0};
    }
    m->param_count = np;
    int ok = 1;
    for (size_t i = 0; i < np; i++) {
        model_param *p = &m->params[i];
        p->value = calloc(p->size, sizeof(float));
        p->grad = calloc(p->size, sizeof(float));
        p->m = calloc(p->size, sizeof(float));
        p->v = calloc(p->size, sizeof(float));
        ok &= p->value && p->grad && p->m && p->v;
        m->total_params += p->size;
    }
    m->context = malloc(T * C);
    m->x0 = malloc(T * C * E * sizeof(float));
    m->dx0 = malloc(T * C * E * sizeof(float));
    m->grad_out = malloc(T * wide * sizeof(float));
    m->grad_in = malloc(T * wide * sizeof(float));
    ok &= m->context && m->x0 && m->dx0 && m->grad_out && m->grad_in;
    for (size_t l = 0; l <= L; l++) {
        m->z[l] = malloc(T * m->out_features[l] * sizeof(float));
        ok &= m->z[l] != NULL;
        if (l == L) break;
        m->tanh_u[l] = malloc(T * H * sizeof(float));
        m->a[l] = malloc(T * H * sizeof(float));
        ok &= m->tanh_u[l] && m->a[l];
    }
    if (!ok) {
        model_free(m);
        snprintf(err, err_len, "out of memory for the model");
        return -1;
    }

    /* The same seed gives the same weights whatever the recipe: N(0, 1) embeddings, N(0, 1/fan_in)
       weights (unit-variance outputs), zero biases. */
    uint64_t rng = seed;
    fill_normal(m->params[0].value, V * E, 1.0, &rng);
    for (size_t l = 0; l <= L; l++)
        fill_normal(m->params[1 + 2 * l].value, m->params[1 + 2 * l].size, 1.0 / sqrt((double)m->in_features[l]), &rng);

    /* The linears, each with its own state; the head in FP32. */
    const fp8_linear_config head_cfg = fp8_linear_config_init(FP8_LINEAR_FP32);
    for (size_t l = 0; l <= L; l++) {
        const fp8_linear_config *c = l < L ? cfg : &head_cfg;
        const size_t K = m->in_features[l], N = m->out_features[l];
        const size_t bytes = fp8_linear_state_size(c, K, N, T);
        m->linear_state[l] = bytes ? malloc(bytes) : NULL;
        const fp8_status st = m->linear_state[l] ? fp8_linear_init(&m->linear[l], m->linear_state[l], bytes, c, K, N, T)
                                                 : FP8_ERR_INVALID_ARGUMENT;
        if (st != FP8_OK) {
            snprintf(err, err_len, "fp8_linear_init (%s, %zu -> %zu): %s", fp8_linear_recipe_name(c->recipe), K, N,
                     bytes ? fp8_status_string(st) : "invalid configuration");
            model_free(m);
            return -1;
        }
        const size_t ws = fp8_linear_workspace_size(m->linear[l]);
        m->workspace_bytes = ws > m->workspace_bytes ? ws : m->workspace_bytes;
    }
    m->workspace = malloc(m->workspace_bytes ? m->workspace_bytes : 1);
    if (!m->workspace) {
        model_free(m);
        snprintf(err, err_len, "out of memory for the linears' workspace");
        return -1;
    }
    return 0;
}

void model_free(model *m)
{
    for (size_t i = 0; i < m->param_count; i++) {
        free(m->params[i].value);
        free(m->params[i].grad);
        free(m->params[i].m);
        free(m->params[i].v);
    }
    for (size_t l = 0; l <= MODEL_MAX_LAYERS; l++) {
        free(m->linear_state[l]);
        free(m->z[l]);
        if (l == MODEL_MAX_LAYERS) break;
        free(m->tanh_u[l]);
        free(m->a[l]);
    }
    free(m->workspace);
    free(m->context);
    free(m->x0);
    free(m->dx0);
    free(m->grad_out);
    free(m->grad_in);
    memset(m, 0, sizeof *m);
}

void model_zero_grad(model *m)
{
    for (size_t i = 0; i < m->param_count; i++) memset(m->params[i].grad, 0, m->params[i].size * sizeof(float));
}

static int check(model *m, fp8_status st)
{
    if (st == FP8_OK) return 1;
    m->last_status = st;
    return 0;
}

/* z[l] = linear l of its input, plus bias; GELU after every hidden layer. */
static int forward(model *m, const uint8_t *context, size_t T)
{
    const size_t C = m->shape.context, E = m->shape.embed, L = m->shape.layers;
    int ok = 1;
    memcpy(m->context, context, T * C);
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++)
            memcpy(m->x0 + (t * C + c) * E, m->params[0].value + (size_t)context[t * C + c] * E, E * sizeof(float));
    const float *in = m->x0;
    for (size_t l = 0; l <= L; l++) {
        const size_t K = m->in_features[l], N = m->out_features[l];
        const float *w = m->params[1 + 2 * l].value, *b = m->params[2 + 2 * l].value;
        float *z = m->z[l];
        ok &= check(m, fp8_linear_forward(m->linear[l], in, K, T, w, z, N, m->workspace, m->workspace_bytes));
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < N; j++) z[t * N + j] += b[j];
        if (l == L) break;
        float *t = m->tanh_u[l], *a = m->a[l];
        for (size_t i = 0; i < T * N; i++) {
            t[i] = gelu_tanh(z[i]);
            a[i] = 0.5f * z[i] * (1.0f + t[i]);
        }
        in = a;
    }
    m->tokens = T;
    return ok;
}

double model_loss(model *m, const uint8_t *context, const uint8_t *targets, size_t T, int backward)
{
    const size_t C = m->shape.context, E = m->shape.embed, L = m->shape.layers, V = m->shape.vocab;
    if (T == 0 || T > m->shape.max_tokens) return NAN;
    m->last_status = FP8_OK;
    int ok = forward(m, context, T);

    /* Softmax cross-entropy; dL/dlogits = (softmax - onehot) / T into grad_out. */
    double loss = 0.0;
    for (size_t t = 0; t < T; t++) {
        const float *z = m->z[L] + t * V;
        float zmax = z[0];
        for (size_t v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        float *g = m->grad_out + t * V;
        double sum = 0.0;
        for (size_t v = 0; v < V; v++) {
            g[v] = expf(z[v] - zmax);
            sum += g[v];
        }
        loss += log(sum) - (double)(z[targets[t]] - zmax);
        const float scale = (float)(1.0 / (sum * (double)T));
        for (size_t v = 0; v < V; v++) g[v] *= scale;
        g[targets[t]] -= 1.0f / (float)T;
    }
    loss /= (double)T;
    if (!ok || !isfinite(loss)) return NAN;
    if (!backward) return loss;

    /* Last linear first: db += column sums of dZ; the linear adds dW and writes dX; through GELU,
       dZ of the layer below = dX * GELU'(z). */
    for (size_t l = L + 1; l-- > 0;) {
        const size_t K = m->in_features[l], N = m->out_features[l];
        float *db = m->params[2 + 2 * l].grad, *dw = m->params[1 + 2 * l].grad;
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < N; j++) db[j] += m->grad_out[t * N + j];
        /* A layer that caches its FP8 input needs no X: pass NULL, so that the saving is real. */
        const float *x = fp8_linear_saved_input_bytes(m->linear[l], T) ? NULL : (l ? m->a[l - 1] : m->x0);
        float *dx = l ? m->grad_in : m->dx0;
        ok &= check(m, fp8_linear_backward(m->linear[l], x, K, m->grad_out, N, T, m->params[1 + 2 * l].value, dx, K,
                                           dw, m->workspace, m->workspace_bytes));
        if (l == 0) break;
        const float *z = m->z[l - 1], *t = m->tanh_u[l - 1];
        for (size_t i = 0; i < T * K; i++) m->grad_out[i] = m->grad_in[i] * gelu_grad(z[i], t[i]);
    }
    /* Embedding: each context slot's slice of dX0 goes back to its symbol's row. */
    float *demb = m->params[0].grad;
    for (size_t t = 0; t < T; t++)
        for (size_t c = 0; c < C; c++) {
            float *row = demb + (size_t)m->context[t * C + c] * E;
            const float *g = m->dx0 + (t * C + c) * E;
            for (size_t e = 0; e < E; e++) row[e] += g[e];
        }
    return ok ? loss : NAN;
}

void model_adamw_step(model *m, const adamw_config *cfg)
{
    m->step++;
    const double c1 = 1.0 - pow(cfg->beta1, (double)m->step), c2 = 1.0 - pow(cfg->beta2, (double)m->step);
    const float step_size = (float)(cfg->lr / c1), inv_c2 = (float)(1.0 / c2);
    for (size_t i = 0; i < m->param_count; i++) {
        model_param *p = &m->params[i];
        const float decay = p->decay ? 1.0f - cfg->lr * cfg->weight_decay : 1.0f;
        for (size_t k = 0; k < p->size; k++) {
            const float g = p->grad[k];
            p->m[k] = cfg->beta1 * p->m[k] + (1.0f - cfg->beta1) * g;
            p->v[k] = cfg->beta2 * p->v[k] + (1.0f - cfg->beta2) * g * g;
            p->value[k] = p->value[k] * decay - step_size * p->m[k] / (sqrtf(p->v[k] * inv_c2) + cfg->eps);
        }
    }
}

void model_saved_input_bytes(const model *m, size_t tokens, size_t *layer_bytes, size_t *fp32_bytes)
{
    *layer_bytes = *fp32_bytes = 0;
    for (size_t l = 0; l < m->shape.layers; l++) {
        *layer_bytes += fp8_linear_saved_input_bytes(m->linear[l], tokens);
        *fp32_bytes += sizeof(float) * tokens * m->in_features[l];
    }
}
