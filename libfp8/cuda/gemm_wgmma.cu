/* libfp8: the own FP8 GEMM for Hopper (fp8_cuda_gemm_wgmma_f32), the
 * arithmetic of fp8_cuda_gemm_mma_f32 at the speed of warpgroup MMAs.
 *
 * Arithmetic: K is cut into segments of `segment` elements, a multiple of
 * 128 (one pipeline stage). Within a segment wgmma.mma_async accumulates the
 * products in FP32 registers, 32 per instruction, in the hardware's own order
 * and precision. At the end of a segment the sums are promoted on CUDA cores,
 * d = fma(sum, (alpha * sa) * sb, d) with the segment's scales, and the next
 * segment's first wgmma overwrites the sums (scale-d = 0). d starts at
 * beta * D (+0 when beta is 0, D unread).
 *
 * Kernel (sm_90a only; the sm_89 build compiles an empty body), one CTA per
 * 128 x 128 tile of D, 384 threads in three warpgroups:
 *   warpgroup 0, producer: gives registers back (setmaxnreg.dec) and one
 *     thread loads K stages of 128 bytes of A and B rows (16 KiB each) with
 *     TMA into a ring of kStages stages. A stage's "full" mbarrier completes
 *     when both tiles have landed (arrive.expect_tx + complete_tx bytes), its
 *     "empty" mbarrier when the 8 consumer warps have released it.
 *   warpgroups 1 and 2, consumers: rows 0-63 and 64-127 of the tile, with
 *     more registers (setmaxnreg.inc). Per stage: wait until full, 4 x
 *     wgmma.m64n128k32 (the descriptors' start addresses advanced by 32
 *     bytes), commit, wait, release the stage, promote at a segment's end.
 * CTAs are numbered in groups of kGroupM tile rows, so CTAs running together
 * share tiles of B (and of A) in L2.
 *
 * Shared memory, each tile 1024-byte aligned (the swizzle pattern repeats
 * every 8 rows of 128 bytes and is computed from address bits):
 *   | A stage 0 | ... | A stage S-1 | B stage 0 | ... | B stage S-1 | full[S] | empty[S] |
 * TMA's 128-byte swizzle stores row r of a tile at r * 128 with its 16-byte
 * chunk c at chunk c ^ (r % 8); the wgmma descriptors name the same swizzle,
 * so the hardware undoes it.
 *
 * Accumulator fragment of m64nNk32 with FP32 D (PTX ISA, "Register
 * Fragments", wgmma-64N32-D; CUTLASS's CLayout_64xN says the same), for
 * thread t of the warpgroup and register i of N/2:
 *   row = 16 (t / 32) + (t % 32) / 4 + 8 ((i / 2) % 2)
 *   col = 8 (i / 4) + 2 (t % 4) + i % 2 */
#include <cuda.h>         /* CUtensorMap and its enums: types only, libcuda is not linked */
#include <cudaTypedefs.h> /* PFN_cuTensorMapEncodeTiled_v12000 */
#include <stdio.h>
#include <string.h>

#include "cuda/gemm_operands.cuh"

namespace fp8_cuda {
namespace {

const unsigned kBlockM = 128, kBlockN = 128;
const unsigned kBlockK = 128; /* bytes of K per stage: one row of the 128-byte swizzle */
const unsigned kStages = 6;
const unsigned kConsumers = 2; /* warpgroups, kBlockM / 64 */
const unsigned kThreads = 128 * (1 + kConsumers);
const unsigned kTileBytes = kBlockM * kBlockK; /* A and B tiles alike: kBlockN == kBlockM */
const unsigned kStageBytes = 2 * kTileBytes;
const unsigned kSwizzleAtom = 1024; /* 8 rows of 128 bytes */
const unsigned kSmemBytes = kSwizzleAtom /* alignment slack */ + kStages * kStageBytes + 2 * kStages * 8;
/* Registers per thread after setmaxnreg: 128 x 40 + 256 x 232 = 64512 of the 65536 that one
 * CTA of 384 threads at 168 each holds (the pool setmaxnreg draws on is the CTA's; launch()
 * refuses a build that gave the kernel fewer, where the consumers' setmaxnreg would wait forever). */
#define FP8_WGMMA_PRODUCER_REGS 40
#define FP8_WGMMA_CONSUMER_REGS 232
#define FP8_WGMMA_STRING(x) FP8_WGMMA_STRING_(x)
#define FP8_WGMMA_STRING_(x) #x

struct WgmmaArgs {
    Operand a, b; /* the scales; the codes are read through the tensor maps */
    float *d;
    size_t ldd, M, N, K, segment;
    float alpha, beta;
    unsigned tiles_m, tiles_n;
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

const unsigned kWgmmaK = 32;
const unsigned kConsumerWarps = 4 * kConsumers;
const unsigned kAccumulators = kBlockN / 2; /* FP32 registers per thread of one m64n128 wgmma */
const unsigned kGroupM = 8;                 /* tile rows per rasterization group */

__device__ inline uint32_t shared_address(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

/* ---- mbarriers (PTX ISA "Parallel Synchronization and Communication Instructions: mbarrier") ---- */
__device__ inline void barrier_init(uint64_t *bar, unsigned arrivals)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)), "r"(arrivals) : "memory");
}
__device__ inline void barrier_arrive(uint64_t *bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(shared_address(bar)) : "memory");
}
/* Arrives and adds `bytes` to the transactions the current phase waits for. */
__device__ inline void barrier_arrive_expect_bytes(uint64_t *bar, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_address(bar)), "r"(bytes)
                 : "memory");
}
/* Returns once the phase of parity `parity` has completed (try_wait.parity: acquire, CTA scope). */
__device__ inline void barrier_wait(uint64_t *bar, unsigned parity)
{
    uint32_t done = 0;
    do {
        asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done)
                     : "r"(shared_address(bar)), "r"(parity)
                     : "memory");
    } while (!done);
}

/* ---- TMA: a box of 128 bytes of K x 128 rows at (k, row), out-of-bounds bytes zero ---- */
__device__ inline void load_tile(uint8_t *dst, const CUtensorMap *map, uint64_t *full, int k, int row)
{
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], "
                 "[%4];\n" ::"r"(shared_address(dst)),
                 "l"(reinterpret_cast<uint64_t>(map)), "r"(k), "r"(row), "r"(shared_address(full))
                 : "memory");
}

/* ---- wgmma ---- */

/* Matrix descriptor of a K-major tile with the 128-byte swizzle (PTX ISA, "Matrix Descriptor Format"):
 *   bits  0-13  start address >> 4
 *   bits 16-29  leading byte offset >> 4: unused when one wgmma's 32 bytes of K lie within the
 *               128-byte swizzle row; 1 as CUTLASS sets it
 *   bits 32-45  stride byte offset >> 4: 1024 bytes from one group of 8 rows to the next
 *   bits 49-51  base offset: 0, the tiles start on 1024-byte boundaries
 *   bits 62-63  swizzle mode: 1 = 128-byte */
__device__ inline uint64_t tile_descriptor(const uint8_t *tile)
{
    return (uint64_t)((shared_address(tile) & 0x3FFFF) >> 4) | (uint64_t)1 << 16 | (uint64_t)(kSwizzleAtom >> 4) << 32 |
           (uint64_t)1 << 62;
}

/* Orders the compiler's uses of the accumulators against the asynchronous wgmma (which the
 * compiler cannot see): each register is "changed" here, after the fence or wait before it. */
__device__ inline void pin_accumulators(float (&acc)[kAccumulators])
{
#pragma unroll
    for (unsigned i = 0; i < kAccumulators; i++) asm volatile("" : "+f"(acc[i])::"memory");
}

#define FP8_ACC8(i)                                                                                                 \
    "+f"(acc[i]), "+f"(acc[i + 1]), "+f"(acc[i + 2]), "+f"(acc[i + 3]), "+f"(acc[i + 4]), "+f"(acc[i + 5]),          \
        "+f"(acc[i + 6]), "+f"(acc[i + 7])
#define FP8_WGMMA_ASM(types)                                                                                        \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"                                                        \
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32." types " "                                           \
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, "  \
                 "%21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, "    \
                 "%40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, "    \
                 "%59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"                                                 \
                 : FP8_ACC8(0), FP8_ACC8(8), FP8_ACC8(16), FP8_ACC8(24), FP8_ACC8(32), FP8_ACC8(40), FP8_ACC8(48),   \
                   FP8_ACC8(56)                                                                                      \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate))

/* acc = A B^T (+ acc when `accumulate`) for 64 rows of A and 128 of B, 32 bytes of K, both K-major
 * in shared memory; the operand scales (imm-scale-a, -b) are 1. kE5m2A/B choose the formats. */
template <bool kE5m2A, bool kE5m2B>
__device__ inline void wgmma(float (&acc)[kAccumulators], uint64_t desc_a, uint64_t desc_b, uint32_t accumulate)
{
    if (!kE5m2A && !kE5m2B) FP8_WGMMA_ASM("e4m3.e4m3");
    if (!kE5m2A && kE5m2B) FP8_WGMMA_ASM("e4m3.e5m2");
    if (kE5m2A && !kE5m2B) FP8_WGMMA_ASM("e5m2.e4m3");
    if (kE5m2A && kE5m2B) FP8_WGMMA_ASM("e5m2.e5m2");
}

/* The scales of `row` (< op.rows < 2^31: 32-bit division), one per K block. */
__device__ inline const float *scales_of_row(const Operand &op, size_t row)
{
    return op.scale_inv + (size_t)((unsigned)row / (unsigned)op.block_rows) * op.k_blocks;
}

/* Tile (tile_m, tile_n) of CTA `cta`: groups of kGroupM tile rows, column by column within a group. */
__device__ inline void tile_of(unsigned cta, unsigned tiles_m, unsigned tiles_n, unsigned &tile_m, unsigned &tile_n)
{
    const unsigned per_group = kGroupM * tiles_n, first_m = cta / per_group * kGroupM;
    const unsigned rows = min(tiles_m - first_m, kGroupM), in_group = cta % per_group;
    tile_m = first_m + in_group % rows;
    tile_n = in_group / rows;
}

template <bool kE5m2A, bool kE5m2B>
__device__ inline void consume(const WgmmaArgs &p, uint8_t *tiles_a, uint8_t *tiles_b, uint64_t *full, uint64_t *empty,
                               size_t m0, size_t n0)
{
    asm volatile("setmaxnreg.inc.sync.aligned.u32 " FP8_WGMMA_STRING(FP8_WGMMA_CONSUMER_REGS) ";\n" ::: "memory");
    const unsigned consumer = threadIdx.x / 128 - 1, t = threadIdx.x % 128, lane = t % 32;
    const size_t row0 = m0 + 64 * consumer + 16 * (t / 32) + lane / 4; /* and row0 + 8 */
    const size_t col0 = n0 + 2 * (lane % 4);                           /* + 8 (i / 4) + i % 2 */
    float acc[kAccumulators], total[kAccumulators];
#pragma unroll
    for (unsigned i = 0; i < kAccumulators; i++) {
        const size_t row = row0 + 8 * (i / 2 % 2), col = col0 + 8 * (i / 4) + i % 2;
        acc[i] = 0.0f;
        total[i] = p.beta != 0.0f && row < p.M && col < p.N ? __fmul_rn(p.beta, p.d[row * p.ldd + col]) : 0.0f;
    }
    /* the row scales of this thread's two rows (NULL past M), and of the tile's columns when they
     * lie in one block of rows of B (as for 128 x 128 blocks), else looked up per column */
    const float *scales_a[2];
#pragma unroll
    for (unsigned h = 0; h < 2; h++) scales_a[h] = row0 + 8 * h < p.M ? scales_of_row(p.a, row0 + 8 * h) : NULL;
    const bool b_uniform = n0 / p.b.block_rows == (min(n0 + kBlockN, p.N) - 1) / p.b.block_rows;
    const float *scales_b_tile = scales_of_row(p.b, n0);
    const size_t stages = ceil_div(p.K, kBlockK);
    for (size_t s = 0; s < stages; s++) {
        const unsigned slot = (unsigned)(s % kStages);
        barrier_wait(&full[slot], (unsigned)(s / kStages % 2));
        const uint64_t desc_a = tile_descriptor(tiles_a + slot * kTileBytes + consumer * 64 * kBlockK);
        const uint64_t desc_b = tile_descriptor(tiles_b + slot * kTileBytes);
        const bool first = s * kBlockK % p.segment == 0;
        const bool last = (s + 1) * kBlockK % p.segment == 0 || s + 1 == stages;
        pin_accumulators(acc);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
        for (unsigned k = 0; k < kBlockK / kWgmmaK; k++) /* start address + 32 k bytes, in units of 16 */
            wgmma<kE5m2A, kE5m2B>(acc, desc_a + 2 * k, desc_b + 2 * k, !first || k > 0);
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        /* the segment's scales load while the tensor cores work; the segment lies in one K block */
        float sa[2], sb[kBlockN / 8][2];
        if (last) {
            const unsigned kb = (unsigned)(s * kBlockK) / (unsigned)p.a.block_k; /* K < 2^31 */
#pragma unroll
            for (unsigned h = 0; h < 2; h++) sa[h] = scales_a[h] ? __fmul_rn(p.alpha, __ldg(scales_a[h] + kb)) : 0.0f;
            if (b_uniform) {
                const float tile_scale = __ldg(scales_b_tile + kb);
#pragma unroll
                for (unsigned j = 0; j < kBlockN / 8; j++) sb[j][0] = sb[j][1] = tile_scale;
            } else {
#pragma unroll
                for (unsigned j = 0; j < kBlockN / 8; j++)
#pragma unroll
                    for (unsigned c = 0; c < 2; c++) {
                        const size_t col = col0 + 8 * j + c;
                        sb[j][c] = col < p.N ? __ldg(scales_of_row(p.b, col) + kb) : 0.0f;
                    }
            }
        }
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
        pin_accumulators(acc);
        if (lane == 0) barrier_arrive(&empty[slot]); /* this warp's reads of the stage are done */
        if (last) {
#pragma unroll
            for (unsigned i = 0; i < kAccumulators; i++)
                total[i] = __fmaf_rn(acc[i], __fmul_rn(sa[i / 2 % 2], sb[i / 4][i % 2]), total[i]);
        }
    }
#pragma unroll
    for (unsigned i = 0; i < kAccumulators; i++) {
        const size_t row = row0 + 8 * (i / 2 % 2), col = col0 + 8 * (i / 4) + i % 2;
        if (row < p.M && col < p.N) p.d[row * p.ldd + col] = total[i];
    }
}

#endif /* __CUDA_ARCH_FEAT_SM90_ALL */

template <bool kE5m2A, bool kE5m2B>
__global__ void __launch_bounds__(kThreads, 1)
    wgmma_gemm_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
                      const WgmmaArgs p)
{
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    extern __shared__ uint8_t smem_raw[];
    uint8_t *smem = smem_raw + (kSwizzleAtom - shared_address(smem_raw) % kSwizzleAtom) % kSwizzleAtom;
    uint8_t *tiles_a = smem, *tiles_b = smem + kStages * kTileBytes;
    uint64_t *full = reinterpret_cast<uint64_t *>(smem + kStages * kStageBytes), *empty = full + kStages;
    if (threadIdx.x == 0) {
        for (unsigned s = 0; s < kStages; s++) {
            barrier_init(&full[s], 1); /* the producer's arrive.expect_tx; the bytes complete it */
            barrier_init(&empty[s], kConsumerWarps);
        }
        /* make the initialized barriers visible to the TMA unit (the async proxy) */
        asm volatile("fence.mbarrier_init.release.cluster;\nfence.proxy.async.shared::cta;\n" ::: "memory");
    }
    __syncthreads();

    unsigned tile_m, tile_n;
    tile_of(blockIdx.x, p.tiles_m, p.tiles_n, tile_m, tile_n);
    const size_t m0 = (size_t)tile_m * kBlockM, n0 = (size_t)tile_n * kBlockN;
    if (threadIdx.x >= 128) {
        consume<kE5m2A, kE5m2B>(p, tiles_a, tiles_b, full, empty, m0, n0);
        return;
    }
    asm volatile("setmaxnreg.dec.sync.aligned.u32 " FP8_WGMMA_STRING(FP8_WGMMA_PRODUCER_REGS) ";\n" ::: "memory");
    const size_t stages = ceil_div(p.K, kBlockK);
    if (threadIdx.x != 0 || stages == 0) return; /* K = 0: no tensor maps were made */
    asm volatile("prefetch.tensormap [%0];\nprefetch.tensormap [%1];\n" ::"l"(reinterpret_cast<uint64_t>(&map_a)),
                 "l"(reinterpret_cast<uint64_t>(&map_b))
                 : "memory");
    for (size_t s = 0; s < stages; s++) {
        const unsigned slot = (unsigned)(s % kStages);
        if (s >= kStages) barrier_wait(&empty[slot], (unsigned)((s / kStages - 1) % 2)); /* its last use released */
        barrier_arrive_expect_bytes(&full[slot], kStageBytes); /* whole boxes: out-of-bounds bytes count too */
        load_tile(tiles_a + slot * kTileBytes, &map_a, &full[slot], (int)(s * kBlockK), (int)m0);
        load_tile(tiles_b + slot * kTileBytes, &map_b, &full[slot], (int)(s * kBlockK), (int)n0);
    }
#else
    (void)map_a, (void)map_b, (void)p;
#endif
}

const char *const kWho = "fp8_cuda_gemm_wgmma_f32";

/* The tensor map of an operand: K (bytes) x rows at stride ld, boxes of kBlockK x kBlockM (the
 * same for B: kBlockN == kBlockM), 128-byte swizzle, zero fill outside the matrix. */
fp8_status encode_tile_map(PFN_cuTensorMapEncodeTiled_v12000 encode, const Operand &op, CUtensorMap *map)
{
    const cuuint64_t dims[2] = {op.k, op.rows}, strides[1] = {op.ld};
    const cuuint32_t box[2] = {kBlockK, kBlockM}, element_strides[2] = {1, 1};
    const CUresult r = encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<uint8_t *>(op.data), dims, strides, box,
                              element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                              CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r == CUDA_SUCCESS) return FP8_OK;
    char detail[64];
    snprintf(detail, sizeof detail, "CUresult %d", (int)r);
    return fail_text(FP8_ERR_CUDA, "cuTensorMapEncodeTiled", detail);
}

/* TMA's requirements on an operand's codes (checked only when K > 0: an empty K reads nothing). */
bool tma_addressable(const Operand &op)
{
    const size_t coordinate_limit = 0x7FFFFFFF; /* TMA coordinates are signed 32-bit */
    return aligned(op.data, 16) && op.ld % 16 == 0 && op.rows <= coordinate_limit && op.k <= coordinate_limit;
}

template <bool kE5m2A, bool kE5m2B>
fp8_status launch(const CUtensorMap &map_a, const CUtensorMap &map_b, const WgmmaArgs &p, cudaStream_t s)
{
    const auto kernel = wgmma_gemm_kernel<kE5m2A, kE5m2B>;
    cudaFuncAttributes attributes;
    FP8_CUDA_TRY(cudaFuncGetAttributes(&attributes, kernel));
    const unsigned pool = 128 * FP8_WGMMA_PRODUCER_REGS + 256 * FP8_WGMMA_CONSUMER_REGS;
    if ((unsigned)attributes.numRegs * kThreads < pool)
        return fail_text(FP8_ERR_UNSUPPORTED, kWho,
                         "this build gave the kernel too few registers for its setmaxnreg split (it would stall)");
    FP8_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kSmemBytes));
    kernel<<<p.tiles_m * p.tiles_n, kThreads, kSmemBytes, s>>>(map_a, map_b, p);
    return launched("wgmma_gemm_kernel");
}

} // namespace
} // namespace fp8_cuda

using namespace fp8_cuda;

extern "C" fp8_status fp8_cuda_gemm_wgmma_f32(const fp8_gemm_config *cfg, const fp8_qmatrix *A, const fp8_qmatrix *B,
                                              float *D, size_t ldd, void *stream)
{
    WgmmaArgs p;
    FP8_FORWARD_IF_ERROR(check_tensor_core_gemm(kWho, cfg, A, B, D, ldd, kBlockK,
                                                "promote_interval must be a multiple of 128, one stage's K", &p.a,
                                                &p.b, &p.segment));
    p.M = p.a.rows, p.N = p.b.rows, p.K = p.a.k;
    if (p.K > 0 && (!tma_addressable(p.a) || !tma_addressable(p.b)))
        return fail_text(FP8_ERR_UNSUPPORTED, kWho,
                         "TMA needs the codes 16-byte aligned, ld a multiple of 16, rows and K below 2^31");
    if (p.M == 0 || p.N == 0) return FP8_OK;
    const size_t tiles_m = ceil_div(p.M, kBlockM), tiles_n = ceil_div(p.N, kBlockN);
    if (tiles_m * tiles_n > 0x7FFFFFFF) return fail_text(FP8_ERR_UNSUPPORTED, kWho, "more than 2^31 - 1 tiles of D");

    int device = 0, major = 0, minor = 0, smem_optin = 0;
    FP8_CUDA_TRY(cudaGetDevice(&device));
    FP8_CUDA_TRY(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    FP8_CUDA_TRY(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
    if (major != 9 || minor != 0) {
        char detail[128];
        snprintf(detail, sizeof detail,
                 "wgmma and TMA need compute capability 9.0 (sm_90a: H100, H200, H800); this device is %d.%d", major,
                 minor);
        return fail_text(FP8_ERR_UNSUPPORTED, kWho, detail);
    }
    FP8_CUDA_TRY(cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    if ((unsigned)smem_optin < kSmemBytes)
        return fail_text(FP8_ERR_UNSUPPORTED, kWho, "the device has too little shared memory per block");

    /* tensor maps: encoded on every call (cheap), nothing cached; none needed when K is 0 */
    CUtensorMap map_a, map_b;
    memset(&map_a, 0, sizeof map_a);
    memset(&map_b, 0, sizeof map_b);
    if (p.K > 0) {
        void *entry = NULL;
        cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
        FP8_CUDA_TRY(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &entry, 12000, cudaEnableDefault, &found));
        if (found != cudaDriverEntryPointSuccess || entry == NULL)
            return fail_text(FP8_ERR_CUDA, kWho, "the driver has no cuTensorMapEncodeTiled (CUDA 12.0 or newer)");
        const PFN_cuTensorMapEncodeTiled_v12000 encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(entry);
        FP8_FORWARD_IF_ERROR(encode_tile_map(encode, p.a, &map_a));
        FP8_FORWARD_IF_ERROR(encode_tile_map(encode, p.b, &map_b));
    }
    p.d = D;
    p.ldd = ldd;
    p.alpha = cfg->alpha;
    p.beta = cfg->beta;
    p.tiles_m = (unsigned)tiles_m;
    p.tiles_n = (unsigned)tiles_n;
    const cudaStream_t s = stream_of(stream);
    const bool e5m2_a = p.a.format == FP8_E5M2, e5m2_b = p.b.format == FP8_E5M2;
    if (!e5m2_a && !e5m2_b) return launch<false, false>(map_a, map_b, p, s);
    if (!e5m2_a && e5m2_b) return launch<false, true>(map_a, map_b, p, s);
    if (e5m2_a && !e5m2_b) return launch<true, false>(map_a, map_b, p, s);
    return launch<true, true>(map_a, map_b, p, s);
}
