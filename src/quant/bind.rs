//! Binding: one layer prefix + the detected scheme + a tensor lookup -> a validated
//! [`QuantizedLinear`], or diagnostics naming each offending tensor.

use super::linear::*;
use super::scheme::{Layout, QuantScheme};
use crate::container::byte_count;
use crate::container::header::MAX_DIM;
use crate::diag::Diagnostic;
use crate::dtype::Dtype;
use crate::oracle::minifloat::e4m3fn_to_f32;

/// Collects findings while binding one layer.
struct Ctx<'s, 'a, L: TensorLookup<'a>> {
    prefix: &'s str,
    lookup: &'s L,
    diags: Vec<Diagnostic>,
    _p: std::marker::PhantomData<&'a ()>,
}

fn shape_str(s: &[u64]) -> String {
    format!(
        "[{}]",
        s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
    )
}

impl<'a, L: TensorLookup<'a>> Ctx<'_, 'a, L> {
    fn name(&self, suffix: &str) -> String {
        if suffix.starts_with('_') {
            format!("{}{suffix}", self.prefix)
        } else {
            format!("{}.{suffix}", self.prefix)
        }
    }

    /// The tensor `<prefix><suffix>`, when present and its bytes are exactly what its shape
    /// and dtype need (QNT028 otherwise: a lookup that is not a validated container, e.g. a
    /// caller's closure, must not let decoders index past the data).
    fn opt(&mut self, suffix: &str) -> Option<QTensor<'a>> {
        let t = self.lookup.tensor(&self.name(suffix))?;
        if let Some(d) = t.shape.iter().find(|&&d| d > MAX_DIM) {
            // A zero elsewhere in the shape makes the byte count 0 whatever this is, and
            // the binders multiply dimensions: keep the container's limit.
            self.diags.push(
                Diagnostic::error(
                    "QNT028",
                    format!("{} has dimension {d}, above 2^48", t.name),
                )
                .tensor(t.name.clone())
                .advice("the tensor's shape is corrupt; re-read it from a validated file"),
            );
            return None;
        }
        match byte_count(&t.shape, t.dtype) {
            Ok(need) if need == t.data.len() as u64 => Some(t),
            need => {
                let need =
                    need.map_or_else(|_| "an impossible number of".to_string(), |n| n.to_string());
                self.diags.push(
                    Diagnostic::error(
                        "QNT028",
                        format!(
                            "{} holds {} bytes, but shape {} of {} needs {need} bytes",
                            t.name,
                            t.data.len(),
                            shape_str(&t.shape),
                            t.dtype
                        ),
                    )
                    .tensor(t.name.clone())
                    .advice("the tensor's bytes do not match its header; re-read it from a validated file"),
                );
                None
            }
        }
    }

    fn req(&mut self, suffix: &str, why: &str) -> Option<QTensor<'a>> {
        if self.lookup.tensor(&self.name(suffix)).is_none() {
            self.diags.push(
                Diagnostic::error("QNT010", format!("missing tensor {} ({why})", self.name(suffix)))
                    .tensor(self.name(suffix))
                    .advice("the checkpoint is incomplete or the detected scheme is wrong; re-export the layer"),
            );
            return None;
        }
        self.opt(suffix)
    }

    /// Checks the dtype is one of `allowed`; false (with QNT011) otherwise.
    fn dtype(&mut self, t: &QTensor<'a>, allowed: &[Dtype], spec: &str) -> bool {
        if allowed.contains(&t.dtype) {
            return true;
        }
        let want = allowed
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(" or ");
        self.diags.push(
            Diagnostic::error(
                "QNT011",
                format!("{} has dtype {}, expected {want} ({spec})", t.name, t.dtype),
            )
            .tensor(t.name.clone())
            .advice("the tensor was written with the wrong element type; re-export it"),
        );
        false
    }

    /// Checks the shape equals `want`; false (with QNT012) otherwise.
    fn shape(&mut self, t: &QTensor<'a>, want: &[u64], spec: &str) -> bool {
        if t.shape == want {
            return true;
        }
        self.diags.push(
            Diagnostic::error(
                "QNT012",
                format!("{} has shape {}, expected {} ({spec})", t.name, shape_str(&t.shape), shape_str(want)),
            )
            .tensor(t.name.clone())
            .advice("shape disagrees with N, K, group size or bits from the config; check group_size and bits"),
        );
        false
    }

    fn rank(&mut self, t: &QTensor<'a>, rank: usize, spec: &str) -> bool {
        if t.shape.len() == rank {
            return true;
        }
        self.diags.push(
            Diagnostic::error(
                "QNT012",
                format!(
                    "{} has rank {}, expected {rank} ({spec})",
                    t.name,
                    t.shape.len()
                ),
            )
            .tensor(t.name.clone())
            .advice("the tensor layout is not the one the config names"),
        );
        false
    }

    fn error(&mut self, code: &'static str, tensor: &str, msg: String, advice: &str) {
        self.diags
            .push(Diagnostic::error(code, msg).tensor(tensor).advice(advice));
    }

    /// Validates an I32 g_idx of length k with values in [0, groups).
    fn g_idx(&mut self, t: &QTensor<'a>, k: u64, groups: usize) -> bool {
        if !(self.dtype(t, &[Dtype::I32], "g_idx is I32") & self.shape(t, &[k], "g_idx is [K]")) {
            return false;
        }
        let bad = (0..k as usize)
            .map(|i| i32_at(t.data, i))
            .find(|&g| g < 0 || g as usize >= groups);
        if let Some(g) = bad {
            self.error(
                "QNT016",
                &t.name,
                format!("{} holds group {g}, outside [0, {groups})", t.name),
                "g_idx must index an existing scale row; the file is corrupt or paired with the wrong group size",
            );
            return false;
        }
        true
    }
}

const FLOAT_SCALES: [Dtype; 3] = [Dtype::F16, Dtype::BF16, Dtype::F32];

/// Binds the Linear at `prefix` (for MXFP4: the prefix before `_blocks`) under `scheme`.
/// Returns the bound layer when every check passed, and all findings.
pub fn bind<'a, L: TensorLookup<'a>>(
    scheme: &QuantScheme,
    prefix: &str,
    lookup: &L,
) -> (Option<QuantizedLinear<'a>>, Vec<Diagnostic>) {
    let mut cx = Ctx {
        prefix,
        lookup,
        diags: Vec::new(),
        _p: std::marker::PhantomData,
    };
    let layer = match &scheme.layout {
        Layout::Gptq {
            bits: Some(b),
            group_size: Some(g),
            desc_act,
            v1,
        } => bind_gptq(&mut cx, *b, *g, *desc_act, *v1),
        Layout::Awq {
            group_size: Some(g),
        } => bind_awq(&mut cx, *g),
        Layout::IntPack {
            bits,
            group_size,
            symmetric,
            actorder,
        } => bind_intpack(
            &mut cx,
            IntPackParams {
                n: 0,
                k: 0,
                bits: *bits,
                group_size: *group_size,
                symmetric: *symmetric,
            },
            *actorder,
        ),
        Layout::Nvfp4 { convention } => bind_nvfp4(&mut cx, *convention),
        Layout::Mxfp4 => bind_mxfp4(&mut cx),
        Layout::Fp8 { granularity } => bind_fp8(&mut cx, *granularity),
        other => {
            let reason = match other {
                Layout::Unsupported { reason } => reason.clone(),
                _ => "bits or group size unknown (no quantization config)".into(),
            };
            cx.error(
                "QNT021",
                prefix,
                format!("cannot bind {prefix}: {reason}"),
                "add the quantization config the producer wrote, or use a supported format",
            );
            None
        }
    };
    let ok = !cx.diags.iter().any(Diagnostic::is_error);
    (if ok { layer } else { None }, cx.diags)
}

/// quant_formats.md §2.2.
fn bind_gptq<'a, L: TensorLookup<'a>>(
    cx: &mut Ctx<'_, 'a, L>,
    b: u32,
    g: i64,
    desc_act: bool,
    v1: bool,
) -> Option<QuantizedLinear<'a>> {
    let qweight = cx.req("qweight", "GPTQ packed weights")?;
    let qzeros = cx.req("qzeros", "GPTQ packed zero points")?;
    let scales = cx.req("scales", "GPTQ scales")?;
    let g_idx = cx.opt("g_idx");
    if g_idx.is_none() && desc_act {
        cx.error(
            "QNT015",
            &cx.name("g_idx"),
            format!("{} is missing but desc_act is true", cx.name("g_idx")),
            "act-order checkpoints need g_idx to map columns to groups; re-export with g_idx",
        );
        return None;
    }
    let ok = cx.dtype(
        &qweight,
        &[Dtype::I32],
        "GPTQ qweight is I32 (pack_dtype int32)",
    ) & cx.dtype(&qzeros, &[Dtype::I32], "GPTQ qzeros is I32")
        & cx.dtype(&scales, &FLOAT_SCALES, "GPTQ scales are F16")
        & cx.rank(&qweight, 2, "qweight is [K*b/32, N]");
    if !ok {
        return None;
    }
    let (rows, n) = (qweight.shape[0] as usize, qweight.shape[1] as usize);
    if (rows * 32) % b as usize != 0 || (n * b as usize) % 32 != 0 {
        cx.error(
            "QNT012",
            &qweight.name,
            format!(
                "{} shape {} does not fit {b}-bit packing (K*b/32 rows, N*b % 32 == 0)",
                qweight.name,
                shape_str(&qweight.shape)
            ),
            "bits in the config disagree with the packed tensor",
        );
        return None;
    }
    let k = rows * 32 / b as usize;
    let gs = if g == -1 { k } else { g as usize };
    if gs == 0 {
        // K = 0 under group size -1 (found by the quant_bind fuzz target: division by zero).
        cx.error(
            "QNT012",
            &qweight.name,
            format!("{} has no rows (K = 0)", qweight.name),
            "the packed weight is empty; re-export the layer",
        );
        return None;
    }
    let p = GptqParams {
        n,
        k,
        bits: b,
        group_size: gs,
        v1,
    };
    let groups = p.groups() as u64;
    let ok = cx.shape(&scales, &[groups, n as u64], "scales are [ceil(K/G), N]")
        & cx.shape(
            &qzeros,
            &[groups, (n * b as usize / 32) as u64],
            "qzeros are [ceil(K/G), N*b/32]",
        )
        & g_idx
            .as_ref()
            .map_or(true, |t| cx.g_idx(t, k as u64, groups as usize));
    ok.then(|| {
        QuantizedLinear::Gptq(GptqLinear {
            prefix: cx.prefix.to_string(),
            params: p,
            qweight,
            qzeros,
            scales,
            g_idx,
        })
    })
}

/// quant_formats.md §3.2.
fn bind_awq<'a, L: TensorLookup<'a>>(
    cx: &mut Ctx<'_, 'a, L>,
    g: i64,
) -> Option<QuantizedLinear<'a>> {
    let qweight = cx.req("qweight", "AWQ packed weights")?;
    let qzeros = cx.req("qzeros", "AWQ packed zero points")?;
    let scales = cx.req("scales", "AWQ scales")?;
    let ok = cx.dtype(&qweight, &[Dtype::I32], "AWQ qweight is I32")
        & cx.dtype(&qzeros, &[Dtype::I32], "AWQ qzeros is I32")
        & cx.dtype(&scales, &FLOAT_SCALES, "AWQ scales are F16")
        & cx.rank(&qweight, 2, "AWQ qweight is [K, N/8]")
        & cx.rank(&scales, 2, "AWQ scales are [K/G, N]");
    if !ok {
        return None;
    }
    let (k, n) = (qweight.shape[0] as usize, qweight.shape[1] as usize * 8);
    if scales.shape[1] as usize != n {
        cx.error(
            "QNT017",
            &scales.name,
            format!(
                "{} has N = {} but {} implies N = {n} (N must be a multiple of 8)",
                scales.name, scales.shape[1], qweight.name
            ),
            "AWQ GEMM packs 8 output columns per word; N % 8 must be 0",
        );
        return None;
    }
    let gs = if g == -1 { k } else { g as usize };
    if gs == 0 || k % gs != 0 {
        cx.error(
            "QNT017",
            &qweight.name,
            format!(
                "K = {k} of {} is not a multiple of group size {gs}",
                qweight.name
            ),
            "AWQ requires K % G == 0; check group_size in the config",
        );
        return None;
    }
    let groups = (k / gs) as u64;
    let ok = cx.shape(&scales, &[groups, n as u64], "AWQ scales are [K/G, N]")
        & cx.shape(
            &qzeros,
            &[groups, (n / 8) as u64],
            "AWQ qzeros are [K/G, N/8]",
        );
    ok.then(|| {
        QuantizedLinear::Awq(AwqLinear {
            prefix: cx.prefix.to_string(),
            params: AwqParams {
                n,
                k,
                group_size: gs,
            },
            qweight,
            qzeros,
            scales,
        })
    })
}

/// quant_formats.md §5.2.
fn bind_intpack<'a, L: TensorLookup<'a>>(
    cx: &mut Ctx<'_, 'a, L>,
    mut p: IntPackParams,
    actorder: bool,
) -> Option<QuantizedLinear<'a>> {
    let packed = cx.req("weight_packed", "pack-quantized codes")?;
    let scale = cx.req("weight_scale", "pack-quantized scales")?;
    let wshape = cx.req("weight_shape", "original [N, K]")?;
    let zp = if p.symmetric {
        None
    } else {
        Some(cx.req("weight_zero_point", "asymmetric zero points")?)
    };
    let g_idx = cx.opt("weight_g_idx");
    if actorder && g_idx.is_none() {
        cx.error(
            "QNT015",
            &cx.name("weight_g_idx"),
            format!(
                "{} is missing but actorder is group",
                cx.name("weight_g_idx")
            ),
            "re-export with weight_g_idx or drop actorder from the config",
        );
        return None;
    }
    // §5.2 note: weight_shape is declared I32 but written I64; accept both.
    let ok = cx.dtype(
        &wshape,
        &[Dtype::I64, Dtype::I32],
        "weight_shape is I64 (or I32)",
    ) & cx.shape(&wshape, &[2], "weight_shape is [2]");
    if !ok {
        return None;
    }
    let dim = |i: usize| -> i64 {
        match wshape.dtype {
            Dtype::I64 => {
                i64::from_le_bytes(wshape.data[8 * i..8 * i + 8].try_into().expect("8 bytes"))
            }
            _ => i64::from(i32_at(wshape.data, i)),
        }
    };
    let (n, k) = (dim(0), dim(1));
    if n <= 0 || k <= 0 {
        cx.error(
            "QNT012",
            &wshape.name,
            format!("{} holds [{n}, {k}]", wshape.name),
            "weight_shape must be positive [N, K]",
        );
        return None;
    }
    p.n = n as usize;
    p.k = k as usize;
    let pf = p.per_word() as u64;
    let groups = p.groups() as u64;
    let ok = cx.dtype(&packed, &[Dtype::I32], "weight_packed is I32")
        & cx.dtype(
            &scale,
            &FLOAT_SCALES,
            "weight_scale is the model float dtype",
        )
        & cx.shape(
            &packed,
            &[n as u64, (k as u64).div_ceil(pf)],
            "weight_packed is [N, ceil(K/pf)]",
        )
        & cx.shape(
            &scale,
            &[n as u64, groups],
            "weight_scale is [N, ceil(K/G)] or [N, 1]",
        )
        & zp.as_ref().map_or(true, |z| {
            cx.dtype(z, &[Dtype::I32], "weight_zero_point is I32")
                && cx.shape(
                    z,
                    &[(n as u64).div_ceil(pf), groups],
                    "weight_zero_point is [ceil(N/pf), groups]",
                )
        })
        & g_idx
            .as_ref()
            .map_or(true, |t| cx.g_idx(t, k as u64, groups as usize));
    ok.then(|| {
        QuantizedLinear::IntPack(IntPackLinear {
            prefix: cx.prefix.to_string(),
            params: p,
            weight_packed: packed,
            weight_scale: scale,
            weight_zero_point: zp,
            weight_g_idx: g_idx,
        })
    })
}

fn scalar_f32<'a, L: TensorLookup<'a>>(cx: &mut Ctx<'_, 'a, L>, t: &QTensor<'a>) -> Option<f32> {
    let ok = cx.dtype(t, &[Dtype::F32], "global scales are F32");
    if !ok {
        return None;
    }
    if t.numel() != 1 || t.shape.len() > 1 {
        cx.error(
            "QNT012",
            &t.name,
            format!(
                "{} has shape {}, expected a scalar [] or [1]",
                t.name,
                shape_str(&t.shape)
            ),
            "a per-tensor scale must be a single value",
        );
        return None;
    }
    Some(float_at(Dtype::F32, t.data, 0))
}

/// quant_formats.md §6.2, §7.2.
fn bind_nvfp4<'a, L: TensorLookup<'a>>(
    cx: &mut Ctx<'_, 'a, L>,
    convention: GlobalScaleConvention,
) -> Option<QuantizedLinear<'a>> {
    let (packed_sfx, global_sfx, other_sfx) = match convention {
        GlobalScaleConvention::Divisor => {
            ("weight_packed", "weight_global_scale", "weight_scale_2")
        }
        GlobalScaleConvention::Multiplier => ("weight", "weight_scale_2", "weight_global_scale"),
    };
    if let Some(t) = cx.opt(other_sfx) {
        cx.error(
            "QNT022",
            &t.name,
            format!("{} belongs to the other NVFP4 scale convention than the config's ({convention:?})", t.name),
            "compressed-tensors divides by weight_global_scale, ModelOpt multiplies by weight_scale_2; do not mix them",
        );
        return None;
    }
    let packed = cx.req(packed_sfx, "packed E2M1 codes")?;
    let bscale = cx.req("weight_scale", "F8_E4M3 block scales")?;
    let global = cx.req(global_sfx, "per-tensor scale")?;
    if bscale.dtype == Dtype::U8 {
        cx.error(
            "QNT013",
            &bscale.name,
            format!("{} is U8, NVFP4 block scales must be F8_E4M3 (a U8 scale is an MXFP4 E8M0 exponent)", bscale.name),
            "this looks like an MXFP4 tensor routed as NVFP4; check quant_method / format",
        );
        return None;
    }
    let ok = cx.dtype(&packed, &[Dtype::U8], "NVFP4 packed weight is U8")
        & cx.dtype(&bscale, &[Dtype::F8_E4M3], "NVFP4 block scales are F8_E4M3")
        & cx.rank(&packed, 2, "packed is [N, K/2]");
    if !ok {
        return None;
    }
    let (n, k) = (packed.shape[0] as usize, packed.shape[1] as usize * 2);
    if k % 16 != 0 {
        cx.error(
            "QNT012",
            &packed.name,
            format!("{} implies K = {k}, not a multiple of 16", packed.name),
            "NVFP4 groups are 16 elements; K % 16 must be 0",
        );
        return None;
    }
    if !cx.shape(
        &bscale,
        &[n as u64, (k / 16) as u64],
        "weight_scale is [N, K/16]",
    ) {
        return None;
    }
    let gs = scalar_f32(cx, &global)?;
    if !gs.is_finite() || gs == 0.0 {
        cx.error(
            "QNT014",
            &global.name,
            format!(
                "{} is {gs}; a global scale must be finite and non-zero",
                global.name
            ),
            "every weight of the layer would decode to NaN, Inf or zero; re-export the layer",
        );
        return None;
    }
    if let Some(i) = bscale.data.iter().position(|&c| e4m3fn_to_f32(c).is_nan()) {
        cx.error(
            "QNT019",
            &bscale.name,
            format!(
                "{} holds NaN code {:#04x} at element {i}",
                bscale.name, bscale.data[i]
            ),
            "block scales must be finite; the file is corrupt",
        );
        return None;
    }
    Some(QuantizedLinear::Nvfp4(Nvfp4Linear {
        prefix: cx.prefix.to_string(),
        params: Nvfp4Params {
            n,
            k,
            global_scale: gs,
            convention,
        },
        packed,
        block_scale: bscale,
    }))
}

/// quant_formats.md §8.2.
fn bind_mxfp4<'a, L: TensorLookup<'a>>(cx: &mut Ctx<'_, 'a, L>) -> Option<QuantizedLinear<'a>> {
    let blocks = cx.req("_blocks", "MXFP4 packed E2M1 blocks")?;
    let scales = cx.req("_scales", "MXFP4 E8M0 scales")?;
    let ok = cx.dtype(&blocks, &[Dtype::U8], "MXFP4 blocks are U8")
        & cx.dtype(&scales, &[Dtype::U8], "MXFP4 scales are U8 (E8M0)");
    if !ok {
        return None;
    }
    let r = blocks.shape.len();
    if !(3..=4).contains(&r) || blocks.shape[r - 1] != 16 {
        cx.error(
            "QNT012",
            &blocks.name,
            format!(
                "{} has shape {}, expected [E, N, K/32, 16] or [N, K/32, 16]",
                blocks.name,
                shape_str(&blocks.shape)
            ),
            "gpt-oss blocks end in 16 bytes = 32 FP4 values",
        );
        return None;
    }
    if !cx.shape(
        &scales,
        &blocks.shape[..r - 1],
        "scales shape is blocks shape without the last dim",
    ) {
        return None;
    }
    let (experts, n, nb) = if r == 4 {
        (
            blocks.shape[0] as usize,
            blocks.shape[1] as usize,
            blocks.shape[2] as usize,
        )
    } else {
        (1, blocks.shape[0] as usize, blocks.shape[1] as usize)
    };
    if let Some(i) = scales.data.iter().position(|&c| c == 0xFF) {
        cx.error(
            "QNT018",
            &scales.name,
            format!(
                "{} holds 0xFF (E8M0 NaN) at element {i}; its whole block of 32 decodes to NaN",
                scales.name
            ),
            "a real exporter never writes 0xFF; the file is corrupt",
        );
        return None;
    }
    Some(QuantizedLinear::Mxfp4(Mxfp4Linear {
        prefix: cx.prefix.to_string(),
        params: Mxfp4Params {
            experts,
            n,
            k: nb * 32,
        },
        blocks,
        scales,
    }))
}

/// quant_formats.md §7.4, §9.
fn bind_fp8<'a, L: TensorLookup<'a>>(
    cx: &mut Ctx<'_, 'a, L>,
    configured: Fp8Granularity,
) -> Option<QuantizedLinear<'a>> {
    let weight = cx.req("weight", "FP8 weight")?;
    let ok = cx.dtype(
        &weight,
        &[Dtype::F8_E4M3],
        "FP8 checkpoints store E4M3FN weights",
    ) & cx.rank(&weight, 2, "weight is [N, K]");
    if !ok {
        return None;
    }
    let (n, k) = (weight.shape[0] as usize, weight.shape[1] as usize);
    let (scale, granularity) = match configured {
        Fp8Granularity::Block { rows, cols } => {
            // DeepSeek names it weight_scale_inv (§9.1); compressed-tensors FP8_BLOCK weight_scale (§9.3)
            let s = match cx
                .opt("weight_scale_inv")
                .or_else(|| cx.opt("weight_scale"))
            {
                Some(s) => s,
                None => cx.req("weight_scale_inv", "block scales")?,
            };
            let want = [n.div_ceil(rows) as u64, k.div_ceil(cols) as u64];
            if !(cx.dtype(&s, &FLOAT_SCALES, "block scales are F32")
                & cx.shape(&s, &want, "weight_scale_inv is [ceil(N/bh), ceil(K/bw)]"))
            {
                return None;
            }
            (s, configured)
        }
        Fp8Granularity::Tensor | Fp8Granularity::Channel => {
            // CT: block strategy also names the scale weight_scale; accept its block shape.
            let s = cx.req("weight_scale", "FP8 scale")?;
            if !cx.dtype(
                &s,
                &FLOAT_SCALES,
                "FP8 scales are F32 (or the model float dtype)",
            ) {
                return None;
            }
            let g = match s.shape.as_slice() {
                [] | [1] => Fp8Granularity::Tensor,
                [x] | [x, 1] if *x as usize == n => Fp8Granularity::Channel,
                _ => {
                    cx.error(
                        "QNT012",
                        &s.name,
                        format!("{} has shape {}, expected [] / [1] (per tensor) or [{n}] / [{n}, 1] (per channel)", s.name, shape_str(&s.shape)),
                        "the scale shape does not match the weight; check the config's strategy",
                    );
                    return None;
                }
            };
            (s, g)
        }
    };
    let count = scale.numel() as usize;
    if let Some(i) = (0..count).find(|&i| {
        let v = float_at(scale.dtype, scale.data, i);
        !v.is_finite() || v <= 0.0
    }) {
        cx.error(
            "QNT019",
            &scale.name,
            format!("{} element {i} is {}; FP8 scales must be finite and positive", scale.name, float_at(scale.dtype, scale.data, i)),
            "a non-finite or non-positive scale makes its whole block NaN/Inf/zero; re-export the layer",
        );
        return None;
    }
    Some(QuantizedLinear::Fp8(Fp8Linear {
        prefix: cx.prefix.to_string(),
        params: Fp8Params { n, k, granularity },
        weight,
        scale,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::model::{GenFormat, QuantSpec};
    use crate::gen::rng::SplitMix64;
    use crate::quant::{detect_from, SideFiles};
    use serde_json::json;

    fn layer(format: GenFormat) -> (QuantScheme, Vec<OwnedTensor>) {
        let spec = QuantSpec {
            group_size: 32,
            block: [16, 16],
            ..QuantSpec::new(format)
        };
        let mut rng = SplitMix64::new(3);
        let w = rng.weights(32, 64, 0.05);
        let q = spec.quantize("m.proj", &w, 1, 32, 64, &mut rng).unwrap();
        let config = json!({"quantization_config": spec.config_json(&[], false)});
        let names: Vec<&str> = q.tensors.iter().map(|t| t.name.as_str()).collect();
        let scheme = detect_from(&config, &SideFiles::default(), &names)
            .0
            .unwrap();
        (scheme, q.tensors)
    }

    /// Found by the `quant_bind` fuzz target (fuzz/regressions/quant_bind/
    /// gptq_group_size_minus_one_with_k_zero): an empty qweight under group size -1 made
    /// the group count divide by zero.
    #[test]
    fn gptq_with_no_rows_is_refused() {
        let spec = QuantSpec {
            group_size: -1,
            ..QuantSpec::new(GenFormat::GptqV1)
        };
        let mut rng = SplitMix64::new(3);
        let w = rng.weights(32, 64, 0.05);
        let mut q = spec.quantize("m.proj", &w, 1, 32, 64, &mut rng).unwrap();
        let config = json!({"quantization_config": spec.config_json(&[], false)});
        let names: Vec<&str> = q.tensors.iter().map(|t| t.name.as_str()).collect();
        let scheme = detect_from(&config, &SideFiles::default(), &names)
            .0
            .unwrap();
        let qw = q
            .tensors
            .iter_mut()
            .find(|t| t.name == "m.proj.qweight")
            .unwrap();
        qw.shape[0] = 0;
        qw.bytes.clear();
        let lookup: &[OwnedTensor] = &q.tensors;
        let (bound, diags) = bind(&scheme, "m.proj", &lookup);
        assert!(bound.is_none());
        assert!(diags.iter().any(|d| d.code == "QNT012"), "{diags:?}");
    }

    /// A zero dimension makes any other dimension's size free in the byte count; binding
    /// keeps the container's 2^48 limit so its shape arithmetic cannot overflow.
    #[test]
    fn huge_dimension_beside_a_zero_is_refused() {
        let (scheme, mut tensors) = layer(GenFormat::Awq);
        let qw = tensors
            .iter_mut()
            .find(|t| t.name == "m.proj.qweight")
            .unwrap();
        qw.shape = vec![0, 1 << 62];
        qw.bytes.clear();
        let lookup: &[OwnedTensor] = &tensors;
        let (bound, diags) = bind(&scheme, "m.proj", &lookup);
        assert!(bound.is_none());
        assert!(diags.iter().any(|d| d.code == "QNT028"), "{diags:?}");
    }

    /// Found by the `quant_bind` fuzz target (fuzz/regressions/quant_bind/): a tensor whose
    /// bytes are shorter than its shape made the GPTQ and FP8 decoders index out of bounds.
    #[test]
    fn tensor_bytes_must_match_shape() {
        for format in [GenFormat::GptqV1, GenFormat::Fp8Block, GenFormat::Nvfp4Ct] {
            let (scheme, tensors) = layer(format);
            let lookup: &[OwnedTensor] = &tensors;
            assert!(
                bind(&scheme, "m.proj", &lookup).0.is_some(),
                "{format:?} binds"
            );
            for i in 0..tensors.len() {
                for delta in [-1i64, 1] {
                    let mut bad = tensors.clone();
                    let len = bad[i].bytes.len() as i64 + delta;
                    bad[i].bytes.resize(len.max(0) as usize, 0);
                    let lookup: &[OwnedTensor] = &bad;
                    let (bound, diags) = bind(&scheme, "m.proj", &lookup);
                    assert!(bound.is_none(), "{format:?}: {} resized", bad[i].name);
                    assert!(
                        diags.iter().any(|d| d.code == "QNT028"),
                        "{format:?}: {diags:?}"
                    );
                }
            }
        }
    }
}
