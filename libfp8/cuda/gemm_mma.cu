/* libfp8: the own FP8 tensor-core GEMM (fp8_cuda_gemm_mma_f32), the
 * instrument for measuring what FP8 tensor cores do to a dot product.
 *
 * Arithmetic (fp8/gemm.h's, with the tensor core as the accumulator): K is
 * cut into segments of `segment` elements. Within a segment each warp's
 * mma.sync.m16n8k32 instructions accumulate the products in their FP32
 * accumulator registers, 32 products per instruction, in whatever order and
 * precision the hardware uses. At the end of a segment the sums are
 * promoted on CUDA cores, d = fma(sum, (alpha * sa) * sb, d) with the
 * segment's scales, and the accumulators restart at zero. d starts at
 * beta * D (+0 when beta is 0, D unread).
 *
 * Tiling: 128 x 128 outputs per 256-thread block, 8 warps of 64 x 32, K in
 * tiles of 64 bytes double-buffered in shared memory by cp.async (16-byte
 * copies where aligned and inside the matrix, byte loads with zero fill
 * elsewhere: FP8 code 0 is +0 in E4M3 and E5M2). Rows of the shared tiles
 * are 80 bytes apart so that a fragment load (8 rows x 4 threads x 4 bytes)
 * touches 32 different banks.
 *
 * Fragments of m16n8k32 with 8-bit inputs (PTX ISA, "Matrix Fragments for
 * mma.m16n8k32"), group = lane / 4, quad = lane % 4:
 *   A (16 x 32, row): reg 0: row group,     k = 4 quad .. 4 quad + 3
 *                     reg 1: row group + 8, same k;  regs 2, 3: k + 16
 *   B (32 x 8, col):  reg 0: column group,  k = 4 quad .. 4 quad + 3;  reg 1: k + 16
 *   D (16 x 8, f32):  d0, d1: row group, columns 2 quad, 2 quad + 1;  d2, d3: row group + 8
 * A and B are loaded with the same k assignment, so the dot products pair
 * the right elements whatever order the hardware adds them in. */
#include "cuda/gemm_operands.cuh"

namespace fp8_cuda {
namespace {

const unsigned kThreads = 256;
const unsigned kTileM = 128, kTileN = 128, kTileK = 64;
const unsigned kRowBytes = kTileK + 16; /* shared-memory row stride: conflict-free fragment loads */
const unsigned kWarpM = 64, kWarpN = 32, kWarpsN = kTileN / kWarpN;
const unsigned kFragsM = kWarpM / 16, kFragsN = kWarpN / 8;
const unsigned kMmaK = 32;

struct MmaArgs {
    Operand a, b;
    float *d;
    size_t ldd, M, N, K, segment;
    float alpha, beta;
    bool vec_a, vec_b; /* 16-byte copies allowed: base and leading dimension multiples of 16 */
};

__device__ inline uint32_t shared_address(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

/* Rows [r0, r0 + 128) x K [k0, k0 + 64) of an operand into a shared tile, zero outside the matrix. */
__device__ inline void load_tile(const Operand &op, size_t r0, size_t k0, bool vec, uint8_t *tile)
{
    const unsigned chunks_per_row = kTileK / 16;
    for (unsigned c = threadIdx.x; c < kTileM * chunks_per_row; c += kThreads) {
        const unsigned r = c / chunks_per_row, kc = (c % chunks_per_row) * 16;
        uint8_t *dst = tile + r * kRowBytes + kc;
        const size_t row = r0 + r, k = k0 + kc;
        const uint8_t *src = op.data + row * op.ld + k;
        if (vec && row < op.rows && k + 16 <= op.k) {
            asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(dst)), "l"(src));
        } else {
            uint32_t words[4] = {0, 0, 0, 0};
            if (row < op.rows)
                for (unsigned j = 0; j < 16 && k + j < op.k; j++) words[j / 4] |= (uint32_t)src[j] << (8 * (j % 4));
            *reinterpret_cast<uint4 *>(dst) = make_uint4(words[0], words[1], words[2], words[3]);
        }
    }
}

__device__ inline void commit_copies() { asm volatile("cp.async.commit_group;\n" ::); }
/* Waits until at most one group of copies (the prefetch of the next tile) is in flight. */
__device__ inline void wait_copies_but_one() { asm volatile("cp.async.wait_group 1;\n" ::); }

#define FP8_MMA_ASM(types)                                                                                  \
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f32." types ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "       \
                 "{%8,%9}, {%0,%1,%2,%3};\n"                                                               \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                           \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]))

/* d += a * b on the tensor cores; kE5m2A/B choose the input formats (else E4M3). */
template <bool kE5m2A, bool kE5m2B>
__device__ inline void mma(float d[4], const uint32_t a[4], const uint32_t b[2])
{
    if (!kE5m2A && !kE5m2B) FP8_MMA_ASM("e4m3.e4m3");
    if (!kE5m2A && kE5m2B) FP8_MMA_ASM("e4m3.e5m2");
    if (kE5m2A && !kE5m2B) FP8_MMA_ASM("e5m2.e4m3");
    if (kE5m2A && kE5m2B) FP8_MMA_ASM("e5m2.e5m2");
}

__device__ inline float scale_of(const Operand &op, size_t row, size_t k_block)
{
    return op.scale_inv[(row / op.block_rows) * op.k_blocks + k_block];
}

template <bool kE5m2A, bool kE5m2B>
__global__ void __launch_bounds__(kThreads) mma_gemm_kernel(MmaArgs p)
{
    __shared__ __align__(16) uint8_t tile_a[2][kTileM * kRowBytes];
    __shared__ __align__(16) uint8_t tile_b[2][kTileN * kRowBytes];
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, group = lane / 4, quad = lane % 4;
    const size_t m0 = (size_t)blockIdx.y * kTileM + (warp / kWarpsN) * kWarpM;
    const size_t n0 = (size_t)blockIdx.x * kTileN + (warp % kWarpsN) * kWarpN;
    const unsigned wm = (warp / kWarpsN) * kWarpM, wn = (warp % kWarpsN) * kWarpN; /* within the block tile */

    /* element e of fragment (i, j): row m0 + 16 i + group + 8 (e / 2), column n0 + 8 j + 2 quad + e % 2 */
    float sum[kFragsM][kFragsN][4], d[kFragsM][kFragsN][4];
#pragma unroll
    for (unsigned f = 0; f < kFragsM * kFragsN * 4; f++) {
        const unsigned i = f / (kFragsN * 4), j = f / 4 % kFragsN, e = f % 4;
        const size_t row = m0 + 16 * i + group + 8 * (e / 2), col = n0 + 8 * j + 2 * quad + e % 2;
        sum[i][j][e] = 0.0f;
        d[i][j][e] = p.beta != 0.0f && row < p.M && col < p.N ? __fmul_rn(p.beta, p.d[row * p.ldd + col]) : 0.0f;
    }

    const size_t tiles = ceil_div(p.K, kTileK);
    const size_t block_m = (size_t)blockIdx.y * kTileM, block_n = (size_t)blockIdx.x * kTileN;
    if (tiles > 0) {
        load_tile(p.a, block_m, 0, p.vec_a, tile_a[0]);
        load_tile(p.b, block_n, 0, p.vec_b, tile_b[0]);
    }
    commit_copies();
    for (size_t t = 0; t < tiles; t++) {
        if (t + 1 < tiles) {
            load_tile(p.a, block_m, (t + 1) * kTileK, p.vec_a, tile_a[(t + 1) % 2]);
            load_tile(p.b, block_n, (t + 1) * kTileK, p.vec_b, tile_b[(t + 1) % 2]);
        }
        commit_copies();
        wait_copies_but_one();
        __syncthreads();
        const uint8_t *ta = tile_a[t % 2], *tb = tile_b[t % 2];
#pragma unroll
        for (unsigned ks = 0; ks < kTileK; ks += kMmaK) {
            const size_t k_begin = t * kTileK + ks;
            if (k_begin >= p.K) break;
            uint32_t fa[kFragsM][4], fb[kFragsN][2];
#pragma unroll
            for (unsigned i = 0; i < kFragsM; i++) {
                const uint8_t *base = ta + (wm + 16 * i + group) * kRowBytes + ks + 4 * quad;
                fa[i][0] = *reinterpret_cast<const uint32_t *>(base);
                fa[i][1] = *reinterpret_cast<const uint32_t *>(base + 8 * kRowBytes);
                fa[i][2] = *reinterpret_cast<const uint32_t *>(base + 16);
                fa[i][3] = *reinterpret_cast<const uint32_t *>(base + 8 * kRowBytes + 16);
            }
#pragma unroll
            for (unsigned j = 0; j < kFragsN; j++) {
                const uint8_t *base = tb + (wn + 8 * j + group) * kRowBytes + ks + 4 * quad;
                fb[j][0] = *reinterpret_cast<const uint32_t *>(base);
                fb[j][1] = *reinterpret_cast<const uint32_t *>(base + 16);
            }
#pragma unroll
            for (unsigned i = 0; i < kFragsM; i++)
#pragma unroll
                for (unsigned j = 0; j < kFragsN; j++) mma<kE5m2A, kE5m2B>(sum[i][j], fa[i], fb[j]);

            const size_t k_end = k_begin + kMmaK;
            if (k_end % p.segment != 0 && k_end < p.K) continue;
            /* promotion: the segment lies inside one scale block of each operand */
            const size_t kb_a = k_begin / p.a.block_k, kb_b = k_begin / p.b.block_k;
            float sa[kFragsM][2], sb[kFragsN][2];
#pragma unroll
            for (unsigned i = 0; i < kFragsM; i++)
#pragma unroll
                for (unsigned h = 0; h < 2; h++) {
                    const size_t row = m0 + 16 * i + group + 8 * h;
                    sa[i][h] = row < p.M ? __fmul_rn(p.alpha, scale_of(p.a, row, kb_a)) : 0.0f;
                }
#pragma unroll
            for (unsigned j = 0; j < kFragsN; j++)
#pragma unroll
                for (unsigned c = 0; c < 2; c++) {
                    const size_t col = n0 + 8 * j + 2 * quad + c;
                    sb[j][c] = col < p.N ? scale_of(p.b, col, kb_b) : 0.0f;
                }
#pragma unroll
            for (unsigned i = 0; i < kFragsM; i++)
#pragma unroll
                for (unsigned j = 0; j < kFragsN; j++)
#pragma unroll
                    for (unsigned e = 0; e < 4; e++) {
                        d[i][j][e] = __fmaf_rn(sum[i][j][e], __fmul_rn(sa[i][e / 2], sb[j][e % 2]), d[i][j][e]);
                        sum[i][j][e] = 0.0f;
                    }
        }
        __syncthreads(); /* the next iteration's prefetch overwrites this tile */
    }

#pragma unroll
    for (unsigned f = 0; f < kFragsM * kFragsN * 4; f++) {
        const unsigned i = f / (kFragsN * 4), j = f / 4 % kFragsN, e = f % 4;
        const size_t row = m0 + 16 * i + group + 8 * (e / 2), col = n0 + 8 * j + 2 * quad + e % 2;
        if (row < p.M && col < p.N) p.d[row * p.ldd + col] = d[i][j][e];
    }
}

} // namespace
} // namespace fp8_cuda

using namespace fp8_cuda;

extern "C" fp8_status fp8_cuda_gemm_mma_f32(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B,
                                            float *D, size_t ldd, void *stream)
{
    MmaArgs p;
    FP8_FORWARD_IF_ERROR(check_tensor_core_gemm("fp8_cuda_gemm_mma_f32", cfg, A, B, D, ldd, kMmaK,
                                                "promote_interval must be a multiple of 32, one MMA's K", &p.a, &p.b,
                                                &p.segment));
    p.M = p.a.rows, p.N = p.b.rows, p.K = p.a.k;
    if (p.M == 0 || p.N == 0) return FP8_OK;
    const size_t grid_m = ceil_div(p.M, kTileM), grid_n = ceil_div(p.N, kTileN);
    if (grid_m > 65535 || grid_n > 0x7FFFFFFF)
        return fail_text(FP8_ERR_UNSUPPORTED, "fp8_cuda_gemm_mma_f32", "M above 8388480 rows");
    p.d = D;
    p.ldd = ldd;
    p.alpha = cfg->alpha;
    p.beta = cfg->beta;
    p.vec_a = aligned(p.a.data, 16) && p.a.ld % 16 == 0;
    p.vec_b = aligned(p.b.data, 16) && p.b.ld % 16 == 0;
    const dim3 grid((unsigned)grid_n, (unsigned)grid_m);
    const cudaStream_t s = stream_of(stream);
    const bool e5m2_a = p.a.format == FP8_E5M2, e5m2_b = p.b.format == FP8_E5M2;
    if (!e5m2_a && !e5m2_b) mma_gemm_kernel<false, false><<<grid, kThreads, 0, s>>>(p);
    if (!e5m2_a && e5m2_b) mma_gemm_kernel<false, true><<<grid, kThreads, 0, s>>>(p);
    if (e5m2_a && !e5m2_b) mma_gemm_kernel<true, false><<<grid, kThreads, 0, s>>>(p);
    if (e5m2_a && e5m2_b) mma_gemm_kernel<true, true><<<grid, kThreads, 0, s>>>(p);
    return launched("mma_gemm_kernel");
}
