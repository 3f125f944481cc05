// Fused low-bit GEMV kernels: y[M, N] = x[M, K] * W^T (+ bias), M <= 16, activations and
// output bf16 or f16, f32 accumulation. W is decoded on the fly from its packed layout and
// never written to memory. Section numbers refer to /work/shared/specs/quant_formats.md.
//
// Two families, chosen by how the packed weight is laid out:
// - "row" kernels (NVFP4, MXFP4, FP8, compressed-tensors int4): W is stored row-major along
//   K. One warp owns one output row; its lanes stream the row with 8- or 16-byte loads, each
//   lane dots its chunk with x, and a warp shuffle reduces.
// - "column" kernels (GPTQ, AWQ): W is stored K-major with N contiguous. One lane owns one
//   output column (GPTQ) or one word of 8 columns (AWQ); the 16 warps of a block split K,
//   reduce through shared memory, and grid.y may split K further into f32 partials that
//   `gemv_finalize_*` sums (deterministically, no atomics).
//
// Template parameter A is the activation/output type (OUT_BF16 / OUT_F16); MT is the
// compile-time upper bound on M (1, 2, 4, 8, 16) and `m` the actual M.

// AWQ nibble slot of each column within a word (§3.3).
__device__ __constant__ u32 AWQ_REV_G[8] = {0, 4, 1, 5, 2, 6, 3, 7};

template <int A> __device__ __forceinline__ void load_x8(const u16* __restrict__ x, float* v) {
    const uint4 p = *(const uint4*)x;
    const u32 w[4] = {p.x, p.y, p.z, p.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        v[2 * i] = from_out<A>((u16)(w[i] & 0xFFFFu));
        v[2 * i + 1] = from_out<A>((u16)(w[i] >> 16));
    }
}

template <int A> __device__ __forceinline__ void load_x4(const u16* __restrict__ x, float* v) {
    const uint2 p = *(const uint2*)x;
    v[0] = from_out<A>((u16)(p.x & 0xFFFFu));
    v[1] = from_out<A>((u16)(p.x >> 16));
    v[2] = from_out<A>((u16)(p.y & 0xFFFFu));
    v[3] = from_out<A>((u16)(p.y >> 16));
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// 2^23 + byte b of `src` as an f32 (prmt: byte 0 from src, bytes 1..3 from 0x4B000000).
// One instruction per value; subtracting 2^23 + z then gives q - z exactly.
__device__ __forceinline__ float magic_byte(u32 src, int b) {
    u32 r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(src), "r"(0x4B000000u), "r"(0x7650u | (u32)b));
    return __uint_as_float(r);
}

// The PF codes of one packed word as 2^23 + q floats, in k order. 4-bit: the even nibbles
// go to the bytes of `lo`, the odd ones to the bytes of `hi`, then one prmt per value.
template <int BITS> __device__ __forceinline__ void magic_codes(u32 word, float* f) {
    if (BITS == 4) {
        const u32 lo = word & 0x0F0F0F0Fu, hi = (word >> 4) & 0x0F0F0F0Fu;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            f[2 * b] = magic_byte(lo, b);
            f[2 * b + 1] = magic_byte(hi, b);
        }
    } else {
#pragma unroll
        for (int b = 0; b < 4; ++b) f[b] = magic_byte(word, b);
    }
}

// Four E2M1 codes (the low 16 bits of `w`, nibble j -> byte j) as bytes 12 + 2*value, in
// 0..24. Two prmt table lookups give 12 + 2|v| and 12 - 2|v| from the three magnitude bits;
// a third prmt in sign-replicate mode turns each sign bit into a byte mask (0x80 or 0xFF)
// that picks between them (bit 7 of both tables is 0, so bit 7 of the mask is harmless).
__device__ __forceinline__ u32 e2m1x4_offset_bytes(u32 w) {
    u32 pos, neg, sgn;
    const u32 em = w & 0x7777u;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(pos) : "r"(0x0F0E0D0Cu), "r"(0x18141210u), "r"(em));
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(neg) : "r"(0x090A0B0Cu), "r"(0x00040608u), "r"(em));
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(sgn) : "r"(0x80808080u), "r"(0x80808080u), "r"(w));
    return (sgn & neg) | (~sgn & pos);
}

// Eight E2M1 codes of one word (nibble i = value i) as exact floats of 2 * value.
__device__ __forceinline__ void e2m1x8_twice(u32 word, float* f) {
    const u32 b0 = e2m1x4_offset_bytes(word), b1 = e2m1x4_offset_bytes(word >> 16);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        f[i] = magic_byte(b0, i) - 8388620.0f; // 2^23 + 12
        f[4 + i] = magic_byte(b1, i) - 8388620.0f;
    }
}

// E4M3 byte i of `w` as f32 for codes that are not NaN: the byte moved to the top, an
// arithmetic shift by 4 puts the magnitude at bits [26:20] (sign copies above it), the mask
// keeps the sign at bit 31, then the 2^120 rebias (subnormals included, as e4m3_to_f32).
__device__ __forceinline__ float e4m3_byte_nonan(u32 w, int i) {
    const int r = (int)(w << (24 - 8 * i));
    return __uint_as_float((u32)(r >> 4) & 0x87F00000u) * 1.329227995784916e36f; // 2^120
}

// True when some byte of `w` is an E4M3 NaN (magnitude 0x7F).
__device__ __forceinline__ bool e4m3x4_has_nan(u32 w) {
    return (((w & 0x7F7F7F7Fu) + 0x01010101u) & 0x80808080u) != 0u;
}

// Row-family epilogue: lane 0 of the warp writes y[m, n] = acc[m] + bias[n].
template <int A, int MT>
__device__ __forceinline__ void row_store(u16* __restrict__ y, const u16* __restrict__ bias, float* acc,
                                          int m, int N, int n) {
#pragma unroll
    for (int i = 0; i < MT; ++i) acc[i] = warp_sum(acc[i]);
    if ((threadIdx.x & 31) == 0) {
        const float b = bias ? from_out<A>(bias[n]) : 0.0f;
#pragma unroll
        for (int i = 0; i < MT; ++i)
            if (i < m) y[(u64)i * N + n] = to_out<A>(acc[i] + b);
    }
}

// Streaming weight loads: read once, so they skip L1 (x stays there for the other rows).
__device__ __forceinline__ uint4 ldg_stream16(const void* p) {
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
                 : "l"(p));
    return r;
}
__device__ __forceinline__ uint2 ldg_stream8(const void* p) {
    uint2 r;
    asm volatile("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];" : "=r"(r.x), "=r"(r.y) : "l"(p));
    return r;
}
// A 4-byte streaming load that asks L2 for the whole 256-byte block around it: the AWQ
// tensor-core kernel reads 32-byte row segments whose neighbours the next blocks read at
// about the same time (H100 28672x8192 M = 1: 76.0 -> 72.8 us; the same hint on the
// 16-byte loads of the other kernels was slower, docs/perf.md session 3).
__device__ __forceinline__ u32 ldg_stream4_l2(const void* p) {
    u32 r;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.u32 %0, [%1];" : "=r"(r) : "l"(p));
    return r;
}

// Group scales and zeros are read once, when their group starts: an L2 prefetch one group
// ahead takes their DRAM latency off the chunk loop (the 32-k GPTQ4 kernel; docs/perf.md
// session 6).
__device__ __forceinline__ void group_prefetch(const void* p) { asm volatile("prefetch.global.L2 [%0];" ::"l"(p)); }

// 16 bytes from global to shared memory without a register in flight (sm_80 cp.async,
// cached in L1 too). A lane waits for its own copies with cp_async_wait<N>() (at most N of
// its groups still pending); other lanes' copies are visible after that and a __syncwarp.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
    const u32 a = (u32)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 16;" ::"r"(a), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
// Programmatic dependent launch (sm_90): wait until the grid before this one on the stream
// has finished and its writes are visible; let the grid after this one start launching.
__device__ __forceinline__ void grid_dep_wait() {
    asm volatile("griddepcontrol.wait;" ::: "memory");
}
__device__ __forceinline__ void grid_dep_launch() {
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
}

// SW_TL (a timing probe, compiled only with SAFEWEIGHTS_KERNEL_DEFINES=SW_TL=1, 2, 3 or 4; see
// docs/cuda.md): lane 0 of each warp of the GPTQ4 group-sum kernel writes a stamp at phase p
// to sw_tl_buf[(block * warps + warp) * 8 + p]: at entry (p = 0) the low 32 bits of
// %globaltimer over those of %clock, later the warp's %clock. SW_TL=1 stamps the chunk loop
// (TLA), SW_TL=2 the set-up before it (TLB), SW_TL=3 the set-up's first steps (TLC: the
// cluster set-up, the PDL trigger), SW_TL=4 the tail after the loop (TLD: the last flush,
// the block's reduction, split_tail's cluster exchange). gemv_tl_copy copies the stamps out and clears
// them, for the bench's SAFEWEIGHTS_TL_PROBE report (src/cuda/bench.rs, tl_probe).
#ifdef SW_TL
constexpr int SW_TL_WORDS = 16384; // TL_WORDS in src/cuda/bench.rs
__device__ unsigned long long sw_tl_buf[SW_TL_WORDS];
__device__ __forceinline__ void tl_stamp(int ph) {
    if ((threadIdx.x & 31) == 0) {
        unsigned long long t;
        unsigned c;
        asm volatile("mov.u32 %0, %%clock;" : "=r"(c)::"memory");
        if (ph == 0) {
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)::"memory");
            t = (t << 32) | c;
        } else {
            t = c;
        }
        const int i = (((int)(blockIdx.y * gridDim.x + blockIdx.x) * (int)(blockDim.x >> 5)) + (int)(threadIdx.x >> 5)) * 8 + ph;
        if (i < SW_TL_WORDS) sw_tl_buf[i] = t;
    }
}
extern "C" __global__ void gemv_tl_copy(unsigned long long* dst) {
    for (int i = threadIdx.x + blockIdx.x * blockDim.x; i < SW_TL_WORDS; i += blockDim.x * gridDim.x) {
        dst[i] = sw_tl_buf[i];
        sw_tl_buf[i] = 0ull;
    }
}
#define TL(p) tl_stamp(p)
#define TLA(p)                                                                                               \
    if (SW_TL == 1) tl_stamp(p)
#define TLB(p)                                                                                               \
    if (SW_TL == 2) tl_stamp(p)
#define TLC(p)                                                                                               \
    if (SW_TL == 3) tl_stamp(p)
#define TLD(p)                                                                                               \
    if (SW_TL == 4) tl_stamp(p)
// A stamp after this value is ready (an MMA's result, an activation word).
#define TL_DEP(v) asm volatile("" ::"f"(v))
#define TL_DEPU(v) asm volatile("" ::"r"(v))
#else
#define TL(p)
#define TLA(p)
#define TLB(p)
#define TLC(p)
#define TLD(p)
#define TL_DEP(v)
#define TL_DEPU(v)
#endif

template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

// (v & mask) | magic as one LOP3. Written as two C operations, the two constants do not fit
// one SASS LOP3 (one immediate operand), and ptxas emitted an AND and an OR: two ALU
// instructions per code pair in the 4-bit decodes. One lop3 with the magic in a register:
// GPTQ4 64-k loop 786 -> 660 instructions per two chunks; H100 M = 1 28672x8192
// 52.6 -> 48.6 us, 14336x4096 18.0 -> 16.8, 8192x8192 20.9 -> 20.1 (docs/perf.md).
template <u32 MASK> __device__ __forceinline__ u32 and_or(u32 v, u32 magic) {
    u32 d;
    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(d) : "r"(v), "n"(MASK), "r"(magic));
    return d;
}

// Row kernels walk lane chunks c = lane, lane + 32, ... in batches of U: the U weight loads
// of a batch (and their scales) are issued before any is used, so each lane keeps U loads in
// flight (the kernels were latency-bound with one or two). A ragged tail goes one at a time.
// 8 at M = 1; fewer at larger M, where the registers of a deeper batch cost resident warps
// (and, on small layers, a second wave).
#define ROW_U (MT == 1 ? 8 : 4)
#define ROW_U16 (MT <= 4 ? 4 : 2) // 32-value chunks (MXFP4, CT4): wv[32] already needs many registers

// ---------------------------------------------------------------------------------------
// NVFP4 (§6, §7): lane chunk = 8 bytes = 16 values = one E4M3 block scale. R rows per warp
// (2 at M = 1): each x chunk is loaded and converted once for R rows.
// ---------------------------------------------------------------------------------------
template <int A, int MT, int R>
__device__ __forceinline__ void gemv_nvfp4_body(u16* __restrict__ y, const u16* __restrict__ x,
                                                const u8* __restrict__ w, const u8* __restrict__ ws,
                                                const float* __restrict__ global, int convention,
                                                const u16* __restrict__ bias, int m, int N, int K) {
    constexpr int U = R > 1 ? 4 : ROW_U;
    const int n0 = (blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)) * R;
    if (n0 >= N) return;
    const int lane = threadIdx.x & 31;
    const float gs = global[0];
    // The codes decode to 2 * value, hence the 0.5. The divisor convention multiplies by
    // 1 / global (within one f32 rounding of dividing, far inside the GEMV tolerance).
    const float gmul = convention == 0 ? gs * 0.5f : 0.5f / gs;
    const int chunks = K / 16;
    const u8* row[R];
    const u8* srow[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int nr = min(n0 + r, N - 1); // a missing last row re-reads row N - 1, not stored
        row[r] = w + (u64)nr * (K / 2);
        srow[r] = ws + (u64)nr * chunks;
    }
    float acc[R][MT];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < MT; ++i) acc[r][i] = 0.0f;
    auto step = [&](const uint2* p, const u32* sbyte, const int c) {
        float wv[R][16]; // 2 * value
        float scale[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            scale[r] = e4m3_to_f32(sbyte[r]) * gmul;
            e2m1x8_twice(p[r].x, wv[r]);
            e2m1x8_twice(p[r].y, wv[r] + 8);
        }
#pragma unroll
        for (int mi = 0; mi < MT; ++mi) {
            if (mi < m) {
                float xv[16];
                load_x8<A>(x + (u64)mi * K + c * 16, xv);
                load_x8<A>(x + (u64)mi * K + c * 16 + 8, xv + 8);
#pragma unroll
                for (int r = 0; r < R; ++r) {
                    float part = 0.0f;
#pragma unroll
                    for (int i = 0; i < 16; ++i) part = fmaf(wv[r][i], xv[i], part);
                    acc[r][mi] = fmaf(part, scale[r], acc[r][mi]);
                }
            }
        }
    };
    int c = lane;
    for (; c + 32 * (U - 1) < chunks; c += 32 * U) {
        uint2 p[U][R];
        u32 sb[U][R];
#pragma unroll
        for (int u = 0; u < U; ++u)
#pragma unroll
            for (int r = 0; r < R; ++r) {
                p[u][r] = ldg_stream8(row[r] + (u64)(c + 32 * u) * 8);
                sb[u][r] = srow[r][c + 32 * u];
            }
#pragma unroll
        for (int u = 0; u < U; ++u) step(p[u], sb[u], c + 32 * u);
    }
    for (; c < chunks; c += 32) {
        uint2 p[R];
        u32 sb[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            p[r] = ldg_stream8(row[r] + (u64)c * 8);
            sb[r] = srow[r][c];
        }
        step(p, sb, c);
    }
#pragma unroll
    for (int r = 0; r < R; ++r)
        if (n0 + r < N) row_store<A, MT>(y, bias, acc[r], m, N, n0 + r);
}

// ---------------------------------------------------------------------------------------
// MXFP4 (§8): lane chunk = 16 bytes = 32 values = one E8M0 scale; R rows per warp as NVFP4.
// ---------------------------------------------------------------------------------------
template <int A, int MT, int R>
__device__ __forceinline__ void gemv_mxfp4_body(u16* __restrict__ y, const u16* __restrict__ x,
                                                const u8* __restrict__ w, const u8* __restrict__ sc,
                                                const u16* __restrict__ bias, int m, int N, int K) {
    constexpr int U = R > 1 ? 2 : ROW_U16;
    const int n0 = (blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5)) * R;
    if (n0 >= N) return;
    const int lane = threadIdx.x & 31;
    const int chunks = K / 32;
    const u8* row[R];
    const u8* srow[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int nr = min(n0 + r, N - 1); // a missing last row re-reads row N - 1, not stored
        row[r] = w + (u64)nr * (K / 2);
        srow[r] = sc + (u64)nr * chunks;
    }
    float acc[R][MT];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < MT; ++i) acc[r][i] = 0.0f;
    auto step = [&](const uint4* p, const u32* sbyte, const int c) {
        float wv[R][32]; // 2 * value
#pragma unroll
        for (int r = 0; r < R; ++r) {
            e2m1x8_twice(p[r].x, wv[r]);
            e2m1x8_twice(p[r].y, wv[r] + 8);
            e2m1x8_twice(p[r].z, wv[r] + 16);
            e2m1x8_twice(p[r].w, wv[r] + 24);
        }
#pragma unroll
        for (int mi = 0; mi < MT; ++mi) {
            if (mi < m) {
                float part[R];
#pragma unroll
                for (int r = 0; r < R; ++r) part[r] = 0.0f;
#pragma unroll
                for (int h = 0; h < 4; ++h) {
                    float xv[8];
                    load_x8<A>(x + (u64)mi * K + c * 32 + h * 8, xv);
#pragma unroll
                    for (int r = 0; r < R; ++r)
#pragma unroll
                        for (int i = 0; i < 8; ++i) part[r] = fmaf(wv[r][h * 8 + i], xv[i], part[r]);
                }
#pragma unroll
                for (int r = 0; r < R; ++r) acc[r][mi] = fmaf(part[r] * 0.5f, e8m0_to_f32(sbyte[r]), acc[r][mi]);
            }
        }
    };
    int c = lane;
    for (; c + 32 * (U - 1) < chunks; c += 32 * U) {
        uint4 p[U][R];
        u32 sb[U][R];
#pragma unroll
        for (int u = 0; u < U; ++u)
#pragma unroll
            for (int r = 0; r < R; ++r) {
                p[u][r] = ldg_stream16(row[r] + (u64)(c + 32 * u) * 16);
                sb[u][r] = srow[r][c + 32 * u];
            }
#pragma unroll
        for (int u = 0; u < U; ++u) step(p[u], sb[u], c + 32 * u);
    }
    for (; c < chunks; c += 32) {
        uint4 p[R];
        u32 sb[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            p[r] = ldg_stream16(row[r] + (u64)c * 16);
            sb[r] = srow[r][c];
        }
        step(p, sb, c);
    }
#pragma unroll
    for (int r = 0; r < R; ++r)
        if (n0 + r < N) row_store<A, MT>(y, bias, acc[r], m, N, n0 + r);
}

// ---------------------------------------------------------------------------------------
// FP8 E4M3 (§7.4, §9): lane chunk = 16 bytes = 16 values; needs K % 16 == 0 and, for
// block scales, a block width that is a multiple of 16. mode 0 tensor, 1 channel, 2 block.
// NC: look for NaN codes (0x7F / 0xFF) in every chunk and decode a chunk holding one
// through e4m3_to_f32, so that they reach y as NaN. The `gemv_fp8n_*` kernels (NC false)
// skip that test, about 10 instructions per 16 bytes; the dispatcher takes them for a
// layer that gemv_fp8_has_nan found free of NaN codes (src/cuda/gemv.rs, once per layer).
// ---------------------------------------------------------------------------------------
template <int A, int MT, bool NC = true>
__device__ __forceinline__ void gemv_fp8_body(u16* __restrict__ y, const u16* __restrict__ x,
                                              const u8* __restrict__ w, const float* __restrict__ scale,
                                              int mode, int bh, int bw, const u16* __restrict__ bias, int m,
                                              int N, int K) {
    constexpr int U = ROW_U;
    const int n = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (n >= N) return;
    const int lane = threadIdx.x & 31;
    const int chunks = K / 16;
    const u8* row = w + (u64)n * K;
    const int scols = (K + bw - 1) / bw;
    const float s_row = mode == 0 ? scale[0] : (mode == 1 ? scale[n] : 0.0f);
    const float* s_blk = scale + (u64)(n / bh) * scols;
    float acc[MT];
#pragma unroll
    for (int i = 0; i < MT; ++i) acc[i] = 0.0f;
    // Block index of chunk c: a shift when the block width is a power of two (128 in the
    // checkpoints seen), so no per-chunk integer division (H100 28672x8192 M = 1: see
    // docs/perf.md, session 5).
    const int bsh = (bw & (bw - 1)) == 0 ? __ffs(bw) - 5 : -1; // log2(bw / 16)
    auto scale_of = [&](const int c) {
        return mode == 2 ? s_blk[bsh >= 0 ? c >> bsh : (c * 16) / bw] : s_row;
    };
    auto step = [&](const uint4 p, const float s, const int c) {
        const u32 words[4] = {p.x, p.y, p.z, p.w};
        float wv[16];
        if (!NC || !(e4m3x4_has_nan(p.x) | e4m3x4_has_nan(p.y) | e4m3x4_has_nan(p.z) | e4m3x4_has_nan(p.w))) {
#pragma unroll
            for (int i = 0; i < 16; ++i) wv[i] = e4m3_byte_nonan(words[i / 4], i % 4);
        } else {
#pragma unroll
            for (int i = 0; i < 16; ++i) wv[i] = e4m3_to_f32((words[i / 4] >> (8 * (i % 4))) & 0xFFu);
        }
#pragma unroll
        for (int mi = 0; mi < MT; ++mi) {
            if (mi < m) {
                float xv[16];
                load_x8<A>(x + (u64)mi * K + c * 16, xv);
                load_x8<A>(x + (u64)mi * K + c * 16 + 8, xv + 8);
                float part = 0.0f;
#pragma unroll
                for (int i = 0; i < 16; ++i) part = fmaf(wv[i], xv[i], part);
                acc[mi] = fmaf(part, s, acc[mi]);
            }
        }
    };
    int c = lane;
    for (; c + 32 * (U - 1) < chunks; c += 32 * U) {
        uint4 p[U];
        float sv[U]; // block scales requested with the weights, not one latency per chunk
#pragma unroll
        for (int u = 0; u < U; ++u) {
            p[u] = ldg_stream16(row + (u64)(c + 32 * u) * 16);
            sv[u] = scale_of(c + 32 * u);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) step(p[u], sv[u], c + 32 * u);
    }
    for (; c < chunks; c += 32) step(ldg_stream16(row + (u64)c * 16), scale_of(c), c);
    row_store<A, MT>(y, bias, acc, m, N, n);
}

// ---------------------------------------------------------------------------------------
// compressed-tensors pack-quantized int4 (§5): lane chunk = 4 words = 32 values; needs
// K % 32 == 0 and a group size that is a multiple of 32 (one scale per chunk).
// ---------------------------------------------------------------------------------------
template <int A, int MT>
__device__ __forceinline__ void gemv_ct4_body(u16* __restrict__ y, const u16* __restrict__ x,
                                              const u32* __restrict__ w, const void* __restrict__ scales,
                                              int scale_dt, const u32* __restrict__ zp, int group_size,
                                              int groups, const u16* __restrict__ bias, int m, int N, int K) {
    constexpr int U = 2; // measured: deeper batches were slower for this kernel
    const int n = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (n >= N) return;
    const int lane = threadIdx.x & 31;
    const int chunks = K / 32;
    const u32* row = w + (u64)n * (K / 8);
    const int gsh = group_shift(group_size);
    float acc[MT];
#pragma unroll
    for (int i = 0; i < MT; ++i) acc[i] = 0.0f;
    auto step = [&](const uint4 p, const float s, const float zb, const int c) {
        const u32 words[4] = {p.x, p.y, p.z, p.w};
        float wv[32];
#pragma unroll
        for (int h = 0; h < 4; ++h) magic_codes<4>(words[h], wv + 8 * h);
#pragma unroll
        for (int i = 0; i < 32; ++i) wv[i] -= zb;
#pragma unroll
        for (int mi = 0; mi < MT; ++mi) {
            if (mi < m) {
                float part = 0.0f;
#pragma unroll
                for (int h = 0; h < 4; ++h) {
                    float xv[8];
                    load_x8<A>(x + (u64)mi * K + c * 32 + h * 8, xv);
#pragma unroll
                    for (int i = 0; i < 8; ++i) part = fmaf(wv[h * 8 + i], xv[i], part);
                }
                acc[mi] = fmaf(part, s, acc[mi]);
            }
        }
    };
    auto scale_of = [&](const int c) { return load_scale(scales, (u64)n * groups + div_g(c * 32, group_size, gsh), scale_dt); };
    auto zero_of = [&](const int c) {
        return biased(zp ? (int)((zp[(u64)(n / 8) * groups + div_g(c * 32, group_size, gsh)] >> (4 * (n % 8))) & 15u) : 8);
    };
    int c = lane;
    for (; c + 32 * (U - 1) < chunks; c += 32 * U) {
        uint4 p[U];
        float s[U], zb[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            p[u] = ldg_stream16(row + (u64)(c + 32 * u) * 4);
            s[u] = scale_of(c + 32 * u);
            zb[u] = zero_of(c + 32 * u);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) step(p[u], s[u], zb[u], c + 32 * u);
    }
    for (; c < chunks; c += 32) step(ldg_stream16(row + (u64)c * 4), scale_of(c), zero_of(c), c);
    row_store<A, MT>(y, bias, acc, m, N, n);
}

// ---------------------------------------------------------------------------------------
// Column family. Block = 16 warps; lane -> column (GPTQ) or word column (AWQ); warps and
// grid.y split the packed rows. With gridDim.y == 1 the block writes y directly; otherwise
// it writes f32 partials part[blockIdx.y][m][N] for gemv_finalize.
// ---------------------------------------------------------------------------------------
#define COL_WARPS 16

template <int A, int MT, int COLS>
__device__ __forceinline__ void col_reduce_store(float (*acc)[COLS], u16* __restrict__ y,
                                                 float* __restrict__ part, const u16* __restrict__ bias,
                                                 int m, int N, int n0) {
    // acc[MT][COLS] per thread; reduce over the 16 warps through shared memory, one
    // (m, col) pair at a time per pass to bound shared memory.
    __shared__ float red[COL_WARPS][32];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
    for (int mi = 0; mi < MT; ++mi) {
        if (mi >= m) break;
#pragma unroll
        for (int c = 0; c < COLS; ++c) {
            red[warp][lane] = acc[mi][c];
            __syncthreads();
            if (warp == 0) {
                float s = 0.0f;
#pragma unroll
                for (int w = 0; w < COL_WARPS; ++w) s += red[w][lane];
                const int n = n0 + lane * COLS + c;
                if (n < N) {
                    if (gridDim.y == 1) {
                        const float b = bias ? from_out<A>(bias[n]) : 0.0f;
                        y[(u64)mi * N + n] = to_out<A>(s + b);
                    } else {
                        part[((u64)blockIdx.y * m + mi) * N + n] = s;
                    }
                }
            }
            __syncthreads();
        }
    }
}

// GPTQ fast path for M <= 4 without g_idx. Each warp stages its x slice as f32 in shared
// memory, CH packed rows at a time (one conversion per value instead of one per lane), loads
// the CH words of its column up front, and computes sum_i (q_i - z) x_i per word before one
// multiply by the group scale.
template <int A, int MT, int BITS>
__device__ __forceinline__ void gemv_gptq_fast(u16* __restrict__ y, float* __restrict__ part,
                                               const u16* __restrict__ x, const u32* __restrict__ qw,
                                               const u32* __restrict__ qz, const void* __restrict__ scales,
                                               int scale_dt, int group_size, int v1,
                                               const u16* __restrict__ bias, int m, int N, int K) {
    constexpr int PF = 32 / BITS;
    constexpr int CH = 16;
    constexpr int CHV = CH * PF;
    __shared__ __align__(16) float xs[COL_WARPS][MT][CHV];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int n = blockIdx.x * 32 + lane;
    const bool live = n < N;
    const int rows = K / PF;
    const int slices = gridDim.y * COL_WARPS;
    const int slice = blockIdx.y * COL_WARPS + warp;
    const int per = (rows + slices - 1) / slices;
    const int r0 = slice * per, r1 = min(rows, r0 + per);
    const int zero_words = N * BITS / 32;
    const int gsh = group_shift(group_size);
    float acc[MT][1];
#pragma unroll
    for (int i = 0; i < MT; ++i) acc[i][0] = 0.0f;
    int cur_g = -1;
    float s = 0.0f, zb = 0.0f;
    for (int rc = r0; rc < r1; rc += CH) {
        const int nr = min(CH, r1 - rc);
        // The chunk's words and its first group's scale and zero are requested before the x
        // staging, so their latencies overlap.
        u32 words[CH];
        if (live) {
#pragma unroll
            for (int j = 0; j < CH; ++j) words[j] = j < nr ? qw[(u64)(rc + j) * N + n] : 0u;
            const int g = div_g(rc * PF, group_size, gsh);
            if (g != cur_g) {
                cur_g = g;
                s = load_scale(scales, (u64)g * N + n, scale_dt);
                zb = biased((int)((qz[(u64)g * zero_words + n / PF] >> ((n % PF) * BITS)) & ((1u << BITS) - 1u)) + v1);
            }
        }
        __syncwarp();
#pragma unroll
        for (int mi = 0; mi < MT; ++mi)
            if (mi < m)
                for (int t = lane; t < nr * PF; t += 32) xs[warp][mi][t] = from_out<A>(x[(u64)mi * K + (u64)rc * PF + t]);
        __syncwarp();
        if (live) {
#pragma unroll
            for (int j = 0; j < CH; ++j) {
                if (j < nr) {
                    const int g = div_g((rc + j) * PF, group_size, gsh);
                    if (g != cur_g) {
                        cur_g = g;
                        s = load_scale(scales, (u64)g * N + n, scale_dt);
                        zb = biased((int)((qz[(u64)g * zero_words + n / PF] >> ((n % PF) * BITS)) & ((1u << BITS) - 1u)) + v1);
                    }
                    float f[PF];
                    magic_codes<BITS>(words[j], f);
#pragma unroll
                    for (int i = 0; i < PF; ++i) f[i] -= zb;
#pragma unroll
                    for (int mi = 0; mi < MT; ++mi) {
                        if (mi < m) {
                            const float* xv = &xs[warp][mi][j * PF];
                            float p = 0.0f;
#pragma unroll
                            for (int i = 0; i < PF; ++i) p = fmaf(f[i], xv[i], p);
                            acc[mi][0] = fmaf(p, s, acc[mi][0]);
                        }
                    }
                }
            }
        }
    }
    col_reduce_store<A, MT, 1>(acc, y, part, bias, m, N, blockIdx.x * 32);
}

// GPTQ 4- and 8-bit (§2): qweight [K*b/32, N]. Rows of packed words are split evenly over
// grid.y x 16 warps. Scales/zeros per (group, column); g_idx optional (act order).
template <int A, int MT, int BITS>
__device__ __forceinline__ void gemv_gptq_body(u16* __restrict__ y, float* __restrict__ part,
                                               const u16* __restrict__ x, const u32* __restrict__ qw,
                                               const u32* __restrict__ qz, const void* __restrict__ scales,
                                               int scale_dt, const int* __restrict__ g_idx, int group_size,
                                               int v1, const u16* __restrict__ bias, int m, int N, int K) {
    if (MT <= 4 && g_idx == nullptr) {
        gemv_gptq_fast<A, (MT <= 4 ? MT : 1), BITS>(y, part, x, qw, qz, scales, scale_dt, group_size, v1, bias, m, N, K);
        return;
    }
    constexpr int PF = 32 / BITS;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int n = blockIdx.x * 32 + lane;
    const bool live = n < N;
    const int rows = K / PF;
    const int slices = gridDim.y * COL_WARPS;
    const int slice = blockIdx.y * COL_WARPS + warp;
    const int per = (rows + slices - 1) / slices;
    const int r0 = slice * per, r1 = min(rows, r0 + per);
    const int zero_words = N * BITS / 32;
    float acc[MT][1];
#pragma unroll
    for (int i = 0; i < MT; ++i) acc[i][0] = 0.0f;
    if (live) {
        int cur_g = -1;
        const int gsh = group_shift(group_size);
        float s = 0.0f, zb = 0.0f;
#pragma unroll 4
        for (int r = r0; r < r1; ++r) {
            const u32 word = qw[(u64)r * N + n];
            const int k0 = r * PF;
            float wv[PF];
            if (g_idx == nullptr) {
                const int g = div_g(k0, group_size, gsh);
                if (g != cur_g) {
                    cur_g = g;
                    s = load_scale(scales, (u64)g * N + n, scale_dt);
                    zb = biased((int)((qz[(u64)g * zero_words + n / PF] >> ((n % PF) * BITS)) & ((1u << BITS) - 1u)) + v1);
                }
#pragma unroll
                for (int i = 0; i < PF; ++i) wv[i] = q_minus((word >> (BITS * i)) & ((1u << BITS) - 1u), zb) * s;
            } else {
#pragma unroll
                for (int i = 0; i < PF; ++i) {
                    const int g = g_idx[k0 + i];
                    const float si = load_scale(scales, (u64)g * N + n, scale_dt);
                    const float zi = biased((int)((qz[(u64)g * zero_words + n / PF] >> ((n % PF) * BITS)) & ((1u << BITS) - 1u)) + v1);
                    wv[i] = q_minus((word >> (BITS * i)) & ((1u << BITS) - 1u), zi) * si;
                }
            }
#pragma unroll
            for (int mi = 0; mi < MT; ++mi) {
                if (mi < m) {
                    float xv[PF];
                    if (PF == 8) load_x8<A>(x + (u64)mi * K + k0, xv);
                    else load_x4<A>(x + (u64)mi * K + k0, xv);
#pragma unroll
                    for (int i = 0; i < PF; ++i) acc[mi][0] = fmaf(wv[i], xv[i], acc[mi][0]);
                }
            }
        }
    }
    col_reduce_store<A, MT, 1>(acc, y, part, bias, m, N, blockIdx.x * 32);
}

// AWQ GEMM (§3): qweight [K, N/8]; lane -> word column j (8 outputs, interleaved order).
template <int A, int MT>
__device__ __forceinline__ void gemv_awq_body(u16* __restrict__ y, float* __restrict__ part,
                                              const u16* __restrict__ x, const u32* __restrict__ qw,
                                              const u32* __restrict__ qz, const void* __restrict__ scales,
                                              int scale_dt, int group_size, const u16* __restrict__ bias,
                                              int m, int N, int K) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int nw = N / 8;
    const int j = blockIdx.x * 32 + lane;
    const bool live = j < nw;
    const int slices = gridDim.y * COL_WARPS;
    const int slice = blockIdx.y * COL_WARPS + warp;
    const int per = (K + slices - 1) / slices;
    const int k0 = slice * per, k1 = min(K, k0 + per);
    float acc[MT][8];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int c = 0; c < 8; ++c) acc[i][c] = 0.0f;
    if (live) {
        // Per group: pg[m][c] = sum_k (q - z) x, decoded with one prmt per value (2^23 + q)
        // and one subtraction; the group scale is applied once when the group ends.
        int cur_g = -1;
        const int gsh = group_shift(group_size);
        float s[8], zb[8], pg[MT][8];
#pragma unroll
        for (int c = 0; c < 8; ++c) s[c] = zb[c] = 0.0f;
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int c = 0; c < 8; ++c) pg[i][c] = 0.0f;
        auto step = [&](const u32 word, const int k) {
            const int g = div_g(k, group_size, gsh);
            if (g != cur_g) {
#pragma unroll
                for (int i = 0; i < MT; ++i)
#pragma unroll
                    for (int c = 0; c < 8; ++c) {
                        acc[i][c] = fmaf(pg[i][c], s[c], acc[i][c]);
                        pg[i][c] = 0.0f;
                    }
                cur_g = g;
                const u32 zw = qz[(u64)g * nw + j];
#pragma unroll
                for (int c = 0; c < 8; ++c) {
                    s[c] = load_scale(scales, (u64)g * N + 8 * j + c, scale_dt);
                    zb[c] = biased((int)((zw >> (4 * AWQ_REV_G[c])) & 15u));
                }
            }
            float f[8];
            magic_codes<4>(word, f);
            float d[8];
#pragma unroll
            for (int c = 0; c < 8; ++c) d[c] = f[(c >> 1) | ((c & 1) << 2)] - zb[c]; // AWQ_REV_G[c]
#pragma unroll
            for (int mi = 0; mi < MT; ++mi) {
                if (mi < m) {
                    const float xv = from_out<A>(x[(u64)mi * K + k]);
#pragma unroll
                    for (int c = 0; c < 8; ++c) pg[mi][c] = fmaf(d[c], xv, pg[mi][c]);
                }
            }
        };
        // Batches of KB words loaded before use (several loads in flight per lane).
        constexpr int KB = 16;
        int k = k0;
        for (; k + KB <= k1; k += KB) {
            u32 words[KB];
#pragma unroll
            for (int b = 0; b < KB; ++b) words[b] = qw[(u64)(k + b) * nw + j];
#pragma unroll
            for (int b = 0; b < KB; ++b) step(words[b], k + b);
        }
        for (; k < k1; ++k) step(qw[(u64)k * nw + j], k);
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int c = 0; c < 8; ++c) acc[i][c] = fmaf(pg[i][c], s[c], acc[i][c]);
    }
    col_reduce_store<A, MT, 8>(acc, y, part, bias, m, N, blockIdx.x * 256);
}

// ---------------------------------------------------------------------------------------
// Tensor-core GEMV (mma.sync m16n8k16, f32 accumulation) for row-major packed weights.
// The weight rows are the MMA's M dimension (16 per warp tile), the activation rows its N
// (one n8 tile for M <= 8, two for M <= 16), K the reduction. Because the MMA sums over k,
// its k order may be permuted as long as A and B agree: lane (g = lane / 4, t = lane % 4)
// loads 16 bytes of rows n0 + g and n0 + g + 8 (k = 32t .. 32t + 31 of a 128-k chunk) and
// feeds step (u, h) with the four consecutive k = 32t + 8u + 4h + 0..3 as its A pairs
// (k 0,1 and k 2,3), and the activations at the same four k (one 8-byte load) as its B
// pairs. The decoded weights are exact in the activation type, so every product inside the
// MMA is exact; the only roundings are the f32 accumulation and the output.
// The W warps of a block (4, 8 or 16) split K and reduce through shared memory.
// ---------------------------------------------------------------------------------------

template <int A>
__device__ __forceinline__ void mma_16816(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
    if (A == OUT_BF16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

template <int A> __device__ __forceinline__ u32 hmul2(u32 a, u32 b) {
    u32 r;
    if (A == OUT_BF16) asm("mul.rn.bf16x2 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    else asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

// A compile-time slot index for a generic lambda (`decltype(arg)::value`).
template <int V> struct SlotC { static constexpr int value = V; };

__device__ __forceinline__ u32 prmt(u32 a, u32 b, u32 sel) {
    u32 r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(sel));
    return r;
}

// FP4 (NVFP4, MXFP4) weights repacked for the tensor-core kernels (`gemv_fp4_repack_*`,
// once per layer and activation type): the 32 bits of each word (8 codes, nibble j = k offset j)
// permuted so that a rotation and a mask put both codes of a pair (k 2r, k 2r + 1) at
// their places in a 16-bit float: the sign at bit 15, the two exponent bits and the
// mantissa bit under the format's exponent field (bf16: bits 8..6; f16: bits 11..9), so
// that the half holds the E2M1 value times 2^-126 (bf16) or 2^-14 (f16), exactly, zero and
// the subnormal code 0.5 included (it lands on the format's subnormal 2^-127 or 2^-15).
// The pair's scale multiply then carries the 2^126 or 2^14 back, split between the scale
// (NVFP4: 2^118 or 2^7, see e4m3_scale_pairs; MXFP4: e8m0_rp_bf16x2) and the f32 sums
// (2^8 or 2^7: fp4_rp_mul, applied in fp4_out_mul).
// Register r of word w is a union of pieces rotr(w, d) & mask. No layout lets every pair
// come from one rotation (four translates of a pair's bit set cannot tile 32 bits), so
// one pair (bf16) or two (f16) take two pieces: 4 rotations and 5 masks per 8 codes for
// bf16 (the prmt table decode it replaced spent about 25 there), 4 and 6 for
// f16. `fp4_rp_src` is the same layout seen from the repack side.
template <int A> __device__ __forceinline__ u32 e2m1_rp(u32 w, int r) {
    if (A == OUT_BF16) {
        switch (r) {
        case 0: return __funnelshift_r(w, w, 2) & 0x81C081C0u;
        case 1: return __funnelshift_r(w, w, 6) & 0x81C081C0u;
        case 2: return __funnelshift_r(w, w, 12) & 0x81C081C0u;
        default: return (w & 0x80C080C0u) | (__funnelshift_r(w, w, 8) & 0x01000100u);
        }
    }
    switch (r) {
    case 0: return w & 0x8E008E00u;
    case 1: return __funnelshift_r(w, w, 3) & 0x8E008E00u;
    case 2: return (__funnelshift_r(w, w, 7) & 0x86008600u) | (__funnelshift_r(w, w, 9) & 0x08000800u);
    default: return (__funnelshift_r(w, w, 12) & 0x0A000A00u) | (__funnelshift_r(w, w, 9) & 0x84008400u);
    }
}

// Where the repacked word keeps bit t (0..31) of pair register r: the rotation of e2m1_rp.
template <int A> __device__ __forceinline__ int fp4_rp_src(int r, int t) {
    const int u = t & 15;
    int d;
    if (A == OUT_BF16) d = r == 0 ? 2 : r == 1 ? 6 : r == 2 ? 12 : (u == 8 ? 8 : 0);
    else d = r == 0 ? 0 : r == 1 ? 3 : r == 2 ? (u == 11 ? 9 : 7) : (u == 9 || u == 11 ? 12 : 9);
    return (t + d) & 31;
}

// 2^e as an f32, for e in [-126, 127].
__device__ __forceinline__ float pow2f(int e) { return __int_as_float((127 + e) << 23); }

// The factor the f32 sums of a repacked NVFP4 layer take on top of the global scale.
template <int A> __device__ __forceinline__ float fp4_rp_mul() { return A == OUT_BF16 ? 256.0f : 128.0f; }

// The `fp4ga` kernels' bit layout (gemv_fp4ga_repack, mma_fp4_ga_body). Pair register r of
// e2m1_ga2 (r = 0..3) holds two codes as the same bits as e2m1_rp: the value's m, e0, e1
// and s at bits 6, 7, 8, 15 (bf16) or 9, 10, 11, 15 (f16) of each half, that is the E2M1
// value times 2^-126 or 2^-14 (subnormal for codes 1 and 9, which stays exact). Its bit q
// sits at bit fp4_ga2_src(r, q) of the word, an arrangement with the fewest integer
// instructions found by search: registers 0 and 1 are the word and the word shifted left
// by 3 under one mask; registers 2 and 3 take their exponent and mantissa bits from one
// shift and their sign bits from another. Only bf16's register 2 shifts right; the left
// shifts may issue as multiplies, on the FMA pipe instead of the integer pipe that the
// decode keeps busy (7 integer instructions per word for bf16, 6 for f16, against 9 and
// 11 for e2m1_rp). H100, M = 16, 28672x8192, with fp4ga_scale_halves (session 21): NVFP4
// 59.9 -> 59.0 µs, MXFP4 58.4 -> 57.2; the other layers within noise.
// The codes pair as (0, 4), (2, 6), (1, 5), (3, 7) for r = 0..3 (k offsets (h, h + 4) and
// (h + 2, h + 6) of 16-k step h = r / 2), the k pairs whose activations one prmt of two
// words puts together (mma_fp4_ga_body).
template <int A> __device__ __forceinline__ int fp4_ga2_src(int r, int q) {
    const bool sgn = (q & 15) == 15;
    if (A == OUT_BF16) return r == 0 ? q : r == 1 ? q - 3 : r == 2 ? (sgn ? q - 1 : q + 3) : (sgn ? q - 2 : q - 6);
    return r == 0 ? q : r == 1 ? q - 3 : r == 2 ? (sgn ? q - 1 : q - 6) : (sgn ? q - 2 : q - 9);
}
// Pair register r of an `fp4ga` weight word.
template <int A> __device__ __forceinline__ u32 e2m1_ga2(u32 w, int r) {
    constexpr u32 PM = A == OUT_BF16 ? 0x81C081C0u : 0x8E008E00u;
    constexpr u32 EM = A == OUT_BF16 ? 0x01C001C0u : 0x0E000E00u;
    constexpr u32 SM = 0x80008000u;
    switch (r) {
    case 0: return w & PM;
    case 1: return (w << 3) & PM;
    case 2: return A == OUT_BF16 ? ((w >> 3) & EM) | ((w << 1) & SM) : ((w << 6) & EM) | ((w << 1) & SM);
    default: return A == OUT_BF16 ? ((w << 6) & EM) | ((w << 2) & SM) : ((w << 9) & EM) | ((w << 2) & SM);
    }
}
// One word of 8 codes (nibble j = k offset j) in the layout of e2m1_rp (pair r holds codes
// 2r and 2r + 1), or with GA in that of e2m1_ga2 (the `fp4ga` pairing above).
template <int A, bool GA = false> __device__ __forceinline__ u32 fp4_rp_word(u32 v) {
    const int pos[4] = {A == OUT_BF16 ? 6 : 9, A == OUT_BF16 ? 7 : 10, A == OUT_BF16 ? 8 : 11, 15}; // m, e0, e1, s
    u32 o = 0u;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int r = GA ? ((j & 1) << 1) | ((j >> 1) & 1) : j >> 1, half = GA ? j >> 2 : j & 1;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            const int q = pos[b] + 16 * half;
            o |= ((v >> (4 * j + b)) & 1u) << (GA ? fp4_ga2_src<A>(r, q) : fp4_rp_src<A>(r, q));
        }
    }
    return o;
}

// NVFP4 or MXFP4 packed weights ([N, K/2], §6, §8) into the layout of e2m1_rp, one word per
// thread.
template <int A> __device__ __forceinline__ void fp4_repack(u32* __restrict__ out, const u32* __restrict__ w, u64 words) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= words) return;
    out[i] = fp4_rp_word<A>(w[i]);
}
extern "C" __global__ void gemv_fp4_repack_bf16(u32* out, const u32* w, u64 words) { fp4_repack<OUT_BF16>(out, w, words); }
extern "C" __global__ void gemv_fp4_repack_f16(u32* out, const u32* w, u64 words) { fp4_repack<OUT_F16>(out, w, words); }

// The lane's activations for one 128-k chunk: row m, k = 32t .. 32t + 31, as 16 pairs:
// zeros for rows at or beyond M, or with CLAMP row M - 1 again (no zeroing instructions;
// those MMA columns are never stored, and a column of B only reaches its own column of the
// result). H100 M = 1, NVFP4 256-k kernel: 28672x8192 57.0 -> 55.2 us, 8192x8192 21.5 ->
// 20.5; MXFP4 was slower with it (52.9 -> 56.6: 79 registers instead of 72, one block
// less per SM), and so was NVFP4 at M = 4 (57.9 -> 74.3), int4 mixed (-3.6% .. +2.6%).
template <bool CLAMP = false>
__device__ __forceinline__ void mma_load_x(u32* X, const u16* __restrict__ x, int mrow, int m, int K, int k) {
    if (CLAMP) mrow = min(mrow, m - 1);
    if (CLAMP || mrow < m) {
        const uint4* p = (const uint4*)(x + (u64)mrow * K + k);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const uint4 v = p[i];
            X[4 * i] = v.x; X[4 * i + 1] = v.y; X[4 * i + 2] = v.z; X[4 * i + 3] = v.w;
        }
    } else {
#pragma unroll
        for (int i = 0; i < 16; ++i) X[i] = 0u;
    }
}

// Sums the warps' accumulators and writes y[m, n] = acc * mul(n) + bias[n].
// With WR > 1 the block's warps are WR row groups (warp % WR) times W / WR K parts: warp
// wr < WR sums the K parts of its group and stores its own tile at n0.
template <int A, int NT, int W, int WR = 1, int NB = 1>
__device__ __forceinline__ void mma_reduce_store(float (*acc)[4], u16* __restrict__ y, const u16* __restrict__ bias,
                                                 float mul, int m, int N, int n0, int it = 0,
                                                 float* __restrict__ part = nullptr) {
    // NB = 2 (persistent blocks, one call per tile `it`): two buffers in turn, so one
    // barrier per tile suffices, and the warps take turns at the sums (warp it % W).
    static_assert(NB == 1 || WR == 1, "persistent blocks: one row group");
    __shared__ float red[NB][W][NT * 4][32];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, buf = NB == 1 ? 0 : it & 1;
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) red[buf][warp][4 * j + i][lane] = acc[j][i];
    __syncthreads();
    if (NB > 1 ? warp != it % W : warp >= WR) return;
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float s = red[buf][WR == 1 ? 0 : warp][4 * j + i][lane];
#pragma unroll
            for (int wv = 1; wv < W / WR; ++wv) s += red[buf][(WR == 1 ? 0 : warp) + WR * wv][4 * j + i][lane];
            const int mm = 8 * j + 2 * t + (i & 1);
            const int n = n0 + g + 8 * (i >> 1);
            if (mm < m && n < N) {
                if (part) { // K split blockIdx.y's f32 share, summed with the bias by gemv_finalize
                    part[((u64)blockIdx.y * m + mm) * N + n] = s * mul;
                    continue;
                }
                const float b = bias ? from_out<A>(bias[n]) : 0.0f;
                y[(u64)mm * N + n] = to_out<A>(s * mul + b);
            }
        }
}

// NVFP4 (§6, §7): the lane's 32 values span two 16-value blocks per row; each decoded pair
// is multiplied by its block's E4M3 scale in the activation type (e2m1 x e4m3 has at most 6
// significant bits and lies within [2^-10, 2688]: exact in f16 and bf16). The global scale
// (one per tensor) is applied to the f32 sums.
// MXFP4 (§8): the E8M0 scale byte e (§1.4) for the repacked weights of e2m1_rp (E2M1 value
// times 2^-126), as a bf16 pair 2^(e - 1 - delta) (0xFF: NaN), the f32 sums taking 2^delta.
// `delta` is the layer's: max(0, e_max - 128), so that the pair stays finite; the host
// checks that e_min >= delta - 5, which keeps every product v 2^(e - 127 - delta) exact
// (its lowest bit at 2^-133 or above), and otherwise takes dequant + cuBLAS
// (src/cuda/gemv.rs, `gemv_e8m0_range`). For a layer whose scales are all 2 or less,
// delta = 0 and the products are the E2M1 values times the scales, as the format defines.
__device__ __forceinline__ u32 e8m0_rp_bf16x2(u32 e, int delta) {
    const u32 h = e == 0xFFu ? 0x7FC0u : (u32)((int)e + 126 - delta) << 7;
    return h | (h << 16);
}

// Whether any of the n words of E4M3 codes at w holds a NaN code (0x7F / 0xFF): *flag (0
// before the launch) becomes 1. Once per layer, for the choice of gemv_fp8n_* kernels.
extern "C" __global__ void gemv_fp8_has_nan(const u32* __restrict__ w, u64 n, int* __restrict__ flag) {
    bool nan = false;
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
        nan |= e4m3x4_has_nan(w[i]);
    if (__any_sync(0xffffffffu, nan) && (threadIdx.x & 31) == 0) *flag = 1;
}

// The largest and the smallest non-NaN E8M0 byte of `sc` (n bytes): atomicMax into
// range[0] (starting at 0) and atomicMin into range[1] (starting at 255).
extern "C" __global__ void gemv_e8m0_range(const u8* __restrict__ sc, u64 n, int* __restrict__ range) {
    int hi = 0, lo = 255;
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x) {
        const int e = sc[i];
        if (e != 0xFF) { hi = max(hi, e); lo = min(lo, e); }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        hi = max(hi, __shfl_xor_sync(0xffffffffu, hi, o));
        lo = min(lo, __shfl_xor_sync(0xffffffffu, lo, o));
    }
    if ((threadIdx.x & 31) == 0) { atomicMax(range, hi); atomicMin(range + 1, lo); }
}

// The first NS E4M3 scale bytes of s (§6) as exact pairs (v, v) of the activation type,
// times 2^118 (bf16) or 2^7 (f16) for the repacked weights of e2m1_rp (exact: an E4M3
// value has 4 significant bits and lies within [2^-9, 448]).
// FAST: byte i in both halves (one prmt), its bits moved under the exponent and the sign to
// bit 15 (exact, subnormals included, as in e4m3x2_exact), multiplies by 2^127 and 2^111
// (bf16: 2^238 has no bf16) or by 2^15 (f16), and a NaN byte (0x7F / 0xFF) through f32;
// otherwise every byte through f32.
// FAST is what the 4- and 6-warp 256-k kernels take (H100 M = 1: 14336x4096 20.7 -> 18.9 us,
// 28672x8192 55.4 -> 54.6); the 8-warp one (4096x14336 18.5 -> 19.5) and the 128-k
// two-tile kernels at M = 16 (14336x4096 28.6 -> 30.7; they keep the f32 decode) were
// slower with it, their registers allocated differently.
template <int A> __device__ __forceinline__ float fp4_rp_scale() { return A == OUT_BF16 ? 3.3230699894622794e35f : 128.0f; }
template <int A, int NS, bool FAST>
__device__ __forceinline__ void e4m3_scale_pairs(u32 s, u32* p) {
    const float fmul = fp4_rp_scale<A>();
    if (!FAST) {
#pragma unroll
        for (int i = 0; i < NS; ++i) {
            const float f = e4m3_to_f32((s >> (8 * i)) & 0xFFu) * fmul;
            p[i] = to_out2<A>(f, f);
        }
        return;
    }
    // 2^127 then 2^111 (bf16), or 2^15 (f16): the rebias and the factor of fp4_rp_scale.
    const u32 mul = A == OUT_BF16 ? 0x7F007F00u : 0x78007800u;
#pragma unroll
    for (int i = 0; i < NS; ++i) {
        const u32 u = prmt(s, 0u, 0x4040u | (u32)i | ((u32)i << 8)); // byte i at bits 0..7 and 16..23
        const u32 r = A == OUT_BF16 ? ((u & 0x007F007Fu) << 4) | ((u & 0x00800080u) << 8)
                                    : ((u & 0x007F007Fu) << 7) | ((u & 0x00800080u) << 8);
        p[i] = hmul2<A>(r, mul);
        if (A == OUT_BF16) p[i] = hmul2<A>(p[i], 0x77007700u);
    }
    const u32 live = NS == 4 ? s : s & ((1u << (8 * NS)) - 1u);
    if (__builtin_expect(((live & 0x7F7F7F7Fu) + 0x01010101u) & 0x80808080u, 0)) {
#pragma unroll
        for (int i = 0; i < NS; ++i) {
            const float f = e4m3_to_f32((s >> (8 * i)) & 0xFFu) * fmul;
            p[i] = to_out2<A>(f, f);
        }
    }
}

// What the f32 sums of an FP4 tensor-core kernel are multiplied by: NVFP4 (FMT 0) the global
// scale (as a multiplier or a divisor, `conv_delta`) and fp4_rp_mul; MXFP4 2^delta.
template <int A, int FMT> __device__ __forceinline__ float fp4_out_mul(const float* __restrict__ global, int conv_delta) {
    if (FMT != 0) return pow2f(conv_delta);
    const float gs = global[0];
    return (conv_delta == 0 ? gs : 1.0f / gs) * fp4_rp_mul<A>();
}

// FMT 0: NVFP4 (E4M3 scale per 16 values, `ws` [rows, K/16], global scale, `conv_delta` its
// convention); FMT 1: MXFP4 (§5, E8M0 scale per 32 values, `ws` [rows, K/32], bf16
// activations only, no global, `conv_delta` the layer's delta of e8m0_rp_bf16x2). Both read
// the weights repacked for e2m1_rp.
template <int A, int NT, int W, int RT, int FMT = 0, int WR = 1, int XPM = (NT == 2 && RT == 2 ? 2 : 0), bool KS = false>
__device__ __forceinline__ void mma_nvfp4_body(u16* __restrict__ y, const u16* __restrict__ x, const u8* __restrict__ w,
                                               const u8* __restrict__ ws, const float* __restrict__ global,
                                               int conv_delta, const u16* __restrict__ bias, int m, int N, int K,
                                               float* __restrict__ part = nullptr) {
    // RT m16 tiles per warp (rows n0 + 16 rt + g and + 8): RT = 2 shares each activation
    // fragment between two tiles, which is what M > 8 needs.
    // WR row groups of W / WR warps each (see mma_reduce_store): the warps of a group split
    // K, and the groups read the same activations at about the same time, so WR - 1 of
    // every WR activation loads hit L1 instead of L2.
    constexpr int R = 2 * RT, WK = W / WR;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int n0 = (blockIdx.x * WR + warp % WR) * 16 * RT, wk = warp / WR;
    const int chunks = K >> 7;
    // KS (the `x2r4k` kernels): grid.y splits K further; with grid.y > 1 each block stores
    // its f32 share to `part` and gemv_finalize adds the shares and the bias.
    const int parts = KS ? (int)gridDim.y * WK : WK, pi = KS ? (int)blockIdx.y * WK + wk : wk;
    if (KS) grid_dep_launch(); // gemv_finalize after it may launch now and wait there
    const int c0 = chunks * pi / parts, c1 = chunks * (pi + 1) / parts;
    const u8* wr[R];
    const u8* sr[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int nr = min(n0 + 8 * r + g, N - 1);
        wr[r] = w + (u64)nr * (K / 2) + 16 * t;
        sr[r] = FMT == 0 ? ws + (u64)nr * (K / 16) + 2 * t : ws + (u64)nr * (K / 32) + t;
    }
    float acc[RT][NT][4];
#pragma unroll
    for (int rt = 0; rt < RT; ++rt)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[rt][j][i] = 0.0f;
    // XPM 0 (the default with one tile per warp: at M = 16 on 4096 rows XPM 2 was 2-4%
    // slower, 4096x14336 MXFP4 27.1 -> 28.0 us, 4096x4096 NVFP4 12.3 -> 13.3): two chunks
    // in flight ahead of the one being decoded (slot c % 2 holds chunk c), activations
    // loaded when the chunk starts (rows at or beyond M clamped at M > 8). XPM 1: the same
    // with the activations pipelined (XP below). XPM >= 2: activations pipelined, one
    // chunk in flight in registers and the one XPM ahead prefetched into L2 (fewer
    // registers live across the loop).
    constexpr bool XP = XPM != 0;
    constexpr int NS = XPM >= 2 ? 1 : 2;
    uint4 q[NS][R];
    u32 s2[NS][R];
    auto fetch = [&](int c, int slot) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
            q[slot][r] = ldg_stream16(wr[r] + (u64)c * 64);
            s2[slot][r] = FMT == 0 ? *(const u16*)(sr[r] + (u64)c * 8) : sr[r][(u64)c * 4];
        }
    };
    if (c0 < c1) fetch(c0, 0);
    if (NS == 2 && c0 + 1 < c1) fetch(c0 + 1, NS - 1);
    // XP (the two-tile kernels, M > 8): the activations are pipelined too. Each 16-byte
    // piece u of a row's chunk is reloaded for the next chunk as soon as its MMAs have
    // issued, so that its L1 or L2 latency hides behind the rest of the chunk instead of
    // stalling the chunk's first MMA (ncu, 28672x8192 M = 16: 53% of the stalls waited on
    // L1TEX, with 75% L1 hits). Rows at or beyond M read row M - 1 again (those columns are
    // never stored).
    u32 X[NT][16];
    const u16* xr[NT];
#pragma unroll
    for (int j = 0; j < NT; ++j) xr[j] = x + (u64)min(g + 8 * j, m - 1) * K + 32 * t;
    auto load_x_piece = [&](int c, int u) {
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            const uint4 v = *(const uint4*)(xr[j] + c * 128 + 8 * u);
            X[j][4 * u] = v.x; X[j][4 * u + 1] = v.y; X[j][4 * u + 2] = v.z; X[j][4 * u + 3] = v.w;
        }
    };
    if (XP && c0 < c1) {
#pragma unroll
        for (int u = 0; u < 4; ++u) load_x_piece(c0, u);
    }
    // One chunk of slot SL (compile time): the loop below takes two chunks per iteration so
    // that every slot index is static (with a run-time slot the chunk was copied out of the
    // slot by register moves, 144 per two chunks, and the loop was issue-bound at M = 16).
    auto step = [&](auto slot_c, int c) {
        constexpr int SL = decltype(slot_c)::value;
        u32 wv[R][4], sc[R][2];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            wv[r][0] = q[SL][r].x; wv[r][1] = q[SL][r].y; wv[r][2] = q[SL][r].z; wv[r][3] = q[SL][r].w;
            if (FMT == 0) e4m3_scale_pairs<A, 2, false>(s2[SL][r], sc[r]);
            else sc[r][0] = sc[r][1] = e8m0_rp_bf16x2(s2[SL][r], conv_delta);
        }
        if (c + NS < c1) fetch(c + NS, SL); // refill the slot with chunk c + NS
        if (XPM >= 2 && c + XPM < c1 && t == 0) { // lane t = 0 of a quad: the row's 64 bytes
#pragma unroll
            for (int r = 0; r < R; ++r) group_prefetch(wr[r] + (u64)(c + XPM) * 64);
        }
        if (!XP) {
#pragma unroll
            for (int j = 0; j < NT; ++j) mma_load_x<NT == 2>(X[j], x, g + 8 * j, m, K, c * 128 + 32 * t);
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
#pragma unroll
                for (int rt = 0; rt < RT; ++rt) {
                    u32 a01, a23, b01, b23; // rows g (a) and g + 8 (b) of tile rt, k pairs (0,1), (2,3)
                    a01 = e2m1_rp<A>(wv[2 * rt][u], 2 * h); a23 = e2m1_rp<A>(wv[2 * rt][u], 2 * h + 1);
                    b01 = e2m1_rp<A>(wv[2 * rt + 1][u], 2 * h); b23 = e2m1_rp<A>(wv[2 * rt + 1][u], 2 * h + 1);
                    const u32 s_a = sc[2 * rt][u >> 1], s_b = sc[2 * rt + 1][u >> 1];
                    a01 = hmul2<A>(a01, s_a); a23 = hmul2<A>(a23, s_a);
                    b01 = hmul2<A>(b01, s_b); b23 = hmul2<A>(b23, s_b);
#pragma unroll
                    for (int j = 0; j < NT; ++j)
                        mma_16816<A>(acc[rt][j], a01, b01, a23, b23, X[j][4 * u + 2 * h], X[j][4 * u + 2 * h + 1]);
                }
            }
            if (XP && c + 1 < c1) load_x_piece(c + 1, u);
        }
    };
    for (int c = c0; c < c1; c += 2) {
        step(SlotC<0>{}, c);
        if (c + 1 < c1) step(SlotC<NS - 1>{}, c + 1);
    }
    const float mul = fp4_out_mul<A, FMT>(global, conv_delta);
#pragma unroll
    for (int rt = 0; rt < RT; ++rt) {
        if (rt > 0) __syncthreads(); // the reduction buffer is reused
        mma_reduce_store<A, NT, W, WR>(acc[rt], y, bias, mul, m, N, n0 + 16 * rt, 0,
                                       KS && gridDim.y > 1 ? part : nullptr);
    }
}

// (magic | q) - (magic + z) in the activation type, exactly (GPTQ's decode).
template <int A> __device__ __forceinline__ u32 hsub2(u32 a, u32 b) {
    u32 r;
    if (A == OUT_BF16) asm("sub.rn.bf16x2 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    else asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

// The int4 operands of mma_nvfp4_wide_body's FMT 2 (the `i4wp` kernels at M = 1: GPTQ 4-bit
// with or without act-order, AWQ, compressed-tensors int4; quant_formats §2.3, §3, §5): the
// weights row-major in 256-k chunks like the FP4 layers (`gemv_i4wp_repack_w`), the 16-bit
// scales [N, groups] (`sdt`),
// the zero words [ceil(N / 8), groups] with row n in nibble n & 7 (nullptr: every zero
// point 8), `v1` added to each zero point (GPTQ v1 checkpoints) and `hpg` 128-k halves per
// group. Act-order layers are repacked in their sorted K order and take the activations
// gathered into it (`gemv_permute_x`). (Gathered here instead, while the warp copies its
// activations into shared memory, the first tile waited on the dependent loads: H100,
// 28672x8192 act-order 49.2-49.5 us against 44.7 without act-order; docs/perf.md,
// session 22.)
struct I4Ops {
    const u16* s;
    const u32* z;
    int sdt, v1, groups, hpg;
};

// NVFP4 with 256-k chunks: each lane reads 32 contiguous bytes per row (a quad reads 128
// bytes of a row per chunk), one chunk in flight ahead. Same decode as mma_nvfp4_body.
// CLAMP: activations through mma_load_x<true> (the `wc` kernels, NVFP4 at M = 1 only: at
// M = 4 it was 10-34% slower).
template <int A, int NT, int W, int FMT = 0, bool CLAMP = false, bool XR = false, bool PT = false>
__device__ __forceinline__ void mma_nvfp4_wide_body(u16* __restrict__ y, const u16* __restrict__ x, const u8* __restrict__ w,
                                                    const u8* __restrict__ ws, const float* __restrict__ global,
                                                    int conv_delta, const u16* __restrict__ bias, int m, int N, int K,
                                                    const I4Ops q4 = I4Ops{}) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    // FMT 2 (I4): 4-bit integers in the persistent M = 1 frame (`I4Ops`). Each 16-byte load of a
    // lane quad (QUAD) covers 128 k of one row, inside one group, so an MMA's products share
    // a scale: they sum into `tmp`, and the row's group scale multiplies that f32 sum.
    constexpr bool I4 = FMT == 2;
    static_assert(!I4 || (PT && CLAMP && NT == 1), "int4: the persistent M = 1 kernel only");
    // PT (the `wcp` / `wp` / `i4wp` kernels; M = 1 only, with XR's slot layout): persistent blocks.
    // The host launches at most one wave; block b takes tiles b, b + gridDim.x, ..., its
    // warps splitting each tile's K as usual. A warp's activations (the same for every
    // tile at M = 1) are copied into shared memory once (dynamic, K / 256 chunks of XSL
    // slots), and a tile's last chunk issues the loads of the warp's first chunk of the
    // next tile, so its loads run on across tiles instead of stopping where one block ends
    // and the next starts (28672x8192: 1792 tiles, 7 rounds of 8-warp blocks).
    const int ntiles = (N + 15) >> 4;
    int tile = blockIdx.x, n0 = tile * 16;
    const int chunks = K >> 8;
    const int c0 = chunks * warp / W, c1 = chunks * (warp + 1) / W;
    // QUAD (NVFP4 at M = 1 in 4-warp blocks, the `wc..._w4` kernels): lane t reads bytes 16t
    // and 64 + 16t of each row's 128-byte chunk, so each 16-byte load of a quad fills whole
    // 32-byte sectors; its scale bytes are 2t, 2t + 1 and 8 + 2t, 9 + 2t. H100, against 32
    // contiguous bytes per lane: M = 1 28672x8192 54.6 -> 54.2 us, 8192x8192 20.2 -> 19.9.
    // Slower with it: the 8-warp kernel (4096x14336 18.5 -> 19.9, 4096x4096 9.8 -> 10.2),
    // M = 4 (2-5%) and MXFP4 (two 1-byte scale loads, 1-3%). The 6-warp kernel (8192x8192,
    // session 12) was measured with it.
    constexpr bool QUAD = (FMT == 0 && CLAMP && W % 8 != 0) || I4;
    constexpr int QOFF = QUAD ? 64 : 16;
    // The lane's weight and scale rows g and g + 8 of the tile at row t0 (clamped to N).
    const u8 *wa, *wb, *sa, *sb;
    const u16 *qsa, *qsb; // I4: the rows' scales and zero words, the rows' zero nibble shifts
    const u32 *qza, *qzb;
    int zsa, zsb;
    auto aim = [&](int t0) {
        const int na = min(t0 + g, N - 1), nb = min(t0 + g + 8, N - 1);
        wa = w + (u64)na * (K / 2) + (QUAD ? 16 : 32) * t;
        wb = w + (u64)nb * (K / 2) + (QUAD ? 16 : 32) * t;
        if (I4) {
            qsa = q4.s + (u64)na * q4.groups;
            qsb = q4.s + (u64)nb * q4.groups;
            qza = q4.z + (u64)(na >> 3) * q4.groups;
            qzb = q4.z + (u64)(nb >> 3) * q4.groups;
            zsa = 4 * (na & 7);
            zsb = 4 * (nb & 7);
        } else {
            sa = FMT == 0 ? ws + (u64)na * (K / 16) + (QUAD ? 2 : 4) * t : ws + (u64)na * (K / 32) + 2 * t;
            sb = FMT == 0 ? ws + (u64)nb * (K / 16) + (QUAD ? 2 : 4) * t : ws + (u64)nb * (K / 32) + 2 * t;
        }
    };
    aim(n0);
    // I4: the raw scales and zero words of chunk c, half h (128 k) in [2 h] (row a) and
    // [2 h + 1] (row b), decoded when the chunk is used. The group of half hh = 2 c + h is
    // hh / hpg = (2 hh + 1) / (2 hpg) = umulhi(2 hh + 1, gmag), exact for 2 hh + 1 < 2^16.
    const u32 gmag = I4 ? 0xFFFFFFFFu / (u32)(2 * q4.hpg) + 1u : 0u;
    u32 i4s[4] = {0u, 0u, 0u, 0u}, i4z[4] = {0u, 0u, 0u, 0u};
    auto i4_ld = [&](int c) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u32 grp = __umulhi(4u * (u32)c + 2u * h + 1u, gmag);
            i4s[2 * h] = qsa[grp];
            i4s[2 * h + 1] = qsb[grp];
            i4z[2 * h] = q4.z ? qza[grp] : 0x88888888u;
            i4z[2 * h + 1] = q4.z ? qzb[grp] : 0x88888888u;
        }
    };
    auto scale_ld = [&](const u8* p, int c) -> u32 {
        if (QUAD) return (u32)*(const u16*)(p + (u64)c * 16) | ((u32)*(const u16*)(p + (u64)c * 16 + 8) << 16);
        return FMT == 0 ? *(const u32*)(p + (u64)c * 16) : (u32)*(const u16*)(p + (u64)c * 8);
    };
    // XR (the `wca` / `wa` kernels; M = 1 only: the host launches them for one row, and
    // every lane takes row 0, as CLAMP does): each chunk's 512 bytes of activations reach
    // the loop through a ring of XRS chunks in shared memory, copied by cp.async (16 bytes
    // per lane) XRS - 1 chunks ahead, instead of loaded by every lane right before its MMAs
    // (ncu, NVFP4 `wc`, 28672x8192 M = 1: about 30% of the stall samples on the MMAs that
    // first read them). Piece p (16 bytes, k = 8p .. 8p + 7 of the chunk) sits at slot
    // p + p / 8 of its stage (a pad slot after every 8): the four pieces one load reads (one
    // per t) then fall in four different bank groups, and a lane's slots are its base
    // (4t + t / 2 with QUAD, else 9t) plus constants.
    constexpr int XRS = 4, XSL = 36;
    __shared__ uint4 xring[XR ? W : 1][XR ? XRS : 1][XSL];
    extern __shared__ uint4 xall[]; // PT: chunk c at xall[XSL c]
    const int xbase = QUAD ? 4 * t + (t >> 1) : 9 * t;
    const u16* xsrc = x + (u64)c0 * 256 + 8 * lane;
    auto xr_issue = [&](int c, int st) {
        if (c < c1) cp_async16(&xring[warp][st][lane + (lane >> 3)], xsrc + (u64)(c - c0) * 256);
        cp_async_commit(); // an empty group past c1 keeps the count of pending groups uniform
    };
    uint4 qa0 = make_uint4(0, 0, 0, 0), qa1 = qa0, qb0 = qa0, qb1 = qa0;
    u32 s4a = 0u, s4b = 0u;
    auto scales_ld = [&](int c) {
        if (I4) {
            i4_ld(c);
        } else {
            s4a = scale_ld(sa, c);
            s4b = scale_ld(sb, c);
        }
    };
    if (c0 < c1) {
        qa0 = ldg_stream16(wa + (u64)c0 * 128); qa1 = ldg_stream16(wa + (u64)c0 * 128 + QOFF);
        qb0 = ldg_stream16(wb + (u64)c0 * 128); qb1 = ldg_stream16(wb + (u64)c0 * 128 + QOFF);
        scales_ld(c0);
    }
    if (XR) {
#pragma unroll
        for (int s = 0; s < XRS - 1; ++s) xr_issue(c0 + s, s);
    }
    if (PT) {
        // I4, act-order: launched right after gemv_permute_x to overlap it (as the K-major
        // GPTQ4 kernels are); the activations are read only after it has finished. A no-op
        // for a normal launch.
        if (I4) grid_dep_wait();
        for (int c = c0; c < c1; ++c) cp_async16(&xall[c * XSL + lane + (lane >> 3)], x + (u64)c * 256 + 8 * lane);
        cp_async_commit();
        cp_async_wait<0>();
        __syncwarp();
    }
    int xst = 0; // ring stage of chunk c
    for (int it = 0;; ++it) { // PT: each tile of the block; otherwise one pass
        float acc[NT][4];
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[j][i] = 0.0f;
        for (int c = c0; c < c1; ++c) {
            const u32 wA[8] = {qa0.x, qa0.y, qa0.z, qa0.w, qa1.x, qa1.y, qa1.z, qa1.w};
            const u32 wB[8] = {qb0.x, qb0.y, qb0.z, qb0.w, qb1.x, qb1.y, qb1.z, qb1.w};
            u32 sA[4], sB[4]; // scale pair of word u: [u >> 1] (NVFP4, 16 values) or [u >> 2] (MXFP4)
            float fsA[2], fsB[2]; // I4: half h's scales and zero points (magic + z + v1, twice)
            u32 zmA[2], zmB[2];
            if (I4) {
                const u32 MAGIC = A == OUT_F16 ? 0x64006400u : 0x43004300u;
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    fsA[h] = q4.sdt == SDT_BF16 ? bf16_to_f32((u16)i4s[2 * h]) : f16_to_f32((u16)i4s[2 * h]);
                    fsB[h] = q4.sdt == SDT_BF16 ? bf16_to_f32((u16)i4s[2 * h + 1]) : f16_to_f32((u16)i4s[2 * h + 1]);
                    zmA[h] = MAGIC + (((i4z[2 * h] >> zsa) & 15u) + (u32)q4.v1) * 0x10001u;
                    zmB[h] = MAGIC + (((i4z[2 * h + 1] >> zsb) & 15u) + (u32)q4.v1) * 0x10001u;
                }
            } else if (FMT == 0) {
                e4m3_scale_pairs<A, 4, W % 8 != 0>(s4a, sA);
                e4m3_scale_pairs<A, 4, W % 8 != 0>(s4b, sB);
            } else {
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    sA[i] = e8m0_rp_bf16x2((s4a >> (8 * (i >> 1))) & 0xFFu, conv_delta);
                    sB[i] = e8m0_rp_bf16x2((s4b >> (8 * (i >> 1))) & 0xFFu, conv_delta);
                }
            }
            if (c + 1 < c1) {
                qa0 = ldg_stream16(wa + (u64)(c + 1) * 128); qa1 = ldg_stream16(wa + (u64)(c + 1) * 128 + QOFF);
                qb0 = ldg_stream16(wb + (u64)(c + 1) * 128); qb1 = ldg_stream16(wb + (u64)(c + 1) * 128 + QOFF);
                scales_ld(c + 1);
            } else if (PT && tile + (int)gridDim.x < ntiles) { // the warp's first chunk of the next tile
                aim((tile + (int)gridDim.x) * 16);
                qa0 = ldg_stream16(wa + (u64)c0 * 128); qa1 = ldg_stream16(wa + (u64)c0 * 128 + QOFF);
                qb0 = ldg_stream16(wb + (u64)c0 * 128); qb1 = ldg_stream16(wb + (u64)c0 * 128 + QOFF);
                scales_ld(c0);
            }
            if (XR) {
                cp_async_wait<XRS - 2>(); // this lane's copies of chunk c have landed
                __syncwarp();             // and the other lanes' too
                xr_issue(c + XRS - 1, (xst + XRS - 1) & (XRS - 1)); // into the stage chunk c - 1 used
            }
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                u32 X[NT][16];
                float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f}; // I4: the half's s-free sums
                if (!XR && !PT) {
#pragma unroll
                    for (int j = 0; j < NT; ++j)
                        mma_load_x<CLAMP>(X[j], x, g + 8 * j, m, K, QUAD ? c * 256 + 32 * t + 128 * half : c * 256 + 64 * t + 32 * half);
                }
#pragma unroll
                for (int uu = 0; uu < 4; ++uu) {
                    const int u = 4 * half + uu;
                    if (XR || PT) { // every lane takes row 0 (as CLAMP does for M = 1): piece 4t + 16 half + uu (QUAD) or 8t + 4 half + uu
                        const int sl = xbase + (QUAD ? 18 * half : 4 * half) + uu;
                        const uint4 v = PT ? xall[c * XSL + sl] : xring[warp][xst][sl];
#pragma unroll
                        for (int j = 0; j < NT; ++j) {
                            X[j][4 * uu] = v.x; X[j][4 * uu + 1] = v.y; X[j][4 * uu + 2] = v.z; X[j][4 * uu + 3] = v.w;
                        }
                    }
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        u32 a01, a23, b01, b23;
                        if (I4) { // nibbles r and r + 4 of a repacked word are k 2r and 2r + 1
                            const u32 MAGIC = A == OUT_F16 ? 0x64006400u : 0x43004300u;
                            a01 = hsub2<A>(and_or<0x000F000Fu>(wA[u] >> (8 * h), MAGIC), zmA[half]);
                            a23 = hsub2<A>(and_or<0x000F000Fu>(wA[u] >> (8 * h + 4), MAGIC), zmA[half]);
                            b01 = hsub2<A>(and_or<0x000F000Fu>(wB[u] >> (8 * h), MAGIC), zmB[half]);
                            b23 = hsub2<A>(and_or<0x000F000Fu>(wB[u] >> (8 * h + 4), MAGIC), zmB[half]);
                            mma_16816<A>(tmp, a01, b01, a23, b23, X[0][4 * uu + 2 * h], X[0][4 * uu + 2 * h + 1]);
                            continue;
                        }
                        a01 = e2m1_rp<A>(wA[u], 2 * h); a23 = e2m1_rp<A>(wA[u], 2 * h + 1);
                        b01 = e2m1_rp<A>(wB[u], 2 * h); b23 = e2m1_rp<A>(wB[u], 2 * h + 1);
                        const u32 s_a = sA[u >> 1], s_b = sB[u >> 1];
                        a01 = hmul2<A>(a01, s_a); a23 = hmul2<A>(a23, s_a);
                        b01 = hmul2<A>(b01, s_b); b23 = hmul2<A>(b23, s_b);
#pragma unroll
                        for (int j = 0; j < NT; ++j)
                            mma_16816<A>(acc[j], a01, b01, a23, b23, X[j][4 * uu + 2 * h], X[j][4 * uu + 2 * h + 1]);
                    }
                }
                if (I4) {
                    acc[0][0] = fmaf(fsA[half], tmp[0], acc[0][0]);
                    acc[0][1] = fmaf(fsA[half], tmp[1], acc[0][1]);
                    acc[0][2] = fmaf(fsB[half], tmp[2], acc[0][2]);
                    acc[0][3] = fmaf(fsB[half], tmp[3], acc[0][3]);
                }
            }
            if (XR) xst = (xst + 1) & (XRS - 1);
        }
        mma_reduce_store<A, NT, W, 1, PT ? 2 : 1>(acc, y, bias, fp4_out_mul<A, FMT>(global, conv_delta), m, N, n0, it);
        if (!PT) break;
        tile += gridDim.x;
        if (tile >= ntiles) break;
        n0 = tile * 16;
    }
}

// compressed-tensors pack-quantized int4 (§8), group size a multiple of 128 (or one group):
// the NVFP4 tensor-core layout (lane: 32 k of rows n0 + g and n0 + g + 8 per 128-k chunk)
// with GPTQ's exact decode, (magic | q) - (magic + z) for nibbles j and j + 4 of a word, and
// activation pairs permuted to match. A chunk lies in one group: the MMA sums the chunk's
// s-free products and the row's group scale multiplies that f32 sum.
template <int A, int NT, int W, int RT = 1, int WR = 1>
__device__ __forceinline__ void mma_ct4_body(u16* __restrict__ y, const u16* __restrict__ x, const u32* __restrict__ w,
                                             const void* __restrict__ scales, int scale_dt, const u32* __restrict__ zp,
                                             int group_size, int groups, const u16* __restrict__ bias, int m, int N, int K) {
    // RT m16 tiles per warp (rows n0 + 16 rt + g and + 8) share each activation fragment.
    // WR row groups per block as in mma_nvfp4_body.
    constexpr int R = 2 * RT, WK = W / WR;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int n0 = (blockIdx.x * WR + warp % WR) * 16 * RT, wk = warp / WR;
    const int chunks = K >> 7;
    const int c0 = chunks * wk / WK, c1 = chunks * (wk + 1) / WK;
    int nr[R];
    const u32* wr[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        nr[r] = min(n0 + 8 * r + g, N - 1);
        wr[r] = w + (u64)nr[r] * (K / 8) + 4 * t;
    }
    const u32 MAGIC = A == OUT_F16 ? 0x64006400u : 0x43004300u;
    float acc[RT][NT][4];
#pragma unroll
    for (int rt = 0; rt < RT; ++rt)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[rt][j][i] = 0.0f;
    uint4 q[R];
    if (c0 < c1) {
#pragma unroll
        for (int r = 0; r < R; ++r) q[r] = ldg_stream16(wr[r] + (u64)c0 * 16);
    }
    for (int c = c0; c < c1; ++c) {
        u32 wv[R][4];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            wv[r][0] = q[r].x; wv[r][1] = q[r].y; wv[r][2] = q[r].z; wv[r][3] = q[r].w;
        }
        if (c + 1 < c1) {
#pragma unroll
            for (int r = 0; r < R; ++r) q[r] = ldg_stream16(wr[r] + (u64)(c + 1) * 16);
        }
        const int grp = (c * 128) / group_size;
        float sc[R];
        u32 zm[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            sc[r] = load_scale(scales, (u64)nr[r] * groups + grp, scale_dt);
            const u32 z = zp ? (zp[(u64)(nr[r] >> 3) * groups + grp] >> (4 * (nr[r] & 7))) & 15u : 8u;
            zm[r] = MAGIC + (z | (z << 16));
        }
        u32 X[NT][16];
#pragma unroll
        for (int j = 0; j < NT; ++j) mma_load_x(X[j], x, g + 8 * j, m, K, c * 128 + 32 * t);
#pragma unroll
        for (int rt = 0; rt < RT; ++rt) {
            float tmp[NT][4];
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int i = 0; i < 4; ++i) tmp[j][i] = 0.0f;
#pragma unroll
            for (int u = 0; u < 4; ++u) {
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const u32 wa = wv[2 * rt][u], wb = wv[2 * rt + 1][u];
                    const u32 a01 = hsub2<A>(and_or<0x000F000Fu>(wa >> (8 * h), MAGIC), zm[2 * rt]);
                    const u32 a23 = hsub2<A>(and_or<0x000F000Fu>(wa >> (8 * h + 4), MAGIC), zm[2 * rt]);
                    const u32 b01 = hsub2<A>(and_or<0x000F000Fu>(wb >> (8 * h), MAGIC), zm[2 * rt + 1]);
                    const u32 b23 = hsub2<A>(and_or<0x000F000Fu>(wb >> (8 * h + 4), MAGIC), zm[2 * rt + 1]);
#pragma unroll
                    for (int j = 0; j < NT; ++j) {
                        const u32 p0 = X[j][4 * u + h], p2 = X[j][4 * u + h + 2];
                        mma_16816<A>(tmp[j], a01, b01, a23, b23, prmt(p0, p2, 0x5410u), prmt(p0, p2, 0x7632u));
                    }
                }
            }
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                acc[rt][j][0] = fmaf(sc[2 * rt], tmp[j][0], acc[rt][j][0]);
                acc[rt][j][1] = fmaf(sc[2 * rt], tmp[j][1], acc[rt][j][1]);
                acc[rt][j][2] = fmaf(sc[2 * rt + 1], tmp[j][2], acc[rt][j][2]);
                acc[rt][j][3] = fmaf(sc[2 * rt + 1], tmp[j][3], acc[rt][j][3]);
            }
        }
    }
#pragma unroll
    for (int rt = 0; rt < RT; ++rt) {
        if (rt > 0) __syncthreads(); // the reduction buffer is reused
        mma_reduce_store<A, NT, W, WR>(acc[rt], y, bias, 1.0f, m, N, n0 + 16 * rt);
    }
}


// K splits of the K-major tensor-core kernels without a finalize launch: `part` starts with one
// u32 arrival counter per column tile (zero between launches; the region is rounded up to 64
// entries), then the f32 partials [split][m][N]. Every block stores its partials; the last
// of a tile's grid.y blocks to arrive sums them in split order (as gemv_finalize does),
// adds the bias, writes y and resets the counter.
__device__ __forceinline__ float* splitk_partials(float* part) { return part + 64 * ((gridDim.x + 63) / 64); }
template <int A>
__device__ __noinline__ void splitk_fixup(u16* __restrict__ y, float* part, const u16* __restrict__ bias, int m, int N,
                                             int col0, int cols) {
    __shared__ int last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        u32* cnt = (u32*)part + blockIdx.x;
        last = atomicAdd(cnt, 1u) == gridDim.y - 1;
        if (last) *cnt = 0u;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    const float* pp = splitk_partials(part);
    for (int e = threadIdx.x; e < m * cols; e += blockDim.x) {
        const int mm = e / cols, n = col0 + e % cols;
        if (n >= N) continue;
        float s = 0.0f;
        for (int sp = 0; sp < (int)gridDim.y; ++sp) s += __ldcg(pp + ((u64)sp * m + mm) * N + n);
        const float b = bias ? from_out<A>(bias[n]) : 0.0f;
        y[(u64)mm * N + n] = to_out<A>(s + b);
    }
}

// K splits of one column tile as one thread-block cluster (sm_90): launched with cluster
// dimensions (1, grid.y, 1) (grid.y <= CL_MAX, src/cuda/gemv.rs), the split blocks of a tile
// are co-scheduled, and each other block sends its per-lane sums straight into the shared
// memory of the tile's first block (distributed shared memory, `st.async`) instead of storing
// partials, raising a counter and having the last block re-read them from L2, and exits. The
// first block waits on a transaction barrier (`mbarrier`) for their bytes, then adds them to
// its own in split order (as splitk_fixup does: the same f32 result).
// (Until session 23 the sums went by `st.shared::cluster` and a second cluster barrier, which
// every block waited on. H100, same call, M = 16: NVFP4 4096x4096 11.31-11.41 -> 10.75-11.01
// us, MXFP4 10.82-10.85 -> 10.50-10.53, 4096x14336 -0.2 to -0.3 for GPTQ4, NVFP4 and MXFP4;
// GPTQ8 8192x8192 M = 1 29.25 -> 28.3; docs/perf.md.)
// The kernels run the cluster path when the launch made them a cluster of grid.y blocks,
// and splitk_fixup otherwise.
constexpr int CL_MAX = 8;
// How a K-major kernel's K splits are summed (template parameter SK): by the finalize launch
// (SK_NO), in the kernel through L2 by splitk_fixup (SK_FIX, the `_skf` kernels), or also in
// a cluster when launched as one (SK_CL, the `_sk` kernels). The `_skf` twins carry no
// cluster or mbarrier code: the `_sk` kernels launched without clusters (M = 4 on 4096x4096,
// four splits) lost 0.15-0.35 us when that code came in (docs/perf.md, session 23).
constexpr int SK_NO = 0, SK_FIX = 1, SK_CL = 2;
__device__ __forceinline__ u32 cluster_blocks() {
    u32 r;
    asm volatile("mov.u32 %0, %%cluster_nctarank;" : "=r"(r));
    return r;
}
// The cluster barrier starts at kernel entry and is waited on before the first remote store,
// so that every block of the cluster has started (a block's shared memory may only be written
// once it runs) and the blocks' transaction barriers are set up.
__device__ __forceinline__ void cluster_arrive_relaxed() {
    asm volatile("barrier.cluster.arrive.relaxed.aligned;" ::: "memory");
}
__device__ __forceinline__ void cluster_wait() {
    asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory");
}
// split_tail's transaction barrier in the cluster's first block: the other blocks' sums
// arrive by st.async, each store counting its bytes on it.
__shared__ alignas(8) u64 sk_mbar;
__device__ __forceinline__ u32 mapa_u32(const void* local, u32 rank) {
    u32 r;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(r) : "r"((u32)__cvta_generic_to_shared(local)), "r"(rank));
    return r;
}
// The entry of the `_sk` kernels: every block of a cluster sets up its sk_mbar (one arrival:
// its own, with the byte count, in split_tail; the fence makes the setup visible to the
// cluster; only block 0's is used where the other blocks send all their sums to it), then
// arrives on the cluster barrier.
__device__ __forceinline__ void sk_entry() {
    if (threadIdx.x == 0 && cluster_blocks() > 1) {
        asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"((u32)__cvta_generic_to_shared(&sk_mbar)) : "memory");
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    cluster_arrive_relaxed();
}
// Stores v at `local` (this block's shared address of a variable) in cluster block `rank`,
// and counts its 4 bytes on that block's sk_mbar.
__device__ __forceinline__ void st_async_rank(const float* local, float v, u32 rank) {
    asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.f32 [%0], %1, [%2];" ::"r"(mapa_u32(local, rank)), "f"(v),
                 "r"(mapa_u32(&sk_mbar, rank))
                 : "memory");
}
// A block receiving sums: expects `bytes` on its sk_mbar (thread `arriver`, which must be
// among the waiting threads) and waits until they landed.
__device__ __forceinline__ void sk_wait(u32 bytes, u32 arriver = 0u) {
    const u32 a = (u32)__cvta_generic_to_shared(&sk_mbar);
    if (threadIdx.x == arriver) asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(a), "r"(bytes) : "memory");
    u32 done = 0u;
    while (!done)
        asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%1], 0; selp.u32 %0, 1, 0, p; }"
                     : "=r"(done)
                     : "r"(a)
                     : "memory");
}
// Element e of lane `lane` summed over the first W warps' rows of a block's reduction buffer.
template <int W, int E>
__device__ __forceinline__ float warps_sum(const float (*red)[E][32], int e, int lane) {
    float s = 0.0f;
#pragma unroll
    for (int wv = 0; wv < W; ++wv) s += red[wv][e][lane];
    return s;
}

// The tail of the K-major kernels once the warps of a block have reduced: E sums per lane,
// element e = e0, e0 + estep, ... for this thread; `final_sum(e)` is the block's sum of
// element e and `coord(e, mm, n)` its row and column (false outside M or N). Writes y (one
// split), the f32 partials (finalize pass or splitk_fixup), or the cluster sums. SK kernels
// call sk_entry() at entry, and their threads' e0, e0 + estep, ... must cover each element
// once per lane (e0 = warp, estep = warps per block): with E = 16 block 0 waits for exactly
// E x 32 sums from each other block of the cluster, with E = 32 (two splits) each block for
// the other's E / 2 x 32. CW false: every thread of the block has already
// waited on the cluster barrier (mma_gptq4_ga_body does so before its last flush).
template <int A, int E, int SK, bool CW = true, typename Sum, typename Coord>
__device__ __forceinline__ void split_tail(u16* __restrict__ y, float* part, const u16* __restrict__ bias, int m,
                                           int N, int col0, int cols, int e0, int estep, Sum final_sum, Coord coord) {
    const int lane = threadIdx.x & 31;
    // Room for CL_MAX splits, or two for the two-tile (E = 32) kernels, whose buffer would
    // not fit beside their reduction buffer otherwise (more splits take splitk_fixup). Slot
    // s holds the sums sent by block s; a block keeps its own in registers, so its own slot
    // stays unused (the buffer one slot smaller was slower at M = 4 on 4096x4096 without
    // clusters, 11.0 -> 11.3 us for GPTQ4, perhaps another shared-memory carveout; not
    // separated).
    constexpr int CLN = SK == SK_CL ? (E > 16 ? 2 : CL_MAX) : 1;
    const bool cl = SK == SK_CL && gridDim.y > 1 && gridDim.y <= CLN && cluster_blocks() == gridDim.y;
    __shared__ float cred[CLN][E][32];
    if (SK == SK_CL && CW) cluster_wait(); // the whole cluster runs
    TLD(4);
    auto put = [&](int mm, int n, float s) { // output (mm, n) from its splits summed in a cluster
        const float b = bias ? from_out<A>(bias[n]) : 0.0f;
        y[(u64)mm * N + n] = to_out<A>(s + b);
    };
    if constexpr (E > 16) {
        // The two-tile kernels (E = 32; two splits, CLN): each block keeps half the elements,
        // elements [b E / 2, (b + 1) E / 2) in block b, and sends the other half to the other
        // block, so both wait for 2 KB and store half the outputs. Until session 26 block 0
        // received all of block 1's sums and stored every output (block 0 adding up its own
        // sums first, while block 1's were on their way: 4096x4096 M = 16 GPTQ4 10.78-11.01
        // -> 10.56-10.59 us, session 23). H100, same call, M = 16, three rounds, against that:
        // 4096x4096 GPTQ4 10.59-10.72 -> 10.42-10.56, AWQ 10.56-10.82 -> 10.29-10.59, ct
        // int4 10.59-10.80 -> 10.42-10.50, NVFP4 10.91-11.23 -> 10.59-10.80; 4096x14336
        // GPTQ4 18.98 -> 18.54 (docs/perf.md, session 26).
        if (cl) {
            const u32 me = blockIdx.y, other = me ^ 1u;
            constexpr int NI = (E + 7) / 8;
            float keep[NI];
            auto mine = [&](int e) { return (u32)(e >= E / 2) == me; };
#pragma unroll
            for (int i = 0; i < NI; ++i) {
                const int e = e0 + i * estep;
                keep[i] = 0.0f;
                if (e < E) {
                    const float v = final_sum(e);
                    if (mine(e)) keep[i] = v;
                    else st_async_rank(&cred[me][e][lane], v, other);
                }
            }
            for (int e = e0 + NI * estep; e < E; e += estep)
                if (!mine(e)) st_async_rank(&cred[me][e][lane], final_sum(e), other);
            TLD(5);
            sk_wait(E / 2 * 32 * 4);
            TLD(6);
            auto store = [&](int e, float v) { // in split order, as block 0 adds them below
                int mm, n;
                if (!coord(e, mm, n)) return;
                const float p = cred[other][e][lane];
                put(mm, n, me == 0 ? v + p : p + v);
            };
#pragma unroll
            for (int i = 0; i < NI; ++i)
                if (e0 + i * estep < E && mine(e0 + i * estep)) store(e0 + i * estep, keep[i]);
            for (int e = e0 + NI * estep; e < E; e += estep)
                if (mine(e)) store(e, final_sum(e));
            return;
        }
    }
    if (cl) {
        // The one-tile kernels (E = 16, up to CL_MAX splits): the other blocks send their
        // sums to block 0 and are done; block 0 waits for their bytes, then adds them to its
        // own in split order (its own after the wait: summed before it, GPTQ4 8192x8192
        // M = 4 was slower, 18.4-18.5 -> 19.3-19.4 us, GPTQ8 M = 1 28.2-28.3 -> 28.6).
        if (blockIdx.y != 0) {
            for (int e = e0; e < E; e += estep) st_async_rank(&cred[blockIdx.y][e][lane], final_sum(e), 0u);
            TLD(5);
            return;
        }
        TLD(5);
        sk_wait((gridDim.y - 1) * E * 32 * 4);
        TLD(6);
        auto store = [&](int e, float s) {
            int mm, n;
            if (!coord(e, mm, n)) return;
            for (int sp = 1; sp < (int)gridDim.y; ++sp) s += cred[sp][e][lane];
            put(mm, n, s);
        };
        for (int e = e0; e < E; e += estep) store(e, final_sum(e));
        return;
    }
    for (int e = e0; e < E; e += estep) {
        const float s = final_sum(e);
        int mm, n;
        if (coord(e, mm, n)) {
            if (gridDim.y > 1) {
                (SK ? splitk_partials(part) : part)[((u64)blockIdx.y * m + mm) * N + n] = s;
            } else {
                const float b = bias ? from_out<A>(bias[n]) : 0.0f;
                y[(u64)mm * N + n] = to_out<A>(s + b);
            }
        }
    }
    if (SK && gridDim.y > 1) splitk_fixup<A>(y, part, bias, m, N, col0, cols);
}

// split_tail for the GPTQ4 kernels' blocks of NWN column groups (64 columns each) by
// W / NWN warps along K, whose E per-lane sums sit in red[warp][e][lane] (or, with RK below
// W / NWN, in the first RK slots of each column group, the other warps' sums already added
// there): a column group's K warps are summed by its first warp (NWN > 1), or the elements
// are split over all warps (NWN == 1).
template <int A, int E, int SK, int W, int NWN, int RK = W / NWN, bool CW = true, typename Coord>
__device__ __forceinline__ void col_group_tail(const float (*red)[E][32], u16* __restrict__ y, float* part,
                                               const u16* __restrict__ bias, int m, int N, Coord coord) {
    constexpr int KW = RK;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, wn = warp % NWN, wk = warp / NWN;
    split_tail<A, E, SK, CW>(
        y, part, bias, m, N, blockIdx.x * 64 * NWN, 64 * NWN, NWN == 1 ? warp : (wk == 0 ? 0 : E), NWN == 1 ? W : 1,
        [&](int e) {
            float s = 0.0f;
#pragma unroll
            for (int wv = 0; wv < KW; ++wv) s += red[wn + NWN * wv][e][lane];
            return s;
        },
        coord);
}

// acc += (sa v0, sa v1, sb v2, sb v3): an MMA C fragment's rows g (c0, c1) and g + 8 (c2, c3)
// scaled by their columns' factors.
__device__ __forceinline__ void fma_frag(float* acc, float sa, float sb, float v0, float v1, float v2, float v3) {
    acc[0] = fmaf(sa, v0, acc[0]);
    acc[1] = fmaf(sa, v1, acc[1]);
    acc[2] = fmaf(sb, v2, acc[2]);
    acc[3] = fmaf(sb, v3, acc[3]);
}


// Activation rows g + 8 j (j < NT) at k = 8t: the lane's B-fragment rows in the K-major
// kernels (rows at or beyond M are never read).
template <int NT>
__device__ __forceinline__ void kmajor_x_rows(const u16** xr, const u16* __restrict__ x, int g, int t, int K) {
#pragma unroll
    for (int j = 0; j < NT; ++j) xr[j] = x + (u64)(g + 8 * j) * K + 8 * t;
}

// The L2 prefetch of a group's two scale rows and, unless every zero point is 8 (Z8), its
// two zero words (the K-major GPTQ4 kernels).
template <bool Z8>
__device__ __forceinline__ void prefetch_group_words(const u16* sa, const u16* sb, const u32* za, const u32* zb) {
    group_prefetch(sa);
    group_prefetch(sb);
    if (!Z8) {
        group_prefetch(za);
        group_prefetch(zb);
    }
}
// Moves a K-major GPTQ4 kernel's scale and zero pointers to the next group (one row of N
// scales, N / 8 zero words) and, with `prefetch`, sends that group's words to L2.
template <bool Z8>
__device__ __forceinline__ void next_group_words(const u16*& sa, const u16*& sb, const u32*& za, const u32*& zb, int N,
                                                 int zero_words, bool prefetch) {
    sa += N;
    sb += N;
    za += zero_words;
    zb += zero_words;
    if (prefetch) prefetch_group_words<Z8>(sa, sb, za, zb);
}

// The tail of the group-sum kernels (mma_gptq4_ga_body, mma_fp4_ga_body): a lane's 32 sums
// in red[warp][e][lane] are n-tile i = e / 4, C register r = e % 4 of the warp's 64 columns
// from n0 (n-tile i holds columns n0 + 32 (i / 4) + 4 n + i % 4), summed over the column
// group's K warps by col_group_tail.
template <int A, int SK, int W, int NWN, int RK = W / NWN, bool CW = true>
__device__ __forceinline__ void ga_tail(const float (*red)[32][32], u16* __restrict__ y, float* part,
                                        const u16* __restrict__ bias, int m, int N, int n0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    col_group_tail<A, 32, SK, W, NWN, RK, CW>(red, y, part, bias, m, N, [&](int e, int& mm, int& n) {
        const int i = e >> 2, r = e & 3;
        mm = g + 8 * (r >> 1);
        n = n0 + 32 * (i >> 2) + (i & 3) + 8 * t + 4 * (r & 1);
        return mm < m && n < N;
    });
}

// bar.sync on named barrier `id` (1..15; 0 is __syncthreads') for `count` threads.
__device__ __forceinline__ void named_bar_sync(int id, int count) {
    asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(count) : "memory");
}
// st_async_rank for a float4 (16 bytes counted on that block's sk_mbar); `local` 16-byte aligned.
__device__ __forceinline__ void st_async_rank4(const float4* local, float4 v, u32 rank) {
    asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v4.f32 [%0], {%1, %2, %3, %4}, [%5];" ::"r"(
                     mapa_u32(local, rank)),
                 "f"(v.x), "f"(v.y), "f"(v.z), "f"(v.w), "r"(mapa_u32(&sk_mbar, rank))
                 : "memory");
}
__device__ __forceinline__ float4 f4add(float4 a, float4 b) {
    return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}
// Stores the lane's C fragment v of n-tile i of a group-sum warp's 64 columns from n0 (rows g
// and g + 8, columns n0 + 32 (i / 4) + i % 4 + 8t and + 4, as ga_tail's coordinates), with
// the bias; outputs outside M or N are dropped.
template <int A>
__device__ __forceinline__ void store_ntile(float4 v, u16* __restrict__ y, const u16* __restrict__ bias, int m, int N,
                                            int n0, int i) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const float vv[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int mm = g + 8 * (r >> 1), n = n0 + 32 * (i >> 2) + (i & 3) + 8 * t + 4 * (r & 1);
        if (mm < m && n < N) {
            const float b = bias ? from_out<A>(bias[n]) : 0.0f;
            y[(u64)mm * N + n] = to_out<A>(vv[r] + b);
        }
    }
}

// The quad tail of the 16-warp group-sum kernels (`c1w16s`, `c1w16s_sk`: mma_gptq4_ga_body's
// QT 1): the block's 16 warps sum their float4 slots red4[warp][i][lane] in two steps,
// instead of ga_tail's transposition into the scalar layout and 16-way sum per element
// after __syncthreads (512 threads x 32 loads).
// 1. Each quad of warps (4q .. 4q + 3) meets at its own named barrier as soon as its four
//    warps have flushed; warp 4q + j adds the quad's slots i = 2j, 2j + 1 (four float4
//    loads each, conflict-free) into warp 4q's slots. A quad whose warps finish early does
//    this while the others still load. With two splits in a cluster, block b keeps n-tiles
//    [4b, 4b + 4): a quad sends its sums of the other block's n-tiles straight to it by
//    st.async (16 bytes per lane; 8 KB per block in all, against 2 KB for split_tail's
//    exchange of the block's sums, but no __syncthreads and no second step before it).
// 2. After __syncthreads, warp i (i < 8) of the n-tiles this block keeps adds the four quad
//    sums of slot i (the four C registers of n-tile i), and with a cluster waits for the
//    other block's four and adds them in split order, then stores.
// H100, M = 16, each against the `c1w16` kernels in the same bench process, alternating
// (SAFEWEIGHTS_BENCH_AB), means of 6-8 rounds: 4096x4096 GPTQ4 -0.14 us, AWQ -0.22 to
// -0.33, ct int4 -0.18 to -0.28, act-order -0.29; 8192x8192 GPTQ4 -0.29, act-order -0.40;
// 4096x14336 GPTQ4 -0.17, act-order -0.24 (docs/perf.md, session 28).
// The f32 additions are in another order than ga_tail's (quad sums first), so the outputs
// are not the same bits as the `c1w16` kernels', but they do not depend on timing.
// `cl`: the launch is a cluster of the two splits; otherwise grid.y is 1 (the caller takes
// ga_tail for any other launch).
template <int A>
__device__ __forceinline__ void ga_tail_quad(float4 (*red4)[8][32], u16* __restrict__ y, const u16* __restrict__ bias,
                                             int m, int N, int n0, bool cl) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int q = warp >> 2, j = warp & 3;
    const u32 me = blockIdx.y;
    __shared__ float4 credq[4][4][32]; // the other block's quad sums: [quad][n-tile - 4 me][lane]
    named_bar_sync(1 + q, 128);
#pragma unroll
    for (int ii = 0; ii < 2; ++ii) {
        const int i = 2 * j + ii;
        float4 s = red4[4 * q][i][lane];
#pragma unroll
        for (int k = 1; k < 4; ++k) s = f4add(s, red4[4 * q + k][i][lane]);
        if (cl && (u32)(i >> 2) != me) st_async_rank4(&credq[q][i & 3][lane], s, me ^ 1u);
        else red4[4 * q][i][lane] = s;
    }
    __syncthreads();
    const int i = warp;
    if (warp >= 8 || (cl && (u32)(i >> 2) != me)) return;
    float4 v = red4[0][i][lane];
#pragma unroll
    for (int qq = 1; qq < 4; ++qq) v = f4add(v, red4[4 * qq][i][lane]);
    if (cl) {
        sk_wait(4 * 4 * 32 * 16, 128u * me); // the four remote quad sums of the block's n-tiles
        float4 p = credq[0][i & 3][lane];
#pragma unroll
        for (int qq = 1; qq < 4; ++qq) p = f4add(p, credq[qq][i & 3][lane]);
        v = me == 0 ? f4add(v, p) : f4add(p, v);
    }
    store_ntile<A>(v, y, bias, m, N, n0, i);
}

// The spread tail of the 128-column group-sum kernels (`c2t`, `c2mt`: mma_gptq4_ga_body's
// QT 2; 8 warps, two 64-column groups of 4 K warps, one split): after __syncthreads, warp w
// sums n-tiles i = 2 (w & 3), 2 (w & 3) + 1 of column group w >> 2 over its four K warps
// (float4 slots, four loads each) and stores them, so all 8 warps share the reduction.
// ga_tail has each column group's first warp add all 32 sums per lane over the four warps
// (128 loads per lane) after a transposition into the scalar layout, while the other warps
// idle. The additions are in the same order (K warp 0 to 3), so the outputs are the same
// bits as the `c2` / `c2m` kernels'. H100, M = 16, 28672x8192, against them in the same bench
// process, alternating (SAFEWEIGHTS_BENCH_AB), means of 6 rounds: GPTQ4 -0.74 us, AWQ
// -0.43, ct int4 -0.37, act-order -0.22 (docs/perf.md, session 28).
template <int A>
__device__ __forceinline__ void ga_tail_spread(float4 (*red4)[8][32], u16* __restrict__ y, const u16* __restrict__ bias,
                                               int m, int N, int col0) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int cg = warp >> 2, n0 = col0 + 64 * cg;
#pragma unroll
    for (int ii = 0; ii < 2; ++ii) {
        const int i = 2 * (warp & 3) + ii;
        float4 v = red4[cg][i][lane];
#pragma unroll
        for (int wk = 1; wk < 4; ++wk) v = f4add(v, red4[cg + 2 * wk][i][lane]);
        store_ntile<A>(v, y, bias, m, N, n0, i);
    }
}

// SW_GA 1 (default): the two-tile (M > 8) GPTQ4 kernels take mma_gptq4_ga_body below; 0
// keeps mma_gptq4_body_pc for them (for comparisons). SW_XP 0: the group-sum kernel loads
// its activations when a chunk starts instead of one chunk ahead.
#ifndef SW_GA
#define SW_GA 1
#endif
#ifndef SW_XP
#define SW_XP 1
#endif
// The two-tile (M > 8) GPTQ4 kernel with group sums, the MMA transposed (`SW_GA`, the
// default): activations are the A operand (16 rows of M by 16 k) and weights the B operand
// (16 k by 8 columns), so a warp's 64 columns are 8 n-tiles; n-tile i holds columns
// n0 + 32 (i / 4) + 4 n + i % 4 (n = 0..7), the columns lane (g, t) loads as words i % 4
// of its two 16-byte loads (as in mma_gptq4_body_pc). Per 16-k step h, a lane's B pair is
// nibbles (h, h + 4) and (h + 2, h + 6) of its word (one and_or each, the (magic | q)
// decode), and its A quad the same k of activation rows g and g + 8 (one prmt each, written
// straight into the quad).
// The MMAs add a group's raw products (magic + q) x into f32 accumulators across its chunks;
// one more MMA per step, with ones as B, sums the activation rows of the same A quad (rows g
// and g + 8 of C: the rows the lane's outputs have). At the group's end,
// out += s (sum - (magic + z + v1) sum_x), two FMAs per value, with `out` per lane in
// shared memory (the reduction buffer, read and written once per group). A lane's outputs
// are columns n0 + 32 b + 8t + 0..7 (b = 0, 1), whose scales are one 16-byte load and whose
// zero points one word per b. Against mma_gptq4_body_pc: no per-chunk scale multiplies (32 FFMA
// per chunk), two MMAs per chunk for the sums instead of four, no operand moves, and no
// scales or running outputs in registers, which leaves room for XP: the next chunk's
// activations loaded one chunk ahead (the load issued at a chunk's start was the main stall,
// docs/perf.md session 13).
// CM: the weights in the chunk-major layout of gemv_gptq4_cm_repack (the `c2m` kernels), so a
// warp's chunks are consecutive 1 KB blocks instead of four 256-byte pieces 4N bytes apart.
template <int A, int NWN, int SK, int PF, int WB, bool Z8, bool XP, bool CM = false, int QT = 0>
__device__ __forceinline__ void mma_gptq4_ga_body(u16* __restrict__ y, float* __restrict__ part,
                                                  const u16* __restrict__ x, const u32* __restrict__ qw,
                                                  const u32* __restrict__ qz, const u16* __restrict__ scales,
                                                  int scale_dt, int group_size, int v1, const u16* __restrict__ bias,
                                                  int m, int N, int K) {
    TL(0);
    if (SK == SK_CL) sk_entry(); // split_tail: the transaction barriers, the cluster barrier's arrival
    TLC(1);
    grid_dep_launch();
    TLC(2);
    constexpr int W = WB, KW = W / NWN;
    static_assert(!SK || NWN == 1, "in-kernel split sums: one column group per block");
    static_assert(!QT || (QT == 1 ? W == 16 && NWN == 1 : W == 8 && NWN == 2 && SK == SK_NO),
                  "the quad tail: 16-warp blocks of one column group; the spread tail: 128-column blocks");
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wn = warp % NWN, wk = warp / NWN;
    const int n0 = (blockIdx.x * NWN + wn) * 64;
    const int chunks = K / 32;
    const int parts = (int)gridDim.y * KW, pi = (int)blockIdx.y * KW + wk;
    const int c0 = (int)((long long)chunks * pi / parts), c1 = (int)((long long)chunks * (pi + 1) / parts);
    TL_DEPU(c1);
    TLB(1);
    TLC(3);
    // Loaded columns (B operand) and output columns (scales, zeros): clamped into the layer;
    // N % 8 == 0, so a clamped block lies wholly past N and its outputs are dropped.
    const int la = min(n0 + 4 * g, N - 4), lb = min(n0 + 32 + 4 * g, N - 4);
    const int oa = min(n0 + 8 * t, N - 8), ob = min(n0 + 32 + 8 * t, N - 8);
    const u32 MAGIC = A == OUT_F16 ? 0x64006400u : 0x43004300u;
    const u32 ONES = A == OUT_F16 ? 0x3C003C00u : 0x3F803F80u;
    const float ZOFF = 8388608.0f - (A == OUT_F16 ? 1024.0f : 128.0f) - (float)v1;
    const int zero_words = N >> 3;
    const int cpg = group_size / 32;
    // out: the C fragment of n-tile i of this lane, [i][lane].
    // 16-warp blocks (`c1w16`): 64 KB, more than a static array may take, so dynamic shared
    // memory (the host opts the kernel in: kernels::opt_in_smem).
    float4(*red4)[8][32];
    if constexpr (W > 8) {
        extern __shared__ float4 gq_dyn4[];
        red4 = reinterpret_cast<float4(*)[8][32]>(gq_dyn4);
    } else {
        __shared__ float4 red4s[W][8][32];
        red4 = red4s;
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) red4[warp][i][lane] = make_float4(0.f, 0.f, 0.f, 0.f);
    TLB(2);
    float gacc[8][4], sx[4];
    auto clear = [&]() {
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int r = 0; r < 4; ++r) gacc[i][r] = 0.0f;
#pragma unroll
        for (int r = 0; r < 4; ++r) sx[r] = 0.0f;
    };
    clear();
    // The current group's raw scales (8 per half) and zero words, read when it starts and
    // used at its end.
    const u16* sgA = scales + (u64)(c0 / cpg) * N + oa;
    const u16* sgB = scales + (u64)(c0 / cpg) * N + ob;
    const u32* zgA = qz + (u64)(c0 / cpg) * zero_words + (oa >> 3);
    const u32* zgB = qz + (u64)(c0 / cpg) * zero_words + (ob >> 3);
    uint4 ra = make_uint4(0u, 0u, 0u, 0u), rb = ra;
    u32 za = 0u, zb = 0u;
    auto group_start = [&](bool more) {
        ra = *(const uint4*)sgA;
        rb = *(const uint4*)sgB;
        if (!Z8) {
            // Through the read-only path (ld.global.nc): H100, same call, M = 16, 28672x8192
            // GPTQ4 55.8-56.0 -> 55.1 us, act-order 57.8-57.9 -> 57.4-57.5, AWQ 55.8 ->
            // 55.3, 8192x8192 20.4 -> 20.1. Read as plain loads, the zero words cost
            // about as much as reading none at all saved (a probe taking every zero point
            // as 8: 54.5-54.6). The scales the same way: no faster (docs/perf.md, session 22).
            za = __ldg(zgA);
            zb = __ldg(zgB);
        }
        next_group_words<Z8>(sgA, sgB, zgA, zgB, N, zero_words, more);
    };
    auto flush = [&]() {
        const u32 hw[2][4] = {{ra.x, ra.y, ra.z, ra.w}, {rb.x, rb.y, rb.z, rb.w}};
        const u32 zw[2] = {za, zb};
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            float s[8], f[8];
#pragma unroll
            for (int k = 0; k < 8; ++k) {
                const u32 hv = (hw[hf][k >> 1] >> (16 * (k & 1))) & 0xFFFFu;
                s[k] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)hv) : f16_to_f32((u16)hv);
                // 2^23 + z read as f32, then - (2^23 - magic - v1): magic + z + v1 exactly.
                const u32 q = Z8 ? 8u : (zw[hf] >> (4 * k)) & 15u;
                f[k] = __uint_as_float(q | 0x4B000000u) - ZOFF;
            }
#pragma unroll
            for (int i4 = 0; i4 < 4; ++i4) {
                const int i = 4 * hf + i4;
                float4 o = red4[warp][i][lane];
                o.x = fmaf(s[i4], fmaf(-f[i4], sx[0], gacc[i][0]), o.x);
                o.y = fmaf(s[i4 + 4], fmaf(-f[i4 + 4], sx[0], gacc[i][1]), o.y);
                o.z = fmaf(s[i4], fmaf(-f[i4], sx[2], gacc[i][2]), o.z);
                o.w = fmaf(s[i4 + 4], fmaf(-f[i4 + 4], sx[2], gacc[i][3]), o.w);
                red4[warp][i][lane] = o;
            }
        }
        clear();
    };
    // K-major: packed row 4c + t at columns la and lb. Chunk-major (CM): 64-column group
    // n0 / 64 (the last one where a block's second group lies past the padded columns, whose
    // outputs are dropped), chunk c, row t, columns 4g + 0..3 and 32 + 4g + 0..3.
    const int cmg = min(n0 >> 6, ((N + 63) >> 6) - 1);
    const u32* pa = CM ? qw + ((u64)cmg * chunks + c0) * 256 + 64 * t + 4 * g : qw + (u64)(4 * c0 + t) * N + la;
    const u32* pb = CM ? pa + 32 : qw + (u64)(4 * c0 + t) * N + lb;
    const u64 pstep = CM ? 256 : (u64)4 * N;
    uint4 qa, qb;
    auto fetch = [&]() {
        qa = ldg_stream16(pa);
        qb = ldg_stream16(pb);
        pa += pstep;
        pb += pstep;
    };
    // Activation rows g and g + 8 at k = 32 c + 8t (rows at or beyond M read as zeros).
    const u16* xg = x + (u64)g * K + 8 * t + 32 * c0;
    const u16* xg8 = x + (u64)(g + 8) * K + 8 * t + 32 * c0;
    const bool rg = g < m, rg8 = g + 8 < m;
    uint4 P0, P1;
    auto xload = [&]() {
        P0 = make_uint4(0, 0, 0, 0);
        P1 = P0;
        if (rg) P0 = *(const uint4*)xg;
        if (rg8) P1 = *(const uint4*)xg8;
        xg += 32;
        xg8 += 32;
    };
    // The A quads from P0 / P1, and one chunk's MMAs on the lane's 8 weight words.
    auto quads = [&](u32 (&X)[2][4]) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u32 sel = h ? 0x7632u : 0x5410u;
            X[h][0] = prmt(P0.x, P0.z, sel);
            X[h][1] = prmt(P1.x, P1.z, sel);
            X[h][2] = prmt(P0.y, P0.w, sel);
            X[h][3] = prmt(P1.y, P1.w, sel);
        }
    };
    auto mmas = [&](const u32 (&w)[8], const u32 (&X)[2][4]) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            mma_16816<A>(sx, X[h][0], X[h][1], X[h][2], X[h][3], ONES, ONES);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                const u32 b0 = and_or<0x000F000Fu>(w[i] >> (4 * h), MAGIC);
                const u32 b1 = and_or<0x000F000Fu>(w[i] >> (4 * h + 8), MAGIC);
                mma_16816<A>(gacc[i], X[h][0], X[h][1], X[h][2], X[h][3], b0, b1);
            }
        }
    };
    int gend = (c0 / cpg + 1) * cpg;
    TL_DEPU((u32)(size_t)pa);
    TL_DEPU((u32)(size_t)xg8);
    TLB(3);
    TLC(4);
    if (c0 < c1) prefetch_group_words<Z8>(sgA, sgB, zgA, zgB);
    if (c0 < c1) fetch();
    // Act-order layers: the permuted activations are read only after the permute has
    // finished (see mma_gptq4_body_pc).
    TLB(4);
    TLC(5);
    grid_dep_wait();
    TLA(1);
    TLB(5);
    if (c0 < c1) {
        group_start(gend < c1);
        if (XP) xload();
    }
    for (int c = c0; c < c1; ++c) {
        if (c == gend) {
            flush();
            gend += cpg;
            group_start(gend < c1);
        }
        const u32 w[8] = {qa.x, qa.y, qa.z, qa.w, qb.x, qb.y, qb.z, qb.w};
        if (PF > 0 && c + PF < c1) {
            group_prefetch(pa + (u64)(PF - 1) * pstep);
            group_prefetch(pb + (u64)(PF - 1) * pstep);
        }
        if (c + 1 < c1) fetch();
        if (!XP) xload();
        u32 X[2][4];
        quads(X);
        if (c == c0 || c == c0 + 1) {
            TL_DEPU(X[1][3]);
            TLA(c == c0 ? 2 : 4);
            if (c == c0) {
                TLB(6);
                TLC(6);
            }
        }
        if (XP && c + 1 < c1) xload();
        mmas(w, X);
        if (c == c0 || c == c0 + 1) {
            TL_DEP(gacc[7][3]);
            TLA(c == c0 ? 3 : 5);
        }
    }
    TL_DEP(gacc[7][3]);
    TLA(6);
    TLD(1);
    // The cluster barrier (arrived at entry, sk_entry) is waited on by each warp here, before
    // its last flush, instead of in split_tail after the block's reduction, where it sat on
    // the block's critical path. H100, same call, M = 16, 4096x4096, three rounds: GPTQ4
    // 10.53-10.88 -> 10.50-10.72 us, AWQ 10.83-10.86 -> 10.56-10.66, ct int4 10.70-10.96 ->
    // 10.59-10.85 (docs/perf.md, session 26).
    if (SK == SK_CL) cluster_wait();
    // QT: the quad tail (1) or the spread tail (2) where the launch allows it; any other
    // launch (K splits without a cluster: partials for the finalize pass) takes ga_tail.
    if constexpr (QT == 1) {
        const bool cl = SK == SK_CL && gridDim.y == 2 && cluster_blocks() == 2;
        if (cl || gridDim.y == 1) {
            if (c0 < c1) flush();
            ga_tail_quad<A>(red4, y, bias, m, N, n0, cl);
            TL(7);
            return;
        }
    } else if constexpr (QT == 2) {
        if (gridDim.y == 1) {
            if (c0 < c1) flush();
            __syncthreads();
            ga_tail_spread<A>(red4, y, bias, m, N, (int)blockIdx.x * 128);
            TL(7);
            return;
        }
    }
    if (c0 < c1) flush();
    TLD(2);
    // The lane's sums from its float4 slots to the scalar layout [warp][e][lane], which the
    // tail reads without bank conflicts (scalar reads of the float4 slots are 4-way).
    float(*red)[32][32] = reinterpret_cast<float(*)[32][32]>(&red4[0][0][0]);
    {
        float4 o[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) o[i] = red4[warp][i][lane];
        __syncwarp();
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            red[warp][4 * i][lane] = o[i].x;
            red[warp][4 * i + 1][lane] = o[i].y;
            red[warp][4 * i + 2][lane] = o[i].z;
            red[warp][4 * i + 3][lane] = o[i].w;
        }
    }
    __syncthreads();
    TLD(3);
    ga_tail<A, SK, W, NWN, W / NWN, SK != SK_CL>(red, y, part, bias, m, N, n0);
    TL(7);
}

// NVFP4 or MXFP4 (FMT 0 / 1) weights and scales ([N, K/2] and [N, K/16] or [N, K/32], §6,
// §8) into the K-major layout of mma_fp4_ga_body, one output word per thread: word (kw, n)
// of qw[K / 8][Np] is word kw of row n in the bit layout of e2m1_ga2 (zero for pad columns
// n >= N), and the first word of each scale block writes the block's code to
// sc[block][Np] (fp4ga_scale_halves).
// NVFP4: a scale of +-0 zeroes its block's codes (their products are zero either way) and
// a negative scale flips their signs (E2M1 is sign-magnitude), so the code is that of |s|:
// r = (s & 0x7F) + 16 for a normal E4M3 value, 8p + frac for a subnormal one m 2^-9 (p the
// top bit of m). MXFP4: r = e + 126 - delta (delta as in e8m0_rp_bf16x2).
// A NaN scale (E4M3 0x7F / 0xFF, E8M0 0xFF) has no code: *nan becomes 1 and the layer keeps
// the kernels that carry NaN through (src/cuda/gemv.rs, `fp4ga_weights`).
__device__ __forceinline__ u32 e4m3_ga_code(u32 mag) {
    if (mag >> 3) return mag + 16u;
    const u32 p = 31u - (u32)__clz((int)mag); // mag in 1..7
    return 8u * p + ((mag << (3u - p)) & 7u);
}
template <int A, int FMT>
__device__ __forceinline__ void fp4ga_repack(u32* __restrict__ out_w, u8* __restrict__ out_s, const u32* __restrict__ w,
                                             const u8* __restrict__ sc, int N, int K, int delta, int* __restrict__ nan) {
    const int Np = (N + 63) & ~63, KW = K / 8;
    constexpr int WPB = FMT == 0 ? 2 : 4; // words per scale block
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (u64)KW * Np) return;
    const int n = (int)(i % (u64)Np), kw = (int)(i / (u64)Np);
    u32 v = 0u, r = 0u;
    if (n < N) {
        v = w[(u64)n * KW + kw];
        const u32 e = sc[(u64)n * (KW / WPB) + kw / WPB];
        if (FMT == 0) {
            const u32 mag = e & 0x7Fu;
            if (mag == 0x7Fu) *nan = 1;
            if (mag == 0u) {
                v = 0u;
            } else {
                r = e4m3_ga_code(mag);
                if (e & 0x80u) v ^= 0x88888888u;
            }
        } else {
            if (e == 0xFFu) *nan = 1;
            r = (u32)((int)e + 126 - delta) & 0xFFu;
        }
    }
    out_w[i] = fp4_rp_word<A, true>(v);
    if (kw % WPB == 0) out_s[(u64)(kw / WPB) * Np + n] = (u8)r;
}
extern "C" __global__ void gemv_fp4ga_repack_nv_bf16(u32* out_w, u8* out_s, const u32* w, const u8* sc, int N, int K,
                                                     int delta, int* nan) {
    fp4ga_repack<OUT_BF16, 0>(out_w, out_s, w, sc, N, K, delta, nan);
}
extern "C" __global__ void gemv_fp4ga_repack_nv_f16(u32* out_w, u8* out_s, const u32* w, const u8* sc, int N, int K,
                                                    int delta, int* nan) {
    fp4ga_repack<OUT_F16, 0>(out_w, out_s, w, sc, N, K, delta, nan);
}
extern "C" __global__ void gemv_fp4ga_repack_mx_bf16(u32* out_w, u8* out_s, const u32* w, const u8* sc, int N, int K,
                                                     int delta, int* nan) {
    fp4ga_repack<OUT_BF16, 1>(out_w, out_s, w, sc, N, K, delta, nan);
}

// Bytes p and p + 2 of s (p = 0 or 1) as the scales of two columns of an `fp4ga` kernel,
// the low and the high half of the result (one byte select and one shift-add), which
// hmul2_half broadcasts. From the codes of gemv_fp4ga_repack: NVFP4 (FMT 0) r = 8 (e + 9) + f
// for a scale 2^e (1 + f / 8), e in [-9, 8], as that scale times 2^118 (bf16: bits
// 16 r + 0x7600) or 2^7 (f16: 128 r + 0x3400), the factors of e4m3_scale_pairs; MXFP4
// r = e + 126 - delta for the E8M0 byte e, as 2^(e - 1 - delta) of e8m0_rp_bf16x2 (bits
// 128 r). Half the instructions of one pair per column (session 21).
template <int A, int FMT>
__device__ __forceinline__ u32 fp4ga_scale_halves(u32 s, int p) {
    const u32 u = p ? prmt(s, 0u, 0x4341u) : (s & 0x00FF00FFu); // bytes p, p + 2 at bits 0..7, 16..23
    if (FMT != 0) return u << 7;
    return A == OUT_BF16 ? (u << 4) + 0x76007600u : (u << 7) + 0x34003400u;
}
// a times half hi of b broadcast to both halves (ptxas folds the broadcast into the
// multiply's operand select: HMUL2 ... R.H0_H0 / R.H1_H1).
template <int A> __device__ __forceinline__ u32 hmul2_half(u32 a, u32 b, int hi) {
    u32 r;
    if (A == OUT_BF16) {
        if (hi) asm("{.reg .b16 l, h; .reg .b32 d; mov.b32 {l, h}, %2; mov.b32 d, {h, h}; mul.rn.bf16x2 %0, %1, d;}" : "=r"(r) : "r"(a), "r"(b));
        else asm("{.reg .b16 l, h; .reg .b32 d; mov.b32 {l, h}, %2; mov.b32 d, {l, l}; mul.rn.bf16x2 %0, %1, d;}" : "=r"(r) : "r"(a), "r"(b));
    } else {
        if (hi) asm("{.reg .b16 l, h; .reg .b32 d; mov.b32 {l, h}, %2; mov.b32 d, {h, h}; mul.rn.f16x2 %0, %1, d;}" : "=r"(r) : "r"(a), "r"(b));
        else asm("{.reg .b16 l, h; .reg .b32 d; mov.b32 {l, h}, %2; mov.b32 d, {l, l}; mul.rn.f16x2 %0, %1, d;}" : "=r"(r) : "r"(a), "r"(b));
    }
    return r;
}

// The two-tile FP4 kernel on the group-sum kernel's frame (`fp4ga`, M > 8): NVFP4 or MXFP4
// weights repacked K-major by gemv_fp4ga_repack, qw[K / 8][Np] words (8 codes of one column,
// in the bit layout of e2m1_ga2; Np = N rounded up to 64, the pad columns zero), and their
// scales K-major too, sc[K / 16][Np] (NVFP4) or sc[K / 32][Np] (MXFP4) bytes in the codes
// of fp4ga_scale_halves. As in mma_gptq4_ga_body the MMA is transposed: activations are the
// A operand, weights the B operand, a warp's 64 columns are 8 n-tiles (n-tile i holds
// columns n0 + 32 (i / 4) + 4 n + i % 4), and 32-k chunk c is packed rows 4c + t of the
// lanes t. Per 16-k step h a lane's B pair is pairs 2h and 2h + 1 of its word (e2m1_ga2:
// k offsets (h, h + 4) and (h + 2, h + 6)), each times its column's scale, and its A quad
// the same k of activation rows g and g + 8 (one prmt each). A word's 8 codes lie in one
// NVFP4 block, so a lane decodes 8 scales per chunk, one per column, two columns in two
// instructions. Against the `x2s` kernel
// (weights as the A operand, 32 rows per warp): each activation fragment serves 64 columns
// instead of 32, and no E4M3 decode (H100, M = 16, docs/perf.md session 19).
// The W / NWN warps of a column group and grid.y split K; with grid.y > 1 the f32 shares go
// to `part` and gemv_finalize adds them and the bias, or with SK (the `_sk` kernels,
// launched as clusters of the grid.y blocks of a column group) they are summed through
// distributed shared memory (split_tail).
template <int A, int FMT, int NWN, int WB, int SK = SK_NO, int NS = (WB == 8 ? 3 : 2)>
__device__ __forceinline__ void mma_fp4_ga_body(u16* __restrict__ y, const u16* __restrict__ x,
                                                const u32* __restrict__ qw, const u8* __restrict__ sc,
                                                const float* __restrict__ global, int conv_delta,
                                                const u16* __restrict__ bias, int m, int N, int K,
                                                float* __restrict__ part) {
    if (SK == SK_CL) sk_entry(); // split_tail: the transaction barriers, the cluster barrier's arrival
    else if (gridDim.y > 1) grid_dep_launch(); // gemv_finalize after it may launch now and wait there
    static_assert(!SK || NWN == 1, "split sums in the kernel: one column group per block");
    static_assert(WB == 8 || (WB == 16 && NWN == 1), "8-warp blocks, or 16 warps on one column group");
    constexpr int W = WB, KW = W / NWN;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wn = warp % NWN, wk = warp / NWN;
    const int n0 = (blockIdx.x * NWN + wn) * 64;
    const int chunks = K / 32;
    const int Np = (N + 63) & ~63;
    const int parts = (int)gridDim.y * KW, pi = (int)blockIdx.y * KW + wk;
    const int c0 = (int)((long long)chunks * pi / parts);
    int c1 = (int)((long long)chunks * (pi + 1) / parts);
    // A column group wholly past Np (the last block's second group, NWN = 2) reads nothing.
    const bool live = n0 < Np;
    const int la = live ? n0 + 4 * g : 0;
    float acc[8][4];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[i][r] = 0.0f;
    const u64 pstep = (u64)4 * Np;
    // Columns la + 0..3 and la + 32 + 0..3: the second half at a constant offset.
    const u32* pa = qw + (u64)(4 * c0 + t) * Np + la;
    // The scale row of chunk c for this lane: NVFP4 block 2c + t / 2, MXFP4 block c.
    const u64 sstep = FMT == 0 ? (u64)2 * Np : (u64)Np;
    const u8* sp = sc + (FMT == 0 ? (u64)(2 * c0 + (t >> 1)) : (u64)c0) * Np + la;
    // NS register slots: chunk c in slot c % NS (static in the NS-chunk loop below), the
    // loads of chunk c + NS - 1 into the slot that chunk c - 1 left, so no register copies;
    // chunk c + NS goes to L2 ahead of them. Three slots in the 8-warp blocks (126
    // registers, still two blocks per SM; H100, M = 16, session 21: 28672x8192 NVFP4 59.0
    // -> 56.4 µs, MXFP4 57.2 -> 53.8, 14336x4096 -0.1 to -0.4), two in the 16-warp ones
    // (one block per SM either way; three were slower there: 4096x14336 NVFP4 20.1 -> 20.6,
    // 4096x4096 and 8192x8192 +0.1 to +0.4).
    static_assert(NS == 2 || NS == 3, "the chunk loop below steps through two or three slots");
    uint4 qa[NS], qb[NS], P0[NS], P1[NS];
    u32 sa[NS], sb[NS];
    // Activation rows g and g + 8 (rows at or beyond M read row M - 1 again: those C rows
    // are never stored).
    const u16* xg = x + (u64)min(g, m - 1) * K + 8 * t + 32 * c0;
    const u16* xg8 = x + (u64)min(g + 8, m - 1) * K + 8 * t + 32 * c0;
    auto fetch = [&](int slot) {
        qa[slot] = ldg_stream16(pa);
        qb[slot] = ldg_stream16(pa + 32);
        sa[slot] = *(const u32*)sp;
        sb[slot] = *(const u32*)(sp + 32);
        P0[slot] = *(const uint4*)xg;
        P1[slot] = *(const uint4*)xg8;
        pa += pstep;
        sp += sstep;
        xg += 32;
        xg8 += 32;
    };
    auto step = [&](auto slot_c, int c) {
        constexpr int SL = decltype(slot_c)::value;
        if (c + NS < c1) {
            group_prefetch(pa + pstep);
            group_prefetch(pa + pstep + 32);
        }
        if (c + NS - 1 < c1) fetch((SL + NS - 1) % NS);
        const u32 w[8] = {qa[SL].x, qa[SL].y, qa[SL].z, qa[SL].w, qb[SL].x, qb[SL].y, qb[SL].z, qb[SL].w};
        // The A quads: k pairs (h, h + 4) and (h + 2, h + 6) of rows g and g + 8, one prmt
        // each written straight into the quad (no operand moves), as in mma_gptq4_ga_body.
        u32 X[2][4];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u32 sel = h ? 0x7632u : 0x5410u;
            X[h][0] = prmt(P0[SL].x, P0[SL].z, sel);
            X[h][1] = prmt(P1[SL].x, P1[SL].z, sel);
            X[h][2] = prmt(P0[SL].y, P0[SL].w, sel);
            X[h][3] = prmt(P1[SL].y, P1[SL].w, sel);
        }
        const u32 s4[2] = {sa[SL], sb[SL]};
        // Two columns' scales per register: bytes 0 and 2 (or 1 and 3) of a scale word as the
        // low and high halves, each broadcast by the multiply (hmul2_half).
        u32 sh[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) sh[j] = fp4ga_scale_halves<A, FMT>(s4[j >> 1], j & 1);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                // Column i's scale is byte i % 4 of word i / 4: register p = byte % 2, half
                // byte / 2.
                const u32 sr = sh[(i >> 2) * 2 + (i & 1)];
                const int hi = (i >> 1) & 1;
                const u32 b0 = hmul2_half<A>(e2m1_ga2<A>(w[i], 2 * h), sr, hi);
                const u32 b1 = hmul2_half<A>(e2m1_ga2<A>(w[i], 2 * h + 1), sr, hi);
                mma_16816<A>(acc[i], X[h][0], X[h][1], X[h][2], X[h][3], b0, b1);
            }
        }
    };
    if (!live) c1 = c0;
#pragma unroll
    for (int i = 0; i < NS - 1; ++i)
        if (c0 + i < c1) fetch(i);
    for (int c = c0; c < c1; c += NS) {
        step(SlotC<0>{}, c);
        if (c + 1 < c1) step(SlotC<1>{}, c + 1);
        if (NS > 2 && c + 2 < c1) step(SlotC<(NS > 2 ? 2 : 0)>{}, c + 2);
    }
    const float mul = fp4_out_mul<A, FMT>(global, conv_delta);
    // 16-warp blocks (one column group) reduce through 8 slots: warps 8..15 store, then
    // warps 0..7 add theirs (32 KB of shared memory instead of 64).
    constexpr int RW = W > 8 ? 8 : W;
    __shared__ float red[RW][32][32];
    if (W > RW) {
        if (warp >= RW) {
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int r = 0; r < 4; ++r) red[warp - RW][4 * i + r][lane] = acc[i][r] * mul;
        }
        __syncthreads();
    }
    if (warp < RW) {
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                if (W > RW) red[warp][4 * i + r][lane] += acc[i][r] * mul;
                else red[warp][4 * i + r][lane] = acc[i][r] * mul;
            }
    }
    __syncthreads();
    ga_tail<A, SK, W, NWN, RW / NWN>(red, y, part, bias, m, N, n0);
}

// GPTQ 4-bit without g_idx (§2.3), group size a multiple of 32: tensor-core GEMV over a K-major
// layout, scaling each chunk's sums (the M <= 8 kernels; at M > 8 mma_gptq4_ga_body runs
// instead unless SW_GA is 0). A warp owns 64 columns (four m16 tiles) and walks 32-k chunks: lane (g, t) loads
// packed row 4c + t at columns n0 + 4g + 0..3 and n0 + 32 + 4g + 0..3 (two 16-byte loads;
// eight lanes read a whole 128-byte line); m-tile i maps MMA row g to column n0 + 4g + i and
// row g + 8 to n0 + 32 + 4g + i. Nibbles j and j + 4 of a word (k = 8t + j, 8t + j + 4) form
// one pair: (q - z) exactly, as (magic | q) - (magic + z) in the activation type (f16 1024,
// bf16 128). The activation pairs are permuted to match with one prmt each, shared by the
// four m-tiles. A chunk lies inside one group, so the MMA sums s-free products for the chunk
// and the group scale multiplies that f32 sum: every product is exact.
// The 64-k kernel (CH = 2) feeds (magic | q) itself to the MMA and subtracts (magic + z) s
// times the group's activation sum afterwards (see ZF below): the products stay exact, and
// the cancellation costs about 2^-24 (magic + 15) |x| per sum, far inside the tolerance
// (conformance checks it with all-positive activations).
// The 8 warps of a block and grid.y split K; with grid.y > 1, f32 partials are summed by
// gemv_finalize_*.
// CH: 32-k sub-chunks per chunk (1, or 2 when the group size is a multiple of 64): a lane
// keeps 2 * CH 16-byte loads in flight ahead. WB: warps per block (8, or 4 for `gptq4w4`).
// Z8: every zero point is 8 and `qz` is not read (the `z` kernels, for symmetric
// compressed-tensors int4, quant_formats §5.4).
template <int A, int NT, int NWN, int CH = 1, int SK = SK_NO, int PF = (NT == 2 ? 2 : 0), int WB = 8, bool Z8 = false>
__device__ __forceinline__ void mma_gptq4_body_pc(u16* __restrict__ y, float* __restrict__ part, const u16* __restrict__ x,
                                               const u32* __restrict__ qw, const u32* __restrict__ qz,
                                               const u16* __restrict__ scales, int scale_dt, int group_size, int v1,
                                               const u16* __restrict__ bias, int m, int N, int K) {
    if (SK == SK_CL) sk_entry(); // split_tail: the transaction barriers, the cluster barrier's arrival
    grid_dep_launch(); // gemv_finalize after it (K splits) may launch now and wait there
    constexpr int W = WB, KW = W / NWN; // NWN warps along N (64 columns each), KW along K
    static_assert(!SK || NWN == 1, "in-kernel split sums: one column group per block");
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int wn = warp % NWN, wk = warp / NWN;
    const int n0 = (blockIdx.x * NWN + wn) * 64;
    const int chunks = K / (32 * CH);
    const int parts = (int)gridDim.y * KW, pi = (int)blockIdx.y * KW + wk;
    const int c0 = (int)((long long)chunks * pi / parts), c1 = (int)((long long)chunks * (pi + 1) / parts);
    const int ca = n0 + 4 * g, cb = n0 + 32 + 4 * g;
    const int la = min(ca, N - 4), lb = min(cb, N - 4); // N % 8 == 0: whole groups of four
    const u32 MAGIC = A == OUT_F16 ? 0x64006400u : 0x43004300u;
    const int zero_words = N >> 3;
    float acc[4][NT][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
    // Group bookkeeping without a division in the loop: chunks per group (group_size is a
    // multiple of the chunk) and the chunk where the next group starts.
    const int cpg = group_size / (32 * CH);
    int grp = c0 / cpg - 1, gnext = c0;
    float sA[4], sB[4];
    u32 zA[4], zB[4];
    uint4 qa[CH], qb[CH];
    // Prefetch the next group's scales and zeros (32-k kernel: H100 28672x8192 M = 16
    // 77.2 -> 72.4 us; the 64-k kernel was 5% slower with it at M = 1).
    constexpr bool SPF = CH == 1;
    // The 64-k kernel takes the zero point out of the decode: its MMAs sum (magic + q) x, a
    // ones-MMA on the same activation fragments sums x over the group, and -(magic + z) s
    // times that sum joins the f32 accumulators at the group's end (H100, M = 1: 28672x8192
    // 53.2 -> 52.5 us, 4096x14336 19.8 -> 19.2; the others equal). So does the two-tile
    // (M > 8) kernel, whose loop was close to issue-bound: 32 HSUB2 per chunk become 4
    // ones-MMAs, and the zero term 4 instructions per column per group (session 9, M = 16:
    // 28672x8192 72.4 -> 67.1 us, 14336x4096 22.8 -> 21.2, 8192x8192 26.1 -> 25.2).
    constexpr bool ZF = CH == 2 || NT == 2;
    const u32 ONES = A == OUT_F16 ? 0x3C003C00u : 0x3F803F80u;
    const float MAGV = A == OUT_F16 ? 1024.0f : 128.0f;
    const float ZOFF = 8388608.0f - MAGV - (float)v1;
    float cA[4] = {0.f, 0.f, 0.f, 0.f}, cB[4] = {0.f, 0.f, 0.f, 0.f};
    float sx[NT][4];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) sx[j][r] = 0.0f;
    auto zf_flush = [&]() {
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < NT; ++j) fma_frag(acc[i][j], cA[i], cB[i], sx[j][0], sx[j][1], sx[j][0], sx[j][1]);
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) sx[j][r] = 0.0f;
    };
    // Packed rows of the next chunk to fetch, one chunk (4 CH packed rows) apart.
    const u32* pa = qw + (u64)(4 * CH * c0 + t) * N + la;
    const u32* pb = qw + (u64)(4 * CH * c0 + t) * N + lb;
    const u64 pstep = (u64)4 * CH * N;
    auto fetch = [&]() {
#pragma unroll
        for (int hh = 0; hh < CH; ++hh) {
            qa[hh] = ldg_stream16(pa + (u64)4 * hh * N);
            qb[hh] = ldg_stream16(pb + (u64)4 * hh * N);
        }
        pa += pstep;
        pb += pstep;
    };
    // PTR (the two-tile kernels): the lane's activation rows advanced by one chunk per
    // iteration, its scale and zero pointers (sgA .. zgB) by one group per group start,
    // instead of addresses recomputed from the chunk and group (fewer instructions; the
    // one-tile kernels recompute them, which needs fewer registers). Rows at or beyond M are
    // never read.
    constexpr bool PTR = NT == 2;
    const u16* xr[NT];
    kmajor_x_rows<NT>(xr, x, g, t, K);
#pragma unroll
    for (int j = 0; j < NT; ++j)
        if (PTR) xr[j] += 32 * CH * c0;
    const u16* sgA = scales + (u64)(c0 / cpg) * N + la;
    const u16* sgB = scales + (u64)(c0 / cpg) * N + lb;
    const u32* zgA = qz + (u64)(c0 / cpg) * zero_words + (la >> 3);
    const u32* zgB = qz + (u64)(c0 / cpg) * zero_words + (lb >> 3);
    if (SPF && c0 < c1) {
        prefetch_group_words<Z8>(sgA, sgB, zgA, zgB);
    }
    if (c0 < c1) fetch();
    // Act-order layers launch this kernel right after gemv_permute_x with programmatic
    // stream serialization (src/cuda/gemv.rs): the weight loads above overlap the permute,
    // and the permuted activations are read only after it has finished. A no-op for a
    // normal launch.
    grid_dep_wait();
    // The 64-k (M <= 8) variant takes two chunks per iteration (28672x8192 M = 1: 61.0 ->
    // 58.9 us); the 32-k one, used at M > 8, one (two: 82 -> 109 us at M = 16).
#pragma unroll (CH == 2 ? 2 : 1)
    for (int c = c0; c < c1; ++c) {
        // One chunk in flight ahead (two measured slower: 107 registers, fewer warps).
        u32 wA[CH][4], wB[CH][4];
#pragma unroll
        for (int hh = 0; hh < CH; ++hh) {
            wA[hh][0] = qa[hh].x; wA[hh][1] = qa[hh].y; wA[hh][2] = qa[hh].z; wA[hh][3] = qa[hh].w;
            wB[hh][0] = qb[hh].x; wB[hh][1] = qb[hh].y; wB[hh][2] = qb[hh].z; wB[hh][3] = qb[hh].w;
        }
        if (PF > 0 && c + PF < c1) {
            // L2 prefetch of the chunk PF ahead (pa, pb point one chunk ahead of c + 1): the
            // two-tile kernel holds one chunk in registers, and its register load then hits
            // L2 (session 9, M = 16, PF 0 -> 2 -> 3: 28672x8192 65.7 -> 62.5 -> 63.7 us,
            // 14336x4096 20.8 -> 19.9 -> 20.4; the 64-k M = 1 kernel was slower with it,
            // 48.7 -> 51.7 at PF 2).
            group_prefetch(pa + (u64)(PF - 1) * pstep);
            group_prefetch(pb + (u64)(PF - 1) * pstep);
        }
        if (c + 1 < c1) fetch();
        if (c == gnext) {
            if (ZF) zf_flush();
            ++grp;
            gnext = (grp + 1) * cpg;
            if (!PTR) { // recomputed from the group (fewer registers live across the loop)
                sgA = scales + (u64)grp * N + la;
                sgB = scales + (u64)grp * N + lb;
                zgA = qz + (u64)grp * zero_words + (la >> 3);
                zgB = qz + (u64)grp * zero_words + (lb >> 3);
            }
            const uint2 ra = *(const uint2*)sgA, rb = *(const uint2*)sgB;
            const u32 h[4] = {ra.x, ra.y, rb.x, rb.y};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const u32 ha = (h[i >> 1] >> (16 * (i & 1))) & 0xFFFFu, hb = (h[2 + (i >> 1)] >> (16 * (i & 1))) & 0xFFFFu;
                sA[i] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)ha) : f16_to_f32((u16)ha);
                sB[i] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)hb) : f16_to_f32((u16)hb);
            }
            u32 za, zb;
            if (Z8) {
                // Opaque to the optimizer, so that the loop keeps the schedule (and the
                // registers) of the kernels that load their zero words: folded constants
                // spilled 16 bytes in the 64-k loops.
                asm volatile("mov.b32 %0, 0x88888888;" : "=r"(za));
                zb = za;
            } else {
                za = *zgA;
                zb = *zgB;
            }
            next_group_words<Z8>(sgA, sgB, zgA, zgB, N, zero_words, SPF && gnext < c1);
            const int sha = 4 * (la & 7), shb = 4 * (lb & 7);
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                if (ZF && PTR) {
                    // 2^23 + z read as f32, then - (2^23 - magic - v1): magic + z + v1 exactly.
                    const float fa = __uint_as_float(((za >> sha >> (4 * i)) & 15u) | 0x4B000000u) - ZOFF;
                    const float fb = __uint_as_float(((zb >> shb >> (4 * i)) & 15u) | 0x4B000000u) - ZOFF;
                    cA[i] = -fa * sA[i];
                    cB[i] = -fb * sB[i];
                    continue;
                }
                const u32 z1 = ((za >> (sha + 4 * i)) & 15u) + (u32)v1, z2 = ((zb >> (shb + 4 * i)) & 15u) + (u32)v1;
                if (ZF) {
                    cA[i] = -(MAGV + (float)z1) * sA[i];
                    cB[i] = -(MAGV + (float)z2) * sB[i];
                } else {
                    zA[i] = MAGIC + (z1 | (z1 << 16));
                    zB[i] = MAGIC + (z2 | (z2 << 16));
                }
            }
        }
        // Activations: k = 32 (CH c + hh) + 8t .. + 7 of rows g and g + 8; B pairs (k j, k j + 4).
        u32 B0[CH][NT][2], B1[CH][NT][2];
#pragma unroll
        for (int hh = 0; hh < CH; ++hh)
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                const int mr = g + 8 * j;
                uint4 P = make_uint4(0, 0, 0, 0);
                if (mr < m) P = *(const uint4*)(PTR ? xr[j] + hh * 32 : xr[j] + (CH * c + hh) * 32);
                B0[hh][j][0] = prmt(P.x, P.z, 0x5410u); B1[hh][j][0] = prmt(P.x, P.z, 0x7632u);
                B0[hh][j][1] = prmt(P.y, P.w, 0x5410u); B1[hh][j][1] = prmt(P.y, P.w, 0x7632u);
                if (ZF) {
                    mma_16816<A>(sx[j], ONES, ONES, ONES, ONES, B0[hh][j][0], B1[hh][j][0]);
                    mma_16816<A>(sx[j], ONES, ONES, ONES, ONES, B0[hh][j][1], B1[hh][j][1]);
                }
            }
#pragma unroll
        for (int j = 0; j < NT; ++j)
            if (PTR) xr[j] += 32 * CH;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float tmp[NT][4];
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int r = 0; r < 4; ++r) tmp[j][r] = 0.0f;
#pragma unroll
            for (int hh = 0; hh < CH; ++hh)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const u32 ra01 = and_or<0x000F000Fu>(wA[hh][i] >> (8 * h), MAGIC);
                    const u32 ra23 = and_or<0x000F000Fu>(wA[hh][i] >> (8 * h + 4), MAGIC);
                    const u32 rb01 = and_or<0x000F000Fu>(wB[hh][i] >> (8 * h), MAGIC);
                    const u32 rb23 = and_or<0x000F000Fu>(wB[hh][i] >> (8 * h + 4), MAGIC);
                    const u32 a01 = ZF ? ra01 : hsub2<A>(ra01, zA[i]);
                    const u32 a23 = ZF ? ra23 : hsub2<A>(ra23, zA[i]);
                    const u32 b01 = ZF ? rb01 : hsub2<A>(rb01, zB[i]);
                    const u32 b23 = ZF ? rb23 : hsub2<A>(rb23, zB[i]);
#pragma unroll
                    for (int j = 0; j < NT; ++j) mma_16816<A>(tmp[j], a01, b01, a23, b23, B0[hh][j][h], B1[hh][j][h]);
                }
#pragma unroll
            for (int j = 0; j < NT; ++j) fma_frag(acc[i][j], sA[i], sB[i], tmp[j][0], tmp[j][1], tmp[j][2], tmp[j][3]);
        }
    }
    if (ZF) zf_flush();
    __shared__ float red[W][4 * NT * 4][32];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) red[warp][(i * NT + j) * 4 + r][lane] = acc[i][j][r];
    __syncthreads();
    col_group_tail<A, 4 * NT * 4, SK, W, NWN>(red, y, part, bias, m, N, [&](int e, int& mm, int& n) {
        const int i = e / (NT * 4), j = (e / 4) % NT, r = e & 3;
        mm = 8 * j + 2 * t + (r & 1);
        n = (r < 2 ? ca : cb) + i;
        return mm < m && n < N;
    });
}

// The GPTQ4 tensor-core kernels' entry: the two-tile (M > 8, 32-k) kernels run the group-sum
// body (H100, same call, M = 16, per-chunk scaling -> group sums: 28672x8192 GPTQ4
// 59.5-59.6 -> 56.0-56.2 us, ct int4 57.9-58.8 -> 54.9-55.0, act-order 64.4-64.6 ->
// 59.0-59.1; 8192x8192 22.4 -> 21.0; 4096x14336 21.8 -> 20.6; docs/perf.md session 18),
// the others mma_gptq4_body_pc.
template <int A, int NT, int NWN, int CH = 1, int SK = SK_NO, int PF = (NT == 2 ? 2 : 0), int WB = 8, bool Z8 = false,
          bool CM = false, int QT = 0>
__device__ __forceinline__ void mma_gptq4_body(u16* __restrict__ y, float* __restrict__ part, const u16* __restrict__ x,
                                               const u32* __restrict__ qw, const u32* __restrict__ qz,
                                               const u16* __restrict__ scales, int scale_dt, int group_size, int v1,
                                               const u16* __restrict__ bias, int m, int N, int K) {
    static_assert(!CM || (NT == 2 && CH == 1 && SW_GA), "the chunk-major layout is read by the group-sum kernel only");
    static_assert(!QT || (NT == 2 && CH == 1 && SW_GA), "the quad and spread tails are the group-sum kernel's");
    if constexpr (NT == 2 && CH == 1 && SW_GA)
        mma_gptq4_ga_body<A, NWN, SK, PF, WB, Z8, SW_XP != 0, CM, QT>(y, part, x, qw, qz, scales, scale_dt, group_size,
                                                                      v1, bias, m, N, K);
    else
        mma_gptq4_body_pc<A, NT, NWN, CH, SK, PF, WB, Z8>(y, part, x, qw, qz, scales, scale_dt, group_size, v1, bias, m,
                                                          N, K);
}

// FP8 E4M3 (§4) on tensor cores: the NVFP4 layout with one byte per value, 64-k chunks (16
// bytes per lane and row). A pair of E4M3 bytes becomes an exact pair of the activation type:
// the magnitude bits moved under the exponent (bf16: bits 10..4, f16: bits 13..7) and the
// sign to bit 15, then one multiply by 2^120 (bf16) or 2^8 (f16), subnormals included. A
// word holding a NaN code (0x7F / 0xFF) sets those values to NaN. Per-tensor and per-channel
// scales multiply the f32 sums at the end; a block scale (rows % 16 == 0, cols % 64 == 0)
// multiplies each chunk's f32 sum.
// NC false: the layer holds no NaN code (the `fp8n` kernels), so the test is left out.
// HI (the two-tile kernels, M > 8): the two bytes go to bits 8..15 and 24..31 instead of
// 0..7 and 16..23 (`sel` names bytes k, k + 1 as 0x4140 + 0x101 k), so the signs are in
// place and one shift moves both magnitudes under the exponent: 5 instructions per pair
// instead of 6-7 (H100, same call, per tensor 28672x8192 M = 16 108.2 -> 102.1 us; the
// one-tile kernels at M = 4 were 1-4% slower with it, 95.0 -> 97.6, so they keep the low
// bytes).
template <int A, bool NC = true, bool HI = false>
__device__ __forceinline__ u32 e4m3x2_exact(u32 w, u32 sel) {
    const u32 hsel = HI ? ((sel & 0xFu) << 4) | (((sel >> 8) & 0xFu) << 12) | 0x0404u : sel;
    const u32 u = prmt(w, 0u, hsel);
    u32 r;
    if (HI) {
        if (A == OUT_BF16) r = ((u >> 4) & 0x07F007F0u) | (u & 0x80008000u);
        else r = ((u >> 1) & 0x3F803F80u) | (u & 0x80008000u);
    } else {
        if (A == OUT_BF16) r = ((u & 0x007F007Fu) << 4) | ((u & 0x00800080u) << 8);
        else r = ((u & 0x007F007Fu) << 7) | ((u & 0x00800080u) << 8);
    }
    r = hmul2<A>(r, A == OUT_BF16 ? 0x7B807B80u : 0x5C005C00u); // 2^120 (bf16), 2^8 (f16)
    const u32 lo = HI ? u >> 8 : u; // the bytes at bits 0..7 and 16..23
    if (NC && __builtin_expect(((lo & 0x007F007Fu) + 0x00010001u) & 0x00800080u, 0)) {
        if ((lo & 0x7Fu) == 0x7Fu) r |= 0x7FFFu;
        if (((lo >> 16) & 0x7Fu) == 0x7Fu) r |= 0x7FFF0000u;
    }
    return r;
}

// CH 16-byte pieces per lane and row per chunk (chunk = 64 CH k): CH = 2 keeps twice the
// bytes in flight (needs K % 128 == 0 and, for block scales, cols % 128 == 0).
// U: chunks per loop iteration (1, or 2 for the "u" kernels at M > 8 on layers of 8192
// rows or more: 28672x8192 M = 16 138.4 -> 123.9 us; on 4096 rows 2 was 11-15% slower).
template <int A, int NT, int W, int CH, int U = 1, bool NC = true, bool XP = (NT == 2), int PF = (XP ? 2 : 0)>
__device__ __forceinline__ void mma_fp8_body(u16* __restrict__ y, const u16* __restrict__ x, const u8* __restrict__ w,
                                             const float* __restrict__ scale, int mode, int bh, int bw,
                                             const u16* __restrict__ bias, int m, int N, int K) {
    constexpr int CK = 64 * CH;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int n0 = blockIdx.x * 16;
    const int na = min(n0 + g, N - 1), nb = min(n0 + g + 8, N - 1);
    const int chunks = K / CK;
    const int c0 = chunks * warp / W, c1 = chunks * (warp + 1) / W;
    const u8* wa = w + (u64)na * K + 16 * CH * t;
    const u8* wb = w + (u64)nb * K + 16 * CH * t;
    const int kb = mode == 2 ? (K + bw - 1) / bw : 1;
    const float* brow = scale + (u64)(n0 / max(bh, 1)) * kb; // block-scale row of this tile
    // Block index of chunk c without a division when bw / CK is a power of two.
    const int cpb = mode == 2 ? bw / CK : 1;
    // (The 8-warp one-tile kernel keeps the division: with the shift its registers were
    // allocated differently and M = 4 got slower, 4096x14336 37.5 -> 40.6 us; the other
    // kernels were faster with it, 28672x8192 M = 4 93 -> 68 registers, 132.4 -> 111.6.)
    const int bsh = (W == 8 && NT == 1) ? -1 : (mode == 2 && bw % CK == 0 && (cpb & (cpb - 1)) == 0) ? __ffs(cpb) - 1 : -1;
    float acc[NT][4];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[j][i] = 0.0f;
    uint4 qa[CH], qb[CH];
    auto fetch = [&](int c) {
#pragma unroll
        for (int h = 0; h < CH; ++h) {
            qa[h] = ldg_stream16(wa + (u64)c * CK + 16 * h);
            qb[h] = ldg_stream16(wb + (u64)c * CK + 16 * h);
        }
    };
    if (c0 < c1) fetch(c0);
    // XP (M > 8): the activations pipelined as in mma_nvfp4_body, piece h of the next chunk
    // loaded once piece h of this one has been used (rows at or beyond M read row M - 1).
    u32 XS[NT][8 * CH];
    const u16* xr[NT];
#pragma unroll
    for (int j = 0; j < NT; ++j) xr[j] = x + (u64)min(g + 8 * j, m - 1) * K + 16 * CH * t;
    auto load_x_piece = [&](int c, int h) {
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            const uint4* px = (const uint4*)(xr[j] + c * CK + 16 * h);
            const uint4 p0 = px[0], p1 = px[1];
            XS[j][8 * h] = p0.x; XS[j][8 * h + 1] = p0.y; XS[j][8 * h + 2] = p0.z; XS[j][8 * h + 3] = p0.w;
            XS[j][8 * h + 4] = p1.x; XS[j][8 * h + 5] = p1.y; XS[j][8 * h + 6] = p1.z; XS[j][8 * h + 7] = p1.w;
        }
    };
    if (XP && c0 < c1) {
#pragma unroll
        for (int h = 0; h < CH; ++h) load_x_piece(c0, h);
    }
#pragma unroll (U)
    for (int c = c0; c < c1; ++c) {
        u32 wA[4 * CH], wB[4 * CH];
#pragma unroll
        for (int h = 0; h < CH; ++h) {
            wA[4 * h] = qa[h].x; wA[4 * h + 1] = qa[h].y; wA[4 * h + 2] = qa[h].z; wA[4 * h + 3] = qa[h].w;
            wB[4 * h] = qb[h].x; wB[4 * h + 1] = qb[h].y; wB[4 * h + 2] = qb[h].z; wB[4 * h + 3] = qb[h].w;
        }
        if (c + 1 < c1) fetch(c + 1);
        if (PF > 0 && c + PF < c1) {
            // L2 prefetch of the chunk PF ahead (M > 8: one chunk in flight in registers).
            group_prefetch(wa + (u64)(c + PF) * CK);
            group_prefetch(wb + (u64)(c + PF) * CK);
        }
        float tmp[NT][4];
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) tmp[j][i] = 0.0f;
#pragma unroll
        for (int h = 0; h < CH; ++h) {
            u32 X[NT][8];
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                if (XP) {
#pragma unroll
                    for (int i = 0; i < 8; ++i) X[j][i] = XS[j][8 * h + i];
                    continue;
                }
                const int mr = g + 8 * j;
                uint4 p0 = make_uint4(0, 0, 0, 0), p1 = p0;
                if (mr < m) {
                    const uint4* px = (const uint4*)(x + (u64)mr * K + c * CK + 16 * CH * t + 16 * h);
                    p0 = px[0];
                    p1 = px[1];
                }
                X[j][0] = p0.x; X[j][1] = p0.y; X[j][2] = p0.z; X[j][3] = p0.w;
                X[j][4] = p1.x; X[j][5] = p1.y; X[j][6] = p1.z; X[j][7] = p1.w;
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                constexpr bool HI = NT == 2;
                const u32 a01 = e4m3x2_exact<A, NC, HI>(wA[4 * h + s], 0x4140u), a23 = e4m3x2_exact<A, NC, HI>(wA[4 * h + s], 0x4342u);
                const u32 b01 = e4m3x2_exact<A, NC, HI>(wB[4 * h + s], 0x4140u), b23 = e4m3x2_exact<A, NC, HI>(wB[4 * h + s], 0x4342u);
#pragma unroll
                for (int j = 0; j < NT; ++j) mma_16816<A>(tmp[j], a01, b01, a23, b23, X[j][2 * s], X[j][2 * s + 1]);
            }
            if (XP && c + 1 < c1) load_x_piece(c + 1, h);
        }
        const float sc = mode == 2 ? brow[bsh >= 0 ? c >> bsh : (c * CK) / bw] : 1.0f;
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[j][i] = fmaf(sc, tmp[j][i], acc[j][i]);
    }
    // Per-tensor / per-channel scales: fold into the sums before the reduction.
    if (mode != 2) {
        const float sa = mode == 0 ? scale[0] : scale[na], sb = mode == 0 ? scale[0] : scale[nb];
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            acc[j][0] *= sa; acc[j][1] *= sa;
            acc[j][2] *= sb; acc[j][3] *= sb;
        }
    }
    mma_reduce_store<A, NT, W>(acc, y, bias, 1.0f, m, N, n0);
}

// GPTQ 8-bit without g_idx (§2.3), group % 32 == 0, on tensor cores: GPTQ4's warp tile (64
// columns, 32-k chunks) over packed rows of 4 k. Lane (g, t) loads packed rows 8c + 2t and
// 8c + 2t + 1 (k = 8t .. 8t + 7 of the chunk) at its 2 x 4 columns: four 16-byte loads.
// Pair (k j, k j + 4) of a column is byte j of the two rows: one prmt, one lop3 into
// (1024 + q) f16 halves, one f16 subtraction of 1024 + z (exact: |q - z| <= 256); bf16
// activations convert the exact f16 pair through f32.
template <int A>
__device__ __forceinline__ u32 gptq8_pair(u32 w0, u32 w1, u32 j, u32 zmagic) {
    // bytes (w0.j, -, w1.j, -), the dashes dropped by the mask: (1024 + q_j, 1024 + q_j+4)
    const u32 q = and_or<0x00FF00FFu>(prmt(w0, w1, j | (j << 4) | ((4u + j) << 8) | ((4u + j) << 12)), 0x64006400u);
    const u32 d = hsub2<OUT_F16>(q, zmagic);
    if (A == OUT_F16) return d;
    const float lo = f16_to_f32((u16)(d & 0xFFFFu)), hi = f16_to_f32((u16)(d >> 16));
    return to_out2<OUT_BF16>(lo, hi);
}

template <int A, int NT, int SK = SK_NO>
__device__ __forceinline__ void mma_gptq8_body(u16* __restrict__ y, float* __restrict__ part, const u16* __restrict__ x,
                                               const u32* __restrict__ qw, const u32* __restrict__ qz,
                                               const u16* __restrict__ scales, int scale_dt, int group_size, int v1,
                                               const u16* __restrict__ bias, int m, int N, int K) {
    if (SK == SK_CL) sk_entry(); // split_tail: the transaction barriers, the cluster barrier's arrival
    grid_dep_launch(); // gemv_finalize after it (K splits) may launch now and wait there
    constexpr int W = 8;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int n0 = blockIdx.x * 64;
    const int chunks = K >> 5;
    const int parts = (int)gridDim.y * W, pi = (int)blockIdx.y * W + warp;
    const int c0 = (int)((long long)chunks * pi / parts), c1 = (int)((long long)chunks * (pi + 1) / parts);
    const int ca = n0 + 4 * g, cb = n0 + 32 + 4 * g;
    const int la = min(ca, N - 4), lb = min(cb, N - 4); // N % 4 == 0
    const int zero_words = N >> 2;
    float acc[4][NT][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
    // Group and pointer bookkeeping as in mma_gptq4_body (no division, no 64-bit index math
    // per chunk).
    const int cpg = group_size / 32;
    int grp = c0 / cpg - 1, gnext = c0;
    float sA[4], sB[4];
    u32 zA[4], zB[4];
    uint4 qa[2], qb[2];
    const u32* pa = qw + (u64)(8 * c0 + 2 * t) * N + la;
    const u32* pb = qw + (u64)(8 * c0 + 2 * t) * N + lb;
    const u64 pstep = (u64)8 * N;
    auto fetch = [&]() {
#pragma unroll
        for (int rr = 0; rr < 2; ++rr) {
            qa[rr] = ldg_stream16(pa + (u64)rr * N);
            qb[rr] = ldg_stream16(pb + (u64)rr * N);
        }
        pa += pstep;
        pb += pstep;
    };
    const u16* xr[NT];
    kmajor_x_rows<NT>(xr, x, g, t, K);
    if (c0 < c1) fetch();
    // Two chunks per iteration (independent work for the scheduler across chunks): H100
    // 28672x8192 M = 16 GPTQ8 107.8 -> 102.8 us, AWQ 84.9 -> 82.0; M = 1 about equal.
#pragma unroll 2
    for (int c = c0; c < c1; ++c) {
        const u32 wA0[4] = {qa[0].x, qa[0].y, qa[0].z, qa[0].w}, wA1[4] = {qa[1].x, qa[1].y, qa[1].z, qa[1].w};
        const u32 wB0[4] = {qb[0].x, qb[0].y, qb[0].z, qb[0].w}, wB1[4] = {qb[1].x, qb[1].y, qb[1].z, qb[1].w};
        if (c + 1 < c1) fetch();
        if (c == gnext) {
            ++grp;
            gnext = (grp + 1) * cpg;
            const uint2 ra = *(const uint2*)(scales + (u64)grp * N + la), rb = *(const uint2*)(scales + (u64)grp * N + lb);
            const u32 h[4] = {ra.x, ra.y, rb.x, rb.y};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const u32 ha = (h[i >> 1] >> (16 * (i & 1))) & 0xFFFFu, hb = (h[2 + (i >> 1)] >> (16 * (i & 1))) & 0xFFFFu;
                sA[i] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)ha) : f16_to_f32((u16)ha);
                sB[i] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)hb) : f16_to_f32((u16)hb);
            }
            const u32 za = qz[(u64)grp * zero_words + (la >> 2)], zb = qz[(u64)grp * zero_words + (lb >> 2)];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const u32 z1 = ((za >> (8 * i)) & 0xFFu) + (u32)v1, z2 = ((zb >> (8 * i)) & 0xFFu) + (u32)v1;
                zA[i] = 0x64006400u + (z1 | (z1 << 16));
                zB[i] = 0x64006400u + (z2 | (z2 << 16));
            }
        }
        u32 B0[NT][2], B1[NT][2];
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            const int mr = g + 8 * j;
            uint4 P = make_uint4(0, 0, 0, 0);
            if (mr < m) P = *(const uint4*)(xr[j] + c * 32);
            B0[j][0] = prmt(P.x, P.z, 0x5410u); B1[j][0] = prmt(P.x, P.z, 0x7632u);
            B0[j][1] = prmt(P.y, P.w, 0x5410u); B1[j][1] = prmt(P.y, P.w, 0x7632u);
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float tmp[NT][4];
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int r = 0; r < 4; ++r) tmp[j][r] = 0.0f;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const u32 a01 = gptq8_pair<A>(wA0[i], wA1[i], 2 * h, zA[i]);
                const u32 a23 = gptq8_pair<A>(wA0[i], wA1[i], 2 * h + 1, zA[i]);
                const u32 b01 = gptq8_pair<A>(wB0[i], wB1[i], 2 * h, zB[i]);
                const u32 b23 = gptq8_pair<A>(wB0[i], wB1[i], 2 * h + 1, zB[i]);
#pragma unroll
                for (int j = 0; j < NT; ++j) mma_16816<A>(tmp[j], a01, b01, a23, b23, B0[j][h], B1[j][h]);
            }
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                acc[i][j][0] = fmaf(sA[i], tmp[j][0], acc[i][j][0]);
                acc[i][j][1] = fmaf(sA[i], tmp[j][1], acc[i][j][1]);
                acc[i][j][2] = fmaf(sB[i], tmp[j][2], acc[i][j][2]);
                acc[i][j][3] = fmaf(sB[i], tmp[j][3], acc[i][j][3]);
            }
        }
    }
    __shared__ float red[W][4 * NT * 4][32];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) red[warp][(i * NT + j) * 4 + r][lane] = acc[i][j][r];
    __syncthreads();
    split_tail<A, 4 * NT * 4, SK>(
        y, part, bias, m, N, blockIdx.x * 64, 64, warp, W, [&](int e) { return warps_sum<W>(red, e, lane); },
        [&](int e, int& mm, int& n) {
            const int i = e / (NT * 4), j = (e / 4) % NT, r = e & 3;
            mm = 8 * j + 2 * t + (r & 1);
            n = (r < 2 ? ca : cb) + i;
            return mm < m && n < N;
        });
}

// AWQ GEMM (§3) on tensor cores: qweight [K, N/8], one word = 8 columns of one k in the
// interleaved nibble order. A warp owns 8 words (64 columns) and walks 32-k chunks: lane
// (g, t) loads word column j0 + g at k = 32c + 8t + 0..7 (eight 4-byte loads; each load
// instruction reads four 32-byte segments); m-tile i maps MMA row g to column
// 8(j0 + g) + 2i and row g + 8 to 8(j0 + g) + 2i + 1. prmt gathers words r and r + 4 into
// one register per nibble half, so a pair (k r, k r + 4) of a column is one shift and one
// lop3, then (magic | q) - (magic + z) exactly, as in GPTQ. The activations and the
// group-scale epilogue are GPTQ's.
template <int A, int NT, int SK = SK_NO>
__device__ __forceinline__ void mma_awq_body(u16* __restrict__ y, float* __restrict__ part, const u16* __restrict__ x,
                                             const u32* __restrict__ qw, const u32* __restrict__ qz,
                                             const u16* __restrict__ scales, int scale_dt, int group_size,
                                             const u16* __restrict__ bias, int m, int N, int K) {
    if (SK == SK_CL) sk_entry(); // split_tail: the transaction barriers, the cluster barrier's arrival
    grid_dep_launch(); // gemv_finalize after it (K splits) may launch now and wait there
    constexpr int W = 8;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int nw = N >> 3;
    const int j = blockIdx.x * 8 + g;             // this lane's word column
    const int jl = min(j, nw - 1);
    const int chunks = K >> 5;
    const int parts = (int)gridDim.y * W, pi = (int)blockIdx.y * W + warp;
    const int c0 = (int)((long long)chunks * pi / parts), c1 = (int)((long long)chunks * (pi + 1) / parts);
    const u32 MAGIC = A == OUT_F16 ? 0x64006400u : 0x43004300u;
    float acc[4][NT][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jj = 0; jj < NT; ++jj)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][jj][r] = 0.0f;
    // Group and pointer bookkeeping as in mma_gptq4_body.
    const int cpg = group_size / 32;
    int grp = c0 / cpg - 1, gnext = c0;
    float sA[4], sB[4];
    u32 zA[4], zB[4];
    u32 q[8];
    const u32* pq = qw + (u64)(32 * c0 + 8 * t) * nw + jl;
    const u64 pstep = (u64)32 * nw;
    auto fetch = [&]() {
#pragma unroll
        for (int r = 0; r < 8; ++r) q[r] = ldg_stream4_l2(pq + (u64)r * nw);
        pq += pstep;
    };
    const u16* xr[NT];
    kmajor_x_rows<NT>(xr, x, g, t, K);
    if (c0 < c1) fetch();
    // Two chunks per iteration (independent work for the scheduler across chunks): H100
    // 28672x8192 M = 16 GPTQ8 107.8 -> 102.8 us, AWQ 84.9 -> 82.0; M = 1 about equal.
#pragma unroll 2
    for (int c = c0; c < c1; ++c) {
        // P[h][jj]: words jj and jj + 4, low (h = 0) or high (h = 1) 16 bits of each.
        u32 P[2][4];
#pragma unroll
        for (int jj = 0; jj < 4; ++jj) {
            P[0][jj] = prmt(q[jj], q[jj + 4], 0x5410u);
            P[1][jj] = prmt(q[jj], q[jj + 4], 0x7632u);
        }
        if (c + 1 < c1) fetch();
        if (c == gnext) {
            ++grp;
            gnext = (grp + 1) * cpg;
            const uint4 sv = *(const uint4*)(scales + (u64)grp * N + 8 * jl);
            const u32 h[4] = {sv.x, sv.y, sv.z, sv.w};
            const u32 zw = qz[(u64)grp * nw + jl];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                // columns 2i (low half of h[i]) and 2i + 1 (high half)
                const u32 ha = h[i] & 0xFFFFu, hb = h[i] >> 16;
                sA[i] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)ha) : f16_to_f32((u16)ha);
                sB[i] = scale_dt == SDT_BF16 ? bf16_to_f32((u16)hb) : f16_to_f32((u16)hb);
                const u32 z1 = (zw >> (4 * AWQ_REV_G[2 * i])) & 15u, z2 = (zw >> (4 * AWQ_REV_G[2 * i + 1])) & 15u;
                zA[i] = MAGIC + (z1 | (z1 << 16));
                zB[i] = MAGIC + (z2 | (z2 << 16));
            }
        }
        u32 B0[NT][2], B1[NT][2];
#pragma unroll
        for (int jj = 0; jj < NT; ++jj) {
            const int mr = g + 8 * jj;
            uint4 X = make_uint4(0, 0, 0, 0);
            if (mr < m) X = *(const uint4*)(xr[jj] + c * 32);
            B0[jj][0] = prmt(X.x, X.z, 0x5410u); B1[jj][0] = prmt(X.x, X.z, 0x7632u);
            B0[jj][1] = prmt(X.y, X.w, 0x5410u); B1[jj][1] = prmt(X.y, X.w, 0x7632u);
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            // nibble slots of columns 2i and 2i + 1 (compile-time after unrolling)
            constexpr u32 REV[8] = {0, 4, 1, 5, 2, 6, 3, 7};
            const u32 sa = REV[2 * i], sb = REV[2 * i + 1];
            float tmp[NT][4];
#pragma unroll
            for (int jj = 0; jj < NT; ++jj)
#pragma unroll
                for (int r = 0; r < 4; ++r) tmp[jj][r] = 0.0f;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                // k pairs (2h, 2h + 4) and (2h + 1, 2h + 5) of the lane's 8 k
                const u32 a01 = hsub2<A>(and_or<0x000F000Fu>(P[sa >> 2][2 * h] >> (4 * (sa & 3)), MAGIC), zA[i]);
                const u32 a23 = hsub2<A>(and_or<0x000F000Fu>(P[sa >> 2][2 * h + 1] >> (4 * (sa & 3)), MAGIC), zA[i]);
                const u32 b01 = hsub2<A>(and_or<0x000F000Fu>(P[sb >> 2][2 * h] >> (4 * (sb & 3)), MAGIC), zB[i]);
                const u32 b23 = hsub2<A>(and_or<0x000F000Fu>(P[sb >> 2][2 * h + 1] >> (4 * (sb & 3)), MAGIC), zB[i]);
#pragma unroll
                for (int jj = 0; jj < NT; ++jj) mma_16816<A>(tmp[jj], a01, b01, a23, b23, B0[jj][h], B1[jj][h]);
            }
#pragma unroll
            for (int jj = 0; jj < NT; ++jj) {
                acc[i][jj][0] = fmaf(sA[i], tmp[jj][0], acc[i][jj][0]);
                acc[i][jj][1] = fmaf(sA[i], tmp[jj][1], acc[i][jj][1]);
                acc[i][jj][2] = fmaf(sB[i], tmp[jj][2], acc[i][jj][2]);
                acc[i][jj][3] = fmaf(sB[i], tmp[jj][3], acc[i][jj][3]);
            }
        }
    }
    __shared__ float red[W][4 * NT * 4][32];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jj = 0; jj < NT; ++jj)
#pragma unroll
            for (int r = 0; r < 4; ++r) red[warp][(i * NT + jj) * 4 + r][lane] = acc[i][jj][r];
    __syncthreads();
    split_tail<A, 4 * NT * 4, SK>(
        y, part, bias, m, N, blockIdx.x * 64, 64, warp, W, [&](int e) { return warps_sum<W>(red, e, lane); },
        [&](int e, int& mm, int& n) {
            const int i = e / (NT * 4), jj = (e / 4) % NT, r = e & 3;
            mm = 8 * jj + 2 * t + (r & 1);
            n = 8 * j + 2 * i + (r < 2 ? 0 : 1);
            return mm < m && j < nw;
        });
}

// Sums grid.y partials: y[m, n] = sum_s part[s][m][n] + bias[n].
template <int A>
__device__ __forceinline__ void finalize_body(u16* __restrict__ y, const float* __restrict__ part, int splits,
                                              const u16* __restrict__ bias, int m, int N) {
    // Launched to overlap the GEMV before it (src/cuda/gemv.rs): its partials are read only
    // once that grid has finished. A no-op for a normal launch.
    grid_dep_wait();
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)m * N) return;
    const int n = (int)(t % (u64)N);
    float s = 0.0f;
    for (int i = 0; i < splits; ++i) s += part[(u64)i * m * N + t];
    const float b = bias ? from_out<A>(bias[n]) : 0.0f;
    y[t] = to_out<A>(s + b);
}

// ------------------------------- instantiations ----------------------------------------
#define ROW_ARGS_NVFP4 u16 *y, const u16 *x, const u8 *w, const u8 *ws, const float *global, int convention, const u16 *bias, int m, int N, int K
#define ROW_ARGS_MXFP4 u16 *y, const u16 *x, const u8 *w, const u8 *sc, const u16 *bias, int m, int N, int K
// The tensor-core MXFP4 kernels take the repacked weights and the layer's delta (e8m0_rp_bf16x2).
#define MMA_ARGS_MXFP4 u16 *y, const u16 *x, const u8 *w, const u8 *sc, int delta, const u16 *bias, int m, int N, int K
#define ROW_ARGS_FP8 u16 *y, const u16 *x, const u8 *w, const float *scale, int mode, int bh, int bw, const u16 *bias, int m, int N, int K
#define ROW_ARGS_CT4 u16 *y, const u16 *x, const u32 *w, const void *scales, int scale_dt, const u32 *zp, int group_size, int groups, const u16 *bias, int m, int N, int K
#define COL_ARGS_GPTQ u16 *y, float *part, const u16 *x, const u32 *qw, const u32 *qz, const void *scales, int scale_dt, const int *g_idx, int group_size, int v1, const u16 *bias, int m, int N, int K
#define COL_ARGS_AWQ u16 *y, float *part, const u16 *x, const u32 *qw, const u32 *qz, const void *scales, int scale_dt, int group_size, const u16 *bias, int m, int N, int K

#define GEMV_SET(SUF, A, MT)                                                                                 \
    extern "C" __global__ void gemv_nvfp4_##SUF##_m##MT(ROW_ARGS_NVFP4) {                                  \
        gemv_nvfp4_body<A, MT, (MT == 1 ? 2 : 1)>(y, x, w, ws, global, convention, bias, m, N, K);                             \
    }                                                                                                       \
    extern "C" __global__ void gemv_mxfp4_##SUF##_m##MT(ROW_ARGS_MXFP4) {                                  \
        gemv_mxfp4_body<A, MT, (MT == 1 ? 2 : 1)>(y, x, w, sc, bias, m, N, K);                                                 \
    }                                                                                                       \
    extern "C" __global__ void gemv_fp8_##SUF##_m##MT(ROW_ARGS_FP8) {                                      \
        gemv_fp8_body<A, MT>(y, x, w, scale, mode, bh, bw, bias, m, N, K);                                  \
    }                                                                                                       \
    extern "C" __global__ void gemv_fp8n_##SUF##_m##MT(ROW_ARGS_FP8) {                                     \
        gemv_fp8_body<A, MT, false>(y, x, w, scale, mode, bh, bw, bias, m, N, K);                           \
    }                                                                                                       \
    extern "C" __global__ void gemv_ct4_##SUF##_m##MT(ROW_ARGS_CT4) {                                      \
        gemv_ct4_body<A, MT>(y, x, w, scales, scale_dt, zp, group_size, groups, bias, m, N, K);             \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(512, (MT <= 4 ? 2 : 1)) gemv_gptq4_##SUF##_m##MT(COL_ARGS_GPTQ) {            \
        gemv_gptq_body<A, MT, 4>(y, part, x, qw, qz, scales, scale_dt, g_idx, group_size, v1, bias, m, N, K); \
    }                                                                                                       \
    extern "C" __global__ void __launch_bounds__(512, (MT <= 4 ? 2 : 1)) gemv_gptq8_##SUF##_m##MT(COL_ARGS_GPTQ) {            \
        gemv_gptq_body<A, MT, 8>(y, part, x, qw, qz, scales, scale_dt, g_idx, group_size, v1, bias, m, N, K); \
    }

#define GEMV_AWQ(SUF, A, MT)                                                                                 \
    extern "C" __global__ void __launch_bounds__(512) gemv_awq_##SUF##_m##MT(COL_ARGS_AWQ) {               \
        gemv_awq_body<A, MT>(y, part, x, qw, qz, scales, scale_dt, group_size, bias, m, N, K);              \
    }

GEMV_SET(bf16, OUT_BF16, 1)
GEMV_SET(bf16, OUT_BF16, 2)
GEMV_SET(bf16, OUT_BF16, 4)
GEMV_SET(bf16, OUT_BF16, 8)
GEMV_SET(bf16, OUT_BF16, 16)
GEMV_SET(f16, OUT_F16, 1)
GEMV_SET(f16, OUT_F16, 2)
GEMV_SET(f16, OUT_F16, 4)
GEMV_SET(f16, OUT_F16, 8)
GEMV_SET(f16, OUT_F16, 16)
GEMV_AWQ(bf16, OUT_BF16, 1)
GEMV_AWQ(bf16, OUT_BF16, 2)
GEMV_AWQ(bf16, OUT_BF16, 4)
GEMV_AWQ(f16, OUT_F16, 1)
GEMV_AWQ(f16, OUT_F16, 2)
GEMV_AWQ(f16, OUT_F16, 4)

#define GEMV_MMA(SUF, A, NT, W)                                                                              \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_nvfp4_##SUF##_n##NT##_w##W(ROW_ARGS_NVFP4) { \
        mma_nvfp4_body<A, NT, W, 1>(y, x, w, ws, global, convention, bias, m, N, K);                        \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_nvfp4x2_##SUF##_n##NT##_w##W(ROW_ARGS_NVFP4) { \
        mma_nvfp4_body<A, NT, W, 2>(y, x, w, ws, global, convention, bias, m, N, K);                        \
    }
// Launch bounds of the M = 1 256-k kernels with the activation ring (`wca`, `wa`): the 4-
// and 6-warp ones held to the plain kernels' occupancy (72 registers: 7 four-warp, 4
// six-warp blocks per SM), which the ring would otherwise lower (88-92 registers). The
// 8-warp ones, which the host takes, are left free (NVFP4 95 registers, 2 blocks per SM;
// MXFP4 76, 3): held to 3 blocks (71 and 66 registers), 28672x8192 was slower, NVFP4
// 51.3-51.9 -> 51.8-52.1 us, MXFP4 47.4-47.5 -> 48.6-48.7 (docs/perf.md, session 13).
#define WIDE_LB(W) __launch_bounds__(32 * W, (W) == 4 ? 7 : (W) == 6 ? 4 : 1)
#define GEMV_MMA_WIDE(SUF, A, NT, W)                                                                         \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_nvfp4w_##SUF##_n##NT##_w##W(ROW_ARGS_NVFP4) { \
        mma_nvfp4_wide_body<A, NT, W>(y, x, w, ws, global, convention, bias, m, N, K);                      \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_nvfp4wc_##SUF##_n##NT##_w##W(ROW_ARGS_NVFP4) { \
        mma_nvfp4_wide_body<A, NT, W, 0, true>(y, x, w, ws, global, convention, bias, m, N, K);             \
    }
#define GEMV_MMA_CT4(SUF, A, NT, W)                                                                          \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_ct4_##SUF##_n##NT##_w##W(ROW_ARGS_CT4) {   \
        mma_ct4_body<A, NT, W, 1>(y, x, w, scales, scale_dt, zp, group_size, groups, bias, m, N, K);        \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_ct4x2_##SUF##_n##NT##_w##W(ROW_ARGS_CT4) { \
        mma_ct4_body<A, NT, W, 2>(y, x, w, scales, scale_dt, zp, group_size, groups, bias, m, N, K);        \
    }
// `fp8n...`: the same for layers without NaN codes (no per-pair test; src/cuda/gemv.rs).
#define GEMV_MMA_FP8_NC(SUF, A, NT, W, V, NV, NC)                                                           \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_##V##_##SUF##_n##NT##_w##W(ROW_ARGS_FP8) { \
        mma_fp8_body<A, NT, W, 1, 1, NC>(y, x, w, scale, mode, bh, bw, bias, m, N, K);                      \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_##NV##_##SUF##_n##NT##_w##W(ROW_ARGS_FP8) { \
        mma_fp8_body<A, NT, W, 2, 1, NC>(y, x, w, scale, mode, bh, bw, bias, m, N, K);                      \
    }
#define GEMV_MMA_FP8(SUF, A, NT, W) GEMV_MMA_FP8_NC(SUF, A, NT, W, fp8, fp8w, true) GEMV_MMA_FP8_NC(SUF, A, NT, W, fp8n, fp8nw, false)
#define GEMV_MMA_FP8U_NC(SUF, A, W, V, NV, NC)                                                               \
    extern "C" __global__ void __launch_bounds__(32 * W, 16 / W) gemv_mma_##V##_##SUF##_n2_w##W(ROW_ARGS_FP8) {     \
        mma_fp8_body<A, 2, W, 1, 2, NC>(y, x, w, scale, mode, bh, bw, bias, m, N, K);                       \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W, 16 / W) gemv_mma_##NV##_##SUF##_n2_w##W(ROW_ARGS_FP8) {    \
        mma_fp8_body<A, 2, W, 2, 2, NC>(y, x, w, scale, mode, bh, bw, bias, m, N, K);                       \
    }
#define GEMV_MMA_FP8U(SUF, A, W) GEMV_MMA_FP8U_NC(SUF, A, W, fp8u, fp8wu, true) GEMV_MMA_FP8U_NC(SUF, A, W, fp8nu, fp8nwu, false)
// (The two-tile FP8 kernels are held to 128 registers, 16 warps per SM: with the L2
// prefetch they took 130 and 3 blocks of 4 warps.)
// Tuning variants of `fp8nwu` (`SAFEWEIGHTS_FP8_XP=0|1`): v0 without the activation
// pipelining and the L2 prefetch, v1 without the prefetch. (Prefetching 3 chunks ahead was
// slower: 28672x8192 M = 16 107.7 -> 111.2 us.)
#define GEMV_MMA_FP8V0(SUF, A, W)                                                                            \
    extern "C" __global__ void __launch_bounds__(32 * W, 16 / W) gemv_mma_fp8nwuv0_##SUF##_n2_w##W(ROW_ARGS_FP8) {   \
        mma_fp8_body<A, 2, W, 2, 2, false, false>(y, x, w, scale, mode, bh, bw, bias, m, N, K);             \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W, 16 / W) gemv_mma_fp8nwuv1_##SUF##_n2_w##W(ROW_ARGS_FP8) {   \
        mma_fp8_body<A, 2, W, 2, 2, false, true, 0>(y, x, w, scale, mode, bh, bw, bias, m, N, K);           \
    }
// M > 8 on many rows: the two-tile kernels with WR row groups per block (`r<WR>`, see
// mma_nvfp4_body).
// FP4 `x2r4l`: 8 warps held to 128 registers (2 blocks per SM; 40 bytes of spill for NVFP4,
// 16 for MXFP4), for 25600 rows or more (H100 28672x8192 M = 16: NVFP4 87.2 -> 83.0 us,
// MXFP4 84.9 -> 75.9; 14336x4096 was slower, 28.6 -> 30.8).
#define GEMV_MMA_R(SUF, A, W)                                                                                \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_nvfp4x2r4_##SUF##_n2_w##W(ROW_ARGS_NVFP4) { \
        mma_nvfp4_body<A, 2, W, 2, 0, 4>(y, x, w, ws, global, convention, bias, m, N, K);                  \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_ct4x2r2_##SUF##_n2_w##W(ROW_ARGS_CT4) {    \
        mma_ct4_body<A, 2, W, 2, 2>(y, x, w, scales, scale_dt, zp, group_size, groups, bias, m, N, K);      \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_ct4x2r4_##SUF##_n2_w##W(ROW_ARGS_CT4) {    \
        mma_ct4_body<A, 2, W, 2, 4>(y, x, w, scales, scale_dt, zp, group_size, groups, bias, m, N, K);      \
    }
GEMV_MMA_R(bf16, OUT_BF16, 4) GEMV_MMA_R(bf16, OUT_BF16, 8) GEMV_MMA_R(bf16, OUT_BF16, 16)
GEMV_MMA_R(f16, OUT_F16, 4) GEMV_MMA_R(f16, OUT_F16, 8) GEMV_MMA_R(f16, OUT_F16, 16)
#define GEMV_MMA_RL(SUF, A)                                                                                  \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_nvfp4x2r4l_##SUF##_n2_w8(ROW_ARGS_NVFP4) {  \
        mma_nvfp4_body<A, 2, 8, 2, 0, 4>(y, x, w, ws, global, convention, bias, m, N, K);                  \
    }
GEMV_MMA_RL(bf16, OUT_BF16) GEMV_MMA_RL(f16, OUT_F16)
// `x2r4l` with K split over grid.y (`KS` in mma_nvfp4_body), f32 shares summed by
// gemv_finalize.
#define GEMV_MMA_RK(SUF, A)                                                                                  \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_nvfp4x2r4k_##SUF##_n2_w8(ROW_ARGS_NVFP4, float* part) { \
        mma_nvfp4_body<A, 2, 8, 2, 0, 4, 2, true>(y, x, w, ws, global, convention, bias, m, N, K, part);    \
    }
GEMV_MMA_RK(bf16, OUT_BF16) GEMV_MMA_RK(f16, OUT_F16)
extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_mxfp4x2r4k_bf16_n2_w8(MMA_ARGS_MXFP4, float* part) {
    mma_nvfp4_body<OUT_BF16, 2, 8, 2, 1, 4, 2, true>(y, x, w, sc, nullptr, delta, bias, m, N, K, part);
}
// Tuning variants of `x2r4l` with another pipelining mode (XPM of mma_nvfp4_body,
// `SAFEWEIGHTS_FP4_XP=0|1`; the default is 2; 3 was slower: NVFP4 28672x8192 M = 16
// 69.5 -> 75.7 us, MXFP4 68.4 -> 72.5).
#define GEMV_MMA_RLV(SUF, A, XPM)                                                                            \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_nvfp4x2r4lv##XPM##_##SUF##_n2_w8(ROW_ARGS_NVFP4) { \
        mma_nvfp4_body<A, 2, 8, 2, 0, 4, XPM>(y, x, w, ws, global, convention, bias, m, N, K);             \
    }
GEMV_MMA_RLV(bf16, OUT_BF16, 0) GEMV_MMA_RLV(bf16, OUT_BF16, 1) GEMV_MMA_RLV(f16, OUT_F16, 0) GEMV_MMA_RLV(f16, OUT_F16, 1)
GEMV_MMA_FP8U(bf16, OUT_BF16, 4) GEMV_MMA_FP8U(bf16, OUT_BF16, 8) GEMV_MMA_FP8U(bf16, OUT_BF16, 16)
GEMV_MMA_FP8V0(bf16, OUT_BF16, 4) GEMV_MMA_FP8V0(bf16, OUT_BF16, 8) GEMV_MMA_FP8V0(bf16, OUT_BF16, 16)
GEMV_MMA_FP8V0(f16, OUT_F16, 4) GEMV_MMA_FP8V0(f16, OUT_F16, 8) GEMV_MMA_FP8V0(f16, OUT_F16, 16)
GEMV_MMA_FP8U(f16, OUT_F16, 4) GEMV_MMA_FP8U(f16, OUT_F16, 8) GEMV_MMA_FP8U(f16, OUT_F16, 16)
#define GEMV_MMA_W(SUF, A, NT) GEMV_MMA(SUF, A, NT, 4) GEMV_MMA(SUF, A, NT, 8) GEMV_MMA(SUF, A, NT, 16) \
    GEMV_MMA_FP8(SUF, A, NT, 4) GEMV_MMA_FP8(SUF, A, NT, 8) GEMV_MMA_FP8(SUF, A, NT, 16) \
    GEMV_MMA_CT4(SUF, A, NT, 4) GEMV_MMA_CT4(SUF, A, NT, 8) GEMV_MMA_CT4(SUF, A, NT, 16) \
    GEMV_MMA_WIDE(SUF, A, NT, 4) GEMV_MMA_WIDE(SUF, A, NT, 6) GEMV_MMA_WIDE(SUF, A, NT, 8) GEMV_MMA_WIDE(SUF, A, NT, 16)
// The two-tile (NT = 2) kernels are held to 128 registers, two blocks per SM (without the
// bound, the zero fold and the advanced pointers took 136-146 and one block per SM).
#define GEMV_MMA_GPTQ(SUF, A, NT, NWN)                                                                       \
    extern "C" __global__ void __launch_bounds__(256, NT) gemv_mma_gptq4_##SUF##_n##NT##_c##NWN(COL_ARGS_GPTQ) { \
        mma_gptq4_body<A, NT, NWN>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
#define GEMV_MMA_GPTQ_C(SUF, A, NT) GEMV_MMA_GPTQ(SUF, A, NT, 1) GEMV_MMA_GPTQ(SUF, A, NT, 2) GEMV_MMA_GPTQ(SUF, A, NT, 4) \
    extern "C" __global__ void __launch_bounds__(256) gemv_mma_gptq4w_##SUF##_n##NT##_c1(COL_ARGS_GPTQ) {    \
        mma_gptq4_body<A, NT, 1, 2>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
// Tuning variants of the two-tile GPTQ4 kernel with another L2 prefetch distance
// (`SAFEWEIGHTS_MMA_PF`; the default is 2 chunks).
#define GEMV_MMA_GPTQ_PF(SUF, A, PF)                                                                         \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4p##PF##_##SUF##_n2_c1(COL_ARGS_GPTQ) {  \
        mma_gptq4_body<A, 2, 1, 1, false, PF>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
GEMV_MMA_GPTQ_PF(bf16, OUT_BF16, 0) GEMV_MMA_GPTQ_PF(bf16, OUT_BF16, 3)
GEMV_MMA_GPTQ_PF(f16, OUT_F16, 0) GEMV_MMA_GPTQ_PF(f16, OUT_F16, 3)
#define GEMV_MMA_GPTQ8(SUF, A, NT)                                                                           \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq8_##SUF##_n##NT(COL_ARGS_GPTQ) {          \
        mma_gptq8_body<A, NT>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
GEMV_MMA_GPTQ8(bf16, OUT_BF16, 1)
GEMV_MMA_GPTQ8(bf16, OUT_BF16, 2)
GEMV_MMA_GPTQ8(f16, OUT_F16, 1)
GEMV_MMA_GPTQ8(f16, OUT_F16, 2)
#define GEMV_MMA_AWQ(SUF, A, NT)                                                                             \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_awq_##SUF##_n##NT(COL_ARGS_AWQ) {             \
        mma_awq_body<A, NT>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, bias, m, N, K);    \
    }
GEMV_MMA_AWQ(bf16, OUT_BF16, 1)
GEMV_MMA_AWQ(bf16, OUT_BF16, 2)
GEMV_MMA_AWQ(f16, OUT_F16, 1)
GEMV_MMA_AWQ(f16, OUT_F16, 2)
// K splits summed in the kernel (splitk_fixup, not inlined, so the main loop compiles as in
// the plain kernel) at M <= 8, where it measured faster than the finalize launch (H100,
// M = 1, same call: GPTQ4 8192x8192 21.9 -> 21.0 us, 4096x14336 20.6 -> 19.7; AWQ repacked
// 8192x8192 21.9 -> 21.0; GPTQ8 4096x4096 14.7 -> 13.8, AWQ 4096x4096 12.3 -> 11.5 inlined).
// At M = 16 it was slower (4096x4096: GPTQ4 13.6 -> 14.3, GPTQ8 16.1 -> 16.8, AWQ 14.0 ->
// 14.6), so the two-tile kernels keep the finalize pass.
// The 32-k kernel is held to three blocks per SM (85 registers): without the bound, ptxas
// gave it 80 registers and a 12-byte spill after session 23's split_tail change; with it,
// the same 80 registers and no spill.
#define GEMV_MMA_SK(SUF, A)                                                                                  \
    extern "C" __global__ void __launch_bounds__(256, 3) gemv_mma_gptq4_##SUF##_n1_c1_sk(COL_ARGS_GPTQ) {      \
        mma_gptq4_body<A, 1, 1, 1, SK_CL>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256) gemv_mma_gptq4w_##SUF##_n1_c1_sk(COL_ARGS_GPTQ) {        \
        mma_gptq4_body<A, 1, 1, 2, SK_CL>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq8_##SUF##_n1_sk(COL_ARGS_GPTQ) {        \
        mma_gptq8_body<A, 1, SK_CL>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_awq_##SUF##_n1_sk(COL_ARGS_AWQ) {           \
        mma_awq_body<A, 1, SK_CL>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, bias, m, N, K); \
    }                                                                                                        \
    /* the `_skf` twins: the same split sums through L2 only, for launches without clusters */              \
    extern "C" __global__ void __launch_bounds__(256, 3) gemv_mma_gptq4_##SUF##_n1_c1_skf(COL_ARGS_GPTQ) {     \
        mma_gptq4_body<A, 1, 1, 1, SK_FIX>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256) gemv_mma_gptq4w_##SUF##_n1_c1_skf(COL_ARGS_GPTQ) {       \
        mma_gptq4_body<A, 1, 1, 2, SK_FIX>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq8_##SUF##_n1_skf(COL_ARGS_GPTQ) {       \
        mma_gptq8_body<A, 1, SK_FIX>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_awq_##SUF##_n1_skf(COL_ARGS_AWQ) {          \
        mma_awq_body<A, 1, SK_FIX>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, bias, m, N, K); \
    }                                                                                                        \
    /* the two-tile (M > 8) GPTQ4 kernel, taken only as a cluster (mma_col_plan) */                          \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4_##SUF##_n2_c1_sk(COL_ARGS_GPTQ) {      \
        mma_gptq4_body<A, 2, 1, 1, SK_CL>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
// The two-tile kernel in 16-warp blocks of one column group, K over the 16 warps (and two
// splits in a cluster, `_sk`), for layers whose column groups one wave of them holds
// (gptq4_mma_plan); 64 KB of dynamic shared memory for the group sums.
#define GEMV_MMA_GPTQ_W16(SUF, A)                                                                             \
    extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_gptq4_##SUF##_n2_c1w16(COL_ARGS_GPTQ) {     \
        mma_gptq4_body<A, 2, 1, 1, false, 2, 16>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_gptq4_##SUF##_n2_c1w16_sk(COL_ARGS_GPTQ) {  \
        mma_gptq4_body<A, 2, 1, 1, SK_CL, 2, 16>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    /* with the quad tail (ga_tail_quad), taken by default (SAFEWEIGHTS_MMA_W16Q=0 keeps the two above) */   \
    extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_gptq4_##SUF##_n2_c1w16s(COL_ARGS_GPTQ) {    \
        mma_gptq4_body<A, 2, 1, 1, false, 2, 16, false, false, 1>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_gptq4_##SUF##_n2_c1w16s_sk(COL_ARGS_GPTQ) { \
        mma_gptq4_body<A, 2, 1, 1, SK_CL, 2, 16, false, false, 1>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
GEMV_MMA_GPTQ_W16(bf16, OUT_BF16)
GEMV_MMA_GPTQ_W16(f16, OUT_F16)
GEMV_MMA_SK(bf16, OUT_BF16)
GEMV_MMA_SK(f16, OUT_F16)
// The 64-k kernel in 4-warp blocks (4 per SM at 128 registers), for layers whose tiles fill
// more than one wave of 8-warp blocks (src/cuda/gemv.rs, `gptq4_mma_plan`).
#define GEMV_MMA_W4(SUF, A)                                                                                  \
    extern "C" __global__ void __launch_bounds__(128, 4) gemv_mma_gptq4w4_##SUF##_n1_c1(COL_ARGS_GPTQ) {     \
        mma_gptq4_body<A, 1, 1, 2, false, 0, 4>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
GEMV_MMA_W4(bf16, OUT_BF16)
GEMV_MMA_W4(f16, OUT_F16)
// The two-tile (M > 8) kernel in 4-warp blocks (4 per SM at 128 registers), for act-order
// layers whose 64-column tiles exceed one wave of 8-warp blocks (src/cuda/gemv.rs,
// `gptq4_mma_plan`; the others take 128-column `c2` blocks there).
#define GEMV_MMA_N2W4(SUF, A)                                                                                \
    extern "C" __global__ void __launch_bounds__(128, 4) gemv_mma_gptq4q_##SUF##_n2_c1(COL_ARGS_GPTQ) {      \
        mma_gptq4_body<A, 2, 1, 1, false, 2, 4>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
GEMV_MMA_N2W4(bf16, OUT_BF16)
GEMV_MMA_N2W4(f16, OUT_F16)
// The same GPTQ4 kernels with every zero point 8 (Z8), for symmetric compressed-tensors
// int4 repacked into the GPTQ layout: its zero words (all 8) are not read
// (src/cuda/gemv.rs, `zero8_variant`).
// One twin: name, launch bounds, then mma_gptq4_body's NT, NWN, CH, SK, PF, WB.
#define GEMV_Z8_ONE(A, NAME, LB, NT, NWN, CH, SK, PF, WB)                                                  \
    extern "C" __global__ void __launch_bounds__ LB NAME(COL_ARGS_GPTQ) {                                    \
        mma_gptq4_body<A, NT, NWN, CH, SK, PF, WB, true>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
// The 128-column two-tile kernel (`c2`) on the chunk-major layout of gemv_gptq4_cm_repack
// (`c2m`), plain and with every zero point 8 (src/cuda/gemv.rs, `gptq4_mma_plan`).
#define GEMV_MMA_C2M(SUF, A)                                                                                 \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4_##SUF##_n2_c2m(COL_ARGS_GPTQ) {        \
        mma_gptq4_body<A, 2, 2, 1, SK_NO, 2, 8, false, true>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4z_##SUF##_n2_c2m(COL_ARGS_GPTQ) {       \
        mma_gptq4_body<A, 2, 2, 1, SK_NO, 2, 8, true, true>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K); \
    }
// The same four with the spread tail (ga_tail_spread): `c2t`, `c2mt`, taken by default
// (`SAFEWEIGHTS_MMA_C2T=0` keeps `c2`, `c2m`).
#define GEMV_MMA_C2T(SUF, A)                                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4_##SUF##_n2_c2t(COL_ARGS_GPTQ) {                                             \
        mma_gptq4_body<A, 2, 2, 1, SK_NO, 2, 8, false, false, 2>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K);  \
    }                                                                                                                                               \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4z_##SUF##_n2_c2t(COL_ARGS_GPTQ) {                                            \
        mma_gptq4_body<A, 2, 2, 1, SK_NO, 2, 8, true, false, 2>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K);   \
    }                                                                                                                                               \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4_##SUF##_n2_c2mt(COL_ARGS_GPTQ) {                                            \
        mma_gptq4_body<A, 2, 2, 1, SK_NO, 2, 8, false, true, 2>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K);   \
    }                                                                                                                                               \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_gptq4z_##SUF##_n2_c2mt(COL_ARGS_GPTQ) {                                           \
        mma_gptq4_body<A, 2, 2, 1, SK_NO, 2, 8, true, true, 2>(y, part, x, qw, qz, (const u16*)scales, scale_dt, group_size, v1, bias, m, N, K);    \
    }
GEMV_MMA_C2M(bf16, OUT_BF16)
GEMV_MMA_C2M(f16, OUT_F16)
GEMV_MMA_C2T(bf16, OUT_BF16)
GEMV_MMA_C2T(f16, OUT_F16)
#define GEMV_MMA_Z8(SUF, A)                                                                                  \
    GEMV_Z8_ONE(A, gemv_mma_gptq4w4z_##SUF##_n1_c1, (128, 4), 1, 1, 2, SK_NO, 0, 4)                         \
    GEMV_Z8_ONE(A, gemv_mma_gptq4wz_##SUF##_n1_c1, (256), 1, 1, 2, SK_NO, 0, 8)                             \
    GEMV_Z8_ONE(A, gemv_mma_gptq4wz_##SUF##_n1_c1_sk, (256), 1, 1, 2, SK_CL, 0, 8)                           \
    GEMV_Z8_ONE(A, gemv_mma_gptq4wz_##SUF##_n1_c1_skf, (256), 1, 1, 2, SK_FIX, 0, 8)                         \
    GEMV_Z8_ONE(A, gemv_mma_gptq4z_##SUF##_n1_c1, (256, 1), 1, 1, 1, SK_NO, 0, 8)                           \
    GEMV_Z8_ONE(A, gemv_mma_gptq4z_##SUF##_n1_c1_sk, (256, 3), 1, 1, 1, SK_CL, 0, 8)                         \
    GEMV_Z8_ONE(A, gemv_mma_gptq4z_##SUF##_n1_c1_skf, (256), 1, 1, 1, SK_FIX, 0, 8)                          \
    GEMV_Z8_ONE(A, gemv_mma_gptq4z_##SUF##_n2_c1, (256, 2), 2, 1, 1, SK_NO, 2, 8)                           \
    GEMV_Z8_ONE(A, gemv_mma_gptq4z_##SUF##_n2_c1_sk, (256, 2), 2, 1, 1, SK_CL, 2, 8)                         \
    GEMV_Z8_ONE(A, gemv_mma_gptq4z_##SUF##_n2_c2, (256, 2), 2, 2, 1, SK_NO, 2, 8)
GEMV_MMA_Z8(bf16, OUT_BF16)
GEMV_MMA_Z8(f16, OUT_F16)
GEMV_MMA_GPTQ_C(bf16, OUT_BF16, 1)
GEMV_MMA_GPTQ_C(bf16, OUT_BF16, 2)
GEMV_MMA_GPTQ_C(f16, OUT_F16, 1)
GEMV_MMA_GPTQ_C(f16, OUT_F16, 2)
#define GEMV_MMA_MX(NT, W)                                                                                   \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_mxfp4_bf16_n##NT##_w##W(MMA_ARGS_MXFP4) {   \
        mma_nvfp4_body<OUT_BF16, NT, W, 1, 1>(y, x, w, sc, nullptr, delta, bias, m, N, K);                       \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_mxfp4x2_bf16_n##NT##_w##W(MMA_ARGS_MXFP4) { \
        mma_nvfp4_body<OUT_BF16, NT, W, 2, 1>(y, x, w, sc, nullptr, delta, bias, m, N, K);                       \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_mxfp4w_bf16_n##NT##_w##W(MMA_ARGS_MXFP4) {  \
        mma_nvfp4_wide_body<OUT_BF16, NT, W, 1>(y, x, w, sc, nullptr, delta, bias, m, N, K);                     \
    }
GEMV_MMA_MX(1, 4) GEMV_MMA_MX(1, 8) GEMV_MMA_MX(1, 16) GEMV_MMA_MX(2, 4) GEMV_MMA_MX(2, 8) GEMV_MMA_MX(2, 16)
// MXFP4 at M = 1 in 6-warp blocks (fp4_wide_warps in src/cuda/gemv.rs).
extern "C" __global__ void __launch_bounds__(192) gemv_mma_mxfp4w_bf16_n1_w6(MMA_ARGS_MXFP4) {
    mma_nvfp4_wide_body<OUT_BF16, 1, 6, 1>(y, x, w, sc, nullptr, delta, bias, m, N, K);
}
// MXFP4 at M = 1 with the activation ring (`XR` in mma_nvfp4_wide_body).
#define GEMV_MMA_MXWA(W)                                                                                     \
    extern "C" __global__ void WIDE_LB(W) gemv_mma_mxfp4wa_bf16_n1_w##W(MMA_ARGS_MXFP4) { \
        mma_nvfp4_wide_body<OUT_BF16, 1, W, 1, false, true>(y, x, w, sc, nullptr, delta, bias, m, N, K);       \
    }
GEMV_MMA_MXWA(4) GEMV_MMA_MXWA(6) GEMV_MMA_MXWA(8) GEMV_MMA_MXWA(16)
// NVFP4 at M = 1 with the activation ring (the `wc` kernels' layout and clamp).
#define GEMV_MMA_NVWA(SUF, A, W)                                                                             \
    extern "C" __global__ void WIDE_LB(W) gemv_mma_nvfp4wca_##SUF##_n1_w##W(ROW_ARGS_NVFP4) {               \
        mma_nvfp4_wide_body<A, 1, W, 0, true, true>(y, x, w, ws, global, convention, bias, m, N, K);          \
    }
GEMV_MMA_NVWA(bf16, OUT_BF16, 4) GEMV_MMA_NVWA(bf16, OUT_BF16, 6) GEMV_MMA_NVWA(bf16, OUT_BF16, 8) GEMV_MMA_NVWA(bf16, OUT_BF16, 16)
GEMV_MMA_NVWA(f16, OUT_F16, 4) GEMV_MMA_NVWA(f16, OUT_F16, 6) GEMV_MMA_NVWA(f16, OUT_F16, 8) GEMV_MMA_NVWA(f16, OUT_F16, 16)
// M = 1 in persistent blocks (`PT` in mma_nvfp4_wide_body): NVFP4 with the `wc` layout and
// clamp (`wcp`), MXFP4 (`wp`).
#ifndef SW_WP_MINB8
#define SW_WP_MINB8 1
#endif
#define WP_LB(W) __launch_bounds__(32 * W, (W) == 4 ? 7 : SW_WP_MINB8)
#define GEMV_MMA_WP(SUF, A, W)                                                                               \
    extern "C" __global__ void WP_LB(W) gemv_mma_nvfp4wcp_##SUF##_n1_w##W(ROW_ARGS_NVFP4) {               \
        mma_nvfp4_wide_body<A, 1, W, 0, true, false, true>(y, x, w, ws, global, convention, bias, m, N, K);   \
    }
GEMV_MMA_WP(bf16, OUT_BF16, 4) GEMV_MMA_WP(bf16, OUT_BF16, 8) GEMV_MMA_WP(f16, OUT_F16, 4) GEMV_MMA_WP(f16, OUT_F16, 8)
#define GEMV_MMA_MXWP(W)                                                                                     \
    extern "C" __global__ void WP_LB(W) gemv_mma_mxfp4wp_bf16_n1_w##W(MMA_ARGS_MXFP4) {                    \
        mma_nvfp4_wide_body<OUT_BF16, 1, W, 1, false, false, true>(y, x, w, sc, nullptr, delta, bias, m, N, K); \
    }
GEMV_MMA_MXWP(4) GEMV_MMA_MXWP(8)
// GPTQ, AWQ and compressed-tensors 4-bit at M = 1 in the same persistent frame (FMT 2,
// `I4Ops`), on the layer repacked by gemv_i4wp_repack_w (and the GPTQ and AWQ scales and
// zeros by gemv_i4wp_repack_sz); `hpg` is the group size / 128.
#define I4WP_ARGS u16 *y, const u16 *x, const u32 *w, const u16 *scales, int scale_dt, const u32 *zp, int v1, int groups, int hpg, const u16 *bias, int m, int N, int K
#define GEMV_MMA_I4WP(SUF, A, W)                                                                             \
    extern "C" __global__ void __launch_bounds__(32 * W, 2) gemv_mma_i4wp_##SUF##_n1_w##W(I4WP_ARGS) { \
        mma_nvfp4_wide_body<A, 1, W, 2, true, false, true>(y, x, (const u8*)w, nullptr, nullptr, 0, bias, m, N, K, \
                                                           I4Ops{scales, zp, scale_dt, v1, groups, hpg}); \
    }
GEMV_MMA_I4WP(bf16, OUT_BF16, 8) GEMV_MMA_I4WP(f16, OUT_F16, 8)
#define GEMV_MMA_MXR(W)                                                                                      \
    extern "C" __global__ void __launch_bounds__(32 * W) gemv_mma_mxfp4x2r4_bf16_n2_w##W(MMA_ARGS_MXFP4) {  \
        mma_nvfp4_body<OUT_BF16, 2, W, 2, 1, 4>(y, x, w, sc, nullptr, delta, bias, m, N, K);                     \
    }
GEMV_MMA_MXR(4) GEMV_MMA_MXR(8) GEMV_MMA_MXR(16)
extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_mxfp4x2r4l_bf16_n2_w8(MMA_ARGS_MXFP4) {
    mma_nvfp4_body<OUT_BF16, 2, 8, 2, 1, 4>(y, x, w, sc, nullptr, delta, bias, m, N, K);
}
#define GEMV_MMA_MXRLV(XPM)                                                                                  \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_mxfp4x2r4lv##XPM##_bf16_n2_w8(MMA_ARGS_MXFP4) { \
        mma_nvfp4_body<OUT_BF16, 2, 8, 2, 1, 4, XPM>(y, x, w, sc, nullptr, delta, bias, m, N, K);                \
    }
GEMV_MMA_MXRLV(0) GEMV_MMA_MXRLV(1)
// M > 8 on many rows, small blocks (`x2s`): one two-tile warp row (32 rows) per block, its
// W warps (2 or 4) splitting K, held to 128 registers (16 warps per SM). 28672 rows make
// 896 blocks, 6 or 7 per SM (the 8-warp `x2r4l` blocks: 224, 1 or 2 per SM).
#define GEMV_MMA_S(SUF, A, W)                                                                                \
    extern "C" __global__ void __launch_bounds__(32 * W, 16 / W) gemv_mma_nvfp4x2s_##SUF##_n2_w##W(ROW_ARGS_NVFP4) { \
        mma_nvfp4_body<A, 2, W, 2, 0, 1>(y, x, w, ws, global, convention, bias, m, N, K);                  \
    }
GEMV_MMA_S(bf16, OUT_BF16, 2) GEMV_MMA_S(bf16, OUT_BF16, 4) GEMV_MMA_S(f16, OUT_F16, 2) GEMV_MMA_S(f16, OUT_F16, 4)
#define GEMV_MMA_MXS(W)                                                                                      \
    extern "C" __global__ void __launch_bounds__(32 * W, 16 / W) gemv_mma_mxfp4x2s_bf16_n2_w##W(MMA_ARGS_MXFP4) { \
        mma_nvfp4_body<OUT_BF16, 2, W, 2, 1, 1>(y, x, w, sc, nullptr, delta, bias, m, N, K);                     \
    }
GEMV_MMA_MXS(2) GEMV_MMA_MXS(4)
// The `fp4ga` kernels (mma_fp4_ga_body): NWN column groups of 64 per 8-warp block.
#define GEMV_MMA_FP4GA(SUF, A, NWN)                                                                          \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_nvfp4ga_##SUF##_c##NWN(ROW_ARGS_NVFP4, float* part) { \
        mma_fp4_ga_body<A, 0, NWN, 8>(y, x, (const u32*)w, ws, global, convention, bias, m, N, K, part);         \
    }
#define GEMV_MMA_MXFP4GA(NWN)                                                                                \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_mxfp4ga_bf16_c##NWN(MMA_ARGS_MXFP4, float* part) { \
        mma_fp4_ga_body<OUT_BF16, 1, NWN, 8>(y, x, (const u32*)w, sc, nullptr, delta, bias, m, N, K, part);      \
    }
GEMV_MMA_FP4GA(bf16, OUT_BF16, 1) GEMV_MMA_FP4GA(bf16, OUT_BF16, 2) GEMV_MMA_FP4GA(bf16, OUT_BF16, 4)
GEMV_MMA_FP4GA(f16, OUT_F16, 1) GEMV_MMA_FP4GA(f16, OUT_F16, 2) GEMV_MMA_FP4GA(f16, OUT_F16, 4)
GEMV_MMA_MXFP4GA(1) GEMV_MMA_MXFP4GA(2) GEMV_MMA_MXFP4GA(4)
#define GEMV_MMA_FP4GA_SK(SUF, A)                                                                            \
    extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_nvfp4ga_##SUF##_c1_sk(ROW_ARGS_NVFP4, float* part) { \
        mma_fp4_ga_body<A, 0, 1, 8, SK_CL>(y, x, (const u32*)w, ws, global, convention, bias, m, N, K, part);     \
    }
GEMV_MMA_FP4GA_SK(bf16, OUT_BF16) GEMV_MMA_FP4GA_SK(f16, OUT_F16)
extern "C" __global__ void __launch_bounds__(256, 2) gemv_mma_mxfp4ga_bf16_c1_sk(MMA_ARGS_MXFP4, float* part) {
    mma_fp4_ga_body<OUT_BF16, 1, 1, 8, SK_CL>(y, x, (const u32*)w, sc, nullptr, delta, bias, m, N, K, part);
}
// One column group per 16-warp block (one block per SM at 128 registers), for layers whose
// column groups fit one wave of such blocks: K split 16 ways in the block, and over two
// blocks as a cluster (`_sk`) where two of them fit.
#define GEMV_MMA_FP4GA16(SUF, A)                                                                             \
    extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_nvfp4ga_##SUF##_c1w16(ROW_ARGS_NVFP4, float* part) { \
        mma_fp4_ga_body<A, 0, 1, 16>(y, x, (const u32*)w, ws, global, convention, bias, m, N, K, part);          \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_nvfp4ga_##SUF##_c1w16_sk(ROW_ARGS_NVFP4, float* part) { \
        mma_fp4_ga_body<A, 0, 1, 16, SK_CL>(y, x, (const u32*)w, ws, global, convention, bias, m, N, K, part);    \
    }
GEMV_MMA_FP4GA16(bf16, OUT_BF16) GEMV_MMA_FP4GA16(f16, OUT_F16)
extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_mxfp4ga_bf16_c1w16(MMA_ARGS_MXFP4, float* part) {
    mma_fp4_ga_body<OUT_BF16, 1, 1, 16>(y, x, (const u32*)w, sc, nullptr, delta, bias, m, N, K, part);
}
extern "C" __global__ void __launch_bounds__(512, 1) gemv_mma_mxfp4ga_bf16_c1w16_sk(MMA_ARGS_MXFP4, float* part) {
    mma_fp4_ga_body<OUT_BF16, 1, 1, 16, SK_CL>(y, x, (const u32*)w, sc, nullptr, delta, bias, m, N, K, part);
}
GEMV_MMA_W(bf16, OUT_BF16, 1)
GEMV_MMA_W(bf16, OUT_BF16, 2)
GEMV_MMA_W(f16, OUT_F16, 1)
GEMV_MMA_W(f16, OUT_F16, 2)

// Act-order GPTQ 4-bit for the tensor-core GEMV (src/cuda/gemv.rs): the packed weights with
// K sorted by group, so that groups are contiguous again; nibble i of out word (r, n) is
// k' = 8r + i, taken from k = perm[k']. Built once per layer.
extern "C" __global__ void gptq4_sort_k(u32* __restrict__ out, const u32* __restrict__ qw, const int* __restrict__ perm,
                                        int N, int K) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)(K / 8) * N) return;
    const int r = (int)(t / (u64)N), n = (int)(t % (u64)N);
    u32 w = 0u;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int k = perm[8 * r + i];
        w |= ((qw[(u64)(k >> 3) * N + n] >> (4 * (k & 7))) & 15u) << (4 * i);
    }
    out[t] = w;
}

// An AWQ zero word (column 8 w + c in nibble AWQ_REV_G[c]) in GPTQ's natural order (nibble c).
__device__ __forceinline__ u32 awq_zero_word(u32 z) {
    u32 r = 0u;
#pragma unroll
    for (int c = 0; c < 8; ++c) r |= ((z >> (4 * AWQ_REV_G[c])) & 15u) << (4 * c);
    return r;
}

// GPTQ-layout 4-bit weights (qweight [K/8, N], §2.3, or a layer repacked into it) into the
// chunk-major layout of the `c2m` kernels, once per layer: [Np/64][K/32][4][64] words (Np = N
// rounded up to 64), word (grp, c, t, j) = packed row 4c + t of column 64 grp + j, zero for
// the pad columns. A warp of mma_gptq4_ga_body (CM) then reads each chunk of its 64 columns
// as one 1 KB block. One thread per output word; reads and writes are both coalesced.
extern "C" __global__ void gemv_gptq4_cm_repack(u32* __restrict__ out, const u32* __restrict__ qw, int N, int K) {
    const u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const int Np = (N + 63) & ~63;
    if (i >= (u64)Np * (K / 8)) return;
    const int j = (int)(i & 63), t = (int)((i >> 6) & 3);
    const u64 gc = i >> 8; // grp * (K / 32) + c
    const int chunks = K / 32;
    const int c = (int)(gc % (u64)chunks), n = (int)(gc / (u64)chunks) * 64 + j;
    out[i] = n < N ? qw[(u64)(4 * c + t) * N + n] : 0u;
}

// A 4-bit layer into the weight layout of the `i4wp` kernels, once per layer: row-major
// [N, K/8] words (as compressed-tensors, §5), word kb of row n holding k = 8 kb + j in
// nibble (j >> 1) + 4 (j & 1), so that nibbles r and r + 4 are the pair k = 2r, 2r + 1
// (and_or of the word shifted by 4r). `src`: 0 GPTQ (§2.3, qweight [K/8, N], k in nibble
// k & 7), 1 AWQ (§3, qweight [K, N/8], column 8 w + c in nibble AWQ_REV_G[c]), 2
// compressed-tensors (weight_packed [N, K/8], k in nibble k & 7). With `perm` (act-order
// GPTQ), k is the sorted index: the code comes from k = perm[8 kb + j] of the stored layer.
extern "C" __global__ void gemv_i4wp_repack_w(u32* __restrict__ out, const u32* __restrict__ qw, const int* __restrict__ perm,
                                              int src, int N, int K) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)(K / 8) * N) return;
    const int n = (int)(t / (u64)(K / 8)), kb = (int)(t % (u64)(K / 8));
    u32 r = 0u;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int k = perm ? perm[8 * kb + j] : 8 * kb + j;
        u32 q;
        if (src == 0) q = qw[(u64)(k >> 3) * N + n] >> (4 * (k & 7));
        else if (src == 1) q = qw[(u64)k * (N / 8) + (n >> 3)] >> (4 * AWQ_REV_G[n & 7]);
        else q = qw[t] >> (4 * j);
        r |= (q & 15u) << (4 * ((j >> 1) + 4 * (j & 1)));
    }
    out[t] = r;
}
// GPTQ or AWQ scales [groups, N] and zero words [groups, N/8] transposed for the `i4wp`
// kernels: [N, groups], and [N/8, groups] with row n in nibble n & 7 (GPTQ's order already;
// AWQ's, `awq` = 1, reordered from nibble AWQ_REV_G[n & 7]).
extern "C" __global__ void gemv_i4wp_repack_sz(u16* __restrict__ s_out, u32* __restrict__ z_out, const u16* __restrict__ s,
                                               const u32* __restrict__ qz, int awq, int N, int groups) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)groups * N) return;
    const int g = (int)(t / (u64)N), n = (int)(t % (u64)N);
    s_out[(u64)n * groups + g] = s[t];
    if ((n & 7) == 0) {
        const u32 z = qz[(u64)g * (N / 8) + (n >> 3)];
        z_out[(u64)(n >> 3) * groups + g] = awq ? awq_zero_word(z) : z;
    }
}

// AWQ (§3) into the GPTQ 4-bit layout (§2.3), once per layer, so that AWQ runs the K-major
// GPTQ4 tensor-core kernels (16-byte weight loads per lane instead of eight 4-byte ones):
// out[kb, n] packs k = 8 kb + i of column n in nibble i; AWQ holds column 8 w + c of row k
// in nibble AWQ_REV_G[c] of qweight[k, w].
extern "C" __global__ void gemv_awq_repack_w(u32* __restrict__ out, const u32* __restrict__ qw, int N, int K) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)(K / 8) * N) return;
    const int kb = (int)(t / (u64)N), n = (int)(t % (u64)N);
    const int w = n >> 3, sh = 4 * (int)AWQ_REV_G[n & 7];
    u32 r = 0u;
#pragma unroll
    for (int i = 0; i < 8; ++i) r |= ((qw[(u64)(8 * kb + i) * (N / 8) + w] >> sh) & 15u) << (4 * i);
    out[t] = r;
}
// AWQ zero words [groups, N/8] into the natural nibble order of GPTQ qzeros: column 8 w + c
// in nibble c.
extern "C" __global__ void gemv_awq_repack_z(u32* __restrict__ out, const u32* __restrict__ qz, u64 words) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= words) return;
    out[t] = awq_zero_word(qz[t]);
}

// compressed-tensors int4 (§5) into the GPTQ 4-bit layout (§2.3), once per layer, for the
// K-major GPTQ4 kernels: weight_packed [N, K/8] words transposed to [K/8, N] (the nibble
// order along K is the same); the 16-bit scales [N, groups] to [K/G, N]; the zero-point
// words [N/8, groups] (packed along N, as GPTQ qzeros) to [K/G, N/8], or 8 everywhere when
// symmetric (u - 8, §5.4).
extern "C" __global__ void gemv_ct4_repack_w(u32* __restrict__ out, const u32* __restrict__ w, int N, int K) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)(K / 8) * N) return;
    const int kb = (int)(t / (u64)N), n = (int)(t % (u64)N);
    out[t] = w[(u64)n * (K / 8) + kb];
}
extern "C" __global__ void gemv_ct4_repack_sz(u16* __restrict__ s_out, u32* __restrict__ z_out, const u16* __restrict__ s,
                                              const u32* __restrict__ zp, int N, int groups, int ng) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)ng * N) return;
    const int g = (int)(t / (u64)N), n = (int)(t % (u64)N);
    s_out[t] = s[(u64)n * groups + g];
    if ((n & 7) == 0) z_out[(u64)g * (N / 8) + (n >> 3)] = zp ? zp[(u64)(n >> 3) * groups + g] : 0x88888888u;
}

// The activations in the sorted K order: xs[r, j] = x[r, perm[j]], row r = blockIdx.y.
extern "C" __global__ void gemv_permute_x(u16* __restrict__ xs, const u16* __restrict__ x, const int* __restrict__ perm,
                                          int m, int K) {
    grid_dep_launch(); // the GEMV after it may start its weight loads now (see mma_gptq4_body)
    const u32 j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= (u32)K || (int)blockIdx.y >= m) return;
    const u64 row = (u64)blockIdx.y * (u64)K;
    xs[row + j] = x[row + perm[j]];
}

// The same permute staged through shared memory (K % 8 == 0, K * 2 bytes of dynamic shared
// memory): block (bx, r) copies row r of x into shared memory by 16-byte cp.async, issued
// together with its threads' permutation entries (so the two wait on one memory latency,
// where gemv_permute_x's gather waits on the permutation entry first), then each thread
// gathers its 8 positions j = 8 (bx * blockDim.x + tid) + i from there and writes them with
// one 16-byte store.
extern "C" __global__ void gemv_permute_x_sm(u16* __restrict__ xs, const u16* __restrict__ x, const int* __restrict__ perm,
                                             int m, int K) {
    grid_dep_launch(); // as gemv_permute_x
    extern __shared__ uint4 xrow[]; // K / 8 vectors
    if ((int)blockIdx.y >= m) return;
    const u64 row = (u64)blockIdx.y * (u64)K;
    const int nv = K >> 3, jv = blockIdx.x * blockDim.x + threadIdx.x;
    int4 pa = make_int4(0, 0, 0, 0), pb = pa;
    if (jv < nv) {
        pa = reinterpret_cast<const int4*>(perm)[2 * jv];
        pb = reinterpret_cast<const int4*>(perm)[2 * jv + 1];
    }
    const uint4* xv = reinterpret_cast<const uint4*>(x + row);
    for (int v = threadIdx.x; v < nv; v += blockDim.x) cp_async16(&xrow[v], xv + v); // all in flight at once
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    if (jv >= nv) return;
    const u16* xr = reinterpret_cast<const u16*>(xrow);
    const uint4 o = make_uint4((u32)xr[pa.x] | (u32)xr[pa.y] << 16, (u32)xr[pa.z] | (u32)xr[pa.w] << 16,
                               (u32)xr[pb.x] | (u32)xr[pb.y] << 16, (u32)xr[pb.z] | (u32)xr[pb.w] << 16);
    reinterpret_cast<uint4*>(xs + row)[jv] = o;
}

extern "C" __global__ void gemv_finalize_bf16(u16* y, const float* part, int splits, const u16* bias, int m, int N) {
    finalize_body<OUT_BF16>(y, part, splits, bias, m, N);
}
extern "C" __global__ void gemv_finalize_f16(u16* y, const float* part, int splits, const u16* bias, int m, int N) {
    finalize_body<OUT_F16>(y, part, splits, bias, m, N);
}

// Activations to f32 (for the dequant + cuBLAS f32 fallback).
extern "C" __global__ void gemv_act_to_f32_bf16(const u16* x, float* out, u64 n) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n) out[t] = bf16_to_f32(x[t]);
}
extern "C" __global__ void gemv_act_to_f32_f16(const u16* x, float* out, u64 n) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n) out[t] = f16_to_f32(x[t]);
}
