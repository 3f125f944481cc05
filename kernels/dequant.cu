// Dequantization kernels: packed weights -> dense [N, K] bf16 or f16 (nn.Linear orientation).
//
// One kernel per format, each instantiated for both output types (suffix _bf16 / _f16).
// Every thread owns one run of 16 (or 32) consecutive K values of one output row, so its
// output is one or two full 32-byte sectors, and every packed word is read exactly once.
// Section numbers refer to /work/shared/specs/quant_formats.md ("the spec").
// The arithmetic mirrors the oracles operation for operation (see common.cuh).

// ---------------------------------------------------------------------------------------
// GPTQ (spec §2.3-2.6): qweight [K*b/32, N] packed along K; qzeros [groups, N*b/32]
// packed along N; scales [groups, N]; optional g_idx [K]. v1 adds 1 to the stored zero.
// W[n,k] = scales[g,n] * (q - z), with q - z in i32.
// ---------------------------------------------------------------------------------------

// Field `idx` of a row packed with `BITS` bits per value (BITS in {2,4,8}: within one word;
// BITS == 3: a continuous LSB-first 96-bit stream per 32 values, spec §2.4).
template <int BITS> __device__ __forceinline__ u32 packed_field(const u32* __restrict__ row, u32 idx) {
    if (BITS == 3) {
        const u32 base = (idx >> 5) * 3u;
        const u32 bit = (idx & 31u) * 3u;
        const u32 w = bit >> 5, off = bit & 31u;
        u32 v = row[base + w] >> off;
        if (off > 29u) v |= row[base + w + 1] << (32u - off);
        return v & 7u;
    } else {
        const u32 pf = 32 / BITS;
        return (row[idx / pf] >> ((idx % pf) * BITS)) & ((1u << BITS) - 1u);
    }
}

// One thread: one output column n, 64 consecutive k (2*BITS packed words, one 128-byte
// output line for 16-bit outputs), processed as four runs of 16.
template <int OUT, int BITS>
__device__ __forceinline__ void gptq_body(void* __restrict__ out, const u32* __restrict__ qweight,
                                          const u32* __restrict__ qzeros, const void* __restrict__ scales,
                                          int scale_dt, const int* __restrict__ g_idx, int N, int K,
                                          int group_size, int zero_words, int v1) {
    constexpr int VALS = 64;
    constexpr int NW = 2 * BITS;
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const u64 chunks = ((u64)K + VALS - 1) / VALS;
    if (t >= (u64)N * chunks) return;
    const u32 n = (u32)(t % (u64)N);
    const u32 kc = (u32)(t / (u64)N);
    const u32 k0 = kc * VALS;
    const u32 rows = (u32)((u64)K * BITS / 32);
    const u32 row0 = kc * NW;

    u32 w[NW];
#pragma unroll
    for (int i = 0; i < NW; ++i) w[i] = row0 + i < rows ? qweight[(u64)(row0 + i) * N + n] : 0u;

    const int zoff = v1 ? 1 : 0;
#pragma unroll
    for (int sub = 0; sub < 4; ++sub) {
        const u32 ks = k0 + 16u * sub;
        if (ks >= (u32)K) break;
        const int cnt = min(16, K - (int)ks);
        float s_u = 0.0f;
        int z_u = 0;
        const bool uniform = g_idx == nullptr && ks / (u32)group_size == (ks + cnt - 1) / (u32)group_size;
        if (uniform) {
            const u32 g = ks / (u32)group_size;
            s_u = load_scale(scales, (u64)g * N + n, scale_dt);
            z_u = (int)packed_field<BITS>(qzeros + (u64)g * zero_words, n) + zoff;
        }
        float v[16];
#pragma unroll
        for (int ii = 0; ii < 16; ++ii) {
            const int i = 16 * sub + ii;
            u32 q;
            if constexpr (BITS == 3) {
                const u32 bit = (u32)i * 3u, wi = bit >> 5, off = bit & 31u;
                q = w[wi] >> off;
                if (off > 29u) q |= w[wi + 1] << (32u - off);
                q &= 7u;
            } else {
                constexpr int PF = 32 / BITS;
                q = (w[i / PF] >> ((i % PF) * BITS)) & ((1u << BITS) - 1u);
            }
            float sc = s_u;
            int z = z_u;
            if (!uniform && ii < cnt) {
                const u32 k = ks + ii;
                const u32 g = g_idx ? (u32)g_idx[k] : k / (u32)group_size;
                sc = load_scale(scales, (u64)g * N + n, scale_dt);
                z = (int)packed_field<BITS>(qzeros + (u64)g * zero_words, n) + zoff;
            }
            v[ii] = sc * (float)((int)q - z);
        }
        store_vals<OUT>(out, (u64)n * K + ks, v, cnt);
    }
}

#define GPTQ_KERNEL(BITS, SUFFIX, OUT)                                                                 \
    extern "C" __global__ void dq_gptq##BITS##_##SUFFIX(                                              \
        void* __restrict__ out, const u32* __restrict__ qweight, const u32* __restrict__ qzeros,       \
        const void* __restrict__ scales, int scale_dt, const int* __restrict__ g_idx, int N, int K,   \
        int group_size, int zero_words, int v1) {                                                     \
        gptq_body<OUT, BITS>(out, qweight, qzeros, scales, scale_dt, g_idx, N, K, group_size,         \
                             zero_words, v1);                                                         \
    }
GPTQ_KERNEL(2, f32, OUT_F32)
GPTQ_KERNEL(3, f32, OUT_F32)
GPTQ_KERNEL(4, f32, OUT_F32)
GPTQ_KERNEL(8, f32, OUT_F32)
GPTQ_KERNEL(2, bf16, OUT_BF16)
GPTQ_KERNEL(2, f16, OUT_F16)
GPTQ_KERNEL(3, bf16, OUT_BF16)
GPTQ_KERNEL(3, f16, OUT_F16)
GPTQ_KERNEL(4, bf16, OUT_BF16)
GPTQ_KERNEL(4, f16, OUT_F16)
GPTQ_KERNEL(8, bf16, OUT_BF16)
GPTQ_KERNEL(8, f16, OUT_F16)

// ---------------------------------------------------------------------------------------
// AWQ GEMM (spec §3): qweight [K, N/8] and qzeros [K/G, N/8] packed along N with the
// interleave ORDER = [0,2,4,6,1,3,5,7]; column c sits in nibble slot REV[c]. scales [K/G, N].
// W[n,k] = scales[g,n] * (q - z), true zeros (no offset).
// ---------------------------------------------------------------------------------------
__device__ __constant__ u32 AWQ_REV[8] = {0, 4, 1, 5, 2, 6, 3, 7};

// One thread: one packed column j (8 outputs), 64 consecutive k as four runs of 16.
template <int OUT>
__device__ __forceinline__ void awq_body(void* __restrict__ out, const u32* __restrict__ qweight,
                                         const u32* __restrict__ qzeros, const void* __restrict__ scales,
                                         int scale_dt, int N, int K, int group_size) {
    const u32 nw = (u32)N / 8u;
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const u64 chunks = ((u64)K + 63) / 64;
    if (t >= (u64)nw * chunks) return;
    const u32 j = (u32)(t % nw);
    const u32 k0 = (u32)(t / nw) * 64u;
#pragma unroll 1
    for (int sub = 0; sub < 4; ++sub) {
        const u32 ks = k0 + 16u * sub;
        if (ks >= (u32)K) break;
        const int cnt = min(16, K - (int)ks);
        u32 w[16];
#pragma unroll
        for (int i = 0; i < 16; ++i) w[i] = i < cnt ? qweight[(u64)(ks + i) * nw + j] : 0u;
        const bool uniform = ks / (u32)group_size == (ks + cnt - 1) / (u32)group_size;
        const u32 g0 = ks / (u32)group_size;
        const u32 zw0 = qzeros[(u64)g0 * nw + j];
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const u32 sh = 4u * AWQ_REV[c];
            const u32 n = 8u * j + c;
            float s = load_scale(scales, (u64)g0 * N + n, scale_dt);
            int z = (int)((zw0 >> sh) & 15u);
            float v[16];
#pragma unroll
            for (int i = 0; i < 16; ++i) {
                if (!uniform && i < cnt) {
                    const u32 g = (ks + i) / (u32)group_size;
                    s = load_scale(scales, (u64)g * N + n, scale_dt);
                    z = (int)((qzeros[(u64)g * nw + j] >> sh) & 15u);
                }
                v[i] = s * (float)((int)((w[i] >> sh) & 15u) - z);
            }
            store_vals<OUT>(out, (u64)n * K + ks, v, cnt);
        }
    }
}

extern "C" __global__ void dq_awq_bf16(void* __restrict__ out, const u32* __restrict__ qweight,
                                       const u32* __restrict__ qzeros, const void* __restrict__ scales,
                                       int scale_dt, int N, int K, int group_size) {
    awq_body<OUT_BF16>(out, qweight, qzeros, scales, scale_dt, N, K, group_size);
}
extern "C" __global__ void dq_awq_f16(void* __restrict__ out, const u32* __restrict__ qweight,
                                      const u32* __restrict__ qzeros, const void* __restrict__ scales,
                                      int scale_dt, int N, int K, int group_size) {
    awq_body<OUT_F16>(out, qweight, qzeros, scales, scale_dt, N, K, group_size);
}
extern "C" __global__ void dq_awq_f32(void* __restrict__ out, const u32* __restrict__ qweight,
                                      const u32* __restrict__ qzeros, const void* __restrict__ scales,
                                      int scale_dt, int N, int K, int group_size) {
    awq_body<OUT_F32>(out, qweight, qzeros, scales, scale_dt, N, K, group_size);
}

// ---------------------------------------------------------------------------------------
// NVFP4 (spec §6, §7.2-7.3): weight [rows, K/2] U8, low nibble = even k; weight_scale
// [rows, K/16] E4M3; one f32 global per `rows_per_global` rows (1 per tensor, or per expert).
// convention 0 (ModelOpt multiplier, §7.3): W = e2m1 * (f32(ws) * ws2).
// convention 1 (compressed-tensors divisor, §6.4): W = e2m1 * (f32(ws) / global).
// ---------------------------------------------------------------------------------------
template <int OUT>
__device__ __forceinline__ void nvfp4_body(void* __restrict__ out, const u8* __restrict__ weight,
                                           const u8* __restrict__ wscale, const float* __restrict__ global,
                                           int rows_per_global, int convention, int rows, int K) {
    const u32 blocks = (u32)K / 16u;
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)rows * blocks) return;
    const u32 r = (u32)(t / blocks);
    const uint2 p = *(const uint2*)(weight + t * 8);
    const float ws = e4m3_to_f32(wscale[t]);
    const float gs = global[r / (u32)rows_per_global];
    // The oracle folds the global into the block scale first (one rounding), then scales.
    const float scale = convention == 0 ? ws * gs : ws / gs;
    float v[16];
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        const u32 word = i < 8 ? p.x : p.y;
        v[i] = e2m1_to_f32((word >> (4 * (i % 8))) & 15u) * scale;
    }
    store_vals<OUT>(out, t * 16, v, 16);
}

extern "C" __global__ void dq_nvfp4_bf16(void* __restrict__ out, const u8* __restrict__ weight,
                                         const u8* __restrict__ wscale, const float* __restrict__ global,
                                         int rows_per_global, int convention, int rows, int K) {
    nvfp4_body<OUT_BF16>(out, weight, wscale, global, rows_per_global, convention, rows, K);
}
extern "C" __global__ void dq_nvfp4_f16(void* __restrict__ out, const u8* __restrict__ weight,
                                        const u8* __restrict__ wscale, const float* __restrict__ global,
                                        int rows_per_global, int convention, int rows, int K) {
    nvfp4_body<OUT_F16>(out, weight, wscale, global, rows_per_global, convention, rows, K);
}
extern "C" __global__ void dq_nvfp4_f32(void* __restrict__ out, const u8* __restrict__ weight,
                                        const u8* __restrict__ wscale, const float* __restrict__ global,
                                        int rows_per_global, int convention, int rows, int K) {
    nvfp4_body<OUT_F32>(out, weight, wscale, global, rows_per_global, convention, rows, K);
}

// ---------------------------------------------------------------------------------------
// MXFP4, gpt-oss layout (spec §8.2-8.3): blocks [E, rows, K/32, 16] U8, scales [E, rows, K/32]
// E8M0. The expert dimension folds into rows. W = e2m1 * 2^(s-127); s = 0xFF is NaN.
// ---------------------------------------------------------------------------------------
template <int OUT>
__device__ __forceinline__ void mxfp4_body(void* __restrict__ out, const u8* __restrict__ blocks,
                                           const u8* __restrict__ scales, u64 nblocks) {
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= nblocks) return;
    const uint4 p = *(const uint4*)(blocks + t * 16);
    const float x = e8m0_to_f32(scales[t]);
    const u32 words[4] = {p.x, p.y, p.z, p.w};
    float v[32];
#pragma unroll
    for (int i = 0; i < 32; ++i) v[i] = e2m1_to_f32((words[i / 8] >> (4 * (i % 8))) & 15u) * x;
    store_vals<OUT>(out, t * 32, v, 16);
    store_vals<OUT>(out, t * 32 + 16, v + 16, 16);
}

extern "C" __global__ void dq_mxfp4_bf16(void* __restrict__ out, const u8* __restrict__ blocks,
                                         const u8* __restrict__ scales, u64 nblocks) {
    mxfp4_body<OUT_BF16>(out, blocks, scales, nblocks);
}
extern "C" __global__ void dq_mxfp4_f16(void* __restrict__ out, const u8* __restrict__ blocks,
                                        const u8* __restrict__ scales, u64 nblocks) {
    mxfp4_body<OUT_F16>(out, blocks, scales, nblocks);
}
extern "C" __global__ void dq_mxfp4_f32(void* __restrict__ out, const u8* __restrict__ blocks,
                                        const u8* __restrict__ scales, u64 nblocks) {
    mxfp4_body<OUT_F32>(out, blocks, scales, nblocks);
}

// ---------------------------------------------------------------------------------------
// FP8 E4M3 (spec §7.4, §9): weight [N, K] F8_E4M3; W = fp8 * scale with the scale
// per tensor (mode 0, [1]), per output channel (mode 1, [N]) or per bh x bw block
// (mode 2, [ceil(N/bh), ceil(K/bw)], ragged edges allowed). Flat: 16 elements a thread.
// ---------------------------------------------------------------------------------------
template <int OUT>
__device__ __forceinline__ void fp8_body(void* __restrict__ out, const u8* __restrict__ weight,
                                         const void* __restrict__ scale, int scale_dt, int mode, int N,
                                         int K, int bh, int bw) {
    const u64 total = (u64)N * K;
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    const u64 i0 = t * 16;
    if (i0 >= total) return;
    const int cnt = (int)min((u64)16, total - i0);
    u8 b[16];
    if (cnt == 16) {
        const uint4 p = *(const uint4*)(weight + i0);
        const u32 ws[4] = {p.x, p.y, p.z, p.w};
#pragma unroll
        for (int i = 0; i < 16; ++i) b[i] = (u8)(ws[i / 4] >> (8 * (i % 4)));
    } else {
        for (int i = 0; i < 16; ++i) b[i] = i < cnt ? weight[i0 + i] : 0;
    }
    u32 n = (u32)(i0 / (u64)K), k = (u32)(i0 % (u64)K);
    const u32 scols = ((u32)K + (u32)bw - 1u) / (u32)bw;
    float s;
    if (mode == 0) s = load_scale(scale, 0, scale_dt);
    else if (mode == 1) s = load_scale(scale, n, scale_dt);
    else s = load_scale(scale, (u64)(n / (u32)bh) * scols + k / (u32)bw, scale_dt);
    u32 krem = mode == 2 ? k % (u32)bw : 0u;
    float v[16];
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        v[i] = e4m3_to_f32(b[i]) * s;
        if (mode != 0 && i + 1 < cnt) {
            ++k;
            ++krem;
            bool reload = false;
            if (k == (u32)K) {
                k = 0; krem = 0; ++n; reload = true;
            } else if (mode == 2 && krem == (u32)bw) {
                krem = 0; reload = true;
            }
            if (reload) {
                s = mode == 1 ? load_scale(scale, n, scale_dt)
                              : load_scale(scale, (u64)(n / (u32)bh) * scols + k / (u32)bw, scale_dt);
            }
        }
    }
    store_vals<OUT>(out, i0, v, cnt);
}

extern "C" __global__ void dq_fp8_bf16(void* __restrict__ out, const u8* __restrict__ weight,
                                       const void* __restrict__ scale, int scale_dt, int mode, int N, int K,
                                       int bh, int bw) {
    fp8_body<OUT_BF16>(out, weight, scale, scale_dt, mode, N, K, bh, bw);
}
extern "C" __global__ void dq_fp8_f16(void* __restrict__ out, const u8* __restrict__ weight,
                                      const void* __restrict__ scale, int scale_dt, int mode, int N, int K,
                                      int bh, int bw) {
    fp8_body<OUT_F16>(out, weight, scale, scale_dt, mode, N, K, bh, bw);
}
extern "C" __global__ void dq_fp8_f32(void* __restrict__ out, const u8* __restrict__ weight,
                                      const void* __restrict__ scale, int scale_dt, int mode, int N, int K,
                                      int bh, int bw) {
    fp8_body<OUT_F32>(out, weight, scale, scale_dt, mode, N, K, bh, bw);
}

// ---------------------------------------------------------------------------------------
// compressed-tensors pack-quantized (spec §5): weight_packed [N, ceil(K/pf)] packed along K,
// codes stored as u = q + 2^(b-1); weight_scale [N, groups]; weight_zero_point
// [ceil(N/pf), groups] packed along N (asymmetric only); optional weight_g_idx [K].
// Symmetric: W = s * (u - 2^(b-1)); asymmetric: W = s * (u - uz).
// ---------------------------------------------------------------------------------------
// One thread: one row n, 64 consecutive k (64/pf packed words) as four runs of 16.
template <int OUT, int BITS>
__device__ __forceinline__ void ct_body(void* __restrict__ out, const u32* __restrict__ packed,
                                        const void* __restrict__ scales, int scale_dt,
                                        const u32* __restrict__ zero_point, const int* __restrict__ g_idx,
                                        int N, int K, int group_size, int groups) {
    constexpr u32 PF = 32 / BITS;
    constexpr int NW = 64 / PF;
    const u32 row_words = ((u32)K + PF - 1) / PF;
    const u32 chunks = ((u32)K + 63u) / 64u;
    const u64 t = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (u64)N * chunks) return;
    const u32 n = (u32)(t / chunks);
    const u32 k0 = (u32)(t % chunks) * 64u;
    const u32* row = packed + (u64)n * row_words;
    u32 w[NW];
#pragma unroll
    for (int i = 0; i < NW; ++i) w[i] = k0 / PF + i < row_words ? row[k0 / PF + i] : 0u;
    const u32 mask = (1u << BITS) - 1u;
    const int sym_zero = 1 << (BITS - 1);
#pragma unroll
    for (int sub = 0; sub < 4; ++sub) {
        const u32 ks = k0 + 16u * sub;
        if (ks >= (u32)K) break;
        const int cnt = min(16, K - (int)ks);
        const bool uniform = g_idx == nullptr && ks / (u32)group_size == (ks + cnt - 1) / (u32)group_size;
        float s_u = 0.0f;
        int z_u = sym_zero;
        if (uniform) {
            const u32 g = ks / (u32)group_size;
            s_u = load_scale(scales, (u64)n * groups + g, scale_dt);
            if (zero_point)
                z_u = (int)((zero_point[(u64)(n / PF) * groups + g] >> ((n % PF) * BITS)) & mask);
        }
        float v[16];
#pragma unroll
        for (int ii = 0; ii < 16; ++ii) {
            const int i = 16 * sub + ii;
            float s = s_u;
            int z = z_u;
            if (!uniform && ii < cnt) {
                const u32 k = ks + ii;
                const u32 g = g_idx ? (u32)g_idx[k] : k / (u32)group_size;
                s = load_scale(scales, (u64)n * groups + g, scale_dt);
                if (zero_point) z = (int)((zero_point[(u64)(n / PF) * groups + g] >> ((n % PF) * BITS)) & mask);
            }
            const int u = (int)((w[i / PF] >> ((i % PF) * BITS)) & mask);
            v[ii] = s * (float)(u - z);
        }
        store_vals<OUT>(out, (u64)n * K + ks, v, cnt);
    }
}

#define CT_KERNEL(BITS, SUFFIX, OUT)                                                                   \
    extern "C" __global__ void dq_ct_int##BITS##_##SUFFIX(                                            \
        void* __restrict__ out, const u32* __restrict__ packed, const void* __restrict__ scales,       \
        int scale_dt, const u32* __restrict__ zero_point, const int* __restrict__ g_idx, int N, int K, \
        int group_size, int groups) {                                                                 \
        ct_body<OUT, BITS>(out, packed, scales, scale_dt, zero_point, g_idx, N, K, group_size, groups); \
    }
CT_KERNEL(4, f32, OUT_F32)
CT_KERNEL(8, f32, OUT_F32)
CT_KERNEL(4, bf16, OUT_BF16)
CT_KERNEL(4, f16, OUT_F16)
CT_KERNEL(8, bf16, OUT_BF16)
CT_KERNEL(8, f16, OUT_F16)

// ---------------------------------------------------------------------------------------
// Utilities used by the conformance suite and the bench.
// ---------------------------------------------------------------------------------------

// Fills n u16 elements with `value` (output poisoning before every checked launch).
extern "C" __global__ void fill_u16(u16* __restrict__ p, u64 n, u32 value) {
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (u64)gridDim.x * blockDim.x)
        p[i] = (u16)value;
}

// Saturating read: every thread streams 16-byte loads over the buffer, four in flight,
// and folds them into one word per block so nothing can be optimised away.
extern "C" __global__ void read_probe(const uint4* __restrict__ p, u64 n16, u32* __restrict__ sink) {
    u32 acc = 0;
    const u64 stride = (u64)gridDim.x * blockDim.x;
    u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    for (; i + 3 * stride < n16; i += 4 * stride) {
        const uint4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < n16; i += stride) {
        const uint4 a = p[i];
        acc ^= a.x ^ a.y ^ a.z ^ a.w;
    }
    __shared__ u32 red[32];
    for (int o = 16; o > 0; o >>= 1) acc ^= __shfl_xor_sync(0xffffffffu, acc, o);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        u32 r = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); ++w) r ^= red[w];
        sink[blockIdx.x] = r;
    }
}
