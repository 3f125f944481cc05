//! Dequantization on the GPU: packed weights of one linear layer to a dense `[N, K]`
//! bf16 or f16 matrix, one kernel per format (kernels/dequant.cu).
//!
//! [`Packed`] describes a layer's tensors as raw little-endian bytes exactly as they sit
//! in the file (spec: /work/shared/specs/quant_formats.md); [`DevicePacked`] is the same
//! after upload. Every size is checked against the shapes before a launch, which is what
//! makes the kernels' unchecked indexing sound.

use super::error::{GpuError, GpuResult};
use super::runtime::{grid_1d, DevBuf, Gpu, KArg};
use super::upload::Uploader;
use cudarc::driver::LaunchConfig;
use serde::Serialize;

/// Element type of a dense output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum OutDtype {
    /// bfloat16.
    Bf16,
    /// IEEE half.
    F16,
}

impl OutDtype {
    /// Both output types.
    pub const ALL: [OutDtype; 2] = [OutDtype::Bf16, OutDtype::F16];

    /// Kernel-name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            OutDtype::Bf16 => "bf16",
            OutDtype::F16 => "f16",
        }
    }

    /// Rounds an f32 to this type (round to nearest even), as raw bits.
    pub fn round_bits(self, v: f32) -> u16 {
        match self {
            OutDtype::Bf16 => half::bf16::from_f32(v).to_bits(),
            OutDtype::F16 => half::f16::from_f32(v).to_bits(),
        }
    }

    /// The f32 value of raw bits of this type.
    pub fn to_f32(self, bits: u16) -> f32 {
        match self {
            OutDtype::Bf16 => half::bf16::from_bits(bits).to_f32(),
            OutDtype::F16 => half::f16::from_bits(bits).to_f32(),
        }
    }

    /// True when the bits encode a NaN.
    pub fn is_nan(self, bits: u16) -> bool {
        self.to_f32(bits).is_nan()
    }
}

/// Element type of a scale tensor (matches `SDT_*` in kernels/common.cuh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ScaleDtype {
    /// IEEE half.
    F16 = 0,
    /// bfloat16.
    Bf16 = 1,
    /// f32.
    F32 = 2,
}

impl ScaleDtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            ScaleDtype::F16 | ScaleDtype::Bf16 => 2,
            ScaleDtype::F32 => 4,
        }
    }
}

/// Which NVFP4 global-scale convention the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Nvfp4Convention {
    /// ModelOpt `weight_scale_2`, a multiplier (spec §7.3).
    Multiplier = 0,
    /// compressed-tensors `weight_global_scale`, a divisor (spec §6.4).
    Divisor = 1,
}

/// Granularity of FP8 E4M3 weight scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Fp8Scaling {
    /// One scale for the tensor.
    Tensor,
    /// One scale per output row, `[N]`.
    Channel,
    /// One scale per `rows x cols` block, `[ceil(N/rows), ceil(K/cols)]` (DeepSeek: 128x128).
    Block {
        /// Block height (output rows).
        rows: usize,
        /// Block width (input columns).
        cols: usize,
    },
}

/// The packed tensors of one quantized linear layer, borrowed as raw bytes.
#[derive(Debug, Clone)]
pub enum Packed<'a> {
    /// GPTQ (spec §2), 2/3/4/8-bit.
    Gptq {
        /// Bits per weight: 2, 3, 4 or 8.
        bits: u32,
        /// Output features.
        n: usize,
        /// Input features.
        k: usize,
        /// Effective group size (K when the config says -1).
        group_size: usize,
        /// `checkpoint_format` "gptq" (zeros stored minus one) rather than "gptq_v2".
        v1: bool,
        /// `qweight` I32 `[K*b/32, N]`.
        qweight: &'a [u8],
        /// `qzeros` I32 `[groups, N*b/32]`.
        qzeros: &'a [u8],
        /// `scales` `[groups, N]`.
        scales: &'a [u8],
        /// Element type of `scales`.
        scale_dtype: ScaleDtype,
        /// `g_idx` I32 `[K]`, when present.
        g_idx: Option<&'a [u8]>,
        /// Number of groups (rows of `scales`).
        groups: usize,
    },
    /// AWQ GEMM (spec §3), 4-bit.
    Awq {
        /// Output features.
        n: usize,
        /// Input features.
        k: usize,
        /// Group size (K for -1).
        group_size: usize,
        /// `qweight` I32 `[K, N/8]`.
        qweight: &'a [u8],
        /// `qzeros` I32 `[K/G, N/8]`.
        qzeros: &'a [u8],
        /// `scales` `[K/G, N]`.
        scales: &'a [u8],
        /// Element type of `scales`.
        scale_dtype: ScaleDtype,
    },
    /// NVFP4 (spec §6, §7): ModelOpt or compressed-tensors.
    Nvfp4 {
        /// Rows (experts x out features for stacked MoE weights).
        rows: usize,
        /// Input features (multiple of 16).
        k: usize,
        /// Global-scale convention.
        convention: Nvfp4Convention,
        /// `weight` / `weight_packed` U8 `[rows, K/2]`.
        weight: &'a [u8],
        /// `weight_scale` E4M3 `[rows, K/16]`.
        weight_scale: &'a [u8],
        /// Global scales, one per `rows_per_global` rows.
        global: Vec<f32>,
        /// Rows sharing one global scale.
        rows_per_global: usize,
    },
    /// MXFP4, gpt-oss layout (spec §8).
    Mxfp4 {
        /// Experts (1 for a plain 2-D weight).
        experts: usize,
        /// Output rows per expert.
        rows: usize,
        /// Input features (multiple of 32).
        k: usize,
        /// `*_blocks` U8 `[E, rows, K/32, 16]`.
        blocks: &'a [u8],
        /// `*_scales` U8 (E8M0) `[E, rows, K/32]`.
        scales: &'a [u8],
    },
    /// FP8 E4M3 weights (spec §7.4, §9).
    Fp8 {
        /// Output features.
        n: usize,
        /// Input features.
        k: usize,
        /// Scale granularity.
        scaling: Fp8Scaling,
        /// `weight` F8_E4M3 `[N, K]`.
        weight: &'a [u8],
        /// The scale tensor.
        scale: &'a [u8],
        /// Element type of the scale tensor.
        scale_dtype: ScaleDtype,
    },
    /// compressed-tensors pack-quantized int4/int8 (spec §5).
    CtPacked {
        /// 4 or 8.
        bits: u32,
        /// Output features.
        n: usize,
        /// Input features.
        k: usize,
        /// Group size (K for channel strategy).
        group_size: usize,
        /// Scale columns.
        groups: usize,
        /// `weight_packed` I32 `[N, ceil(K/pf)]`.
        packed: &'a [u8],
        /// `weight_scale` `[N, groups]`.
        scales: &'a [u8],
        /// Element type of `weight_scale`.
        scale_dtype: ScaleDtype,
        /// `weight_zero_point` I32 `[ceil(N/pf), groups]` (asymmetric only).
        zero_point: Option<&'a [u8]>,
        /// `weight_g_idx` I32 `[K]`, when present.
        g_idx: Option<&'a [u8]>,
    },
}

fn need(kernel: &str, what: &str, got: usize, want: usize) -> GpuResult<()> {
    if got != want {
        return Err(GpuError::bad_args(
            kernel,
            format!("{what} has {got} bytes, the shape needs {want}"),
        ));
    }
    Ok(())
}

fn check_g_idx(kernel: &str, g_idx: Option<&[u8]>, k: usize, groups: usize) -> GpuResult<()> {
    if let Some(g) = g_idx {
        need(kernel, "g_idx", g.len(), k * 4)?;
        for (i, c) in g.chunks_exact(4).enumerate() {
            let v = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if v < 0 || v as usize >= groups {
                return Err(GpuError::bad_args(
                    kernel,
                    format!("g_idx[{i}] = {v} is outside 0..{groups}"),
                ));
            }
        }
    }
    Ok(())
}

impl Packed<'_> {
    /// Short format label used in tables, e.g. `gptq4`, `awq`, `nvfp4-ct`.
    pub fn label(&self) -> String {
        match self {
            Packed::Gptq {
                bits, g_idx, v1, ..
            } => format!(
                "gptq{bits}{}{}",
                if *v1 { "" } else { "-v2" },
                if g_idx.is_some() { "-gidx" } else { "" }
            ),
            Packed::Awq { .. } => "awq".into(),
            Packed::Nvfp4 { convention, .. } => match convention {
                Nvfp4Convention::Multiplier => "nvfp4-modelopt".into(),
                Nvfp4Convention::Divisor => "nvfp4-ct".into(),
            },
            Packed::Mxfp4 { .. } => "mxfp4".into(),
            Packed::Fp8 { scaling, .. } => match scaling {
                Fp8Scaling::Tensor => "fp8-tensor".into(),
                Fp8Scaling::Channel => "fp8-channel".into(),
                Fp8Scaling::Block { .. } => "fp8-block".into(),
            },
            Packed::CtPacked {
                bits, zero_point, ..
            } => format!(
                "ct-int{bits}-{}",
                if zero_point.is_some() { "asym" } else { "sym" }
            ),
        }
    }

    /// Output shape `(rows, K)` of the dense matrix (rows = E*N for stacked experts).
    pub fn out_shape(&self) -> (usize, usize) {
        match self {
            Packed::Gptq { n, k, .. }
            | Packed::Awq { n, k, .. }
            | Packed::Fp8 { n, k, .. }
            | Packed::CtPacked { n, k, .. } => (*n, *k),
            Packed::Nvfp4 { rows, k, .. } => (*rows, *k),
            Packed::Mxfp4 {
                experts, rows, k, ..
            } => (experts * rows, *k),
        }
    }

    /// Bytes of packed data a dequant reads (weights, scales, zeros, g_idx, globals).
    pub fn packed_bytes(&self) -> usize {
        match self {
            Packed::Gptq {
                qweight,
                qzeros,
                scales,
                g_idx,
                ..
            } => qweight.len() + qzeros.len() + scales.len() + g_idx.map_or(0, |g| g.len()),
            Packed::Awq {
                qweight,
                qzeros,
                scales,
                ..
            } => qweight.len() + qzeros.len() + scales.len(),
            Packed::Nvfp4 {
                weight,
                weight_scale,
                global,
                ..
            } => weight.len() + weight_scale.len() + global.len() * 4,
            Packed::Mxfp4 { blocks, scales, .. } => blocks.len() + scales.len(),
            Packed::Fp8 { weight, scale, .. } => weight.len() + scale.len(),
            Packed::CtPacked {
                packed,
                scales,
                zero_point,
                g_idx,
                ..
            } => {
                packed.len()
                    + scales.len()
                    + zero_point.map_or(0, |z| z.len())
                    + g_idx.map_or(0, |g| g.len())
            }
        }
    }

    /// Checks every tensor's byte length against the shapes (and g_idx values against the
    /// group count). Kernels index without bounds checks, so no launch happens before this.
    pub fn validate(&self) -> GpuResult<()> {
        let label = self.label();
        let l = label.as_str();
        match self {
            Packed::Gptq {
                bits,
                n,
                k,
                group_size,
                qweight,
                qzeros,
                scales,
                scale_dtype,
                g_idx,
                groups,
                ..
            } => {
                if ![2, 3, 4, 8].contains(bits) {
                    return Err(GpuError::bad_args(
                        l,
                        format!("{bits}-bit GPTQ is not supported"),
                    ));
                }
                let b = *bits as usize;
                let align = if b == 3 { 32 } else { 32 / b };
                if k % align != 0 || n % align != 0 || *group_size == 0 || *n == 0 || *k == 0 {
                    return Err(GpuError::bad_args(
                        l,
                        format!(
                            "N={n} and K={k} must be non-zero multiples of {align}, group size > 0"
                        ),
                    ));
                }
                if *groups < k.div_ceil(*group_size) {
                    return Err(GpuError::bad_args(l, "fewer scale rows than groups"));
                }
                need(l, "qweight", qweight.len(), k * b / 32 * n * 4)?;
                need(l, "qzeros", qzeros.len(), groups * (n * b / 32) * 4)?;
                need(l, "scales", scales.len(), groups * n * scale_dtype.size())?;
                check_g_idx(l, *g_idx, *k, *groups)
            }
            Packed::Awq {
                n,
                k,
                group_size,
                qweight,
                qzeros,
                scales,
                scale_dtype,
            } => {
                if n % 8 != 0 || *n == 0 || *k == 0 || *group_size == 0 || k % group_size != 0 {
                    return Err(GpuError::bad_args(
                        l,
                        format!("N={n} must be a multiple of 8 and K={k} of the group size {group_size}"),
                    ));
                }
                let groups = k / group_size;
                need(l, "qweight", qweight.len(), k * n / 8 * 4)?;
                need(l, "qzeros", qzeros.len(), groups * n / 8 * 4)?;
                need(l, "scales", scales.len(), groups * n * scale_dtype.size())
            }
            Packed::Nvfp4 {
                rows,
                k,
                weight,
                weight_scale,
                global,
                rows_per_global,
                ..
            } => {
                if k % 16 != 0 || *k == 0 || *rows == 0 || *rows_per_global == 0 {
                    return Err(GpuError::bad_args(
                        l,
                        format!("K={k} must be a non-zero multiple of 16"),
                    ));
                }
                need(l, "weight", weight.len(), rows * k / 2)?;
                need(l, "weight_scale", weight_scale.len(), rows * k / 16)?;
                if global.len() != rows.div_ceil(*rows_per_global) {
                    return Err(GpuError::bad_args(
                        l,
                        "global scale count does not match rows",
                    ));
                }
                Ok(())
            }
            Packed::Mxfp4 {
                experts,
                rows,
                k,
                blocks,
                scales,
            } => {
                if k % 32 != 0 || *k == 0 || *rows == 0 || *experts == 0 {
                    return Err(GpuError::bad_args(
                        l,
                        format!("K={k} must be a non-zero multiple of 32"),
                    ));
                }
                need(l, "blocks", blocks.len(), experts * rows * k / 2)?;
                need(l, "scales", scales.len(), experts * rows * k / 32)
            }
            Packed::Fp8 {
                n,
                k,
                scaling,
                weight,
                scale,
                scale_dtype,
            } => {
                if *n == 0 || *k == 0 {
                    return Err(GpuError::bad_args(l, "empty weight"));
                }
                need(l, "weight", weight.len(), n * k)?;
                let count = match scaling {
                    Fp8Scaling::Tensor => 1,
                    Fp8Scaling::Channel => *n,
                    Fp8Scaling::Block { rows, cols } => {
                        if *rows == 0 || *cols == 0 {
                            return Err(GpuError::bad_args(l, "zero block size"));
                        }
                        n.div_ceil(*rows) * k.div_ceil(*cols)
                    }
                };
                need(l, "scale", scale.len(), count * scale_dtype.size())
            }
            Packed::CtPacked {
                bits,
                n,
                k,
                group_size,
                groups,
                packed,
                scales,
                scale_dtype,
                zero_point,
                g_idx,
            } => {
                if ![4, 8].contains(bits) || *n == 0 || *k == 0 || *group_size == 0 {
                    return Err(GpuError::bad_args(
                        l,
                        "bits must be 4 or 8 and shapes non-zero",
                    ));
                }
                let pf = 32 / *bits as usize;
                if g_idx.is_none() && *groups < k.div_ceil(*group_size) {
                    return Err(GpuError::bad_args(l, "fewer scale columns than groups"));
                }
                need(l, "weight_packed", packed.len(), n * k.div_ceil(pf) * 4)?;
                need(
                    l,
                    "weight_scale",
                    scales.len(),
                    n * groups * scale_dtype.size(),
                )?;
                if let Some(z) = zero_point {
                    need(l, "weight_zero_point", z.len(), n.div_ceil(pf) * groups * 4)?;
                }
                check_g_idx(l, *g_idx, *k, *groups)
            }
        }
    }

    /// Validates and uploads every tensor (pinned staging or in-place registration, see
    /// [`Uploader`]).
    pub fn upload(&self, gpu: &Gpu) -> GpuResult<DevicePacked> {
        let mut up = Uploader::new(gpu)?;
        self.upload_with(&mut up)
    }

    /// Validates and uploads every tensor through an existing [`Uploader`].
    pub fn upload_with(&self, uploader: &mut Uploader<'_>) -> GpuResult<DevicePacked> {
        self.validate()?;
        let uploader = std::cell::RefCell::new(uploader);
        let up = |b: &[u8]| uploader.borrow_mut().upload(b);
        let opt = |b: &Option<&[u8]>| -> GpuResult<Option<DevBuf>> { b.map(up).transpose() };
        let f32s = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let bufs = match self {
            Packed::Gptq {
                bits,
                k,
                group_size,
                qweight,
                qzeros,
                scales,
                g_idx,
                ..
            } => {
                // For the act-order GEMV: the permutation that sorts K by group (uploaded
                // only when the sorted groups are contiguous runs of `group_size`).
                let perm = match (bits, g_idx) {
                    (4, Some(gi)) => sorted_k_perm(gi, *k, *group_size),
                    _ => None,
                };
                vec![
                    Some(up(qweight)?),
                    Some(up(qzeros)?),
                    Some(up(scales)?),
                    opt(g_idx)?,
                    perm.map(|p| up(&i32_bytes(&p))).transpose()?,
                ]
            }
            Packed::Awq {
                qweight,
                qzeros,
                scales,
                ..
            } => vec![Some(up(qweight)?), Some(up(qzeros)?), Some(up(scales)?)],
            Packed::Nvfp4 {
                weight,
                weight_scale,
                global,
                ..
            } => vec![
                Some(up(weight)?),
                Some(up(weight_scale)?),
                Some(up(&f32s(global))?),
            ],
            Packed::Mxfp4 { blocks, scales, .. } => vec![Some(up(blocks)?), Some(up(scales)?)],
            Packed::Fp8 { weight, scale, .. } => vec![Some(up(weight)?), Some(up(scale)?)],
            Packed::CtPacked {
                packed,
                scales,
                zero_point,
                g_idx,
                ..
            } => vec![
                Some(up(packed)?),
                Some(up(scales)?),
                opt(zero_point)?,
                opt(g_idx)?,
            ],
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(DevicePacked {
            desc: self.describe(),
            bufs,
            packed_bytes: self.packed_bytes(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    fn describe(&self) -> Desc {
        match self {
            Packed::Gptq {
                bits,
                n,
                k,
                group_size,
                v1,
                scale_dtype,
                groups,
                ..
            } => Desc::Gptq {
                bits: *bits,
                n: *n,
                k: *k,
                group_size: *group_size,
                v1: *v1,
                scale_dtype: *scale_dtype,
                groups: *groups,
            },
            Packed::Awq {
                n,
                k,
                group_size,
                scale_dtype,
                ..
            } => Desc::Awq {
                n: *n,
                k: *k,
                group_size: *group_size,
                scale_dtype: *scale_dtype,
            },
            Packed::Nvfp4 {
                rows,
                k,
                convention,
                rows_per_global,
                ..
            } => Desc::Nvfp4 {
                rows: *rows,
                k: *k,
                convention: *convention,
                rows_per_global: *rows_per_global,
            },
            Packed::Mxfp4 {
                experts, rows, k, ..
            } => Desc::Mxfp4 {
                rows: experts * rows,
                k: *k,
            },
            Packed::Fp8 {
                n,
                k,
                scaling,
                scale_dtype,
                ..
            } => Desc::Fp8 {
                n: *n,
                k: *k,
                scaling: *scaling,
                scale_dtype: *scale_dtype,
            },
            Packed::CtPacked {
                bits,
                n,
                k,
                group_size,
                groups,
                scale_dtype,
                ..
            } => Desc::Ct {
                bits: *bits,
                n: *n,
                k: *k,
                group_size: *group_size,
                groups: *groups,
                scale_dtype: *scale_dtype,
            },
        }
    }
}

/// Shapes and parameters of an uploaded layer (no data).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Desc {
    Gptq {
        bits: u32,
        n: usize,
        k: usize,
        group_size: usize,
        v1: bool,
        scale_dtype: ScaleDtype,
        groups: usize,
    },
    Awq {
        n: usize,
        k: usize,
        group_size: usize,
        scale_dtype: ScaleDtype,
    },
    Nvfp4 {
        rows: usize,
        k: usize,
        convention: Nvfp4Convention,
        rows_per_global: usize,
    },
    Mxfp4 {
        rows: usize,
        k: usize,
    },
    Fp8 {
        n: usize,
        k: usize,
        scaling: Fp8Scaling,
        scale_dtype: ScaleDtype,
    },
    Ct {
        bits: u32,
        n: usize,
        k: usize,
        group_size: usize,
        groups: usize,
        scale_dtype: ScaleDtype,
    },
}

/// A validated layer in device memory, ready for [`dequant`] (and the GEMV kernels).
#[derive(Debug)]
pub struct DevicePacked {
    pub(crate) desc: Desc,
    /// Buffers in the order of the kernel's pointer arguments; `None` is a null pointer.
    pub(crate) bufs: Vec<Option<DevBuf>>,
    packed_bytes: usize,
    /// Unique per upload in this process: what derived copies (sorted or repacked weights
    /// in a GEMV `Scratch`) are keyed by, since a freed layer's device address can be reused.
    id: u64,
}

impl DevicePacked {
    /// Output shape `(rows, K)`.
    pub fn out_shape(&self) -> (usize, usize) {
        match self.desc {
            Desc::Gptq { n, k, .. }
            | Desc::Awq { n, k, .. }
            | Desc::Fp8 { n, k, .. }
            | Desc::Ct { n, k, .. } => (n, k),
            Desc::Nvfp4 { rows, k, .. } | Desc::Mxfp4 { rows, k } => (rows, k),
        }
    }

    /// Bytes of packed data (weights, scales, zeros, g_idx) a pass reads.
    pub fn packed_bytes(&self) -> usize {
        self.packed_bytes
    }

    /// This upload's identity (unique in the process).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn ptr(&self, i: usize) -> u64 {
        self.bufs
            .get(i)
            .and_then(|b| b.as_ref())
            .map_or(0, |b| b.ptr())
    }
}

/// Name of the dequant kernel for a layer and output type.
pub fn kernel_name(p: &DevicePacked, out: OutDtype) -> String {
    kernel_name_sfx(p, out.suffix())
}

fn kernel_name_sfx(p: &DevicePacked, sfx: &str) -> String {
    let elem = if sfx == "f32" { 4 } else { 2 };
    if let (Desc::Gptq { bits, .. }, Some(_)) = (p.desc, act_order_plan(p, elem)) {
        return format!("dq_gptq{bits}_act_{sfx}");
    }
    let base = match p.desc {
        Desc::Gptq { bits, .. } => format!("dq_gptq{bits}"),
        Desc::Awq { .. } => "dq_awq".into(),
        Desc::Nvfp4 { .. } => "dq_nvfp4".into(),
        Desc::Mxfp4 { .. } => "dq_mxfp4".into(),
        Desc::Fp8 { .. } => "dq_fp8".into(),
        Desc::Ct { bits, .. } => format!("dq_ct_int{bits}"),
    };
    format!("{base}_{sfx}")
}

const BLOCK: u32 = 256;

/// Queues the dequant of `p` into `out` (`rows * K` elements of `dtype`), without waiting.
pub fn dequant_async(gpu: &Gpu, p: &DevicePacked, dtype: OutDtype, out: &DevBuf) -> GpuResult<()> {
    launch_dequant(gpu, p, dtype.suffix(), 2, out)
}

/// Queues the dequant of `p` into `out` as f32 (`rows * K` elements): the exact oracle
/// values, used by the dequant + cuBLAS GEMV fallback.
pub fn dequant_f32_async(gpu: &Gpu, p: &DevicePacked, out: &DevBuf) -> GpuResult<()> {
    launch_dequant(gpu, p, "f32", 4, out)
}

fn launch_dequant(
    gpu: &Gpu,
    p: &DevicePacked,
    sfx: &str,
    elem: usize,
    out: &DevBuf,
) -> GpuResult<()> {
    let (rows, k) = p.out_shape();
    let name_s = kernel_name_sfx(p, sfx);
    let name = name_s.as_str();
    if out.len() < rows * k * elem {
        return Err(GpuError::bad_args(name, "output buffer too small"));
    }
    let o = KArg::Ptr(out.ptr());
    let i = |v: usize| KArg::I32(v as i32);
    if rows > i32::MAX as usize || k > i32::MAX as usize {
        return Err(GpuError::bad_args(name, "dimension exceeds i32"));
    }
    match p.desc {
        Desc::Gptq {
            bits,
            n,
            k,
            group_size,
            v1,
            scale_dtype,
            groups,
        } => {
            if let Some(plan) = act_order_plan(p, elem).filter(|_| out.ptr() % 16 == 0) {
                return gpu.launch(
                    name,
                    LaunchConfig {
                        grid_dim: (plan.blocks, 1, 1),
                        block_dim: (ACT_THREADS, 1, 1),
                        shared_mem_bytes: plan.smem,
                    },
                    &[
                        o,
                        KArg::Ptr(p.ptr(0)),
                        KArg::Ptr(p.ptr(1)),
                        KArg::Ptr(p.ptr(2)),
                        KArg::I32(scale_dtype as i32),
                        KArg::Ptr(p.ptr(3)),
                        i(n),
                        i(k),
                        i(groups),
                        i(n * bits as usize / 32),
                        KArg::I32(v1 as i32),
                        i(plan.span),
                    ],
                );
            }
            // One 256-thread block per 32 columns x 256 k (each thread: 32 k of one column).
            let threads = n.div_ceil(32) as u64 * k.div_ceil(256) as u64 * 256;
            let zero_words = n * bits as usize / 32;
            gpu.launch(
                &format!("dq_gptq{bits}_{sfx}"),
                grid_1d(threads, BLOCK)?,
                &[
                    o,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::Ptr(p.ptr(2)),
                    KArg::I32(scale_dtype as i32),
                    KArg::Ptr(p.ptr(3)),
                    i(n),
                    i(k),
                    i(group_size),
                    i(zero_words),
                    KArg::I32(v1 as i32),
                ],
            )
        }
        Desc::Awq {
            n,
            k,
            group_size,
            scale_dtype,
        } => {
            // One 256-thread block per 256-column x TK-k tile (TK = 32 for f32 output).
            let tk = if elem == 4 { 32 } else { 64 };
            let threads = (n / 8).div_ceil(32) as u64 * k.div_ceil(tk) as u64 * 256;
            gpu.launch(
                name,
                grid_1d(threads, BLOCK)?,
                &[
                    o,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::Ptr(p.ptr(2)),
                    KArg::I32(scale_dtype as i32),
                    i(n),
                    i(k),
                    i(group_size),
                ],
            )
        }
        Desc::Nvfp4 {
            rows,
            k,
            convention,
            rows_per_global,
        } => {
            let threads = rows as u64 * (k / 16) as u64;
            gpu.launch(
                name,
                grid_1d(threads, BLOCK)?,
                &[
                    o,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::Ptr(p.ptr(2)),
                    i(rows_per_global.min(i32::MAX as usize)),
                    KArg::I32(convention as i32),
                    i(rows),
                    i(k),
                ],
            )
        }
        Desc::Mxfp4 { rows, k } => {
            let nblocks = rows as u64 * (k / 32) as u64;
            gpu.launch(
                name,
                grid_1d(2 * nblocks, BLOCK)?,
                &[
                    o,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::U64(nblocks),
                ],
            )
        }
        Desc::Fp8 {
            n,
            k,
            scaling,
            scale_dtype,
        } => {
            let (mode, bh, bw) = match scaling {
                Fp8Scaling::Tensor => (0, 1, 1),
                Fp8Scaling::Channel => (1, 1, 1),
                Fp8Scaling::Block { rows, cols } => (2, rows, cols),
            };
            let threads = (n as u64 * k as u64).div_ceil(16);
            gpu.launch(
                name,
                grid_1d(threads, BLOCK)?,
                &[
                    o,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::I32(scale_dtype as i32),
                    KArg::I32(mode),
                    i(n),
                    i(k),
                    i(bh),
                    i(bw),
                ],
            )
        }
        Desc::Ct {
            n,
            k,
            group_size,
            groups,
            scale_dtype,
            ..
        } => {
            let threads = n as u64 * k.div_ceil(16) as u64;
            gpu.launch(
                name,
                grid_1d(threads, BLOCK)?,
                &[
                    o,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::I32(scale_dtype as i32),
                    KArg::Ptr(p.ptr(2)),
                    KArg::Ptr(p.ptr(3)),
                    i(n),
                    i(k),
                    i(group_size),
                    i(groups),
                ],
            )
        }
    }
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The stable permutation `perm` that sorts the K indices of an act-order layer by group
/// (`g_idx`, little-endian i32), when sorting makes every group one contiguous run of
/// `group_size` indices: `g_idx[perm[j]] == j / group_size` for every j. Then a GEMV over
/// the K-sorted weights, with the activations gathered through `perm`, has plain groups.
/// `None` for any other `g_idx` (the general kernels handle those).
pub(crate) fn sorted_k_perm(g_idx: &[u8], k: usize, group_size: usize) -> Option<Vec<i32>> {
    if group_size == 0 || g_idx.len() != 4 * k || k > i32::MAX as usize {
        return None;
    }
    let g: Vec<i32> = g_idx
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut perm: Vec<i32> = (0..k as i32).collect();
    perm.sort_by_key(|&i| g[i as usize]);
    perm.iter()
        .enumerate()
        .all(|(j, &i)| g[i as usize] as i64 == (j / group_size) as i64)
        .then_some(perm)
}

/// Threads per block of the act-order GPTQ kernel (`ACT_T` in kernels/dequant.cu).
const ACT_THREADS: u32 = 128;
/// K per step of the act-order kernel (`ACT_TK`).
const ACT_TK: usize = 256;
/// Shared memory a block may use without opting in to more (48 KiB).
const SMEM_DEFAULT: usize = 48 * 1024;

/// Launch parameters of the act-order GPTQ kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ActPlan {
    blocks: u32,
    smem: u32,
    span: usize,
}

/// Whether the staged act-order kernel (`dq_gptq{4,8}_act_*`) applies to `p` with `elem`-byte
/// output into `out`, and how to launch it: GPTQ 4/8-bit with g_idx, 16-bit scales and
/// output, N % 32 == 0, K % 8 == 0, 16-byte aligned buffers, and every group's 32 scales
/// and zeros fitting in shared memory beside the output tile (the output buffer must be
/// 16-byte aligned too; device allocations always are). Anything else takes the general
/// GPTQ kernel, which handles every case.
fn act_order_plan(p: &DevicePacked, elem: usize) -> Option<ActPlan> {
    let Desc::Gptq {
        bits,
        n,
        k,
        scale_dtype,
        groups,
        ..
    } = p.desc
    else {
        return None;
    };
    let has_gidx = p.ptr(3) != 0;
    let pitch = match bits {
        4 => 80,
        8 => 96,
        _ => return None,
    };
    let aligned = [p.ptr(0), p.ptr(1), p.ptr(2), p.ptr(3)]
        .iter()
        .all(|a| a % 16 == 0);
    let smem = 32 * ACT_TK * 2 + groups * pitch;
    if !has_gidx
        || elem != 2
        || !matches!(scale_dtype, ScaleDtype::F16 | ScaleDtype::Bf16)
        || n % 32 != 0
        || k % 8 != 0
        || !aligned
        || smem > SMEM_DEFAULT
    {
        return None;
    }
    // Steps per block: enough to amortise staging every group (1/8 of K, at most 16 steps).
    let steps = k.div_ceil(ACT_TK);
    let per_block = (steps / 8).clamp(1, 16);
    let span = per_block * ACT_TK;
    let blocks = (n / 32) as u64 * k.div_ceil(span) as u64;
    Some(ActPlan {
        blocks: u32::try_from(blocks).ok()?,
        smem: smem as u32,
        span,
    })
}

/// Poison value written to outputs before a checked launch: a NaN with a payload that
/// `cvt.rn` never produces, so an unwritten element can never pass as a NaN result.
pub const POISON: u16 = 0x7FA5;

/// Poisons `out`, dequantizes `p` into it and waits; returns the raw output bits.
pub fn dequant_checked(gpu: &Gpu, p: &DevicePacked, dtype: OutDtype) -> GpuResult<Vec<u16>> {
    let (rows, k) = p.out_shape();
    let out = gpu.alloc(rows * k * 2)?;
    gpu.fill_u16(&out, POISON)?;
    dequant_async(gpu, p, dtype, &out)?;
    gpu.sync("dequant")?;
    let bytes = gpu.download(&out)?;
    Ok(bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gptq4(n: usize, k: usize, g: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let groups = k.div_ceil(g);
        (
            vec![0; k / 8 * n * 4],
            vec![0; groups * n / 8 * 4],
            vec![0; groups * n * 2],
        )
    }

    #[test]
    fn validate_rejects_wrong_lengths_and_bad_g_idx() {
        let (qw, qz, sc) = gptq4(64, 128, 32);
        let mut p = Packed::Gptq {
            bits: 4,
            n: 64,
            k: 128,
            group_size: 32,
            v1: true,
            qweight: &qw,
            qzeros: &qz,
            scales: &sc,
            scale_dtype: ScaleDtype::F16,
            g_idx: None,
            groups: 4,
        };
        assert!(p.validate().is_ok());
        let short = &qw[..qw.len() - 4];
        if let Packed::Gptq { qweight, .. } = &mut p {
            *qweight = short;
        }
        let e = p.validate().unwrap_err();
        assert_eq!(e.code(), "GPU011");
        let (qw, qz, sc) = gptq4(64, 128, 32);
        let mut gi: Vec<u8> = (0..128i32).flat_map(|k| (k / 32).to_le_bytes()).collect();
        gi[4 * 7..4 * 8].copy_from_slice(&4i32.to_le_bytes());
        let p = Packed::Gptq {
            bits: 4,
            n: 64,
            k: 128,
            group_size: 32,
            v1: true,
            qweight: &qw,
            qzeros: &qz,
            scales: &sc,
            scale_dtype: ScaleDtype::F16,
            g_idx: Some(&gi),
            groups: 4,
        };
        let e = p.validate().unwrap_err();
        assert!(e.to_string().contains("g_idx[7] = 4"), "{e}");
    }

    #[test]
    fn sorted_k_perm_accepts_act_order_groups_only() {
        let gi = |v: &[i32]| i32_bytes(v);
        // k = 0..8, group size 2: groups 3,0,1,3,2,0,1,2 -> sorted runs of two.
        let p = sorted_k_perm(&gi(&[3, 0, 1, 3, 2, 0, 1, 2]), 8, 2).unwrap();
        assert_eq!(p, vec![1, 5, 2, 6, 4, 7, 0, 3]);
        // A group with three members is not a run of two.
        assert!(sorted_k_perm(&gi(&[0, 0, 0, 1, 1, 2, 2, 3]), 8, 2).is_none());
        // Wrong length, zero group size.
        assert!(sorted_k_perm(&gi(&[0, 0]), 3, 2).is_none());
        assert!(sorted_k_perm(&gi(&[0, 0]), 2, 0).is_none());
    }

    #[test]
    fn poison_is_a_nan_that_rounding_never_produces() {
        for dt in OutDtype::ALL {
            assert!(dt.is_nan(POISON));
            assert_ne!(dt.round_bits(f32::NAN), POISON);
        }
    }
}
