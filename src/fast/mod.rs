//! Fast CPU dequantization: multi-threaded (rayon, over blocks of output rows), table-driven
//! and branch-free in the inner loops. Every element is computed with exactly the same f32
//! operations, in the same order, as [`crate::oracle`], so the results are bit-equal; tests
//! in `tests/quant_props.rs` and below check that over random layers of every format.

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
    out.par_chunks_mut(ROWS_PER_TASK * k)
        .enumerate()
        .for_each(|(t, chunk)| {
            let n0 = first_row + t * ROWS_PER_TASK;
            match layer {
                QuantizedLinear::Gptq(l) => gptq_rows(l, n0, chunk),
                QuantizedLinear::Awq(l) => awq_rows(l, n0, chunk),
                QuantizedLinear::IntPack(l) => intpack_rows(l, n0, chunk),
                QuantizedLinear::Nvfp4(l) => nvfp4_rows(l, n0, chunk),
                QuantizedLinear::Mxfp4(l) => mxfp4_rows(l, n0, chunk),
                QuantizedLinear::Fp8(l) => fp8_rows(l, n0, chunk),
            }
        });
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
    let (n_out, k_in) = (p.n, p.k);
    let rows = out.len() / k_in;
    let wpr = n_out / 8;
    let groups = k_in / p.group_size;
    for j in n0 / 8..(n0 + rows) / 8 {
        for g in 0..groups {
            let zw = word_at(l.qzeros.data, g * wpr + j);
            // Per column c of this word: scale and zero of group g.
            let mut sc = [0f32; 8];
            let mut zc = [0i32; 8];
            for c in 0..8 {
                sc[c] = float_at(l.scales.dtype, l.scales.data, g * n_out + 8 * j + c);
                zc[c] = ((zw >> (4 * AWQ_REVERSE_ORDER[c])) & 0xF) as i32;
            }
            for k in g * p.group_size..(g + 1) * p.group_size {
                let w = word_at(l.qweight.data, k * wpr + j);
                for c in 0..8 {
                    let q = ((w >> (4 * AWQ_REVERSE_ORDER[c])) & 0xF) as i32;
                    out[(8 * j + c - n0) * k_in + k] = sc[c] * (q - zc[c]) as f32;
                }
            }
        }
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
fn fp4_row(packed: &[u8], scales: impl Fn(usize) -> f32, block: usize, dst: &mut [f32]) {
    for (bi, blk) in dst.chunks_mut(block).enumerate() {
        let scale = scales(bi);
        let lut: [f32; 16] = std::array::from_fn(|c| e2m1_to_f32(c as u8) * scale);
        let bytes = &packed[bi * block / 2..(bi + 1) * block / 2];
        for (pair, &byte) in blk.chunks_exact_mut(2).zip(bytes) {
            pair[0] = lut[(byte & 0x0F) as usize];
            pair[1] = lut[(byte >> 4) as usize];
        }
    }
}

fn nvfp4_rows(l: &Nvfp4Linear<'_>, n0: usize, out: &mut [f32]) {
    let p = &l.params;
    let k_in = p.k;
    let rows = out.len() / k_in;
    for r in 0..rows {
        let n = n0 + r;
        let packed = &l.packed.data[n * k_in / 2..(n + 1) * k_in / 2];
        let bs = &l.block_scale.data[n * (k_in / 16)..(n + 1) * (k_in / 16)];
        let scale = |bi: usize| {
            let s = e4m3fn_to_f32(bs[bi]);
            match p.convention {
                GlobalScaleConvention::Divisor => s / p.global_scale,
                GlobalScaleConvention::Multiplier => s * p.global_scale,
            }
        };
        fp4_row(packed, scale, 16, &mut out[r * k_in..(r + 1) * k_in]);
    }
}

fn mxfp4_rows(l: &Mxfp4Linear<'_>, n0: usize, out: &mut [f32]) {
    let k_in = l.params.k;
    let rows = out.len() / k_in;
    for r in 0..rows {
        let n = n0 + r;
        let packed = &l.blocks.data[n * k_in / 2..(n + 1) * k_in / 2];
        let sc = &l.scales.data[n * (k_in / 32)..(n + 1) * (k_in / 32)];
        fp4_row(
            packed,
            |bi| e8m0_to_f32(sc[bi]),
            32,
            &mut out[r * k_in..(r + 1) * k_in],
        );
    }
}

fn fp8_rows(l: &Fp8Linear<'_>, n0: usize, out: &mut [f32]) {
    let p = &l.params;
    let k_in = p.k;
    let rows = out.len() / k_in;
    let lut: [f32; 256] = std::array::from_fn(|c| e4m3fn_to_f32(c as u8));
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
