//! Fast CPU dequantization: multi-threaded (rayon, over blocks of output rows), table-driven
//! (AWQ: vectorized arithmetic) and branch-free in the inner loops. Every element is computed
//! with exactly the same f32 operations, in the same order, as [`crate::oracle`], so the
//! results are bit-equal; `tests/quant_roundtrip.rs` and the tests below check that over
//! random layers of every format.

use crate::oracle::awq::AWQ_REVERSE_ORDER;
use crate::oracle::gptq::stream_field;
use crate::oracle::minifloat::{e2m1_to_f32, e4m3fn_to_f32, e8m0_to_f32};
use crate::quant::linear::{
    float_at, i32_at, word_at, AwqLinear, Fp8Granularity, Fp8Linear, GlobalScaleConvention,
    GptqLinear, IntPackLinear, Mxfp4Linear, Nvfp4Linear, QuantizedLinear,
};
use rayon::prelude::*;

/// Output rows handled by one task; a multiple of 8 so AWQ words never straddle tasks.
const ROWS_PER_TASK: usize = 16;

/// Output rows per AWQ task (a multiple of 8 and of [`ROW_ALIGN`]).
const AWQ_ROWS_PER_TASK: usize = 128;

/// qweight rows (values of k) an AWQ task touches ahead of gathering them.
const AWQ_TOUCH_K: usize = 32;

/// Output rows per GPTQ task: each packed row is gathered as 512 contiguous bytes.
const GPTQ_ROWS_PER_TASK: usize = 128;

/// Row slices passed to [`dequant_rows_into`] must start at a multiple of this.
pub const ROW_ALIGN: usize = ROWS_PER_TASK;

/// Dequantizes a bound Linear to f32 `[rows, K]`, bit-equal to [`crate::oracle::dequant`].
pub fn dequant(layer: &QuantizedLinear<'_>) -> Vec<f32> {
    let mut out = vec![0f32; layer.rows() * layer.cols()];
    dequant_into(layer, &mut out);
    out
}

/// Like [`dequant`] into a caller-provided buffer of exactly `rows * K` elements, on the
/// current rayon pool (use `ThreadPool::install` to choose the thread count).
///
/// # Panics
/// If `out.len() != rows * K`.
pub fn dequant_into(layer: &QuantizedLinear<'_>, out: &mut [f32]) {
    assert_eq!(out.len(), layer.rows() * layer.cols(), "output buffer size");
    dequant_rows_into(layer, 0, out);
}

/// Dequantizes rows `first_row .. first_row + out.len() / K` into `out`, so large layers
/// can be decoded in slices. `first_row` must be a multiple of [`ROW_ALIGN`].
///
/// # Panics
/// If `first_row` is misaligned or the rows run past the layer.
pub fn dequant_rows_into(layer: &QuantizedLinear<'_>, first_row: usize, out: &mut [f32]) {
    let k = layer.cols();
    if k == 0 {
        return;
    }
    assert_eq!(
        first_row % ROW_ALIGN,
        0,
        "first_row must be a multiple of ROW_ALIGN"
    );
    assert_eq!(out.len() % k, 0, "output holds whole rows");
    assert!(
        first_row + out.len() / k <= layer.rows(),
        "rows past the layer"
    );
    let tables = Tables::new();
    let tables = &tables;
    // AWQ packs 8 output rows per word along N: wide tasks read whole cache lines of qweight.
    let task_rows = match layer {
        QuantizedLinear::Awq(_) => AWQ_ROWS_PER_TASK,
        QuantizedLinear::Gptq(_) => GPTQ_ROWS_PER_TASK,
        _ => ROWS_PER_TASK,
    };
    out.par_chunks_mut(task_rows * k)
        .enumerate()
        .for_each(|(t, chunk)| {
            let n0 = first_row + t * task_rows;
            match layer {
                QuantizedLinear::Gptq(l) => gptq_rows(l, n0, chunk),
                QuantizedLinear::Awq(l) => awq_rows(l, n0, chunk),
                QuantizedLinear::IntPack(l) => intpack_rows(l, n0, chunk),
                QuantizedLinear::Nvfp4(l) => nvfp4_rows(l, n0, chunk, tables),
                QuantizedLinear::Mxfp4(l) => mxfp4_rows(l, n0, chunk, tables),
                QuantizedLinear::Fp8(l) => fp8_rows(l, n0, chunk, tables),
            }
        });
}

/// Every code of the minifloat formats, decoded once per call by the oracle's own decoders
/// (so table lookups are bit-identical to calling them).
struct Tables {
    e2m1: [f32; 16],
    e4m3: [f32; 256],
    e8m0: [f32; 256],
}

impl Tables {
    fn new() -> Self {
        Tables {
            e2m1: std::array::from_fn(|c| e2m1_to_f32(c as u8)),
            e4m3: std::array::from_fn(|c| e4m3fn_to_f32(c as u8)),
            e8m0: std::array::from_fn(|c| e8m0_to_f32(c as u8)),
        }
    }
}

fn group_of_column(g_idx: Option<&[u8]>, k: usize, group: usize) -> Vec<usize> {
    (0..k)
        .map(|c| match g_idx {
            Some(gi) => i32_at(gi, c) as usize,
            None => c / group,
        })
        .collect()
}

fn gptq_rows(l: &GptqLinear<'_>, n0: usize, out: &mut [f32]) {
    let p = &l.params;
    let (n_out, k_in, b) = (p.n, p.k, p.bits);
    let rows = out.len() / k_in;
    let groups = p.groups();
    let gk = group_of_column(l.g_idx.as_ref().map(|t| t.data), k_in, p.group_size);
    let zw = n_out * b as usize / 32;
    // Per-row scales and true zeros for every group.
    let mut s = vec![0f32; rows * groups];
    let mut z = vec![0i32; rows * groups];
    for r in 0..rows {
        let n = n0 + r;
        for g in 0..groups {
            s[r * groups + g] = float_at(l.scales.dtype, l.scales.data, g * n_out + n);
            z[r * groups + g] =
                stream_field(|j| word_at(l.qzeros.data, g * zw + j), n, b) as i32 + i32::from(p.v1);
        }
    }
    let qw = l.qweight.data;
    let gs = p.group_size;
    let contiguous = gk.iter().enumerate().all(|(c, &g)| g == c / gs);
    // Word-aligned groups: each (row, group) gets a table of `scale * (q - zero)` for every
    // code, so the inner loop is a shift, a mask and a load.
    let block = if b == 3 { 32 } else { (32 / b) as usize };
    if contiguous && (gs % block == 0 || gs >= k_in) {
        // qweight is packed along K with N innermost, so one output row's words are N words
        // apart. Gather the task's rows first (consecutive words = whole cache lines), then
        // decode each row from its own contiguous copy through a table of
        // `scale * (q - zero)` per group (the same f32 operation as the oracle).
        let wrows = k_in * b as usize / 32;
        // Row stride padded by one cache line so the copy's rows do not alias in L1 sets.
        let stride = wrows + 16;
        let mut local = vec![0u32; rows * stride];
        for wr in 0..wrows {
            let src = &qw[4 * (wr * n_out + n0)..4 * (wr * n_out + n0 + rows)];
            for (r, wb) in src.chunks_exact(4).enumerate() {
                local[r * stride + wr] = u32::from_le_bytes([wb[0], wb[1], wb[2], wb[3]]);
            }
        }
        let codes = 1usize << b;
        let mut lut = [0f32; 256];
        for r in 0..rows {
            let words = &local[r * stride..r * stride + wrows];
            let dst = &mut out[r * k_in..(r + 1) * k_in];
            for g in 0..groups {
                let (sg, zg) = (s[r * groups + g], z[r * groups + g]);
                for (q, e) in lut[..codes].iter_mut().enumerate() {
                    *e = sg * (q as i32 - zg) as f32;
                }
                let (k0, k1) = (g * gs, ((g + 1) * gs).min(k_in));
                if b == 3 {
                    // 32 values in 3 words: one 96-bit LSB-first stream (§2.4)
                    for blk in k0 / 32..k1 / 32 {
                        let w = |i: usize| u128::from(words[3 * blk + i]);
                        let x = w(0) | (w(1) << 32) | (w(2) << 64);
                        for (i, d) in dst[blk * 32..blk * 32 + 32].iter_mut().enumerate() {
                            *d = lut[((x >> (3 * i)) & 7) as usize];
                        }
                    }
                } else if b == 4 {
                    // The common case, with constant shifts and a 16-entry table.
                    let lut16: [f32; 16] = std::array::from_fn(|q| lut[q]);
                    for (wr, &word) in words.iter().enumerate().take(k1 / 8).skip(k0 / 8) {
                        let d: &mut [f32; 8] = (&mut dst[wr * 8..wr * 8 + 8])
                            .try_into()
                            .expect("8 outputs per word");
                        for (i, x) in d.iter_mut().enumerate() {
                            *x = lut16[((word >> (4 * i)) & 0xF) as usize];
                        }
                    }
                } else {
                    let (pf, mask) = (block, (1u32 << b) - 1);
                    for (wr, &word) in words.iter().enumerate().take(k1 / pf).skip(k0 / pf) {
                        for (i, d) in dst[wr * pf..wr * pf + pf].iter_mut().enumerate() {
                            *d = lut[((word >> (b as usize * i)) & mask) as usize];
                        }
                    }
                }
            }
        }
        return;
    }
    if b == 3 {
        for r in 0..rows {
            let n = n0 + r;
            let dst = &mut out[r * k_in..(r + 1) * k_in];
            for (kk, d) in dst.iter_mut().enumerate() {
                let q = stream_field(|w| word_at(qw, w * n_out + n), kk, 3) as i32;
                let g = gk[kk];
                *d = s[r * groups + g] * (q - z[r * groups + g]) as f32;
            }
        }
        return;
    }
    let pf = (32 / b) as usize;
    let mask = (1u32 << b) - 1;
    for wr in 0..k_in / pf {
        for r in 0..rows {
            let word = word_at(qw, wr * n_out + n0 + r);
            let (sr, zr) = (
                &s[r * groups..(r + 1) * groups],
                &z[r * groups..(r + 1) * groups],
            );
            let dst = &mut out[r * k_in + wr * pf..r * k_in + wr * pf + pf];
            for (i, d) in dst.iter_mut().enumerate() {
                let g = gk[wr * pf + i];
                let q = ((word >> (b as usize * i)) & mask) as i32;
                *d = sr[g] * (q - zr[g]) as f32;
            }
        }
    }
}

fn awq_rows(l: &AwqLinear<'_>, n0: usize, out: &mut [f32]) {
    let p = &l.params;
    let (n_out, k_in, gs) = (p.n, p.k, p.group_size);
    let rows = out.len() / k_in;
    let wpr = n_out / 8;
    let (j0, nj) = (n0 / 8, rows / 8);
    let groups = k_in.div_ceil(gs);
    // Per-(row, group) scale and true zero, unpacked once per task.
    let mut s = vec![0f32; rows * groups];
    let mut z = vec![0i32; rows * groups];
    for g in 0..groups {
        for jj in 0..nj {
            let zw = word_at(l.qzeros.data, g * wpr + j0 + jj);
            for (c, &slot) in AWQ_REVERSE_ORDER.iter().enumerate() {
                let r = jj * 8 + c;
                z[r * groups + g] = ((zw >> (4 * slot)) & 0xF) as i32;
                s[r * groups + g] = float_at(l.scales.dtype, l.scales.data, g * n_out + n0 + r);
            }
        }
    }
    let qw = l.qweight.data;
    // qweight is [K, N/8]: gather the task's words (a contiguous run per k) into one
    // contiguous copy per word column j, row stride padded by a cache line against L1 set
    // aliasing. The runs are 4*N/8 bytes apart (a page for N = 8192), out of reach of the
    // hardware prefetchers, so each batch of AWQ_TOUCH_K runs is first touched with
    // independent loads: their cache misses overlap instead of stalling the copy one by one.
    let stride = k_in + 16;
    let mut local = vec![0u32; nj * stride];
    for kb in (0..k_in).step_by(AWQ_TOUCH_K) {
        let ke = (kb + AWQ_TOUCH_K).min(k_in);
        let mut touch = 0u8;
        for k in kb..ke {
            touch ^= qw[4 * (k * wpr + j0)];
        }
        std::hint::black_box(touch);
        for k in kb..ke {
            let run = &qw[4 * (k * wpr + j0)..4 * (k * wpr + j0 + nj)];
            for (jj, wb) in run.chunks_exact(4).enumerate() {
                local[jj * stride + k] = u32::from_le_bytes([wb[0], wb[1], wb[2], wb[3]]);
            }
        }
    }
    // Each output row is then decoded and written in one sequential pass. The decode is
    // arithmetic, not a table: `s * (q - z) as f32` exactly as the oracle, with one shift
    // per row and one (s, z) per group, so it vectorizes.
    for jj in 0..nj {
        let words = &local[jj * stride..jj * stride + k_in];
        for (c, &slot) in AWQ_REVERSE_ORDER.iter().enumerate() {
            let r = jj * 8 + c;
            let row = &mut out[r * k_in..(r + 1) * k_in];
            let sh = 4 * slot as u32;
            for g in 0..groups {
                let (k0, k1) = (g * gs, ((g + 1) * gs).min(k_in));
                awq_decode(
                    &mut row[k0..k1],
                    &words[k0..k1],
                    sh,
                    s[r * groups + g],
                    z[r * groups + g],
                );
            }
        }
    }
}

/// `dst[i] = s * (((words[i] >> sh) & 0xF) as i32 - z) as f32`: the oracle's operation.
#[inline(always)]
fn awq_decode(dst: &mut [f32], words: &[u32], sh: u32, s: f32, z: i32) {
    for (d, &w) in dst.iter_mut().zip(words) {
        // `wrapping_sub` only keeps release overflow checks out of the loop (it cannot
        // overflow: both sides are in 0..16), so the loop vectorizes.
        *d = s * (((w >> sh) & 0xF) as i32).wrapping_sub(z) as f32;
    }
}

fn intpack_rows(l: &IntPackLinear<'_>, n0: usize, out: &mut [f32]) {
    let p = &l.params;
    let k_in = p.k;
    let rows = out.len() / k_in;
    let (b, pf, groups) = (p.bits, p.per_word(), p.groups());
    let wpr = k_in.div_ceil(pf);
    let mask = (1u32 << b) - 1;
    let gk: Vec<usize> = match (&l.weight_g_idx, p.group_size) {
        (Some(gi), _) => (0..k_in).map(|c| i32_at(gi.data, c) as usize).collect(),
        (None, Some(gs)) => (0..k_in).map(|c| c / gs).collect(),
        (None, None) => vec![0; k_in],
    };
    let mut s = vec![0f32; groups];
    let mut z = vec![0i32; groups];
    for r in 0..rows {
        let n = n0 + r;
        for g in 0..groups {
            s[g] = float_at(l.weight_scale.dtype, l.weight_scale.data, n * groups + g);
            z[g] = match &l.weight_zero_point {
                Some(zp) => {
                    ((word_at(zp.data, (n / pf) * groups + g) >> (b as usize * (n % pf))) & mask)
                        as i32
                }
                None => 1 << (b - 1),
            };
        }
        let dst = &mut out[r * k_in..(r + 1) * k_in];
        let gsz = p.group_size.unwrap_or(k_in);
        if l.weight_g_idx.is_none() && (gsz % pf == 0 || gsz >= k_in) && b == 4 {
            for g in 0..groups {
                let lut: [f32; 16] = std::array::from_fn(|u| s[g] * (u as i32 - z[g]) as f32);
                let (k0, k1) = (g * gsz, ((g + 1) * gsz).min(k_in));
                for (wi, chunk) in dst[k0..k1].chunks_mut(pf).enumerate() {
                    let word = word_at(l.weight_packed.data, n * wpr + k0 / pf + wi);
                    for (i, d) in chunk.iter_mut().enumerate() {
                        *d = lut[((word >> (4 * i)) & 0xF) as usize];
                    }
                }
            }
            continue;
        }
        for (wi, chunk) in dst.chunks_mut(pf).enumerate() {
            let word = word_at(l.weight_packed.data, n * wpr + wi);
            for (i, d) in chunk.iter_mut().enumerate() {
                let g = gk[wi * pf + i];
                let u = ((word >> (b as usize * i)) & mask) as i32;
                *d = s[g] * (u - z[g]) as f32;
            }
        }
    }
}

/// Decodes one row of packed FP4 with one scale per `block` elements, via a 16-entry table
/// per block holding exactly `e2m1(code) * scale`.
fn fp4_row(
    packed: &[u8],
    scales: impl Fn(usize) -> f32,
    block: usize,
    dst: &mut [f32],
    e2m1: &[f32; 16],
) {
    for (bi, blk) in dst.chunks_mut(block).enumerate() {
        let scale = scales(bi);
        let lut: [f32; 16] = std::array::from_fn(|c| e2m1[c] * scale);
        let bytes = &packed[bi * block / 2..(bi + 1) * block / 2];
        for (pair, &byte) in blk.chunks_exact_mut(2).zip(bytes) {
            pair[0] = lut[(byte & 0x0F) as usize];
            pair[1] = lut[(byte >> 4) as usize];
        }
    }
}

fn nvfp4_rows(l: &Nvfp4Linear<'_>, n0: usize, out: &mut [f32], tb: &Tables) {
    let p = &l.params;
    let k_in = p.k;
    let rows = out.len() / k_in;
    for r in 0..rows {
        let n = n0 + r;
        let packed = &l.packed.data[n * k_in / 2..(n + 1) * k_in / 2];
        let bs = &l.block_scale.data[n * (k_in / 16)..(n + 1) * (k_in / 16)];
        let scale = |bi: usize| {
            let s = tb.e4m3[bs[bi] as usize];
            match p.convention {
                GlobalScaleConvention::Divisor => s / p.global_scale,
                GlobalScaleConvention::Multiplier => s * p.global_scale,
            }
        };
        fp4_row(
            packed,
            scale,
            16,
            &mut out[r * k_in..(r + 1) * k_in],
            &tb.e2m1,
        );
    }
}

fn mxfp4_rows(l: &Mxfp4Linear<'_>, n0: usize, out: &mut [f32], tb: &Tables) {
    let k_in = l.params.k;
    let rows = out.len() / k_in;
    for r in 0..rows {
        let n = n0 + r;
        let packed = &l.blocks.data[n * k_in / 2..(n + 1) * k_in / 2];
        let sc = &l.scales.data[n * (k_in / 32)..(n + 1) * (k_in / 32)];
        fp4_row(
            packed,
            |bi| tb.e8m0[sc[bi] as usize],
            32,
            &mut out[r * k_in..(r + 1) * k_in],
            &tb.e2m1,
        );
    }
}

fn fp8_rows(l: &Fp8Linear<'_>, n0: usize, out: &mut [f32], tb: &Tables) {
    let p = &l.params;
    let k_in = p.k;
    let rows = out.len() / k_in;
    let lut = &tb.e4m3;
    let (sd, sb) = (l.scale.dtype, l.scale.data);
    for r in 0..rows {
        let n = n0 + r;
        let src = &l.weight.data[n * k_in..(n + 1) * k_in];
        let dst = &mut out[r * k_in..(r + 1) * k_in];
        let width = match p.granularity {
            Fp8Granularity::Block { cols, .. } => cols,
            _ => k_in,
        };
        for (bi, (d, s)) in dst.chunks_mut(width).zip(src.chunks(width)).enumerate() {
            let idx = match p.granularity {
                Fp8Granularity::Tensor => 0,
                Fp8Granularity::Channel => n,
                Fp8Granularity::Block { rows: bh, cols } => (n / bh) * k_in.div_ceil(cols) + bi,
            };
            let scale = float_at(sd, sb, idx);
            for (x, &c) in d.iter_mut().zip(s) {
                *x = lut[c as usize] * scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Dtype;
    use crate::gen::rng::SplitMix64;
    use crate::oracle::awq::dequant_awq;
    use crate::quant::linear::{AwqParams, QTensor};

    fn bytes(rng: &mut SplitMix64, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.next_u64() as u8).collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// AWQ with N not a multiple of the task height, several group sizes, F16 scales that
    /// include infinities, NaN, zeros and subnormals, whole layer and row slices.
    #[test]
    fn awq_matches_oracle_bit_for_bit() {
        let mut rng = SplitMix64::new(7);
        for &(n, k, gs) in &[(200, 96, 32), (200, 96, 96), (8, 8, 8), (264, 64, 16)] {
            let p = AwqParams {
                n,
                k,
                group_size: gs,
            };
            let qweight = bytes(&mut rng, k * n / 8 * 4);
            let qzeros = bytes(&mut rng, k / gs * n / 8 * 4);
            // Random f16 bit patterns: every class of value, NaN and infinity included.
            let scales = bytes(&mut rng, k / gs * n * 2);
            let t = |name: &str, dtype, shape: Vec<u64>, data| QTensor {
                name: name.into(),
                dtype,
                shape,
                data,
            };
            let (n64, k64, g64) = (n as u64, k as u64, (k / gs) as u64);
            let layer = QuantizedLinear::Awq(AwqLinear {
                prefix: "l".into(),
                params: p,
                qweight: t("l.qweight", Dtype::I32, vec![k64, n64 / 8], &qweight),
                qzeros: t("l.qzeros", Dtype::I32, vec![g64, n64 / 8], &qzeros),
                scales: t("l.scales", Dtype::F16, vec![g64, n64], &scales),
            });
            let want = dequant_awq(&p, &qweight, &qzeros, &scales, Dtype::F16);
            assert_eq!(bits(&dequant(&layer)), bits(&want), "{n}x{k} g{gs}");
            for first in (0..n).step_by(ROW_ALIGN) {
                let rows = (n - first).min(40);
                let mut out = vec![0f32; rows * k];
                dequant_rows_into(&layer, first, &mut out);
                assert_eq!(
                    bits(&out),
                    bits(&want[first * k..(first + rows) * k]),
                    "{n}x{k} g{gs} rows {first}.."
                );
            }
        }
    }
}
