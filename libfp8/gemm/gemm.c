/* libfp8: the GEMM entry points and the blocked driver.
 *
 * The loops are BLIS's (Goto's): for each panel of NC rows of B and each
 * block of KC along K, B is decoded and packed once (it stays in the last
 * cache level); for each block of MC rows of A, A is decoded and packed (it
 * stays in L2); then the tile kernel runs over every MR x NR tile, streaming
 * one sliver of B from L1. KC is a multiple of the promotion segment, so a
 * segment never straddles two blocks and the kernel promotes into D itself;
 * the scales travel packed beside the operands, one row per segment.
 *
 * Threads take disjoint slabs of D, a grid of them chosen to pack the least,
 * each with its own workspace, allocated before anything is written. */
#include "fp8/gemm.h"

#include <stdlib.h>
#include <string.h>

#include "convert/reference.h"
#include "core/fpenv.h"
#include "core/internal.h"
#include "core/shape.h"
#include "gemm/gemm_kernels.h"

/* Cache blocking, in FP32 elements: KC near 512 (a B sliver of KC x NR is 32 KiB of L1, and D
 * is read and written once per KC), an A block of MC x KC within 384 KiB of L2 (192 rows, so
 * that a skinny M of 128 is one block), a B panel of KC x NC within 4 MiB. */
#define FP8_GEMM_KC_TARGET 512
#define FP8_GEMM_A_BLOCK_FLOATS (96 * 1024)
#define FP8_GEMM_B_PANEL_FLOATS (1024 * 1024)
/* Fewer multiply-adds than this per thread are not worth a thread. */
#define FP8_GEMM_MIN_WORK_PER_THREAD (1u << 21)
/* The BF16-output variant computes bands of rows in an FP32 buffer of at most this many floats. */
#define FP8_GEMM_BF16_BAND_FLOATS ((size_t)1 << 22)
#define FP8_GEMM_MAX_ACCUM_BITS 24

fp8_gemm_config fp8_gemm_config_init(void)
{
    return (fp8_gemm_config){.accum_bits = 0,
                             .promote_interval = 128,
                             .alpha = 1.0f,
                             .beta = 0.0f,
                             .accum_model = FP8_ACCUM_ALIGN_WITH_SUM,
                             .mma_k = 32};
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* ---- operands --------------------------------------------------------------------------------- */

typedef enum { OPERAND_FP8, OPERAND_BF16, OPERAND_F32 } operand_kind;

static size_t operand_elem_size(operand_kind kind) { return kind == OPERAND_FP8 ? 1 : kind == OPERAND_BF16 ? 2 : 4; }

/* A validated operand of `rows` rows of K elements. Element (r, k) has scale
 * scale_inv[(r / block_rows) * k_blocks + k / block_k] (1 when scale_inv is NULL). */
typedef struct gemm_operand {
    operand_kind kind;
    const void *data;
    size_t ld;
    const fp8_format_params *format;
    const float *scale_inv;
    size_t rows, block_rows, block_k, k_blocks;
} gemm_operand;

static bool operand_from_qmatrix(const fp8_qmatrix *q, gemm_operand *op)
{
    if (q == NULL || !fp8_format_valid(q->format) || !fp8_extent_valid(q->rows, q->cols, q->ld)) return false;
    const bool empty = q->rows == 0 || q->cols == 0;
    if (!empty && (q->data == NULL || q->scale_inv == NULL)) return false;
    *op = (gemm_operand){.kind = OPERAND_FP8,
                         .data = q->data,
                         .ld = q->ld,
                         .format = fp8_format_params_of(q->format),
                         .scale_inv = q->scale_inv,
                         .rows = q->rows,
                         .block_rows = fp8_effective_block(q->block_rows, q->rows),
                         .block_k = fp8_effective_block(q->block_cols, q->cols)};
    op->k_blocks = (q->cols + op->block_k - 1) / op->block_k;
    return true;
}

/* A BF16 or FP32 operand: no scales. */
static bool operand_unscaled(operand_kind kind, const void *data, size_t rows, size_t k, size_t ld, gemm_operand *op)
{
    if (!fp8_extent_valid(rows, k, ld) || (data == NULL && rows != 0 && k != 0)) return false;
    *op = (gemm_operand){.kind = kind, .data = data, .ld = ld, .rows = rows, .block_rows = 1, .block_k = 1};
    return true;
}

/* Asks for rows x kc elements from (row0, k0) to be brought into the cache: the rows of the next
 * sliver are fetched while this one is packed (short runs of many rows defeat the hardware
 * prefetcher). */
static void prefetch_rows(const gemm_operand *op, size_t row0, size_t rows, size_t k0, size_t kc)
{
    const size_t elem = operand_elem_size(op->kind);
    for (size_t r = row0; r < row0 + rows && r < op->rows; r++) {
        const char *p = (const char *)op->data + (r * op->ld + k0) * elem;
        for (size_t off = 0; off < kc * elem; off += 64) __builtin_prefetch(p + off);
    }
}

/* ---- the blocked product ---------------------------------------------------------------------- */

typedef struct gemm_job {
    size_t M, N, K;
    gemm_operand a, b;
    float *d; /* row m of D (m in [m_first, m_first + M)) at d + (m - m_first) * ldd */
    size_t ldd, m_first;
    float alpha, beta;
    fp8_accumulator_model accumulator;
    size_t segment, kc, mc, nc; /* segment: the promotion interval in force */
    const fp8_gemm_kernels *kernels;
    void (*tile)(const fp8_gemm_tile *);
    size_t max_threads;
    size_t row_slabs, col_slabs; /* D is cut into a grid of slabs, one per thread */
    size_t row_chunk, col_chunk; /* rows and columns per slab (the last ones may have fewer, or none) */
    float *workspace;    /* workspace_floats per slab, max_threads slabs */
    size_t workspace_floats;
} gemm_job;

/* Per-slab workspace, in floats, each part 64-byte aligned. */
typedef struct workspace_layout {
    size_t b_panel, b_scales, a_block, a_scales, codes, tile, total;
} workspace_layout;

static workspace_layout layout_of(const gemm_job *j, size_t nc)
{
    const size_t segments = (j->kc + j->segment - 1) / j->segment;
    const size_t nc_pad = round_up(nc, FP8_GEMM_NR), mc_pad = round_up(j->mc, FP8_GEMM_MR);
    workspace_layout w;
    w.b_panel = 0;
    w.b_scales = w.b_panel + round_up(j->kc * nc_pad, 16);
    w.a_block = w.b_scales + round_up(segments * nc_pad, 16);
    w.a_scales = w.a_block + round_up(j->kc * mc_pad, 16);
    w.codes = w.a_scales + round_up(segments * mc_pad, 16);
    w.tile = w.codes + round_up(FP8_GEMM_NR * j->kc * 2 + FP8_GEMM_PACK_SLACK, 64) / sizeof(float);
    w.total = w.tile + round_up(FP8_GEMM_MR * FP8_GEMM_NR, 16);
    return w;
}

/* Packs `rows` (<= width) rows of op from (row0, k0) into a sliver of kc x width, and the scale
 * rows of its segments, times `factor`: the codes are transposed first (a quarter of the bytes
 * of FP32), then decoded in one pass over the sliver. */
static void pack_sliver(const gemm_job *j, const gemm_operand *op, size_t row0, size_t rows, size_t width, size_t k0,
                        size_t kc, float factor, float *sliver, float *scales, void *codes)
{
    const size_t n = kc * width;
    prefetch_rows(op, row0 + width, width, k0, kc);
    if (op->kind == OPERAND_FP8) {
        j->kernels->pack(codes, (const uint8_t *)op->data + row0 * op->ld + k0, op->ld, rows, width, kc, 1);
        j->kernels->convert->decode_f32(sliver, codes, n, op->format);
    } else if (op->kind == OPERAND_BF16) {
        j->kernels->pack(codes, (const uint16_t *)op->data + row0 * op->ld + k0, op->ld, rows, width, kc, 2);
        const uint16_t *bf16 = codes;
        for (size_t i = 0; i < n; i++) sliver[i] = fp8_f32_from_bits((uint32_t)bf16[i] << 16);
    } else {
        j->kernels->pack(sliver, (const float *)op->data + row0 * op->ld + k0, op->ld, rows, width, kc, 4);
    }
    size_t row_block[FP8_GEMM_NR];
    for (size_t i = 0; i < rows; i++) row_block[i] = (row0 + i) / op->block_rows * op->k_blocks;
    for (size_t s0 = 0; s0 < kc; s0 += j->segment, scales += width) {
        const size_t k_block = (k0 + s0) / op->block_k;
        for (size_t i = 0; i < width; i++)
            scales[i] = i >= rows                ? 0.0f
                        : op->scale_inv == NULL ? factor
                                                : factor * op->scale_inv[row_block[i] + k_block];
    }
}

/* D[m0, m1) x [n0, n1). */
static void gemm_slab(const gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1, float *ws)
{
    const workspace_layout w = layout_of(j, min_size(j->nc, n1 - n0));
    float *tile_buffer = ws + w.tile;
    for (size_t jc = n0; jc < n1; jc += j->nc) {
        const size_t nc = min_size(j->nc, n1 - jc);
        for (size_t pc = 0; pc < j->K; pc += j->kc) {
            const size_t kc = min_size(j->kc, j->K - pc);
            const size_t segments = (kc + j->segment - 1) / j->segment;
            for (size_t js = 0; js < nc; js += FP8_GEMM_NR)
                pack_sliver(j, &j->b, jc + js, min_size(FP8_GEMM_NR, nc - js), FP8_GEMM_NR, pc, kc, 1.0f,
                            ws + w.b_panel + js * kc, ws + w.b_scales + js * segments, ws + w.codes);
            for (size_t ic = m0; ic < m1; ic += j->mc) {
                const size_t mc = min_size(j->mc, m1 - ic);
                for (size_t is = 0; is < mc; is += FP8_GEMM_MR)
                    pack_sliver(j, &j->a, ic + is, min_size(FP8_GEMM_MR, mc - is), FP8_GEMM_MR, pc, kc, j->alpha,
                                ws + w.a_block + is * kc, ws + w.a_scales + is * segments, ws + w.codes);
                for (size_t jr = 0; jr < nc; jr += FP8_GEMM_NR) {
                    for (size_t ir = 0; ir < mc; ir += FP8_GEMM_MR) {
                        fp8_gemm_tile t = {.kc = kc,
                                           .segment = j->segment,
                                           .a = ws + w.a_block + ir * kc,
                                           .b = ws + w.b_panel + jr * kc,
                                           .a_scale = ws + w.a_scales + ir * segments,
                                           .b_scale = ws + w.b_scales + jr * segments,
                                           .first = pc == 0,
                                           .beta = j->beta,
                                           .accumulator = j->accumulator};
                        float *out = j->d + (ic + ir - j->m_first) * j->ldd + jc + jr;
                        const size_t rows = min_size(FP8_GEMM_MR, mc - ir), cols = min_size(FP8_GEMM_NR, nc - jr);
                        if (rows == FP8_GEMM_MR && cols == FP8_GEMM_NR) {
                            t.d = out;
                            t.ldd = j->ldd;
                            j->tile(&t);
                            continue;
                        }
                        /* an edge tile works on a copy */
                        const bool read_d = !(t.first && j->beta == 0.0f);
                        memset(tile_buffer, 0, sizeof(float) * FP8_GEMM_MR * FP8_GEMM_NR);
                        for (size_t i = 0; i < rows && read_d; i++)
                            memcpy(tile_buffer + i * FP8_GEMM_NR, out + i * j->ldd, cols * sizeof(float));
                        t.d = tile_buffer;
                        t.ldd = FP8_GEMM_NR;
                        j->tile(&t);
                        for (size_t i = 0; i < rows; i++)
                            memcpy(out + i * j->ldd, tile_buffer + i * FP8_GEMM_NR, cols * sizeof(float));
                    }
                }
            }
        }
    }
}

/* K == 0: D = beta * D (0 when beta == 0). */
static void scale_d(const gemm_job *j, size_t m0, size_t m1, size_t n0, size_t n1)
{
    for (size_t m = m0; m < m1; m++) {
        float *row = j->d + (m - j->m_first) * j->ldd;
        for (size_t n = n0; n < n1; n++) row[n] = j->beta == 0.0f ? 0.0f : j->beta * row[n];
    }
}

/* One slab, under the default floating-point environment, which every worker thread enters for
 * itself. */
static void run_slab(const gemm_job *j, size_t c)
{
    fp8_fpenv env;
    fp8_fpenv_enter(&env);
    const size_t m0 = j->m_first + c / j->col_slabs * j->row_chunk, n0 = c % j->col_slabs * j->col_chunk;
    const size_t m1 = min_size(j->m_first + j->M, m0 + j->row_chunk), n1 = min_size(j->N, n0 + j->col_chunk);
    if (m0 >= m1 || n0 >= n1) {
        fp8_fpenv_leave(&env);
        return;
    }
    if (j->K == 0)
        scale_d(j, m0, m1, n0, n1);
    else
        gemm_slab(j, m0, m1, n0, n1, j->workspace + c * j->workspace_floats);
    fp8_fpenv_leave(&env);
}

static const fp8_gemm_kernels *active_gemm_kernels(void)
{
#if defined(FP8_HAVE_AVX2_KERNELS)
    if (fp8_cpu_isa_active() >= FP8_CPU_ISA_AVX2) return &fp8_gemm_kernels_avx2; /* AVX-512 too: no GEMM kernel of its own */
#endif
    return &fp8_gemm_kernels_scalar;
}

/* The grid of slabs: row_slabs x col_slabs <= max_threads, chosen so that each slab packs the
 * least (its rows of A plus its rows of B), and the workspace a slab needs. The columns per slab
 * are settled here, once per job (fp8_gemm_bf16 reuses the plan for bands of fewer rows); the
 * rows per slab come with each M. */
static void plan_slabs(gemm_job *j)
{
    size_t best = SIZE_MAX;
    for (size_t rs = 1; rs <= j->max_threads; rs++) {
        const size_t cs = j->max_threads / rs;
        const size_t rows = round_up((j->M + rs - 1) / rs, FP8_GEMM_MR);
        const size_t cols = round_up((j->N + cs - 1) / cs, FP8_GEMM_NR);
        if (rows + cols < best) best = rows + cols, j->row_slabs = rs, j->col_slabs = cs;
    }
    j->col_chunk = round_up((j->N + j->col_slabs - 1) / j->col_slabs, FP8_GEMM_NR);
    j->workspace_floats = j->K == 0 || j->M == 0 || j->N == 0 ? 0 : layout_of(j, min_size(j->nc, j->col_chunk)).total;
}

/* Block sizes, kernels, the most threads the work deserves, their slabs and the workspace they
 * need (workspace_floats per thread), without allocating it. */
static void plan_job(gemm_job *j)
{
    j->kernels = active_gemm_kernels();
    j->tile = j->accumulator.bits == 0 ? j->kernels->tile_f32 : j->kernels->tile_emulated;
    j->kc = j->segment >= FP8_GEMM_KC_TARGET ? j->segment : j->segment * (FP8_GEMM_KC_TARGET / j->segment);
    j->kc = min_size(j->kc, j->K == 0 ? 1 : j->K);
    j->mc = (FP8_GEMM_A_BLOCK_FLOATS / j->kc) / FP8_GEMM_MR * FP8_GEMM_MR;
    j->mc = j->mc < FP8_GEMM_MR ? FP8_GEMM_MR : j->mc;
    j->nc = (FP8_GEMM_B_PANEL_FLOATS / j->kc) / FP8_GEMM_NR * FP8_GEMM_NR;
    j->nc = j->nc < FP8_GEMM_NR ? FP8_GEMM_NR : j->nc;
    const double work = (double)j->M * (double)j->N * (double)(j->K == 0 ? 1 : j->K);
    const double by_work = work / FP8_GEMM_MIN_WORK_PER_THREAD;
    j->max_threads = fp8_num_threads();
    if ((double)j->max_threads > by_work) j->max_threads = by_work < 1.0 ? 1 : (size_t)by_work;
    j->workspace = NULL;
    plan_slabs(j);
}

/* Bytes of workspace a planned job needs on all its threads (64-byte aligned); 0 on overflow. */
static size_t planned_bytes(const gemm_job *j)
{
    size_t bytes;
    if (fp8_mul_overflows(j->workspace_floats * sizeof(float), j->max_threads, &bytes)) return 0;
    return round_up(bytes, 64) + 64; /* + room to align a caller's buffer */
}

/* Plans the job and gives it a workspace: the caller's (capping the threads to what it holds)
 * or its own. Everything that can fail, before anything is written. */
static fp8_status prepare_job(gemm_job *j, void *workspace, size_t workspace_bytes, bool *owned)
{
    plan_job(j);
    *owned = false;
    if (j->workspace_floats == 0) return FP8_OK;
    if (workspace != NULL) {
        const size_t skew = (size_t)(-(uintptr_t)workspace & 63u);
        const size_t usable = workspace_bytes > skew ? workspace_bytes - skew : 0;
        /* fewer threads, each with wider slabs, until their workspaces fit */
        while (j->max_threads > 1 && usable / (j->workspace_floats * sizeof(float)) < j->max_threads) {
            j->max_threads--;
            plan_slabs(j);
        }
        FP8_RETURN_IF(usable / (j->workspace_floats * sizeof(float)) == 0, FP8_ERR_INVALID_ARGUMENT);
        j->workspace = (float *)((unsigned char *)workspace + skew);
        return FP8_OK;
    }
    const size_t bytes = planned_bytes(j);
    FP8_RETURN_IF(bytes == 0, FP8_ERR_OUT_OF_MEMORY);
    j->workspace = aligned_alloc(64, bytes - 64);
    FP8_RETURN_IF(j->workspace == NULL, FP8_ERR_OUT_OF_MEMORY);
    *owned = true;
    return FP8_OK;
}

/* Runs the slabs, one per thread. */
static void execute_job(gemm_job *j)
{
    if (j->M == 0 || j->N == 0) return;
    j->row_chunk = round_up((j->M + j->row_slabs - 1) / j->row_slabs, FP8_GEMM_MR);
    const long slabs = (long)(j->row_slabs * j->col_slabs);
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)slabs) schedule(static) if (slabs > 1)
#endif
    for (long c = 0; c < slabs; c++) run_slab(j, (size_t)c);
}

static fp8_status run_job(gemm_job *j, void *workspace, size_t workspace_bytes)
{
    bool owned;
    FP8_FORWARD_IF_ERROR(prepare_job(j, workspace, workspace_bytes, &owned));
    execute_job(j);
    if (owned) free(j->workspace);
    return FP8_OK;
}

/* ---- the public functions --------------------------------------------------------------------- */

static bool config_valid(const fp8_gemm_config *cfg)
{
    return cfg != NULL && cfg->accum_bits <= FP8_GEMM_MAX_ACCUM_BITS &&
           (cfg->accum_model == FP8_ACCUM_ALIGN_WITH_SUM || cfg->accum_model == FP8_ACCUM_ALIGN_PRODUCTS) &&
           cfg->mma_k >= 1 && cfg->mma_k <= FP8_GEMM_MAX_MMA_K;
}

/* The job for validated operands, or false when the configuration, D or the K blocks are invalid. */
static bool job_init(gemm_job *j, const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const void *D,
                     size_t ldd)
{
    if (!config_valid(cfg) || !fp8_extent_valid(M, N, ldd) || (D == NULL && M != 0 && N != 0)) return false;
    /* the operands must cut K alike, and promotions fall on block boundaries */
    if (j->a.block_k != j->b.block_k) return false;
    if (j->a.k_blocks > 1 && (cfg->promote_interval == 0 || j->a.block_k % cfg->promote_interval != 0)) return false;
    j->M = M;
    j->N = N;
    j->K = K;
    j->d = NULL;
    j->ldd = ldd;
    j->m_first = 0;
    j->alpha = cfg->alpha;
    j->beta = cfg->beta;
    j->accumulator = (fp8_accumulator_model){cfg->accum_bits, cfg->mma_k, cfg->accum_model,
                                             j->a.kind == OPERAND_FP8 && j->b.kind == OPERAND_FP8};
    j->segment = cfg->promote_interval == 0 || cfg->promote_interval > K ? (K == 0 ? 1 : K) : cfg->promote_interval;
    return true;
}

static bool qmatrix_job(gemm_job *j, const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B,
                        const void *D, size_t ldd)
{
    if (!operand_from_qmatrix(A, &j->a) || !operand_from_qmatrix(B, &j->b) || A->cols != B->cols) return false;
    return job_init(j, cfg, A->rows, B->rows, A->cols, D, ldd);
}

fp8_status fp8_gemm_f32_ws(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B, float *D,
                           size_t ldd, void *workspace, size_t workspace_bytes)
{
    gemm_job j;
    FP8_RETURN_IF(!qmatrix_job(&j, cfg, A, B, D, ldd), FP8_ERR_INVALID_ARGUMENT);
    j.d = D;
    return run_job(&j, workspace, workspace_bytes);
}

fp8_status fp8_gemm_f32(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B, float *D, size_t ldd)
{
    return fp8_gemm_f32_ws(cfg, A, B, D, ldd, NULL, 0);
}

fp8_status fp8_bf16_gemm_f32_ws(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const uint16_t *A,
                                size_t lda, const uint16_t *B, size_t ldb, float *D, size_t ldd, void *workspace,
                                size_t workspace_bytes)
{
    gemm_job j;
    FP8_RETURN_IF(!operand_unscaled(OPERAND_BF16, A, M, K, lda, &j.a) || !operand_unscaled(OPERAND_BF16, B, N, K, ldb, &j.b),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(!job_init(&j, cfg, M, N, K, D, ldd), FP8_ERR_INVALID_ARGUMENT);
    j.d = D;
    return run_job(&j, workspace, workspace_bytes);
}

fp8_status fp8_bf16_gemm_f32(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const uint16_t *A,
                             size_t lda, const uint16_t *B, size_t ldb, float *D, size_t ldd)
{
    return fp8_bf16_gemm_f32_ws(cfg, M, N, K, A, lda, B, ldb, D, ldd, NULL, 0);
}

fp8_status fp8_f32_gemm_f32_ws(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K, const float *A, size_t lda,
                               const float *B, size_t ldb, float *D, size_t ldd, void *workspace,
                               size_t workspace_bytes)
{
    gemm_job j;
    FP8_RETURN_IF(cfg == NULL || cfg->accum_bits != 0, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(!operand_unscaled(OPERAND_F32, A, M, K, lda, &j.a) || !operand_unscaled(OPERAND_F32, B, N, K, ldb, &j.b),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(!job_init(&j, cfg, M, N, K, D, ldd), FP8_ERR_INVALID_ARGUMENT);
    j.d = D;
    return run_job(&j, workspace, workspace_bytes);
}

size_t fp8_gemm_workspace_size(const fp8_gemm_config *cfg, size_t M, size_t N, size_t K)
{
    gemm_job j;
    memset(&j, 0, sizeof j);
    j.a.block_k = j.b.block_k = 1; /* the operands' blocks do not change the workspace */
    if (!job_init(&j, cfg, M, N, K, &j, N)) return 0;
    plan_job(&j);
    return j.workspace_floats == 0 ? 0 : planned_bytes(&j);
}

/* Round to nearest even; every NaN gives the canonical 0x7FFF. */
static uint16_t bf16_from_f32(float x)
{
    const uint32_t u = fp8_f32_bits(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FFFu;
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* Bands of rows go through an FP32 buffer: D widened (exactly) for beta, the FP32 product, then
 * rounded. Each band packs B again; a band of >= 256 rows keeps that under 1/256 of the work. */
fp8_status fp8_gemm_bf16(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B, uint16_t *D,
                         size_t ldd)
{
    gemm_job j;
    FP8_RETURN_IF(!qmatrix_job(&j, cfg, A, B, D, ldd), FP8_ERR_INVALID_ARGUMENT);
    const size_t M = j.M, N = j.N;
    if (M == 0 || N == 0) return FP8_OK;
    size_t band = FP8_GEMM_BF16_BAND_FLOATS / N;
    band = min_size(band < 256 ? 256 : band, M);
    size_t floats;
    FP8_RETURN_IF(fp8_mul_overflows(band, N, &floats) || floats > SIZE_MAX / sizeof(float), FP8_ERR_OUT_OF_MEMORY);
    float *buffer = malloc(floats * sizeof(float));
    FP8_RETURN_IF(buffer == NULL, FP8_ERR_OUT_OF_MEMORY);
    j.M = band;
    j.d = buffer;
    j.ldd = N;
    bool owned;
    const fp8_status planned = prepare_job(&j, NULL, 0, &owned);
    if (planned != FP8_OK) {
        free(buffer);
        return planned;
    }
    for (size_t m0 = 0; m0 < M; m0 += band) {
        j.M = min_size(band, M - m0);
        j.m_first = m0;
        if (j.beta != 0.0f)
            for (size_t r = 0; r < j.M; r++)
                for (size_t n = 0; n < N; n++)
                    buffer[r * N + n] = fp8_f32_from_bits((uint32_t)D[(m0 + r) * ldd + n] << 16);
        execute_job(&j);
        for (size_t r = 0; r < j.M; r++)
            for (size_t n = 0; n < N; n++) D[(m0 + r) * ldd + n] = bf16_from_f32(buffer[r * N + n]);
    }
    free(j.workspace);
    free(buffer);
    return FP8_OK;
}
