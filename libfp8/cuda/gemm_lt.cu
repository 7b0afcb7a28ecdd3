/* libfp8: FP8 GEMM through cuBLASLt (fp8/cuda.h).
 *
 * Layout. cuBLASLt is column-major and its FP8 path on Ada and Hopper wants
 * the "TN" form (A transposed, B not). libfp8's row-major A (M x K) and
 * B (N x K) are, read column-major, K x M and K x N matrices, and row-major
 * D = A * B^T is column-major D^T = B * A^T. So cuBLASLt computes
 *     m = N, n = M, k = K;  its A = our B (stored K x N, op T),
 *     its B = our A (stored K x M, op N);  its D = our D (N x M, ld = ldd),
 * and every per-operand setting (type, scale mode, scale pointer) swaps.
 *
 * Scales are dequantization multipliers, as scale_inv is. cuBLASLt wants
 * them in its own layouts, written into the handle's scale buffer:
 *   SCALAR_32F      per tensor: scale_inv[0] as it is
 *   OUTER_VEC_32F   one per row of the operand: libfp8's [rows][1] as it is
 *                   (a per-tensor partner is broadcast to a vector)
 *   VEC128_32F      1x128 tiles, "outer-dimension major": libfp8's
 *                   [rows][L] (L = ceil(K/128)) transposed to [L][rows]
 *   BLK128x128_32F  128x128 blocks, K-major with the column stride rounded
 *                   up to a multiple of 4: [ceil(rows/128)][L] re-strided
 *                   to [ceil(rows/128)][L4], L4 = L rounded up to 4
 * VEC128 x VEC128, VEC128 x BLK128x128 and BLK128x128 x VEC128 exist (not
 * BLK x BLK), on sm_90 only, from cuBLAS 12.9, with M and N multiples of 4.
 * These layouts follow NVIDIA's documentation as gathered in
 * shared/notes/cublaslt-fp8.md; they have not yet met a GPU here.
 *
 * Each handle remembers the algorithm cuBLASLt's heuristic chose for every
 * distinct problem (shape, types, scale modes, alignment, flags) in a small
 * round-robin table, so the heuristic runs once per problem. */
#include <cublasLt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/gemm_operands.cuh"
#include "cuda/internal.cuh"

namespace fp8_cuda {
namespace {

const size_t kWorkspaceBytes = (size_t)32 << 20; /* cuBLASLt's recommendation for Hopper */
const unsigned kPlans = 16;
const int kMaxTune = 32; /* candidates the heuristic is asked for when tuning */
const int32_t kScaleNone = -1; /* no scale pointer (the dense BF16 and FP32 GEMMs) */

/* Everything the heuristic's choice depends on. */
struct PlanKey {
    int64_t m, n, k, lda, ldb, ldd;
    int32_t type_a, type_b, type_d, mode_a, mode_b, fast_accum, beta_nonzero, tune;
    uint32_t align_a, align_b, align_d;
};

struct Plan {
    PlanKey key;
    cublasLtMatmulAlgo_t algo;
    bool used;
};

} // namespace
} // namespace fp8_cuda

struct fp8_cuda_gemm {
    int device, compute_capability; /* 89, 90, ... */
    cublasLtHandle_t lt;
    void *workspace;
    float *scales; /* scales in cuBLASLt's layouts */
    size_t scales_bytes;
    fp8_cuda::Plan plans[fp8_cuda::kPlans];
    unsigned next_plan;
};

namespace fp8_cuda {
namespace {

fp8_status fail_cublas(cublasStatus_t st, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s (%s)", cublasLtGetStatusString(st), cublasLtGetStatusName(st));
    return fail_text(st == CUBLAS_STATUS_NOT_SUPPORTED || st == CUBLAS_STATUS_ARCH_MISMATCH ? FP8_ERR_UNSUPPORTED
                                                                                          : FP8_ERR_CUDA,
                     what, detail);
}

#define FP8_CUBLAS_TRY(call)                                              \
    do {                                                                  \
        const cublasStatus_t fp8_cublas_st_ = (call);                     \
        if (fp8_cublas_st_ != CUBLAS_STATUS_SUCCESS) return fail_cublas(fp8_cublas_st_, #call); \
    } while (0)

fp8_status unsupported(const char *why) { return fail_text(FP8_ERR_UNSUPPORTED, "fp8_cuda_gemm", why); }

/* ---- scale layouts ---- */

enum ScaleKind { KIND_TENSOR, KIND_ROW, KIND_TILE128, KIND_BLOCK128, KIND_OTHER };

ScaleKind kind_of(const Operand &op)
{
    const size_t row_blocks = ceil_div(op.rows, op.block_rows);
    if (row_blocks == 1 && op.k_blocks == 1) return KIND_TENSOR;
    if (op.block_rows == 1 && op.k_blocks == 1) return KIND_ROW;
    if (op.block_rows == 1 && op.block_k == 128) return KIND_TILE128;
    if (op.block_rows == 128 && op.block_k == 128) return KIND_BLOCK128;
    return KIND_OTHER;
}

enum Relayout { RELAYOUT_BROADCAST, RELAYOUT_COPY, RELAYOUT_TRANSPOSE, RELAYOUT_PAD_K };

/* dst (n floats) from src, the libfp8 layout [rows][cols]:
 *   BROADCAST  dst[i] = src[0]                 (a per-tensor partner of OUTER_VEC)
 *   COPY       dst[i] = src[i]                 (OUTER_VEC: one per row)
 *   TRANSPOSE  dst[c * rows + r] = src[r][c]   (VEC128: outer-dimension major)
 *   PAD_K      dst[r * padded + c] = src[r][c], 0 beyond cols (BLK128x128: K-major, stride padded) */
__global__ void relayout_kernel(float *dst, const float *src, size_t n, size_t rows, size_t cols, size_t padded,
                                Relayout how)
{
    for (size_t i = grid_first(); i < n; i += grid_stride()) {
        float v;
        if (how == RELAYOUT_BROADCAST) {
            v = src[0];
        } else if (how == RELAYOUT_COPY) {
            v = src[i];
        } else if (how == RELAYOUT_TRANSPOSE) {
            const size_t c = i / rows, r = i - c * rows;
            v = src[r * cols + c];
        } else {
            const size_t r = i / padded, c = i - r * padded;
            v = c < cols ? src[r * cols + c] : 0.0f;
        }
        dst[i] = v;
    }
}

/* One operand as cuBLASLt sees it. */
struct LtOperand {
    const void *data;
    cudaDataType_t type; /* FP8, BF16 or FP32 */
    uint64_t rows, cols; /* stored column-major: K x (our rows) */
    int64_t ld;
    int32_t mode;        /* cublasLtMatmulMatrixScale_t, or kScaleNone */
    const float *scale;  /* device pointer handed to cuBLASLt */
    /* relayout into the scale buffer (mode != SCALAR) */
    Relayout relayout;
    size_t scale_count, src_rows, src_cols, padded;
};

/* Our rows x K operand, stored K x rows column-major for cuBLASLt. */
LtOperand lt_operand(const void *data, cudaDataType_t type, size_t k, size_t rows, size_t ld, int32_t mode,
                     const float *scale)
{
    LtOperand op;
    memset(&op, 0, sizeof op);
    op.data = data;
    op.type = type;
    op.rows = k;
    op.cols = rows;
    op.ld = (int64_t)ld;
    op.mode = mode;
    op.scale = scale;
    return op;
}

cudaDataType_t lt_type(fp8_format f) { return f == FP8_E5M2 ? CUDA_R_8F_E5M2 : CUDA_R_8F_E4M3; }

size_t bytes_of(cudaDataType_t type) { return type == CUDA_R_32F ? 4 : type == CUDA_R_16BF ? 2 : 1; }

/* The largest power of two up to 256 dividing both the address and the row stride in bytes. */
uint32_t alignment_of(const void *p, size_t ld_bytes)
{
    const uintptr_t v = (uintptr_t)p | ld_bytes | 256;
    return (uint32_t)(v & (~v + 1));
}

/* Chooses the scale modes of cuBLASLt's operands a (our B) and b (our A). */
fp8_status choose_modes(const fp8_cuda_gemm *h, const Operand &a, const Operand &b, bool fast_accum, LtOperand *la,
                        LtOperand *lb)
{
    const ScaleKind ka = kind_of(a), kb = kind_of(b);
    if (ka == KIND_TENSOR && kb == KIND_TENSOR) {
        la->mode = lb->mode = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
        return FP8_OK;
    }
    if (h->compute_capability != 90)
        return unsupported("scales other than per tensor need an sm_90 GPU for cuBLASLt (use fp8_cuda_gemm_mma_f32)");
    const bool row_like_a = ka == KIND_TENSOR || ka == KIND_ROW, row_like_b = kb == KIND_TENSOR || kb == KIND_ROW;
    if (row_like_a && row_like_b) {
        la->mode = lb->mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
        la->relayout = ka == KIND_TENSOR ? RELAYOUT_BROADCAST : RELAYOUT_COPY;
        lb->relayout = kb == KIND_TENSOR ? RELAYOUT_BROADCAST : RELAYOUT_COPY;
        la->scale_count = a.rows;
        lb->scale_count = b.rows;
        return FP8_OK;
    }
    const bool fine_a = ka == KIND_TILE128 || ka == KIND_BLOCK128, fine_b = kb == KIND_TILE128 || kb == KIND_BLOCK128;
    if (!fine_a || !fine_b || (ka == KIND_BLOCK128 && kb == KIND_BLOCK128))
        return unsupported("cuBLASLt takes per-tensor, per-row, or 1x128 with 128x128 scales (not 128x128 on both)");
    if (cublasLtGetVersion() < 120900) return unsupported("1x128 and 128x128 scales need cuBLAS 12.9 or newer");
    if (a.rows % 4 != 0 || b.rows % 4 != 0) return unsupported("1x128 and 128x128 scales need M and N multiples of 4");
    /* partial K blocks are not documented for these modes: keep to whole ones */
    if (a.k % 128 != 0) return unsupported("1x128 and 128x128 scales need K a multiple of 128 here");
    if (fast_accum) return unsupported("fast accumulation is not available with 1x128 and 128x128 scales");
    const Operand *ops[2] = {&a, &b};
    LtOperand *lts[2] = {la, lb};
    for (int i = 0; i < 2; i++) {
        const Operand &op = *ops[i];
        LtOperand *lt = lts[i];
        lt->src_rows = ceil_div(op.rows, op.block_rows);
        lt->src_cols = op.k_blocks;
        if (kind_of(op) == KIND_TILE128) {
            lt->mode = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
            lt->relayout = RELAYOUT_TRANSPOSE;
            lt->scale_count = lt->src_rows * lt->src_cols;
        } else {
            lt->mode = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
            lt->relayout = RELAYOUT_PAD_K;
            lt->padded = (lt->src_cols + 3) / 4 * 4;
            lt->scale_count = lt->src_rows * lt->padded;
        }
    }
    return FP8_OK;
}

/* Room for n floats in the handle's scale buffer; growing it waits for the device. */
fp8_status reserve_scales(fp8_cuda_gemm *h, size_t n)
{
    const size_t bytes = n * sizeof(float);
    if (bytes <= h->scales_bytes) return FP8_OK;
    FP8_CUDA_TRY(cudaDeviceSynchronize());
    FP8_CUDA_TRY(cudaFree(h->scales));
    h->scales = NULL;
    h->scales_bytes = 0;
    FP8_CUDA_TRY(cudaMalloc((void **)&h->scales, bytes));
    h->scales_bytes = bytes;
    return FP8_OK;
}

/* Writes the scales of the operands that need a new layout into the buffer
 * (each part 16-byte aligned) and points their LtOperand at them. */
fp8_status stage_scales(fp8_cuda_gemm *h, LtOperand *ops[2], const float *src[2], cudaStream_t s)
{
    size_t offsets[2], total = 0;
    for (int i = 0; i < 2; i++) {
        offsets[i] = total;
        if (ops[i]->mode != CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F && ops[i]->mode != kScaleNone)
            total += (ops[i]->scale_count + 3) / 4 * 4;
    }
    if (total == 0) return FP8_OK;
    FP8_FORWARD_IF_ERROR(reserve_scales(h, total));
    for (int i = 0; i < 2; i++) {
        LtOperand *op = ops[i];
        if (op->mode == CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F || op->mode == kScaleNone) continue;
        float *dst = h->scales + offsets[i];
        relayout_kernel<<<grid_for(op->scale_count, 256), 256, 0, s>>>(dst, src[i], op->scale_count, op->src_rows,
                                                                       op->src_cols, op->padded, op->relayout);
        FP8_FORWARD_IF_ERROR(launched("relayout_kernel"));
        op->scale = dst;
    }
    return FP8_OK;
}

/* RAII for the per-call cuBLASLt descriptors (host objects; the matmul is
 * enqueued by the time they go). */
struct Descriptors {
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t a = NULL, b = NULL, d = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    ~Descriptors()
    {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (d) cublasLtMatrixLayoutDestroy(d);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (op) cublasLtMatmulDescDestroy(op);
    }
};

template <typename T>
cublasStatus_t set_attribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, T value)
{
    return cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof value);
}

template <typename T>
cublasStatus_t set_preference(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, T value)
{
    return cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof value);
}

/* One matmul's data: what cublasLtMatmul takes besides the descriptors and the algorithm. */
struct MatmulData {
    const float *alpha, *beta;
    const void *a, *b;
    void *d;
    cudaStream_t stream;
};

cublasStatus_t matmul(fp8_cuda_gemm *h, const Descriptors &d, const MatmulData &m, const cublasLtMatmulAlgo_t *algo)
{
    return cublasLtMatmul(h->lt, d.op, m.alpha, m.a, d.a, m.b, d.b, m.beta, m.d, d.d, m.d, d.d, algo, h->workspace,
                          kWorkspaceBytes, m.stream);
}

/* Milliseconds of the best of three runs of one candidate (after a warm-up),
 * or a negative value when it fails to run. */
float time_candidate(fp8_cuda_gemm *h, const Descriptors &d, const MatmulData &m, const cublasLtMatmulAlgo_t *algo,
                     cudaEvent_t start, cudaEvent_t stop)
{
    if (matmul(h, d, m, algo) != CUBLAS_STATUS_SUCCESS) return -1.0f;
    float best = -1.0f;
    for (int r = 0; r < 3; r++) {
        float ms = 0.0f;
        if (cudaEventRecord(start, m.stream) != cudaSuccess || matmul(h, d, m, algo) != CUBLAS_STATUS_SUCCESS ||
            cudaEventRecord(stop, m.stream) != cudaSuccess || cudaEventSynchronize(stop) != cudaSuccess ||
            cudaEventElapsedTime(&ms, start, stop) != cudaSuccess)
            return -1.0f;
        if (best < 0.0f || ms < best) best = ms;
    }
    return best;
}

/* The fastest of the heuristic's candidates, timed on this call's data (the
 * caller made sure beta is 0: the trial runs only write D). */
fp8_status fastest_candidate(fp8_cuda_gemm *h, const Descriptors &d, const MatmulData &m,
                             const cublasLtMatmulHeuristicResult_t *results, int found, cublasLtMatmulAlgo_t *algo)
{
    cudaEvent_t start = NULL, stop = NULL;
    cudaError_t e = cudaEventCreate(&start);
    if (e == cudaSuccess) e = cudaEventCreate(&stop);
    float best = -1.0f;
    for (int i = 0; i < found && e == cudaSuccess; i++) {
        const float ms = time_candidate(h, d, m, &results[i].algo, start, stop);
        if (ms >= 0.0f && (best < 0.0f || ms < best)) best = ms, *algo = results[i].algo;
    }
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (e != cudaSuccess) return fail(e, "fp8_cuda_gemm (tuning)");
    if (best < 0.0f) *algo = results[0].algo; /* none ran alone: let the real call report why */
    cudaGetLastError(); /* a candidate's failure is not the call's */
    return FP8_OK;
}

/* The cached algorithm for key, or a new one: the heuristic's first choice,
 * or (key.tune > 1) the fastest of its first key.tune candidates. */
fp8_status plan_for(fp8_cuda_gemm *h, const PlanKey &key, const Descriptors &d, const MatmulData &m,
                    cublasLtMatmulAlgo_t *algo)
{
    for (unsigned i = 0; i < kPlans; i++)
        if (h->plans[i].used && memcmp(&h->plans[i].key, &key, sizeof key) == 0) {
            *algo = h->plans[i].algo;
            return FP8_OK;
        }
    cublasLtMatmulHeuristicResult_t results[kMaxTune];
    int found = 0;
    const int wanted = key.tune > 1 ? key.tune : 1;
    FP8_CUBLAS_TRY(cublasLtMatmulAlgoGetHeuristic(h->lt, d.op, d.a, d.b, d.d, d.d, d.pref, wanted, results, &found));
    if (found == 0) return unsupported("cuBLASLt has no algorithm for this problem on this GPU");
    *algo = results[0].algo;
    if (found > 1) FP8_FORWARD_IF_ERROR(fastest_candidate(h, d, m, results, found, algo));
    Plan &p = h->plans[h->next_plan];
    h->next_plan = (h->next_plan + 1) % kPlans;
    p.key = key;
    p.algo = *algo;
    p.used = true;
    return FP8_OK;
}

/* D (type_d) = alpha * op(la) * op(lb) + beta * D in cuBLASLt's terms (la = our B, lb = our A). */
fp8_status run_matmul(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, LtOperand &la, LtOperand &lb, size_t M,
                      size_t N, size_t K, void *D, size_t ldd, cudaDataType_t type_d, size_t d_elem, cudaStream_t s)
{
    const size_t lda_bytes = (size_t)la.ld * bytes_of(la.type), ldb_bytes = (size_t)lb.ld * bytes_of(lb.type);
    if (!aligned(la.data, 16) || !aligned(lb.data, 16) || !aligned(D, 16) || lda_bytes % 16 != 0 ||
        ldb_bytes % 16 != 0 || ldd * d_elem % 16 != 0)
        return unsupported("cuBLASLt needs data, D and their leading dimensions (in bytes) to be multiples of 16");
    FP8_RETURN_IF(M > INT64_MAX || N > INT64_MAX || K > INT64_MAX || ldd > INT64_MAX, FP8_ERR_UNSUPPORTED);
    int current = -1;
    FP8_CUDA_TRY(cudaGetDevice(&current));
    if (current != h->device) {
        fail_text(FP8_ERR_INVALID_ARGUMENT, "fp8_cuda_gemm", "the handle belongs to another device");
        return FP8_ERR_INVALID_ARGUMENT;
    }

    LtOperand *ops[2] = {&la, &lb};
    const float *src[2] = {la.scale, lb.scale};
    FP8_FORWARD_IF_ERROR(stage_scales(h, ops, src, s));

    Descriptors d;
    FP8_CUBLAS_TRY(cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    FP8_CUBLAS_TRY(set_attribute<int32_t>(d.op, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T));
    FP8_CUBLAS_TRY(set_attribute<int32_t>(d.op, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N));
    if (la.mode != kScaleNone) {
        if (la.mode != CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F) {
            FP8_CUBLAS_TRY(set_attribute<int32_t>(d.op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, la.mode));
            FP8_CUBLAS_TRY(set_attribute<int32_t>(d.op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, lb.mode));
        }
        FP8_CUBLAS_TRY(set_attribute<const void *>(d.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, la.scale));
        FP8_CUBLAS_TRY(set_attribute<const void *>(d.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, lb.scale));
        FP8_CUBLAS_TRY(set_attribute<int8_t>(d.op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, (int8_t)cfg->fast_accum));
    }
    FP8_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&d.a, la.type, la.rows, la.cols, la.ld));
    FP8_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&d.b, lb.type, lb.rows, lb.cols, lb.ld));
    FP8_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&d.d, type_d, N, M, (int64_t)ldd));

    PlanKey key;
    memset(&key, 0, sizeof key); /* padding too: keys are compared with memcmp */
    key.m = (int64_t)N, key.n = (int64_t)M, key.k = (int64_t)K;
    key.lda = la.ld, key.ldb = lb.ld, key.ldd = (int64_t)ldd;
    key.type_a = la.type, key.type_b = lb.type, key.type_d = type_d;
    key.mode_a = la.mode, key.mode_b = lb.mode;
    key.fast_accum = cfg->fast_accum, key.beta_nonzero = cfg->beta != 0.0f;
    key.tune = cfg->beta == 0.0f && cfg->tune > 1 ? cfg->tune : 0; /* with beta != 0 a trial run would change D */
    key.align_a = alignment_of(la.data, lda_bytes), key.align_b = alignment_of(lb.data, ldb_bytes);
    key.align_d = alignment_of(D, ldd * d_elem);
    FP8_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&d.pref));
    FP8_CUBLAS_TRY(set_preference<uint64_t>(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, kWorkspaceBytes));
    FP8_CUBLAS_TRY(set_preference<uint32_t>(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_a));
    FP8_CUBLAS_TRY(set_preference<uint32_t>(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_b));
    FP8_CUBLAS_TRY(set_preference<uint32_t>(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_d));
    FP8_CUBLAS_TRY(set_preference<uint32_t>(d.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_d));

    const MatmulData m = {&cfg->alpha, &cfg->beta, la.data, lb.data, D, s};
    cublasLtMatmulAlgo_t algo;
    FP8_FORWARD_IF_ERROR(plan_for(h, key, d, m, &algo));
    FP8_CUBLAS_TRY(matmul(h, d, m, &algo));
    return FP8_OK;
}

/* An FP8 GEMM: the quantized operands checked and put in cuBLASLt's roles, then the matmul. */
fp8_status fp8_gemm(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B,
                    void *D, size_t ldd, cudaDataType_t type_d, size_t d_elem, cudaStream_t s)
{
    FP8_RETURN_IF(h == NULL || cfg == NULL || (cfg->fast_accum != 0 && cfg->fast_accum != 1) || cfg->tune < 0 ||
                      cfg->tune > kMaxTune,
                  FP8_ERR_INVALID_ARGUMENT);
    Operand a, b;
    FP8_FORWARD_IF_ERROR(check_gemm_operands(A, B, D, ldd, &a, &b));
    const size_t M = a.rows, N = b.rows, K = a.k;
    if (M == 0 || N == 0) return FP8_OK;
    if (K == 0) return unsupported("K = 0");
    if ((a.format != FP8_E4M3 && a.format != FP8_E5M2) || (b.format != FP8_E4M3 && b.format != FP8_E5M2))
        return unsupported("cuBLASLt's FP8 GEMM takes E4M3 and E5M2 only");
    if (a.format == FP8_E5M2 && b.format == FP8_E5M2) return unsupported("cuBLASLt has no E5M2 x E5M2 GEMM");
    LtOperand la = lt_operand(b.data, lt_type(b.format), K, N, b.ld, 0, b.scale_inv);
    LtOperand lb = lt_operand(a.data, lt_type(a.format), K, M, a.ld, 0, a.scale_inv);
    FP8_FORWARD_IF_ERROR(choose_modes(h, b, a, cfg->fast_accum != 0, &la, &lb));
    return run_matmul(h, cfg, la, lb, M, N, K, D, ldd, type_d, d_elem, s);
}

} // namespace

fp8_status dense_gemm(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, size_t M, size_t N, size_t K,
                      cudaDataType_t ab, const void *A, size_t lda, const void *B, size_t ldb, cudaDataType_t d,
                      void *D, size_t ldd, cudaStream_t s)
{
    if (M == 0 || N == 0) return FP8_OK;
    if (K == 0) return unsupported("K = 0");
    LtOperand la = lt_operand(B, ab, K, N, ldb, kScaleNone, NULL);
    LtOperand lb = lt_operand(A, ab, K, M, lda, kScaleNone, NULL);
    return run_matmul(h, cfg, la, lb, M, N, K, D, ldd, d, bytes_of(d), s);
}
} // namespace fp8_cuda

using namespace fp8_cuda;

extern "C" {

fp8_cuda_gemm_config fp8_cuda_gemm_config_init(void)
{
    fp8_cuda_gemm_config c;
    c.alpha = 1.0f;
    c.beta = 0.0f;
    c.fast_accum = 0;
    c.tune = 0;
    return c;
}

fp8_status fp8_cuda_gemm_create(fp8_cuda_gemm **handle)
{
    FP8_RETURN_IF(handle == NULL, FP8_ERR_INVALID_ARGUMENT);
    *handle = NULL;
    fp8_cuda_gemm *h = static_cast<fp8_cuda_gemm *>(calloc(1, sizeof *h));
    FP8_RETURN_IF(h == NULL, FP8_ERR_OUT_OF_MEMORY);
    int major = 0, minor = 0;
    cudaError_t e = cudaGetDevice(&h->device);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, h->device);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, h->device);
    if (e == cudaSuccess) e = cudaMalloc(&h->workspace, kWorkspaceBytes);
    if (e != cudaSuccess) {
        free(h);
        return fail(e, "fp8_cuda_gemm_create");
    }
    h->compute_capability = major * 10 + minor;
    const cublasStatus_t st = cublasLtCreate(&h->lt);
    if (st != CUBLAS_STATUS_SUCCESS) {
        cudaFree(h->workspace);
        free(h);
        return fail_cublas(st, "cublasLtCreate");
    }
    *handle = h;
    return FP8_OK;
}

void fp8_cuda_gemm_destroy(fp8_cuda_gemm *h)
{
    if (h == NULL) return;
    int current = 0;
    const bool switched = cudaGetDevice(&current) == cudaSuccess && current != h->device &&
                          cudaSetDevice(h->device) == cudaSuccess;
    cudaDeviceSynchronize();
    cublasLtDestroy(h->lt);
    cudaFree(h->workspace);
    cudaFree(h->scales);
    if (switched) cudaSetDevice(current);
    free(h);
}

fp8_status fp8_cuda_gemm_f32(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, const fp8_qmatrix *A,
                             const fp8_qmatrix *B, float *D, size_t ldd, void *stream)
{
    return fp8_gemm(h, cfg, A, B, D, ldd, CUDA_R_32F, sizeof *D, stream_of(stream));
}

fp8_status fp8_cuda_gemm_bf16(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, const fp8_qmatrix *A,
                              const fp8_qmatrix *B, uint16_t *D, size_t ldd, void *stream)
{
    return fp8_gemm(h, cfg, A, B, D, ldd, CUDA_R_16BF, sizeof *D, stream_of(stream));
}

fp8_status fp8_cuda_bf16_gemm(fp8_cuda_gemm *h, const fp8_cuda_gemm_config *cfg, size_t M, size_t N, size_t K,
                              const uint16_t *A, size_t lda, const uint16_t *B, size_t ldb, uint16_t *D, size_t ldd,
                              void *stream)
{
    FP8_RETURN_IF(h == NULL || cfg == NULL || cfg->fast_accum != 0 || cfg->tune < 0 || cfg->tune > kMaxTune,
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(!fp8_extent_valid(M, K, lda) || !fp8_extent_valid(N, K, ldb) || !fp8_extent_valid(M, N, ldd),
                  FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(M != 0 && N != 0 && (D == NULL || (K != 0 && (A == NULL || B == NULL))), FP8_ERR_INVALID_ARGUMENT);
    return dense_gemm(h, cfg, M, N, K, CUDA_R_16BF, A, lda, B, ldb, CUDA_R_16BF, D, ldd, stream_of(stream));
}

} // extern "C"
