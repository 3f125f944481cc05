//! Quantizers: an f32 `[N, K]` matrix -> one format's exact on-disk tensors, plus the
//! quantizer's own f32 reconstruction, computed with the same f32 operations the oracle
//! uses, so `oracle(tensors) == recon` bit for bit is a meaningful property to test.

use super::encode::{e8m0_for_amax, f32_to_e2m1, f32_to_e4m3fn};
use super::rng::SplitMix64;
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::oracle::awq::AWQ_ORDER;
use crate::oracle::minifloat::{e2m1_to_f32, e4m3fn_to_f32, e8m0_to_f32};
use crate::quant::linear::{Fp8Granularity, GlobalScaleConvention, OwnedTensor};
use half::{bf16, f16};

/// What a quantizer produces.
#[derive(Debug, Clone)]
pub struct QuantizedLayer {
    /// The on-disk tensors, named `<prefix>.<suffix>` (MXFP4: `<prefix>_blocks`/`_scales`).
    pub tensors: Vec<OwnedTensor>,
    /// The quantizer's own reconstruction, f32 `[rows, K]`.
    pub recon: Vec<f32>,
    /// Rows of `recon`.
    pub rows: usize,
    /// Columns of `recon`.
    pub cols: usize,
}

fn gen_err(msg: String) -> Diagnostic {
    Diagnostic::error("GEN001", msg)
        .advice("choose a shape and group size the format allows (quant_formats.md §13)")
}

/// Bytes of u32 words, little-endian.
pub fn words_to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
fn f16_bytes(v: &[f16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn bf16_bytes(v: &[bf16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Packs `values` (each < 2^bits) into a continuous LSB-first stream of 32-bit words
/// (quant_formats.md §2.3, §2.4; for b = 3 fields straddle word boundaries).
pub fn pack_stream(values: &[u32], bits: u32) -> Vec<u32> {
    let mut words = vec![0u32; (values.len() * bits as usize).div_ceil(32)];
    for (i, &v) in values.iter().enumerate() {
        let bit = i * bits as usize;
        let (j, off) = (bit / 32, (bit % 32) as u32);
        let v = u64::from(v & ((1u32 << bits) - 1)) << off;
        words[j] |= v as u32;
        if off + bits > 32 {
            words[j + 1] |= (v >> 32) as u32;
        }
    }
    words
}

/// Column groups: `perm` order (identity unless act-order) chunked by `group`; returns
/// `g_idx[k]` (quant_formats.md §2.6: g_idx gives each original column its group).
pub fn group_index(k: usize, group: usize, act_order: bool, rng: &mut SplitMix64) -> Vec<i32> {
    let mut perm: Vec<usize> = (0..k).collect();
    if act_order {
        rng.shuffle(&mut perm);
    }
    let mut g_idx = vec![0i32; k];
    for (j, &col) in perm.iter().enumerate() {
        g_idx[col] = (j / group) as i32;
    }
    g_idx
}

/// GPTQ quantizer options (quant_formats.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GptqOptions {
    /// 2, 3, 4 or 8.
    pub bits: u32,
    /// -1 (one group) or > 0.
    pub group_size: i64,
    /// Symmetric (zero = 2^(b-1)).
    pub sym: bool,
    /// desc_act: random column order, recorded in g_idx.
    pub act_order: bool,
    /// `gptq_v2` (true zeros) instead of v1 (zeros minus one).
    pub v2: bool,
}

/// GPTQ: `qweight`, `qzeros`, `scales` (F16), `g_idx` (always written, as AutoGPTQ does).
///
/// v1 cannot store a zero of 0 (§2.5), so for v1 asymmetric groups the zero is clamped to
/// at least 1; the reconstruction uses the zero actually stored.
pub fn quantize_gptq(
    prefix: &str,
    w: &[f32],
    n: usize,
    k: usize,
    o: &GptqOptions,
    rng: &mut SplitMix64,
) -> Result<QuantizedLayer, Diagnostic> {
    let b = o.bits;
    if ![2, 3, 4, 8].contains(&b) {
        return Err(gen_err(format!("GPTQ bits must be 2, 3, 4 or 8, got {b}")));
    }
    let align = if b == 3 { 32 } else { (32 / b) as usize };
    if k % align != 0 || n % align != 0 || k == 0 || n == 0 {
        return Err(gen_err(format!(
            "GPTQ {b}-bit needs N and K to be non-zero multiples of {align}, got N={n} K={k}"
        )));
    }
    let g = match o.group_size {
        -1 => k,
        g if g > 0 => g as usize,
        g => {
            return Err(gen_err(format!(
                "GPTQ group_size must be -1 or > 0, got {g}"
            )))
        }
    };
    let groups = k.div_ceil(g);
    let g_idx = group_index(k, g, o.act_order, rng);
    let maxq = (1i32 << b) - 1;
    let mut scales = vec![f16::ZERO; groups * n];
    let mut zeros = vec![0i32; groups * n];
    let mut q = vec![0u32; k * n]; // [K, N]
    let mut recon = vec![0f32; n * k];
    let members: Vec<Vec<usize>> = (0..groups)
        .map(|gi| (0..k).filter(|&c| g_idx[c] as usize == gi).collect())
        .collect();
    for (gi, cols) in members.iter().enumerate() {
        for row in 0..n {
            let vals = cols.iter().map(|&c| w[row * k + c]);
            // AutoGPTQ quantizer.py: the range always includes 0.
            let mut xmin = vals.clone().fold(0f32, f32::min);
            let mut xmax = vals.fold(0f32, f32::max);
            if o.sym {
                xmax = xmax.max(xmin.abs());
                if xmin < 0.0 {
                    xmin = -xmax;
                }
            }
            if xmin == 0.0 && xmax == 0.0 {
                (xmin, xmax) = (-1.0, 1.0);
            }
            let scale = (xmax - xmin) / maxq as f32;
            let s16 = f16::from_f32(scale).max(f16::MIN_POSITIVE);
            let sf = s16.to_f32();
            let mut zero = if o.sym {
                (maxq + 1) / 2
            } else {
                (-xmin / sf).round() as i32
            };
            zero = zero.clamp(if o.v2 { 0 } else { 1 }, maxq);
            scales[gi * n + row] = s16;
            zeros[gi * n + row] = zero;
            for &c in cols {
                let code = ((w[row * k + c] / sf).round() as i32 + zero).clamp(0, maxq);
                q[c * n + row] = code as u32;
                recon[row * k + c] = sf * (code - zero) as f32;
            }
        }
    }
    // qweight [K*b/32, N]: column `row` is one stream along K.
    let wr = k * b as usize / 32;
    let mut qweight = vec![0u32; wr * n];
    for row in 0..n {
        let col: Vec<u32> = (0..k).map(|c| q[c * n + row]).collect();
        for (r, word) in pack_stream(&col, b).into_iter().enumerate() {
            qweight[r * n + row] = word;
        }
    }
    // qzeros [groups, N*b/32]: row gi is one stream along N; v1 stores zero - 1 (§2.5).
    let mut qzeros = Vec::with_capacity(groups * n * b as usize / 32);
    for gi in 0..groups {
        let stored: Vec<u32> = (0..n)
            .map(|row| (zeros[gi * n + row] - i32::from(!o.v2)) as u32 & maxq as u32)
            .collect();
        qzeros.extend(pack_stream(&stored, b));
    }
    let tensors = vec![
        OwnedTensor::new(
            format!("{prefix}.qweight"),
            Dtype::I32,
            vec![wr as u64, n as u64],
            words_to_bytes(&qweight),
        ),
        OwnedTensor::new(
            format!("{prefix}.qzeros"),
            Dtype::I32,
            vec![groups as u64, (n * b as usize / 32) as u64],
            words_to_bytes(&qzeros),
        ),
        OwnedTensor::new(
            format!("{prefix}.scales"),
            Dtype::F16,
            vec![groups as u64, n as u64],
            f16_bytes(&scales),
        ),
        OwnedTensor::new(
            format!("{prefix}.g_idx"),
            Dtype::I32,
            vec![k as u64],
            i32_bytes(&g_idx),
        ),
    ];
    Ok(QuantizedLayer {
        tensors,
        recon,
        rows: n,
        cols: k,
    })
}

/// Packs one row of 4-bit column values (length a multiple of 8) with AWQ's interleave:
/// slot `i` of word `j` holds column `8j + AWQ_ORDER[i]` (quant_formats.md §3.3).
pub fn awq_pack_row(vals: &[u32]) -> Vec<u32> {
    vals.chunks(8)
        .map(|c| {
            (0..8).fold(0u32, |acc, slot| {
                acc | ((c[AWQ_ORDER[slot]] & 0xF) << (4 * slot))
            })
        })
        .collect()
}

/// AWQ GEMM 4-bit (quant_formats.md §3): asymmetric, true zeros, interleaved packing.
pub fn quantize_awq(
    prefix: &str,
    w: &[f32],
    n: usize,
    k: usize,
    group_size: i64,
) -> Result<QuantizedLayer, Diagnostic> {
    let g = match group_size {
        -1 => k,
        g if g > 0 => g as usize,
        g => {
            return Err(gen_err(format!(
                "AWQ group_size must be -1 or > 0, got {g}"
            )))
        }
    };
    if n % 8 != 0 || k % g != 0 || n == 0 || k == 0 {
        return Err(gen_err(format!(
            "AWQ needs N % 8 == 0 and K % G == 0, got N={n} K={k} G={g}"
        )));
    }
    let groups = k / g;
    let mut scales = vec![f16::ZERO; groups * n];
    let mut zeros = vec![0u32; groups * n];
    let mut q = vec![0u32; k * n];
    let mut recon = vec![0f32; n * k];
    for gi in 0..groups {
        for row in 0..n {
            let vals = &w[row * k + gi * g..row * k + gi * g + g];
            let max = vals.iter().copied().fold(f32::MIN, f32::max);
            let min = vals.iter().copied().fold(f32::MAX, f32::min);
            // AutoAWQ pseudo_quantize_tensor
            let scale = (max - min).max(1e-5) / 15.0;
            let s16 = f16::from_f32(scale).max(f16::MIN_POSITIVE);
            let sf = s16.to_f32();
            let zero = (-(min / sf).round() as i32).clamp(0, 15);
            scales[gi * n + row] = s16;
            zeros[gi * n + row] = zero as u32;
            for c in gi * g..gi * g + g {
                let code = ((w[row * k + c] / sf).round() as i32 + zero).clamp(0, 15);
                q[c * n + row] = code as u32;
                recon[row * k + c] = sf * (code - zero) as f32;
            }
        }
    }
    let qweight: Vec<u32> = q.chunks(n).flat_map(awq_pack_row).collect();
    let qzeros: Vec<u32> = zeros.chunks(n).flat_map(awq_pack_row).collect();
    let tensors = vec![
        OwnedTensor::new(
            format!("{prefix}.qweight"),
            Dtype::I32,
            vec![k as u64, (n / 8) as u64],
            words_to_bytes(&qweight),
        ),
        OwnedTensor::new(
            format!("{prefix}.qzeros"),
            Dtype::I32,
            vec![groups as u64, (n / 8) as u64],
            words_to_bytes(&qzeros),
        ),
        OwnedTensor::new(
            format!("{prefix}.scales"),
            Dtype::F16,
            vec![groups as u64, n as u64],
            f16_bytes(&scales),
        ),
    ];
    Ok(QuantizedLayer {
        tensors,
        recon,
        rows: n,
        cols: k,
    })
}

/// compressed-tensors pack-quantized options (quant_formats.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntPackOptions {
    /// 4 or 8.
    pub bits: u32,
    /// Group size; `None` = channel strategy.
    pub group_size: Option<usize>,
    /// Symmetric (no zero point).
    pub symmetric: bool,
    /// actorder=group: random column order recorded in `weight_g_idx`.
    pub act_order: bool,
}

/// compressed-tensors pack-quantized int4/int8 with BF16 scales; ragged K is zero-padded.
pub fn quantize_intpack(
    prefix: &str,
    w: &[f32],
    n: usize,
    k: usize,
    o: &IntPackOptions,
    rng: &mut SplitMix64,
) -> Result<QuantizedLayer, Diagnostic> {
    let b = o.bits;
    if b != 4 && b != 8 {
        return Err(gen_err(format!(
            "pack-quantized bits must be 4 or 8, got {b}"
        )));
    }
    if n == 0 || k == 0 || o.group_size == Some(0) {
        return Err(gen_err(format!(
            "pack-quantized needs N, K and G > 0, got N={n} K={k}"
        )));
    }
    let pf = (32 / b) as usize;
    let (qmin, qmax) = (-(1i32 << (b - 1)), (1i32 << (b - 1)) - 1);
    let off = 1i32 << (b - 1);
    let g = o.group_size.unwrap_or(k);
    let groups = k.div_ceil(g);
    let g_idx = group_index(k, g, o.act_order && o.group_size.is_some(), rng);
    let mut scales = vec![bf16::ZERO; n * groups];
    let mut uz = vec![0u32; n * groups];
    let mut u = vec![0u32; n * k];
    let mut recon = vec![0f32; n * k];
    for row in 0..n {
        for gi in 0..groups {
            let cols: Vec<usize> = (0..k).filter(|&c| g_idx[c] as usize == gi).collect();
            let min = cols.iter().map(|&c| w[row * k + c]).fold(0f32, f32::min);
            let max = cols.iter().map(|&c| w[row * k + c]).fold(0f32, f32::max);
            let scale = if o.symmetric {
                max.max(-min) / ((qmax - qmin) as f32 / 2.0)
            } else {
                (max - min) / (qmax - qmin) as f32
            };
            let mut sb = bf16::from_f32(scale);
            if sb.to_f32() == 0.0 || !sb.to_f32().is_finite() {
                sb = bf16::ONE;
            }
            let sf = sb.to_f32();
            let zp = if o.symmetric {
                0
            } else {
                ((qmin as f32 - min / sf).round() as i32).clamp(qmin, qmax)
            };
            scales[row * groups + gi] = sb;
            uz[row * groups + gi] = (zp + off) as u32;
            for &c in &cols {
                let code = ((w[row * k + c] / sf).round() as i32 + zp).clamp(qmin, qmax);
                u[row * k + c] = (code + off) as u32;
                recon[row * k + c] = sf * ((code + off) - (zp + off)) as f32;
            }
        }
    }
    let wpr = k.div_ceil(pf);
    let mut packed = Vec::with_capacity(n * wpr);
    for row in 0..n {
        let mut vals = u[row * k..row * k + k].to_vec();
        vals.resize(wpr * pf, 0);
        packed.extend(pack_stream(&vals, b));
    }
    let mut tensors = vec![
        OwnedTensor::new(
            format!("{prefix}.weight_packed"),
            Dtype::I32,
            vec![n as u64, wpr as u64],
            words_to_bytes(&packed),
        ),
        OwnedTensor::new(
            format!("{prefix}.weight_scale"),
            Dtype::BF16,
            vec![n as u64, groups as u64],
            bf16_bytes(&scales),
        ),
        OwnedTensor::new(
            format!("{prefix}.weight_shape"),
            Dtype::I64,
            vec![2],
            [n as i64, k as i64]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        ),
    ];
    if !o.symmetric {
        // packed along dim 0: word [r, gi] holds rows r*pf .. r*pf+pf-1 of column gi
        let zr = n.div_ceil(pf);
        let mut zw = vec![0u32; zr * groups];
        for row in 0..n {
            for gi in 0..groups {
                zw[(row / pf) * groups + gi] |= uz[row * groups + gi] << (b as usize * (row % pf));
            }
        }
        tensors.push(OwnedTensor::new(
            format!("{prefix}.weight_zero_point"),
            Dtype::I32,
            vec![zr as u64, groups as u64],
            words_to_bytes(&zw),
        ));
    }
    if o.act_order && o.group_size.is_some() {
        tensors.push(OwnedTensor::new(
            format!("{prefix}.weight_g_idx"),
            Dtype::I32,
            vec![k as u64],
            i32_bytes(&g_idx),
        ));
    }
    Ok(QuantizedLayer {
        tensors,
        recon,
        rows: n,
        cols: k,
    })
}

/// NVFP4 in either convention (quant_formats.md §6.4 divisor / §7.3 multiplier).
pub fn quantize_nvfp4(
    prefix: &str,
    w: &[f32],
    n: usize,
    k: usize,
    convention: GlobalScaleConvention,
) -> Result<QuantizedLayer, Diagnostic> {
    if k % 16 != 0 || n == 0 || k == 0 {
        return Err(gen_err(format!(
            "NVFP4 needs K % 16 == 0 and N > 0, got N={n} K={k}"
        )));
    }
    let mut amax = w.iter().fold(0f32, |a, x| a.max(x.abs()));
    if amax == 0.0 {
        amax = 1.0;
    }
    let global = match convention {
        GlobalScaleConvention::Divisor => 448.0 * 6.0 / amax,
        GlobalScaleConvention::Multiplier => amax / (6.0 * 448.0),
    };
    let mut packed = vec![0u8; n * k / 2];
    let mut bscale = vec![0u8; n * k / 16];
    let mut recon = vec![0f32; n * k];
    for row in 0..n {
        for bi in 0..k / 16 {
            let blk = &w[row * k + bi * 16..row * k + bi * 16 + 16];
            let bamax = blk.iter().fold(0f32, |a, x| a.max(x.abs()));
            let code = match convention {
                GlobalScaleConvention::Divisor => {
                    let c = f32_to_e4m3fn((global * bamax / 6.0).clamp(-448.0, 448.0));
                    if e4m3fn_to_f32(c) == 0.0 {
                        0x20
                    } else {
                        c
                    } // 0.125
                }
                GlobalScaleConvention::Multiplier => {
                    let c = f32_to_e4m3fn(bamax / (6.0 * global));
                    if e4m3fn_to_f32(c) == 0.0 {
                        0x38
                    } else {
                        c
                    } // 1.0
                }
            };
            bscale[row * (k / 16) + bi] = code;
            let s = e4m3fn_to_f32(code);
            let scale = match convention {
                GlobalScaleConvention::Divisor => s / global,
                GlobalScaleConvention::Multiplier => s * global,
            };
            for (i, &x) in blk.iter().enumerate() {
                let kk = bi * 16 + i;
                let c = f32_to_e2m1(x / scale);
                packed[row * k / 2 + kk / 2] |= if kk % 2 == 0 { c } else { c << 4 };
                recon[row * k + kk] = e2m1_to_f32(c) * scale;
            }
        }
    }
    let nk = [n as u64, (k / 2) as u64];
    let ns = vec![n as u64, (k / 16) as u64];
    let tensors = match convention {
        GlobalScaleConvention::Divisor => vec![
            OwnedTensor::new(
                format!("{prefix}.weight_packed"),
                Dtype::U8,
                nk.to_vec(),
                packed,
            ),
            OwnedTensor::new(format!("{prefix}.weight_scale"), Dtype::F8_E4M3, ns, bscale),
            OwnedTensor::new(
                format!("{prefix}.weight_global_scale"),
                Dtype::F32,
                vec![1],
                f32_bytes(&[global]),
            ),
        ],
        GlobalScaleConvention::Multiplier => vec![
            OwnedTensor::new(format!("{prefix}.weight"), Dtype::U8, nk.to_vec(), packed),
            OwnedTensor::new(format!("{prefix}.weight_scale"), Dtype::F8_E4M3, ns, bscale),
            OwnedTensor::new(
                format!("{prefix}.weight_scale_2"),
                Dtype::F32,
                vec![],
                f32_bytes(&[global]),
            ),
            OwnedTensor::new(
                format!("{prefix}.input_scale"),
                Dtype::F32,
                vec![],
                f32_bytes(&[1.0 / 448.0]),
            ),
        ],
    };
    Ok(QuantizedLayer {
        tensors,
        recon,
        rows: n,
        cols: k,
    })
}

/// MXFP4 gpt-oss layout (quant_formats.md §8): `w` is `[experts * n, k]`.
pub fn quantize_mxfp4(
    prefix: &str,
    w: &[f32],
    experts: usize,
    n: usize,
    k: usize,
) -> Result<QuantizedLayer, Diagnostic> {
    if k % 32 != 0 || n == 0 || k == 0 || experts == 0 {
        return Err(gen_err(format!(
            "MXFP4 needs K % 32 == 0 and N, E > 0, got E={experts} N={n} K={k}"
        )));
    }
    let rows = experts * n;
    let mut blocks = vec![0u8; rows * k / 2];
    let mut scales = vec![0u8; rows * k / 32];
    let mut recon = vec![0f32; rows * k];
    for r in 0..rows {
        for bi in 0..k / 32 {
            let blk = &w[r * k + bi * 32..r * k + bi * 32 + 32];
            let e = e8m0_for_amax(blk.iter().fold(0f32, |a, x| a.max(x.abs())));
            scales[r * (k / 32) + bi] = e;
            let x = e8m0_to_f32(e);
            for (i, &v) in blk.iter().enumerate() {
                let kk = bi * 32 + i;
                let c = f32_to_e2m1(v / x);
                blocks[r * k / 2 + kk / 2] |= if kk % 2 == 0 { c } else { c << 4 };
                recon[r * k + kk] = e2m1_to_f32(c) * x;
            }
        }
    }
    let (e, nn, nb) = (experts as u64, n as u64, (k / 32) as u64);
    let tensors = vec![
        OwnedTensor::new(
            format!("{prefix}_blocks"),
            Dtype::U8,
            vec![e, nn, nb, 16],
            blocks,
        ),
        OwnedTensor::new(
            format!("{prefix}_scales"),
            Dtype::U8,
            vec![e, nn, nb],
            scales,
        ),
    ];
    Ok(QuantizedLayer {
        tensors,
        recon,
        rows,
        cols: k,
    })
}

/// FP8 E4M3 with F32 scales `amax/448` per tensor (`weight_scale` shape `[]`), per channel
/// (`weight_scale [N,1]`) or per block (`weight_scale_inv [ceil(N/bh), ceil(K/bw)]`).
pub fn quantize_fp8(
    prefix: &str,
    w: &[f32],
    n: usize,
    k: usize,
    granularity: Fp8Granularity,
) -> Result<QuantizedLayer, Diagnostic> {
    if n == 0 || k == 0 {
        return Err(gen_err(format!("FP8 needs N, K > 0, got N={n} K={k}")));
    }
    let (bh, bw) = match granularity {
        Fp8Granularity::Tensor => (n, k),
        Fp8Granularity::Channel => (1, k),
        Fp8Granularity::Block { rows, cols } if rows > 0 && cols > 0 => (rows, cols),
        Fp8Granularity::Block { .. } => return Err(gen_err("FP8 block size must be > 0".into())),
    };
    let (sr, sc) = (n.div_ceil(bh), k.div_ceil(bw));
    let mut scales = vec![0f32; sr * sc];
    for (bi, s) in scales.iter_mut().enumerate() {
        let (r0, c0) = ((bi / sc) * bh, (bi % sc) * bw);
        let mut amax = 0f32;
        for r in r0..(r0 + bh).min(n) {
            for c in c0..(c0 + bw).min(k) {
                amax = amax.max(w[r * k + c].abs());
            }
        }
        *s = if amax == 0.0 { 1.0 } else { amax / 448.0 };
    }
    let mut codes = vec![0u8; n * k];
    let mut recon = vec![0f32; n * k];
    for r in 0..n {
        for c in 0..k {
            let s = scales[(r / bh) * sc + c / bw];
            let code = f32_to_e4m3fn((w[r * k + c] / s).clamp(-448.0, 448.0));
            codes[r * k + c] = code;
            recon[r * k + c] = e4m3fn_to_f32(code) * s;
        }
    }
    let (name, shape) = match granularity {
        Fp8Granularity::Tensor => ("weight_scale", vec![]),
        Fp8Granularity::Channel => ("weight_scale", vec![n as u64, 1]),
        Fp8Granularity::Block { .. } => ("weight_scale_inv", vec![sr as u64, sc as u64]),
    };
    let tensors = vec![
        OwnedTensor::new(
            format!("{prefix}.weight"),
            Dtype::F8_E4M3,
            vec![n as u64, k as u64],
            codes,
        ),
        OwnedTensor::new(
            format!("{prefix}.{name}"),
            Dtype::F32,
            shape,
            f32_bytes(&scales),
        ),
    ];
    Ok(QuantizedLayer {
        tensors,
        recon,
        rows: n,
        cols: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_stream_known_answers() {
        assert_eq!(pack_stream(&[1, 2, 3, 4, 5, 6, 7, 8], 4), vec![0x8765_4321]);
        let v: Vec<u32> = (0..32).map(|i| i % 8).collect();
        assert_eq!(
            pack_stream(&v, 3),
            vec![0x88FA_C688, 0xC688_FAC6, 0xFAC6_88FA]
        );
    }

    #[test]
    fn gptq_v1_sym_zero_words_are_0x77777777() {
        let mut rng = SplitMix64::new(3);
        let w = rng.weights(8, 32, 0.1);
        let o = GptqOptions {
            bits: 4,
            group_size: 16,
            sym: true,
            act_order: false,
            v2: false,
        };
        let l = quantize_gptq("p", &w, 8, 32, &o, &mut rng).unwrap();
        let qz = &l.tensors[1].bytes;
        assert!(qz.chunks(4).all(|c| c == 0x7777_7777u32.to_le_bytes()));
    }

    #[test]
    fn awq_pack_known_answer_0x75316420() {
        assert_eq!(awq_pack_row(&[0, 1, 2, 3, 4, 5, 6, 7]), vec![0x7531_6420]);
    }
}
