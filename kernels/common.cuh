// Shared device helpers for safeweights kernels. Prepended (as text) to every kernel
// source before NVRTC compiles it, so no CUDA headers are needed at run time: every
// conversion is a single PTX instruction with a documented rounding mode.
//
// Rounding contract (docs/conformance.md): a dequant kernel computes the oracle's f32
// value with the same operations in the same order (no FMA contraction: the module is
// compiled with --fmad=false), then rounds it once to the output type with
// round-to-nearest-even (`cvt.rn`), subnormals kept (no .ftz).

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

// Output element types (template argument OUT).
#define OUT_F16 0
#define OUT_BF16 1
#define OUT_F32 2

// Scale element types (run-time argument `scale_dt`), matching src/cuda/dequant.rs ScaleDtype.
#define SDT_F16 0
#define SDT_BF16 1
#define SDT_F32 2

__device__ __forceinline__ float f16_to_f32(u16 h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ float bf16_to_f32(u16 h) { return __uint_as_float(((u32)h) << 16); }

__device__ __forceinline__ u16 f32_to_bf16(float f) {
    u16 r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f));
    return r;
}

__device__ __forceinline__ u16 f32_to_f16(float f) {
    u16 r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(f));
    return r;
}

template <int OUT> __device__ __forceinline__ u16 to_out(float v) {
    return OUT == OUT_BF16 ? f32_to_bf16(v) : f32_to_f16(v);
}

// Two values to a packed pair (low half = a), one instruction, same rounding as to_out.
template <int OUT> __device__ __forceinline__ u32 to_out2(float a, float b) {
    u32 r;
    if (OUT == OUT_BF16) asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(b), "f"(a));
    else asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(b), "f"(a));
    return r;
}

template <int OUT> __device__ __forceinline__ float from_out(u16 v) {
    return OUT == OUT_BF16 ? bf16_to_f32(v) : f16_to_f32(v);
}

__device__ __forceinline__ float load_scale(const void* p, u64 idx, int dt) {
    if (dt == SDT_F32) return ((const float*)p)[idx];
    u16 h = ((const u16*)p)[idx];
    return dt == SDT_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

// FP4 E2M1 (quant_formats.md §1.1): s e1 e0 m, bias 1, no NaN. The three magnitude bits
// placed at f32 bits [24:22] read as 2^(e-127) * (1 + m/2) (or the subnormal 2^-127 * m
// when e == 0); one multiply by 2^126 rebias it. Exact: every value is a small dyadic.
__device__ __forceinline__ float e2m1_to_f32(u32 code) {
    return __uint_as_float(((code & 7u) << 22) | ((code & 8u) << 28)) * 8.507059173023462e37f; // 2^126
}

// FP8 E4M3FN (quant_formats.md §1.2): bias 7, no Inf, NaN = S.1111.111. Same trick: the
// seven magnitude bits at f32 bits [26:20], rebias by 2^120 (subnormals included).
__device__ __forceinline__ float e4m3_to_f32(u32 b) {
    const float v = __uint_as_float(((b & 0x7Fu) << 20) | ((b & 0x80u) << 24)) * 1.329227995784916e36f; // 2^120
    return (b & 0x7Fu) == 0x7Fu ? __uint_as_float(0x7fc00000u | ((b & 0x80u) << 24)) : v;
}

// q - z for integers 0 <= q, z < 2^22, without an int-to-float conversion (a quarter-rate
// instruction on Hopper): 0x4B000000 | q is the float 2^23 + q, and zb = 2^23 + z is exact,
// so one subtraction gives exactly (float)(q - z).
__device__ __forceinline__ float biased(int z) { return 8388608.0f + (float)z; }
__device__ __forceinline__ float q_minus(u32 q, float zb) { return __uint_as_float(0x4B000000u | q) - zb; }

// k / G for a group size G that is usually a power of two: a shift then, a division only
// otherwise (G = K for group_size -1). `shift` comes from group_shift(G).
__device__ __forceinline__ int group_shift(int G) { return (G & (G - 1)) == 0 ? __ffs(G) - 1 : -1; }
__device__ __forceinline__ int div_g(int k, int G, int shift) { return shift >= 0 ? k >> shift : k / G; }

// E8M0 (quant_formats.md §1.4): 2^(e-127); 0xFF is NaN; 0x00 is the f32 subnormal 2^-127.
__device__ __forceinline__ float e8m0_to_f32(u32 e) {
    if (e == 0xFFu) return __uint_as_float(0x7fc00000u);
    if (e == 0u) return __uint_as_float(0x00400000u);
    return __uint_as_float(e << 23);
}

// Stores `cnt` (<= 16) converted values at out[idx..]; two 16-byte stores when the
// destination is 16-byte aligned and the run is complete, element stores otherwise.
template <int OUT>
__device__ __forceinline__ void store16(u16* __restrict__ out, u64 idx, const float* v, int cnt) {
    if (cnt == 16 && (idx & 7ull) == 0ull) {
        u32 w[8];
#pragma unroll
        for (int i = 0; i < 8; ++i)
            w[i] = to_out2<OUT>(v[2 * i], v[2 * i + 1]);
        uint4* dst = (uint4*)(out + idx);
        dst[0] = make_uint4(w[0], w[1], w[2], w[3]);
        dst[1] = make_uint4(w[4], w[5], w[6], w[7]);
    } else {
        for (int i = 0; i < cnt; ++i) out[idx + i] = to_out<OUT>(v[i]);
    }
}

// Stores `cnt` (<= 16) values at element `idx` of an output of type OUT (f16/bf16 through
// store16, f32 with four 16-byte stores when aligned).
template <int OUT>
__device__ __forceinline__ void store_vals(void* __restrict__ out, u64 idx, const float* v, int cnt) {
    if constexpr (OUT == OUT_F32) {
        float* o = (float*)out;
        if (cnt == 16 && (idx & 3ull) == 0ull) {
#pragma unroll
            for (int i = 0; i < 4; ++i) ((float4*)(o + idx))[i] = make_float4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
        } else {
            for (int i = 0; i < cnt; ++i) o[idx + i] = v[i];
        }
    } else {
        store16<OUT>((u16*)out, idx, v, cnt);
    }
}
