/* libfp8: block-scaled quantization on the device (fp8/cuda.h), byte for
 * byte what libfp8/quantize/quantize.c computes. As there: a block's amax is
 * the largest finite |x| as FP32 bits, its scales are quantize/scale.h's
 * fp8_block_scale_of (here evaluated on the device), and every element is
 * encode(x * scale) with the product in FP32 (encode.cuh). What differs is
 * only how the work is spread:
 *
 *   tile kernel    the common shapes (1 x {32, 64, 128} tiles and 128 x
 *                  {32, 64, 128} blocks of 16-byte aligned rows): each lane
 *                  holds one 16-byte load (4 FP32 or 8 BF16) of several
 *                  rows, so loads are wide and many are in flight; a block's
 *                  amax is reduced in registers, across its lanes by
 *                  shuffles, and (128-row blocks) across the CTA's warps;
 *                  then it is encoded from the registers. No index is
 *                  divided per element.
 *   group kernel   the other shapes: one group of threads (a warp, or 256 threads) per scale
 *                  block of up to 4096 runs of four elements: the block is
 *                  read once into registers, its amax reduced in the group,
 *                  then encoded from the registers. 1x128 tiles, 128x128
 *                  blocks, MX 1x32 blocks, rows up to 16384 wide.
 *   large blocks   (per tensor, say) three kernels over the whole matrix:
 *                  amax by atomicMax of the bits into scale_inv, encoding
 *                  with each block's scale, then scale_inv from the amax.
 *   dual           one 256-thread block per bc x bc tile held in shared
 *                  memory: rows and columns are reduced and encoded from it.
 *
 * Arguments are checked as quantize.c checks them, before anything is
 * enqueued. */
#include <string.h>

#include <type_traits>

#include "cuda/encode.cuh"
#include "core/shape.h"
#include "quantize/scale.h"

namespace fp8_cuda {
namespace {

const unsigned kThreads = 256;
/* Largest block the group kernel holds in registers: 256 threads x 16 runs of 4. */
const size_t kMaxGroupRuns = 4096;
/* The fused dual pass keeps a bc x (bc + 1) FP32 tile in shared memory. */
const size_t kMaxFusedDualTile = 128;
const size_t kMaxDualTile = 256; /* quantize.c's FP8_DUAL_MAX_TILE */

/* The matrix and its blocks. br, bc are resolved (never 0); nbr, nbc count the blocks. */
struct Geometry {
    size_t rows, cols, ldx, ldq, br, bc, nbr, nbc;
};

struct QuantArgs {
    Geometry g;
    const void *x; /* FP32 or BF16 elements, per the kernel's Src */
    uint8_t *q;
    float *scale_inv;  /* also the amax (as bits) of the large-block path */
    int *nonfinite;
    Encoder enc;
    fp8_scale_rule rule;
    uint64_t sr_offset; /* element (r, c) rounds with random index sr_offset + r * cols + c */
    bool vec_load, vec_store;
    bool transposed; /* write q^T (q[c * ldq + r]) and scale_inv as [nbc][nbr] */
};

/* One scale block as the group kernel sees it: rows [r0, r0 + h), columns
 * [c0, c0 + w), cut into runs of four along each row. */
struct BlockView {
    size_t bi, bj, r0, c0;
    unsigned h, w, runs_per_row, runs;
};

__device__ inline BlockView block_view(const Geometry &g, size_t block)
{
    BlockView b;
    b.bi = block / g.nbc;
    b.bj = block - b.bi * g.nbc;
    b.r0 = b.bi * g.br;
    b.c0 = b.bj * g.bc;
    b.h = (unsigned)(g.rows - b.r0 < g.br ? g.rows - b.r0 : g.br);
    b.w = (unsigned)(g.cols - b.c0 < g.bc ? g.cols - b.c0 : g.bc);
    b.runs_per_row = (b.w + 3) / 4;
    b.runs = b.h * b.runs_per_row;
    return b;
}

/* Run j of a block: its row, first column and length. */
struct Run {
    unsigned r, c, count;
};

__device__ inline Run run_of(const BlockView &b, unsigned j)
{
    Run run;
    run.r = j / b.runs_per_row;
    run.c = (j - run.r * b.runs_per_row) * 4;
    run.count = b.w - run.c < 4 ? b.w - run.c : 4;
    return run;
}

template <typename Src>
__device__ inline void load_run(const QuantArgs &a, const BlockView &b, const Run &run, uint32_t v[4])
{
    const typename Src::T *x = static_cast<const typename Src::T *>(a.x);
    load4<Src>(x + (b.r0 + run.r) * a.g.ldx + b.c0 + run.c, run.count, a.vec_load && run.count == 4, v);
}

/* Encodes a run already scaled and writes it where the orientation says. */
__device__ inline void encode_store_run(const QuantArgs &a, size_t r, size_t c, unsigned count, const uint32_t v[4])
{
    const uint32_t codes = encode4(a.enc, v, a.sr_offset + r * a.g.cols + c);
    if (!a.transposed) {
        store_codes4(a.q + r * a.g.ldq + c, count, a.vec_store && count == 4, codes);
        return;
    }
    for (unsigned j = 0; j < count; j++) a.q[(c + j) * a.g.ldq + r] = (uint8_t)(codes >> (8 * j));
}

/* The maximum and the OR over a group of kGroup threads (a warp or the whole block). */
template <unsigned kGroup>
__device__ inline void group_reduce(uint32_t &amax, bool &nonfinite)
{
    amax = warp_max(amax);
    nonfinite = __any_sync(0xFFFFFFFFu, nonfinite);
    if (kGroup == 32) return;
    __shared__ uint32_t warp_amax[kThreads / 32];
    __shared__ int warp_nonfinite[kThreads / 32];
    const unsigned warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) warp_amax[warp] = amax, warp_nonfinite[warp] = nonfinite;
    __syncthreads();
    for (unsigned w = 0; w < kThreads / 32; w++) {
        amax = warp_amax[w] > amax ? warp_amax[w] : amax;
        nonfinite = nonfinite || warp_nonfinite[w];
    }
}

/* kCached runs per thread stay in registers between the amax pass and the
 * encoding pass; the launch guarantees runs <= kGroup * kCached. */
template <typename Src, unsigned kGroup, unsigned kCached>
__global__ void __launch_bounds__(kThreads) quantize_groups_kernel(QuantArgs a, size_t nblocks)
{
    const unsigned lane = threadIdx.x % kGroup;
    const size_t block = (size_t)blockIdx.x * (kThreads / kGroup) + threadIdx.x / kGroup;
    if (block >= nblocks) return; /* whole groups only: a warp, or (kGroup = kThreads) the whole block */
    const BlockView b = block_view(a.g, block);

    uint32_t cache[kCached][4];
    uint32_t amax = 0;
    bool nonfinite = false;
#pragma unroll
    for (unsigned k = 0; k < kCached; k++) {
        const unsigned j = lane + k * kGroup;
        if (j < b.runs) {
            load_run<Src>(a, b, run_of(b, j), cache[k]); /* missing elements load as 0 */
            amax_update(cache[k], amax, nonfinite);
        }
    }
    group_reduce<kGroup>(amax, nonfinite);
    const fp8_block_scale s = fp8_block_scale_of(amax, &a.rule);
    if (lane == 0) {
        a.scale_inv[a.transposed ? b.bj * a.g.nbr + b.bi : block] = s.scale_inv;
        if (nonfinite && a.nonfinite != NULL) *a.nonfinite = 1;
    }
#pragma unroll
    for (unsigned k = 0; k < kCached; k++) {
        const unsigned j = lane + k * kGroup;
        if (j < b.runs) {
            const Run run = run_of(b, j);
            scale4(cache[k], s.scale);
            encode_store_run(a, b.r0 + run.r, b.c0 + run.c, run.count, cache[k]);
        }
    }
}

/* ---- the tile kernel: the common block shapes at memory speed ----
 * Memory-bound in principle, the kernel is close to instruction-bound on an
 * H200 (BF16 input especially: 1.7 elements per byte moved), so the work per
 * element is kept small: a 1 x bc tile's scale is computed by one lane and
 * shuffled to the others, and with the hardware cvt the kernel carries no
 * software encoder (a kernel a third the size: fewer instruction-cache
 * misses). */

template <typename Src>
struct Wide {
    static const unsigned kVec = 16 / sizeof(typename Src::T); /* elements per 16-byte load */
};

/* How the tile kernel cuts the work: a warp's load instruction covers
 * 32 / kRowLanes rows of kRowLanes lanes (a power of two), each lane one 16-byte
 * load; a lane holds kRows such loads, a CTA has kWarps warps. kPersistent,
 * see quantize_tiles_kernel. */
template <unsigned R, unsigned W, bool P, unsigned L = 32>
struct TileShape {
    static const unsigned kRows = R, kWarps = W, kRowLanes = L, kSub = 32 / L;
    static const bool kPersistent = P;
};

/* The columns one strip of tiles covers. */
template <typename Src, typename Shape>
struct Span {
    static const unsigned kCols = Shape::kRowLanes * Wide<Src>::kVec;
};

/* Up to kVec elements from p (count of them exist; the rest read as 0): one
 * 16-byte load when all exist (the caller checked alignment). */
template <typename Src>
__device__ inline uint4 load_wide(const typename Src::T *p, unsigned count)
{
    if (count == Wide<Src>::kVec) return *reinterpret_cast<const uint4 *>(p);
    /* the 16 bytes as two 64-bit halves: no array indexed at run time (it would live in local memory) */
    uint64_t half[2] = {0, 0};
    const unsigned bits = 8 * sizeof(typename Src::T);
#pragma unroll
    for (unsigned j = 0; j < Wide<Src>::kVec; j++) {
        if (j >= count) break;
        uint64_t e; /* the element's own bits */
        if constexpr (sizeof(typename Src::T) == 4)
            e = Src::bits(p[j]);
        else
            e = p[j];
        half[j * bits / 64] |= e << (j * bits % 64);
    }
    return make_uint4((uint32_t)half[0], (uint32_t)(half[0] >> 32), (uint32_t)half[1], (uint32_t)(half[1] >> 32));
}

/* Element j of a 16-byte load, as FP32 bits. */
template <typename Src>
__device__ inline uint32_t wide_element(const uint4 &raw, unsigned j)
{
    const unsigned word = j * (unsigned)sizeof(typename Src::T) / 4;
    const uint32_t w = word == 0 ? raw.x : word == 1 ? raw.y : word == 2 ? raw.z : raw.w;
    if constexpr (sizeof(typename Src::T) == 4)
        return w;
    else
        return Src::bits((typename Src::T)(w >> (16 * (j % 2))));
}

/* The largest finite |x| of a 16-byte load, as FP32 bits; nonfinite is set
 * when it holds Inf or NaN. The common case costs one AND and one MAX per
 * element (two BF16 at a time): the maximum of all |x| bits first, and only
 * when that is Inf or NaN again without them. */
template <typename Src>
__device__ inline uint32_t wide_amax(const uint4 &raw, bool &nonfinite)
{
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
    uint32_t m = 0;
    if constexpr (sizeof(typename Src::T) == 4) {
#pragma unroll
        for (unsigned j = 0; j < 4; j++) m = max(m, w[j] & 0x7FFFFFFFu);
        if (m < 0x7F800000u) return m;
    } else {
#pragma unroll
        for (unsigned j = 0; j < 4; j++) m = __vmaxu2(m, w[j] & 0x7FFF7FFFu); /* two |bf16| per word */
        m = max(m & 0xFFFFu, m >> 16) << 16;
        if (m < 0x7F800000u) return m;
    }
    nonfinite = true;
    m = 0;
#pragma unroll
    for (unsigned j = 0; j < Wide<Src>::kVec; j++) {
        const uint32_t e = wide_element<Src>(raw, j) & 0x7FFFFFFFu;
        if (e < 0x7F800000u) m = max(m, e);
    }
    return m;
}

/* The maximum over groups of kLanes adjacent lanes (a power of two <= 32). */
template <unsigned kLanes>
__device__ inline uint32_t lanes_max(uint32_t v)
{
    if constexpr (kLanes == 32) {
        return warp_max(v);
    } else {
#pragma unroll
        for (unsigned o = kLanes / 2; o > 0; o /= 2) {
            const uint32_t u = __shfl_xor_sync(0xFFFFFFFFu, v, o);
            v = u > v ? u : v;
        }
        return v;
    }
}

/* The part of tile `tile` one lane holds: kRows rows r0, r0 + kSub, ... of
 * one 16-byte load each at column c (count elements of it exist, 0 past the
 * right edge). A tile is kRows * kSub * kWarps rows of one strip of columns;
 * tile = rows_group * strips + strip. Constructing it issues the loads; a
 * tile past the last (tile >= tiles) loads nothing. */
template <typename Src, typename Shape>
struct LaneRows {
    static const unsigned kRows = Shape::kRows, kSub = Shape::kSub;
    size_t c, r0, rows_group;
    unsigned count;
    uint4 raw[kRows];

    __device__ LaneRows(const QuantArgs &a, unsigned strips, unsigned tiles, unsigned tile)
    {
        const unsigned kVec = Wide<Src>::kVec, lane = threadIdx.x % 32, warp = threadIdx.x / 32;
        rows_group = tile / strips;
        c = (size_t)(tile % strips) * Span<Src, Shape>::kCols + lane % Shape::kRowLanes * kVec;
        r0 = rows_group * (kRows * kSub * Shape::kWarps) + warp * kRows * kSub + lane / Shape::kRowLanes;
        count = tile >= tiles || c >= a.g.cols ? 0u : a.g.cols - c < kVec ? (unsigned)(a.g.cols - c) : kVec;
        const typename Src::T *x = static_cast<const typename Src::T *>(a.x);
#pragma unroll
        for (unsigned i = 0; i < kRows; i++)
            raw[i] = r0 + i * kSub < a.g.rows && count != 0
                         ? load_wide<Src>(x + (r0 + i * kSub) * a.g.ldx + c, count)
                         : make_uint4(0, 0, 0, 0);
    }
};

/* How the tile kernel gets each block's amax: ROWS, 1 x kBc tiles (each row
 * of a lane its own, reduced across the tile's lanes); TALL, 128 x kBc
 * blocks (reduced over the CTA); WHOLE, one block (per tensor), its amax
 * bits left in a.scale_inv by tensor_amax_kernel. */
enum TileMode { TILE_ROWS, TILE_TALL, TILE_WHOLE };

/* Four scaled values -> four codes; kCvt: the encoder is the hardware cvt
 * (its software paths left out of the kernel). */
template <bool kCvt>
__device__ inline uint32_t encode_scaled4(const Encoder &e, const uint32_t v[4], uint64_t first_index, bool maybe_nan)
{
    if constexpr (kCvt)
        return encode4_cvt(e, v, maybe_nan);
    else
        return encode4(e, v, first_index, maybe_nan);
}

/* The scales of a lane's kRows rows of 1 x kBc tiles, from their amaxes
 * (the same in all kLanes lanes of a tile): lane j of the tile's lanes
 * computes those of rows j, j + kLanes, ... and shuffles them to the others. */
template <unsigned kRows, unsigned kLanes>
__device__ inline void row_scales(const uint32_t amax[kRows], const fp8_scale_rule &rule, fp8_block_scale s[kRows])
{
    const unsigned kShares = (kRows + kLanes - 1) / kLanes, lane = threadIdx.x % 32, j = lane % kLanes;
    fp8_block_scale mine[kShares];
#pragma unroll
    for (unsigned t = 0; t < kShares; t++) {
        uint32_t m = 0;
#pragma unroll
        for (unsigned i = 0; i < kRows; i++)
            if (i == t * kLanes + j) m = amax[i]; /* selects without indexing by a run-time value */
        mine[t] = fp8_block_scale_of(m, &rule);
    }
#pragma unroll
    for (unsigned i = 0; i < kRows; i++) {
        const unsigned from = lane - j + i % kLanes;
        s[i].scale = __shfl_sync(0xFFFFFFFFu, mine[i / kLanes].scale, from);
        s[i].scale_inv = __shfl_sync(0xFFFFFFFFu, mine[i / kLanes].scale_inv, from);
    }
}

/* kPersistent: as many CTAs as the GPU holds, each taking tiles blockIdx.x,
 * + gridDim.x, ... and loading the next while it reduces and encodes the
 * current, so that memory stays busy through the arithmetic and no last wave
 * runs part-filled. Else one CTA per tile, with fewer registers per thread
 * (docs/performance.md has the figures that chose between them). */
template <typename Src, unsigned kBc, TileMode kMode, typename Shape, bool kCvt>
__global__ void __launch_bounds__(Shape::kWarps * 32) quantize_tiles_kernel(QuantArgs a, unsigned strips, unsigned tiles)
{
    typedef LaneRows<Src, Shape> Rows;
    const unsigned kVec = Wide<Src>::kVec, kRows = Shape::kRows, kWarps = Shape::kWarps, kSub = Shape::kSub;
    const unsigned kLanes = kBc / kVec; /* lanes of one row sharing a block's columns */
    static_assert(kLanes <= Shape::kRowLanes, "a block's columns lie in one strip");
    static_assert(kMode != TILE_TALL || kRows * kSub * kWarps == 128, "a CTA holds whole 128-row blocks");
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, blocks = Shape::kRowLanes / kLanes;
    const unsigned block = lane % Shape::kRowLanes / kLanes; /* the lane's block among the strip's */
    /* TALL: each warp's partial amaxes, two sets so one barrier per tile suffices */
    __shared__ uint32_t warp_amax[2][kMode == TILE_TALL ? kWarps : 1][blocks];
    bool any_nonfinite = false;
    /* one tile: its amaxes and scales, then its codes */
    const auto encode_tile = [&](const Rows &x, unsigned parity) {
        uint32_t amax[kRows];
        amax[0] = 0;
        bool nonfinite = false;
#pragma unroll
        for (unsigned i = 0; i < kRows; i++) {
            const uint32_t m = wide_amax<Src>(x.raw[i], nonfinite);
            if (kMode == TILE_ROWS)
                amax[i] = lanes_max<kLanes>(m);
            else
                amax[0] = m > amax[0] ? m : amax[0];
        }
        if (kMode == TILE_TALL) {
            uint32_t m = lanes_max<kLanes>(amax[0]);
#pragma unroll
            for (unsigned o = Shape::kRowLanes; o < 32; o *= 2) /* the warp's other rows, same columns */
                m = max(m, __shfl_xor_sync(0xFFFFFFFFu, m, o));
            if (lane < Shape::kRowLanes && lane % kLanes == 0) warp_amax[parity][warp][block] = m;
            __syncthreads();
            amax[0] = 0;
#pragma unroll
            for (unsigned w = 0; w < kWarps; w++) {
                const uint32_t u = warp_amax[parity][w][block];
                amax[0] = u > amax[0] ? u : amax[0];
            }
        }
        if (kMode == TILE_WHOLE) amax[0] = *reinterpret_cast<const uint32_t *>(a.scale_inv);
        const bool warp_nonfinite = __any_sync(0xFFFFFFFFu, nonfinite);
        any_nonfinite = any_nonfinite || warp_nonfinite;

        fp8_block_scale s[kMode == TILE_ROWS ? kRows : 1]; /* per row, or the tile's one */
        if (kMode == TILE_ROWS)
            row_scales<kRows, kLanes>(amax, a.rule, s);
        else
            s[0] = fp8_block_scale_of(amax[0], &a.rule);
        if (x.count == 0) return;
        const size_t bj = x.c / kBc;
        const bool leader = lane % kLanes == 0;
        if (kMode == TILE_TALL && leader && lane < Shape::kRowLanes && warp == 0)
            a.scale_inv[x.rows_group * a.g.nbc + bj] = s[0].scale_inv;
        uint8_t *q = a.q + x.r0 * a.g.ldq + x.c;
#pragma unroll
        for (unsigned i = 0; i < kRows; i++, q += kSub * a.g.ldq) {
            const size_t r = x.r0 + i * kSub;
            if (r >= a.g.rows) break;
            const fp8_block_scale &si = s[kMode == TILE_ROWS ? i : 0];
            if (kMode == TILE_ROWS && leader) a.scale_inv[r * a.g.nbc + bj] = si.scale_inv;
            uint32_t codes[kVec / 4];
#pragma unroll
            for (unsigned g = 0; g < kVec / 4; g++) {
                uint32_t v[4];
#pragma unroll
                for (unsigned j = 0; j < 4; j++) v[j] = wide_element<Src>(x.raw[i], 4 * g + j);
                scale4(v, si.scale);
                codes[g] = encode_scaled4<kCvt>(a.enc, v, a.sr_offset + r * a.g.cols + x.c + 4 * g, warp_nonfinite);
            }
            if (x.count == kVec) {
                if constexpr (kVec == 4)
                    *reinterpret_cast<uint32_t *>(q) = codes[0];
                else
                    *reinterpret_cast<uint2 *>(q) = make_uint2(codes[0], codes[1]);
            } else {
                uint64_t packed = codes[0];
                if constexpr (kVec == 8) packed |= (uint64_t)codes[1] << 32;
                for (unsigned j = 0; j < x.count; j++) q[j] = (uint8_t)(packed >> (8 * j));
            }
        }
    };
    if constexpr (Shape::kPersistent) {
        Rows x(a, strips, tiles, blockIdx.x);
        for (unsigned tile = blockIdx.x, parity = 0; tile < tiles; tile += gridDim.x, parity ^= 1) {
            const Rows next(a, strips, tiles, tile + gridDim.x);
            encode_tile(x, parity);
            x = next;
        }
    } else {
        encode_tile(Rows(a, strips, tiles, blockIdx.x), 0);
    }
    if (kMode != TILE_WHOLE && any_nonfinite && lane == 0 && a.nonfinite != NULL) *a.nonfinite = 1;
}

/* The whole matrix's largest finite |x| bits, atomicMax'ed into *amax_bits
 * (zeroed before), one atomic per warp; raises the non-finite flag.
 * Persistent CTAs, as the tile kernel. */
template <typename Src, typename Shape>
__global__ void __launch_bounds__(Shape::kWarps * 32)
tensor_amax_kernel(QuantArgs a, unsigned strips, unsigned tiles, uint32_t *amax_bits)
{
    uint32_t m = 0;
    bool nonfinite = false;
    LaneRows<Src, Shape> x(a, strips, tiles, blockIdx.x);
    for (unsigned tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const LaneRows<Src, Shape> next(a, strips, tiles, tile + gridDim.x);
#pragma unroll
        for (unsigned i = 0; i < Shape::kRows; i++) m = max(m, wide_amax<Src>(x.raw[i], nonfinite));
        x = next;
    }
    m = warp_max(m);
    const bool warp_nonfinite = __any_sync(0xFFFFFFFFu, nonfinite);
    if (threadIdx.x % 32 == 0) {
        if (m != 0) atomicMax(amax_bits, m);
        if (warp_nonfinite && a.nonfinite != NULL) *a.nonfinite = 1;
    }
}

/* ---- large blocks: whole-matrix passes over runs of four ---- */

struct MatrixRun {
    size_t r, c;
    unsigned count;
};

__device__ inline MatrixRun matrix_run(const Geometry &g, size_t run)
{
    const size_t runs_per_row = ceil_div(g.cols, 4);
    MatrixRun m;
    /* a 32-bit division where it suffices: a 64-bit one costs several times more */
    m.r = run <= 0xFFFFFFFFu && runs_per_row <= 0xFFFFFFFFu ? (uint32_t)run / (uint32_t)runs_per_row
                                                            : run / runs_per_row;
    m.c = (run - m.r * runs_per_row) * 4;
    m.count = g.cols - m.c < 4 ? (unsigned)(g.cols - m.c) : 4u;
    return m;
}

/* kWhole: one block, the whole matrix (per-tensor scaling), and no division. */
template <bool kWhole>
__device__ inline size_t block_of(const Geometry &g, size_t r, size_t c)
{
    return kWhole ? 0 : (r / g.br) * g.nbc + c / g.bc;
}

/* Loads matrix run i (missing elements as 0). */
template <typename Src>
__device__ inline MatrixRun load_matrix_run(const QuantArgs &a, size_t i, uint32_t v[4])
{
    const MatrixRun m = matrix_run(a.g, i);
    const typename Src::T *x = static_cast<const typename Src::T *>(a.x);
    load4<Src>(x + m.r * a.g.ldx + m.c, m.count, a.vec_load && m.count == 4, v);
    return m;
}

const size_t kNoBlock = ~(size_t)0;

/* atomicMax of each element's finite |x| bits into amax_bits[block]. A
 * thread merges while its block stays the same; at the end the lanes of a
 * warp holding the same block merge before one of them goes to memory. */
template <typename Src, bool kWhole>
__global__ void __launch_bounds__(kThreads) amax_kernel(QuantArgs a, uint32_t *amax_bits)
{
    const size_t runs = a.g.rows * ceil_div(a.g.cols, 4);
    size_t current = kNoBlock;
    uint32_t amax = 0;
    bool nonfinite = false;
    for (size_t i = grid_first(); i < runs; i += grid_stride()) {
        uint32_t v[4];
        const MatrixRun m = load_matrix_run<Src>(a, i, v);
        for (unsigned j = 0; j < m.count; j++) {
            const size_t block = block_of<kWhole>(a.g, m.r, m.c + j);
            if (block != current) {
                if (current != kNoBlock && amax != 0) atomicMax(amax_bits + current, amax);
                current = block;
                amax = 0;
            }
            const uint32_t one[4] = {v[j], 0, 0, 0};
            amax_update(one, amax, nonfinite);
        }
    }
    const unsigned peers = __match_any_sync(0xFFFFFFFFu, (unsigned long long)current);
    amax = __reduce_max_sync(peers, amax);
    if (current != kNoBlock && amax != 0 && (threadIdx.x % 32) == (unsigned)(__ffs(peers) - 1))
        atomicMax(amax_bits + current, amax);
    if (__any_sync(0xFFFFFFFFu, nonfinite) && threadIdx.x % 32 == 0 && a.nonfinite != NULL) *a.nonfinite = 1;
}

/* Encodes every element with its block's scale: from the amax bits in
 * scale_inv (fixed_scale == 0), or the given scale. */
template <typename Src, bool kWhole>
__global__ void __launch_bounds__(kThreads) encode_blocks_kernel(QuantArgs a, float fixed_scale)
{
    const uint32_t *amax_bits = reinterpret_cast<const uint32_t *>(a.scale_inv);
    const size_t runs = a.g.rows * ceil_div(a.g.cols, 4);
    size_t current = kNoBlock;
    float scale = fixed_scale;
    for (size_t i = grid_first(); i < runs; i += grid_stride()) {
        uint32_t v[4];
        const MatrixRun m = load_matrix_run<Src>(a, i, v);
        for (unsigned j = 0; j < m.count; j++) {
            if (fixed_scale == 0.0f) {
                const size_t block = block_of<kWhole>(a.g, m.r, m.c + j);
                if (block != current) {
                    current = block;
                    scale = fp8_block_scale_of(amax_bits[block], &a.rule).scale;
                }
            }
            v[j] = __float_as_uint(__fmul_rn(__uint_as_float(v[j]), scale));
        }
        encode_store_run(a, m.r, m.c, m.count, v);
    }
}

/* scale_inv[b] from the amax bits stored in it. */
__global__ void __launch_bounds__(kThreads) finish_scales_kernel(float *scale_inv, size_t n, fp8_scale_rule rule)
{
    for (size_t i = grid_first(); i < n; i += grid_stride())
        scale_inv[i] = fp8_block_scale_of(__float_as_uint(scale_inv[i]), &rule).scale_inv;
}

/* ---- dequantization: x = decode(q) * scale_inv of its block, the product in FP32 ---- */

__global__ void __launch_bounds__(kThreads)
dequantize_kernel(Geometry g, const uint8_t *q, const float *scale_inv, float *x, fp8_format_params p, bool vector)
{
    const size_t runs = g.rows * ceil_div(g.cols, 4);
    size_t current = kNoBlock;
    float s = 0.0f;
    for (size_t i = grid_first(); i < runs; i += grid_stride()) {
        const MatrixRun m = matrix_run(g, i);
        const bool vec = vector && m.count == 4;
        const uint8_t *src = q + m.r * g.ldq + m.c;
        uint32_t codes = 0;
        if (vec)
            codes = *reinterpret_cast<const uint32_t *>(src);
        else
            for (unsigned j = 0; j < m.count; j++) codes |= (uint32_t)src[j] << (8 * j);
        float out[4];
#pragma unroll
        for (unsigned j = 0; j < 4; j++) {
            const size_t block = block_of<false>(g, m.r, m.c + (j < m.count ? j : 0));
            if (block != current) current = block, s = scale_inv[block];
            out[j] = __fmul_rn(__uint_as_float(fp8_decode_f32_bits((uint8_t)(codes >> (8 * j)), &p)), s);
        }
        float *dst = x + m.r * g.ldx + m.c;
        if (vec)
            *reinterpret_cast<float4 *>(dst) = make_float4(out[0], out[1], out[2], out[3]);
        else
            for (unsigned j = 0; j < m.count; j++) dst[j] = out[j];
    }
}

/* ---- the fused dual-orientation pass ---- */

struct DualArgs {
    QuantArgs base; /* g.bc is the tile edge; base.q, base.scale_inv: the row orientation */
    uint8_t *qt;
    size_t ldqt, nstrips;
    float *scale_inv_t;
};

__device__ inline uint8_t encode_one(const Encoder &e, float x, float scale)
{
    const uint32_t v[4] = {__float_as_uint(__fmul_rn(x, scale)), 0, 0, 0};
    return (uint8_t)encode4(e, v, 0);
}

/* Block (bj, strip): the tile rows [strip * bc, + h), columns [bj * bc, + w). */
__global__ void __launch_bounds__(kThreads) dual_kernel(DualArgs d)
{
    extern __shared__ float tile[]; /* h x w, row stride bc + 1: column walks hit distinct banks */
    const Geometry &g = d.base.g;
    const size_t strip = blockIdx.y, bj = blockIdx.x, bc = g.bc, stride = bc + 1;
    const size_t r0 = strip * bc, c0 = bj * bc;
    const unsigned h = (unsigned)(g.rows - r0 < bc ? g.rows - r0 : bc);
    const unsigned w = (unsigned)(g.cols - c0 < bc ? g.cols - c0 : bc);
    const float *x = static_cast<const float *>(d.base.x);
    for (unsigned i = threadIdx.x; i < h * w; i += blockDim.x) {
        const unsigned r = i / w, c = i - r * w;
        tile[r * stride + c] = x[(r0 + r) * g.ldx + c0 + c];
    }
    __syncthreads();

    const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    bool nonfinite = false;
    for (unsigned r = warp; r < h; r += warps) { /* rows: x's 1 x bc tiles */
        uint32_t amax = 0;
        for (unsigned c = lane; c < w; c += 32) {
            const uint32_t v[4] = {__float_as_uint(tile[r * stride + c]), 0, 0, 0};
            amax_update(v, amax, nonfinite);
        }
        const fp8_block_scale s = fp8_block_scale_of(warp_max(amax), &d.base.rule);
        if (lane == 0) d.base.scale_inv[(r0 + r) * g.nbc + bj] = s.scale_inv;
        for (unsigned c = lane; c < w; c += 32)
            d.base.q[(r0 + r) * g.ldq + c0 + c] = encode_one(d.base.enc, tile[r * stride + c], s.scale);
    }
    for (unsigned c = warp; c < w; c += warps) { /* columns: x^T's 1 x bc tiles */
        uint32_t amax = 0;
        for (unsigned r = lane; r < h; r += 32) {
            const uint32_t v[4] = {__float_as_uint(tile[r * stride + c]), 0, 0, 0};
            amax_update(v, amax, nonfinite);
        }
        const fp8_block_scale s = fp8_block_scale_of(warp_max(amax), &d.base.rule);
        if (lane == 0) d.scale_inv_t[(c0 + c) * d.nstrips + strip] = s.scale_inv;
        for (unsigned r = lane; r < h; r += 32)
            d.qt[(c0 + c) * d.ldqt + r0 + r] = encode_one(d.base.enc, tile[r * stride + c], s.scale);
    }
    if (nonfinite && d.base.nonfinite != NULL) *d.base.nonfinite = 1;
}

/* ---- MX storage ---- */

/* Powers of two 2^-126 .. 2^127 are normals with a zero mantissa; 2^-127 is the subnormal 0x00400000. */
__device__ inline bool e8m0_representable(uint32_t b)
{
    return ((b & 0x807FFFFFu) == 0 && b >= 0x00800000u && b < 0x7F800000u) || b == 0x00400000u;
}

__global__ void __launch_bounds__(kThreads) e8m0_check_kernel(const float *scale_inv, size_t n, int *invalid)
{
    for (size_t i = grid_first(); i < n; i += grid_stride())
        if (!e8m0_representable(__float_as_uint(scale_inv[i]))) *invalid = 1;
}

/* The E8M0 code of a representable value is its FP32 exponent field (0 for 2^-127). */
__global__ void __launch_bounds__(kThreads)
to_e8m0_kernel(uint8_t *e8m0, const float *scale_inv, size_t n, const int *invalid)
{
    if (*invalid) return;
    for (size_t i = grid_first(); i < n; i += grid_stride())
        e8m0[i] = (uint8_t)(__float_as_uint(scale_inv[i]) >> 23);
}

__global__ void __launch_bounds__(kThreads)
from_e8m0_kernel(float *scale_inv, const uint8_t *e8m0, size_t n, int *nonfinite)
{
    for (size_t i = grid_first(); i < n; i += grid_stride()) {
        const uint8_t v = e8m0[i];
        scale_inv[i] = __uint_as_float(v == 0xFF ? FP8_F32_CANONICAL_NAN : v == 0 ? 0x00400000u : (uint32_t)v << 23);
        if (v == 0xFF && nonfinite != NULL) *nonfinite = 1;
    }
}

/* ---- host side ---- */

Geometry geometry_of(size_t rows, size_t cols, size_t ldx, size_t ldq, size_t block_rows, size_t block_cols)
{
    Geometry g;
    g.rows = rows, g.cols = cols, g.ldx = ldx, g.ldq = ldq;
    g.br = block_rows == 0 || block_rows > rows ? rows : block_rows;
    g.bc = block_cols == 0 || block_cols > cols ? cols : block_cols;
    g.nbr = fp8_blocks_along(rows, block_rows);
    g.nbc = fp8_blocks_along(cols, block_cols);
    return g;
}

/* Validates as quantize.c's setup_job and fills the arguments every path shares. */
fp8_status setup(QuantArgs &a, const fp8_quant_config *cfg, const void *x, size_t elem_size, size_t rows,
                 size_t cols, size_t ldx, uint8_t *q, size_t ldq, float *scale_inv)
{
    FP8_FORWARD_IF_ERROR(fp8_quant_args_check(cfg, x, elem_size, rows, cols, ldx, q, ldq, scale_inv));
    memset(&a, 0, sizeof a);
    a.g = geometry_of(rows, cols, ldx, ldq, cfg->block_rows, cfg->block_cols);
    a.x = x;
    a.q = q;
    a.scale_inv = scale_inv;
    a.enc = make_encoder(cfg->format, cfg->saturation, false, 0);
    a.rule = fp8_scale_rule_of(fp8_format_params_of(cfg->format), cfg->scale_mode, cfg->amax_floor);
    /* runs of four start at multiples of four within every block */
    const bool runs_aligned = a.g.bc % 4 == 0 || a.g.nbc == 1;
    a.vec_load = runs_aligned && ldx % 4 == 0 && aligned(x, 4 * elem_size);
    a.vec_store = runs_aligned && ldq % 4 == 0 && aligned(q, 4);
    return FP8_OK;
}

template <typename Src, unsigned kGroup, unsigned kCached>
fp8_status launch_groups(const QuantArgs &a, cudaStream_t s)
{
    const size_t nblocks = a.g.nbr * a.g.nbc, per_cta = kThreads / kGroup;
    const size_t grid = ceil_div(nblocks, per_cta);
    FP8_RETURN_IF(grid > 0x7FFFFFFFu, FP8_ERR_UNSUPPORTED);
    quantize_groups_kernel<Src, kGroup, kCached><<<(unsigned)grid, kThreads, 0, s>>>(a, nblocks);
    return launched("quantize_groups_kernel");
}

/* The tiles covering the matrix (FP8_ERR_UNSUPPORTED past 2^31) and the
 * grid for `kernel`: a CTA per tile, or (persistent) as many CTAs as the GPU
 * holds at once. */
template <typename Src, typename Shape, typename Kernel>
fp8_status tile_launch_shape(const Geometry &g, Kernel kernel, unsigned *strips, unsigned *tiles, unsigned *grid)
{
    const size_t n = ceil_div(g.cols, Span<Src, Shape>::kCols);
    const size_t groups = ceil_div(g.rows, Shape::kRows * Shape::kSub * Shape::kWarps);
    FP8_RETURN_IF(n > 0x7FFFFFFFu || groups > 0x7FFFFFFFu / n, FP8_ERR_UNSUPPORTED); /* tile + grid fits */
    *strips = (unsigned)n;
    *tiles = (unsigned)(n * groups);
    *grid = *tiles;
    if (!Shape::kPersistent) return FP8_OK;
    int device = 0, sms = 0, per_sm = 0;
    FP8_CUDA_TRY(cudaGetDevice(&device));
    FP8_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    FP8_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, (int)(Shape::kWarps * 32), 0));
    const size_t resident = (size_t)sms * (size_t)(per_sm > 0 ? per_sm : 1);
    *grid = (unsigned)(resident < *tiles ? resident : *tiles);
    return FP8_OK;
}

/* The tile shape of each source and mode: the fastest of those measured on
 * an H200 (docs/performance.md). A CTA of 128-row blocks takes all 128 rows. */
template <typename Src, TileMode kMode>
struct ShapeFor;
template <>
struct ShapeFor<F32Source, TILE_ROWS> : TileShape<4, 8, false> {};
template <>
struct ShapeFor<Bf16Source, TILE_ROWS> : TileShape<4, 4, false> {};
template <>
struct ShapeFor<F32Source, TILE_TALL> : TileShape<8, 16, false> {};
template <> /* half-warp rows: a CTA per 128 x 128 elements, 1792 short-lived CTAs on 4096 x 7168, not 896 */
struct ShapeFor<Bf16Source, TILE_TALL> : TileShape<4, 16, false, 16> {};
template <typename Src>
struct ShapeFor<Src, TILE_WHOLE> : TileShape<4, 8, true> {};

template <typename Src, unsigned kBc, TileMode kMode, bool kCvt>
fp8_status launch_tiles(const QuantArgs &a, cudaStream_t s)
{
    typedef ShapeFor<Src, kMode> Shape;
    const auto kernel = quantize_tiles_kernel<Src, kBc, kMode, Shape, kCvt>;
    unsigned strips = 0, tiles = 0, grid = 0;
    FP8_FORWARD_IF_ERROR((tile_launch_shape<Src, Shape>(a.g, kernel, &strips, &tiles, &grid)));
    kernel<<<grid, Shape::kWarps * 32, 0, s>>>(a, strips, tiles);
    return launched("quantize_tiles_kernel");
}

/* f(std::true_type()) when a's encoder is the hardware cvt, else f(std::false_type()). */
template <typename F>
fp8_status with_cvt(const QuantArgs &a, F f)
{
    return a.enc.cvt != CVT_NONE ? f(std::true_type()) : f(std::false_type());
}

template <typename Src, unsigned kBc, TileMode kMode>
fp8_status launch_tiles(const QuantArgs &a, cudaStream_t s)
{
    return with_cvt(a, [&](auto cvt) { return launch_tiles<Src, kBc, kMode, decltype(cvt)::value>(a, s); });
}

/* Rows of x 16-byte aligned and of q aligned to one load's codes: the tile kernel's loads and stores. */
template <typename Src>
bool rows_wide(const QuantArgs &a)
{
    const size_t elem = sizeof(typename Src::T), vec = Wide<Src>::kVec;
    return !a.transposed && aligned(a.x, 16) && a.g.ldx * elem % 16 == 0 && aligned(a.q, vec) && a.g.ldq % vec == 0;
}

/* The tile kernel's block shapes: 1 x bc or 128 x bc, bc in {32, 64, 128}. */
template <typename Src>
bool tiles_apply(const QuantArgs &a)
{
    return rows_wide<Src>(a) && (a.g.br == 1 || a.g.br == 128) && (a.g.bc == 32 || a.g.bc == 64 || a.g.bc == 128);
}

template <typename Src>
fp8_status launch_tiles(const QuantArgs &a, cudaStream_t s)
{
    const bool tall = a.g.br == 128;
    if (a.g.bc == 32) return tall ? launch_tiles<Src, 32, TILE_TALL>(a, s) : launch_tiles<Src, 32, TILE_ROWS>(a, s);
    if (a.g.bc == 64) return tall ? launch_tiles<Src, 64, TILE_TALL>(a, s) : launch_tiles<Src, 64, TILE_ROWS>(a, s);
    return tall ? launch_tiles<Src, 128, TILE_TALL>(a, s) : launch_tiles<Src, 128, TILE_ROWS>(a, s);
}

/* One scale for the whole matrix, wide rows: the amax kernel, the tile
 * kernel encoding with it, then scale_inv from the amax bits. */
template <typename Src, bool kCvt>
fp8_status launch_whole(const QuantArgs &a, cudaStream_t s)
{
    typedef ShapeFor<Src, TILE_WHOLE> Shape;
    const unsigned threads = Shape::kWarps * 32;
    const auto amax_kernel = tensor_amax_kernel<Src, Shape>;
    const auto encode_kernel = quantize_tiles_kernel<Src, Span<Src, Shape>::kCols, TILE_WHOLE, Shape, kCvt>;
    unsigned strips = 0, tiles = 0, amax_grid = 0, encode_grid = 0;
    FP8_FORWARD_IF_ERROR((tile_launch_shape<Src, Shape>(a.g, amax_kernel, &strips, &tiles, &amax_grid)));
    FP8_FORWARD_IF_ERROR((tile_launch_shape<Src, Shape>(a.g, encode_kernel, &strips, &tiles, &encode_grid)));
    uint32_t *amax_bits = reinterpret_cast<uint32_t *>(a.scale_inv);
    FP8_CUDA_TRY(cudaMemsetAsync(amax_bits, 0, sizeof *amax_bits, s));
    amax_kernel<<<amax_grid, threads, 0, s>>>(a, strips, tiles, amax_bits);
    FP8_FORWARD_IF_ERROR(launched("tensor_amax_kernel"));
    encode_kernel<<<encode_grid, threads, 0, s>>>(a, strips, tiles);
    FP8_FORWARD_IF_ERROR(launched("quantize_tiles_kernel"));
    finish_scales_kernel<<<1, 32, 0, s>>>(a.scale_inv, 1, a.rule);
    return launched("finish_scales_kernel");
}

/* The large-block passes over the whole matrix: each block's amax into
 * amax_bits (zeroed before), then encoding with each block's scale from it,
 * or with fixed_scale when that is > 0. kWhole: one block, the whole matrix. */
template <typename Src, bool kWhole>
fp8_status launch_block_passes(const QuantArgs &a, uint32_t *amax_bits, float fixed_scale, cudaStream_t s)
{
    const unsigned grid = grid_for(a.g.rows * ceil_div(a.g.cols, 4), kThreads);
    amax_kernel<Src, kWhole><<<grid, kThreads, 0, s>>>(a, amax_bits);
    FP8_FORWARD_IF_ERROR(launched("amax_kernel"));
    encode_blocks_kernel<Src, kWhole><<<grid, kThreads, 0, s>>>(a, fixed_scale);
    return launched("encode_blocks_kernel");
}

/* Runs the quantization described by `a` (scale_inv receives the scales). */
template <typename Src>
fp8_status run(QuantArgs &a, int *nonfinite, cudaStream_t s)
{
    a.nonfinite = nonfinite;
    FP8_FORWARD_IF_ERROR(clear_flag(nonfinite, s));
    if (a.g.rows == 0 || a.g.cols == 0) return FP8_OK;
    if (tiles_apply<Src>(a)) return launch_tiles<Src>(a, s);
    if (a.g.nbr * a.g.nbc == 1 && rows_wide<Src>(a))
        return with_cvt(a, [&](auto cvt) { return launch_whole<Src, decltype(cvt)::value>(a, s); });
    const size_t runs_per_block = a.g.br * ceil_div(a.g.bc, 4);
    if (runs_per_block <= 64) return launch_groups<Src, 32, 2>(a, s);
    if (runs_per_block <= kMaxGroupRuns) return launch_groups<Src, kThreads, kMaxGroupRuns / kThreads>(a, s);

    const size_t nscales = a.g.nbr * a.g.nbc;
    uint32_t *amax_bits = reinterpret_cast<uint32_t *>(a.scale_inv);
    FP8_CUDA_TRY(cudaMemsetAsync(amax_bits, 0, nscales * sizeof *amax_bits, s));
    const fp8_status passes = nscales == 1 ? launch_block_passes<Src, true>(a, amax_bits, 0.0f, s)
                                           : launch_block_passes<Src, false>(a, amax_bits, 0.0f, s);
    FP8_FORWARD_IF_ERROR(passes);
    finish_scales_kernel<<<grid_for(nscales, kThreads), kThreads, 0, s>>>(a.scale_inv, nscales, a.rule);
    return launched("finish_scales_kernel");
}

} // namespace
} // namespace fp8_cuda

using namespace fp8_cuda;

extern "C" {

fp8_status fp8_cuda_quantize_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols, size_t ldx,
                                 uint8_t *q, size_t ldq, float *scale_inv, int *nonfinite, void *stream)
{
    QuantArgs a;
    FP8_FORWARD_IF_ERROR(setup(a, cfg, x, sizeof *x, rows, cols, ldx, q, ldq, scale_inv));
    return run<F32Source>(a, nonfinite, stream_of(stream));
}

fp8_status fp8_cuda_quantize_bf16(const fp8_quant_config *cfg, const uint16_t *x, size_t rows, size_t cols,
                                  size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, int *nonfinite, void *stream)
{
    QuantArgs a;
    FP8_FORWARD_IF_ERROR(setup(a, cfg, x, sizeof *x, rows, cols, ldx, q, ldq, scale_inv));
    return run<Bf16Source>(a, nonfinite, stream_of(stream));
}

fp8_status fp8_cuda_quantize_f32_sr(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                    size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, uint64_t seed,
                                    uint64_t offset, int *nonfinite, void *stream)
{
    QuantArgs a;
    FP8_FORWARD_IF_ERROR(setup(a, cfg, x, sizeof *x, rows, cols, ldx, q, ldq, scale_inv));
    a.enc = make_encoder(cfg->format, cfg->saturation, true, seed);
    a.sr_offset = offset;
    return run<F32Source>(a, nonfinite, stream_of(stream));
}

fp8_status fp8_cuda_quantize_f32_scaled(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                        size_t ldx, float scale, uint8_t *q, size_t ldq, float *amax, int *nonfinite,
                                        void *stream)
{
    FP8_RETURN_IF(cfg == NULL || !(scale > 0.0f && scale <= 3.4e38f) || amax == NULL, FP8_ERR_INVALID_ARGUMENT);
    fp8_quant_config per_tensor = *cfg;
    per_tensor.block_rows = per_tensor.block_cols = 0;
    QuantArgs a;
    FP8_FORWARD_IF_ERROR(setup(a, &per_tensor, x, sizeof *x, rows, cols, ldx, q, ldq, amax));
    const cudaStream_t s = stream_of(stream);
    a.nonfinite = nonfinite;
    FP8_FORWARD_IF_ERROR(clear_flag(nonfinite, s));
    uint32_t *amax_bits = reinterpret_cast<uint32_t *>(amax);
    FP8_CUDA_TRY(cudaMemsetAsync(amax_bits, 0, sizeof *amax_bits, s));
    if (rows == 0 || cols == 0) return FP8_OK;
    return launch_block_passes<F32Source, true>(a, amax_bits, scale, s);
}

fp8_status fp8_cuda_dequantize_f32(const fp8_quant_config *cfg, const uint8_t *q, size_t rows, size_t cols,
                                   size_t ldq, const float *scale_inv, float *x, size_t ldx, void *stream)
{
    FP8_FORWARD_IF_ERROR(fp8_quant_args_check(cfg, x, sizeof *x, rows, cols, ldx, q, ldq, scale_inv));
    if (rows == 0 || cols == 0) return FP8_OK;
    const Geometry g = geometry_of(rows, cols, ldx, ldq, cfg->block_rows, cfg->block_cols);
    const bool vector = ldq % 4 == 0 && ldx % 4 == 0 && aligned(q, 4) && aligned(x, 16);
    const size_t runs = rows * ceil_div(cols, 4);
    dequantize_kernel<<<grid_for(runs, kThreads), kThreads, 0, stream_of(stream)>>>(
        g, q, scale_inv, x, *fp8_format_params_of(cfg->format), vector);
    return launched("dequantize_kernel");
}

fp8_status fp8_cuda_quantize_dual_f32(const fp8_quant_config *cfg, const float *x, size_t rows, size_t cols,
                                      size_t ldx, uint8_t *q, size_t ldq, float *scale_inv, uint8_t *qt, size_t ldqt,
                                      float *scale_inv_t, int *nonfinite, void *stream)
{
    QuantArgs a;
    FP8_FORWARD_IF_ERROR(setup(a, cfg, x, sizeof *x, rows, cols, ldx, q, ldq, scale_inv));
    FP8_RETURN_IF(cfg->block_rows != 1 || cfg->block_cols == 0, FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(cfg->block_cols > kMaxDualTile, FP8_ERR_UNSUPPORTED);
    FP8_RETURN_IF(!fp8_matrix_valid(qt, cols, rows, ldqt, 1), FP8_ERR_INVALID_ARGUMENT);
    FP8_RETURN_IF(rows > 0 && cols > 0 && scale_inv_t == NULL, FP8_ERR_INVALID_ARGUMENT);
    const cudaStream_t s = stream_of(stream);
    const size_t bc = cfg->block_cols, nstrips = fp8_blocks_along(rows, bc);
    if (bc > kMaxFusedDualTile) {
        /* two passes: x in 1 x bc tiles, then x's bc x 1 blocks written transposed */
        FP8_FORWARD_IF_ERROR(run<F32Source>(a, nonfinite, s));
        QuantArgs t = a;
        t.g = geometry_of(rows, cols, ldx, ldqt, bc, 1);
        t.q = qt;
        t.scale_inv = scale_inv_t;
        t.transposed = true;
        t.vec_store = false;
        t.nonfinite = nonfinite;
        return rows == 0 || cols == 0 ? FP8_OK : launch_groups<F32Source, kThreads, kMaxGroupRuns / kThreads>(t, s);
    }
    a.nonfinite = nonfinite;
    FP8_FORWARD_IF_ERROR(clear_flag(nonfinite, s));
    if (rows == 0 || cols == 0) return FP8_OK;
    DualArgs d;
    d.base = a;
    d.base.g.bc = bc; /* the tile edge in both directions, also when wider than the matrix */
    d.qt = qt;
    d.ldqt = ldqt;
    d.nstrips = nstrips;
    d.scale_inv_t = scale_inv_t;
    const size_t smem = bc * (bc + 1) * sizeof(float);
    FP8_CUDA_TRY(cudaFuncSetAttribute(dual_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    FP8_RETURN_IF(a.g.nbc > 0x7FFFFFFFu || nstrips > 65535, FP8_ERR_UNSUPPORTED);
    dual_kernel<<<dim3((unsigned)a.g.nbc, (unsigned)nstrips), kThreads, smem, s>>>(d);
    return launched("dual_kernel");
}

fp8_status fp8_cuda_scales_to_e8m0(uint8_t *e8m0, const float *scale_inv, size_t n, int *invalid, void *stream)
{
    FP8_RETURN_IF(invalid == NULL || (n > 0 && (e8m0 == NULL || scale_inv == NULL)), FP8_ERR_INVALID_ARGUMENT);
    const cudaStream_t s = stream_of(stream);
    FP8_FORWARD_IF_ERROR(clear_flag(invalid, s));
    if (n == 0) return FP8_OK;
    e8m0_check_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(scale_inv, n, invalid);
    FP8_FORWARD_IF_ERROR(launched("e8m0_check_kernel"));
    to_e8m0_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(e8m0, scale_inv, n, invalid);
    return launched("to_e8m0_kernel");
}

fp8_status fp8_cuda_scales_from_e8m0(float *scale_inv, const uint8_t *e8m0, size_t n, int *nonfinite, void *stream)
{
    FP8_RETURN_IF(n > 0 && (e8m0 == NULL || scale_inv == NULL), FP8_ERR_INVALID_ARGUMENT);
    const cudaStream_t s = stream_of(stream);
    FP8_FORWARD_IF_ERROR(clear_flag(nonfinite, s));
    if (n == 0) return FP8_OK;
    from_e8m0_kernel<<<grid_for(n, kThreads), kThreads, 0, s>>>(scale_inv, e8m0, n, nonfinite);
    return launched("from_e8m0_kernel");
}

} // extern "C"
