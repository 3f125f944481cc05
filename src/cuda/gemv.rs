//! Fused low-bit GEMV: `y[M, N] = x[M, K] * W^T (+ bias)` for M = 1..16, activations and
//! output bf16 or f16, f32 accumulation (kernels/gemv.cu).
//!
//! [`plan`] picks the kernel by format, shape and M; formats or shapes without a fused
//! kernel (GPTQ 2/3-bit, compressed-tensors int8 or with g_idx, FP8 with non-f32 scales,
//! AWQ at M > 4, ...) dequantize to f32 and use cuBLAS instead ([`Plan::DequantCublas`]).

use super::dequant::{
    dequant_f32_async, Desc, DevicePacked, Fp8Scaling, Nvfp4Convention, OutDtype,
};
use super::error::{GpuError, GpuResult};
use super::runtime::{grid_1d, DevBuf, Gpu, KArg, LaunchEx};
use cudarc::cublas::{result as cublas_result, sys as cublas_sys, CudaBlas};
use cudarc::driver::LaunchConfig;

/// Largest M the fused kernels take.
pub const MAX_M: usize = 16;

/// How a GEMV is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A row-family kernel: one warp per output row.
    Row {
        /// Kernel function.
        kernel: String,
    },
    /// A column-family kernel with `splits` K-splits over grid.y.
    Column {
        /// Kernel function.
        kernel: String,
        /// Grid x (column tiles).
        tiles: u32,
        /// Grid y (K splits); > 1 means f32 partials, summed by a finalize pass (CUDA-core
        /// kernels) or by the last block of each column tile (`gemv_mma_*`).
        splits: u32,
        /// Threads per block (512 for the CUDA-core kernels, 256 for the tensor-core one).
        threads: u32,
        /// Act-order GPTQ through the K-sorted weights (`gptq4_sort_k`, once per layer) and
        /// activations gathered into that order (`gemv_permute_x`).
        sorted: bool,
        /// AWQ or compressed-tensors int4 through the GPTQ 4-bit kernels, on the layer
        /// repacked into the GPTQ layout (`gemv_awq_repack_*` / `gemv_ct4_repack_*`, once
        /// per layer).
        kpacked: bool,
        /// The split blocks of each column tile run as one thread-block cluster and sum
        /// through distributed shared memory (`split_tail` in gemv.cu; see `cluster_split`).
        cluster: bool,
    },
    /// A tensor-core kernel (mma.sync m16n8k16): one block of `warps` warps per 16 output
    /// rows, the warps splitting K.
    Mma {
        /// Kernel function.
        kernel: String,
        /// Grid x (16-row tiles).
        tiles: u32,
        /// Warps per block (4, 8 or 16; the kernel's `_w` suffix).
        warps: u32,
        /// Persistent blocks (the M = 1 FP4 `wcp` / `wp` kernels): at most one wave of
        /// blocks, each looping over tiles, with `fp4_pt_smem` bytes of dynamic shared memory.
        persistent: bool,
        /// K splits over grid.y (the M > 8 FP4 `x2r4k` kernels; 1 for the others), whose f32
        /// shares `gemv_finalize_*` sums.
        splits: u32,
    },
    /// Dequantize to a dense matrix, then cuBLAS.
    DequantCublas,
}

/// A K-major tensor-core plan (`threads` per block, `k_warps` of its warps along K) over `tiles`
/// blocks of columns, with grid.y K-splits: the most whose blocks all fit on the GPU at
/// once (the driver's occupancy for the kernel), so that no second, partial wave of blocks
/// runs with most SMs idle; 1 when the tiles alone fill more than one wave. At least
/// `min_warp_chunks` chunks per warp (two for most kernels), at most 16 splits
/// (`SAFEWEIGHTS_MMA_SPLITS` overrides, for tuning).
/// H100, M = 1 (µs, old rule of ~24 warps per SM -> this one): GPTQ4 8192x8192 25.7 -> 24.0,
/// 14336x4096 24.1 -> 19.6, 4096x14336 25.7 -> 22.7; AWQ 4096x4096 16.9 -> 12.8.
#[allow(clippy::too_many_arguments)]
fn mma_col_plan(
    gpu: &Gpu,
    kernel: String,
    tiles: usize,
    chunks: usize,
    k_warps: usize,
    min_warp_chunks: usize,
    threads: u32,
    sorted: bool,
    kpacked: bool,
) -> Plan {
    let splits = col_splits(
        wave(gpu, &kernel, threads),
        tiles,
        chunks,
        k_warps,
        min_warp_chunks,
        env_knob("SAFEWEIGHTS_MMA_SPLITS", 0),
    );
    // Split plans at M <= 8 take the `_sk` variant, which sums the splits in the last
    // block of each tile instead of a finalize launch (faster there, slower at M > 8;
    // gemv.cu); the unsplit kernel keeps the code (and registers) it was measured with.
    // The two-tile GPTQ4 kernel (M > 8) takes it only where its splits run as clusters
    // (two splits, all clusters resident at once: no finalize launch); through L2
    // (splitk_fixup) its partials were slower at M > 8 (session 5). H100, same call,
    // M = 16 on 8192x8192 (128 column tiles, two splits): GPTQ4 24.2-24.8 -> 21.5-21.8 us,
    // act-order 25.8-26.3 -> 23.2-23.3, AWQ 24.2-24.8 -> 21.5-21.7 (docs/perf.md, session
    // 12). `SAFEWEIGHTS_MMA_SK16=0` keeps the finalize launch, for tuning.
    let two_tile = kernel.ends_with("_n2_c1") || kernel.ends_with("_n2_c1w16");
    let (kernel, cluster) = match splits > 1 && has_splitk_variant(&kernel) {
        true => {
            let sk = format!("{kernel}_sk");
            let cluster = cluster_split(gpu, &sk, tiles as u32, splits as u32, threads.max(256));
            let take = !two_tile || (cluster && env_knob("SAFEWEIGHTS_MMA_SK16", 1) == 1);
            match (take, cluster) {
                (true, true) => (sk, true),
                // Without clusters: the `_skf` twin, the same sums through L2 without the
                // cluster and transaction-barrier code (gemv.cu, `SK_FIX`).
                (true, false) => (format!("{sk}f"), false),
                (false, _) => (kernel, false),
            }
        }
        false => (kernel, false),
    };
    Plan::Column {
        kernel,
        tiles: tiles as u32,
        splits: splits as u32,
        threads,
        sorted,
        kpacked,
        cluster,
    }
}

/// `mma_col_plan`'s K splits: as many as one `wave` of blocks holds over `tiles` column
/// tiles, with at least `min_warp_chunks` of the `chunks` per warp (`k_warps` warps along K)
/// and at most 16; `forced` (non-zero, a tuning override) replaces that count and is held
/// only to two chunks per warp.
fn col_splits(
    wave: usize,
    tiles: usize,
    chunks: usize,
    k_warps: usize,
    min_warp_chunks: usize,
    forced: usize,
) -> usize {
    let most = |min_chunks: usize| (chunks / (min_chunks.max(1) * k_warps.max(1))).clamp(1, 16);
    match forced {
        0 => (wave / tiles.max(1)).clamp(1, most(min_warp_chunks)),
        forced => forced.clamp(1, most(2)),
    }
}

/// The GPTQ 4-bit tensor-core plan (also AWQ and compressed-tensors int4, repacked into the
/// GPTQ layout).
#[allow(clippy::too_many_arguments)]
fn gptq4_mma_plan(
    gpu: &Gpu,
    sfx: &str,
    m: usize,
    n: usize,
    k: usize,
    group_size: usize,
    sorted: bool,
    kpacked: bool,
) -> Plan {
    // At M > 8, a layer whose 64-column tiles exceed one wave of two-tile blocks (2 per SM)
    // with a last wave at most three quarters full takes 128-column blocks (`c2`: two
    // warps along N share each activation fragment; 224 blocks for 28672 rows, all
    // resident). H100, same call, M = 16, 28672x8192 with the activations written afresh
    // before each run (docs/perf.md, session 16): GPTQ4 64.6 -> 59.6 us, AWQ 64.7 -> 59.6,
    // ct int4 63.1 -> 59.4. With the activations left in L2 by the previous run it was
    // slower than one 64-column tile per block (69.2 against 62.7). GPTQ4 24576x8192 (last
    // wave 45% full) 64.1 -> 58.8; 33792x8192 (two full waves) 66.3 -> 68.6, so it keeps
    // the 64-column tiles. Act-order layers took the two-tile kernel in 4-warp blocks
    // (`gptq4q`) there until the group-sum kernel (session 18, same call, 28672x8192:
    // `gptq4q` 59.0 us, `c2` 58.0-58.2; 24576x8192 58.2-58.6 against 57.2-57.3).
    // `SAFEWEIGHTS_MMA_BIG16=0|1` forces the choice, for tuning and conformance.
    let big16 = m > 8 && {
        let wave8 = wave(gpu, &format!("gemv_mma_gptq4_{sfx}_n2_c1"), 256);
        let default = partial_second_wave(n.div_ceil(64), wave8);
        env_knob("SAFEWEIGHTS_MMA_BIG16", usize::from(default)) == 1
    };
    // 8 warps per block: `cols` along N (64 columns each), the rest along K; grid.y
    // splits K further (`mma_col_plan`).
    let cols = match env_knob("SAFEWEIGHTS_MMA_COLS", 0) {
        c @ (1 | 2 | 4) => c,
        _ if big16 => 2,
        _ => 1,
    };
    // M <= 8 and groups of 64k: 64-k chunks (four 16-byte loads per lane in flight).
    let wide = cols == 1
        && m <= 8
        && group_size % 64 == 0
        && k % 64 == 0
        && env_knob("SAFEWEIGHTS_MMA_GPTQW", 1) == 1;
    let tiles = n.div_ceil(64 * cols);
    let chunks = k / if wide { 64 } else { 32 };
    // The two-tile kernel prefetches weights into L2 two chunks ahead;
    // `SAFEWEIGHTS_MMA_PF=0|3` picks a variant with none or three, for tuning.
    let pf = match env_knob("SAFEWEIGHTS_MMA_PF", 2) {
        p @ (0 | 3) if cols == 1 && !wide && m > 8 => format!("p{p}"),
        _ => String::new(),
    };
    // The 128-column blocks read the layer in the chunk-major layout (`c2m`, gemv.cu
    // `gemv_gptq4_cm_repack`: one more copy of the packed weights, built on first use,
    // `cm_weights`), where each warp's 32-k chunks are consecutive 1 KB blocks. H100, same
    // call, M = 16, 28672x8192 (docs/perf.md, session 27). Act-order layers keep `c2` on
    // their sorted copy. `SAFEWEIGHTS_GPTQ4_CM=0` keeps `c2` everywhere.
    let cm = cols == 2 && m > 8 && !sorted && env_knob("SAFEWEIGHTS_GPTQ4_CM", 1) == 1;
    // The 128-column kernels with the spread tail (gemv.cu `ga_tail_spread`, `c2t` / `c2mt`,
    // the same bits): H100, M = 16, 28672x8192, against `c2m` / `c2` in the same bench
    // process, alternating: GPTQ4 -0.74 us, AWQ -0.43, ct int4 -0.37, act-order -0.22
    // (docs/perf.md, session 28). `SAFEWEIGHTS_MMA_C2T=0` keeps `c2` / `c2m`.
    let c2t = cols == 2 && m > 8 && env_knob("SAFEWEIGHTS_MMA_C2T", 1) == 1;
    let kernel = format!(
        "gemv_mma_gptq4{}{pf}_{sfx}_n{}_c{cols}{}{}",
        if wide { "w" } else { "" },
        if m <= 8 { 1 } else { 2 },
        if cm { "m" } else { "" },
        if c2t { "t" } else { "" }
    );
    // The 64-k kernel in 4-warp blocks (`gptq4w4`, 4 per SM) where one 8-warp block per tile
    // would need more than one wave (2 per SM): every tile then runs at once instead of a
    // second round on part of the SMs (docs/perf.md, session 11). H100, same call, M = 1:
    // 28672x8192 48.6 -> 46.4 us, act-order 49.2 -> 46.9, 24576x8192 47.8 -> 41.9; on
    // 14336x4096 (224 tiles) and 8192x8192 it was slower (16.8 -> 20.5, 18.6 -> 21.2).
    // `SAFEWEIGHTS_MMA_GPTQW4=0|1` forces the choice, for tuning.
    let w4 = wide && {
        let wave8 = gpu.blocks_per_sm(&kernel, 256).unwrap_or(2) as usize
            * gpu.info().sm_count.max(1) as usize;
        env_knob("SAFEWEIGHTS_MMA_GPTQW4", usize::from(tiles > wave8)) == 1
    };
    let kernel = match w4 {
        true => kernel.replacen("gptq4w_", "gptq4w4_", 1),
        false => kernel,
    };
    // The two-tile kernel in 4-warp blocks (`gptq4q`, 4 per SM): not chosen since session 18;
    // `SAFEWEIGHTS_MMA_N2W4=1` takes it, for tuning and conformance.
    let q4 = cols == 1 && m > 8 && pf.is_empty() && env_knob("SAFEWEIGHTS_MMA_N2W4", 0) == 1;
    let kernel = match q4 {
        true => kernel.replacen("gptq4_", "gptq4q_", 1),
        false => kernel,
    };
    // M > 8 where one wave of 16-warp blocks (one per SM) holds the 64-column groups: the
    // two-tile kernel in 16-warp blocks, K over the 16 warps, at least 4 chunks each (two
    // splits in a cluster on 4096 columns), as FP4's `c1w16`. `SAFEWEIGHTS_MMA_W16=0|1`
    // forces the choice.
    let w16 = cols == 1 && m > 8 && pf.is_empty() && !q4 && {
        let sms = gpu.info().sm_count.max(1) as usize;
        env_knob("SAFEWEIGHTS_MMA_W16", usize::from(tiles <= sms)) == 1
    };
    if w16 {
        let mut plan = mma_col_plan(
            gpu,
            format!("gemv_mma_gptq4_{sfx}_n2_c1w16"),
            tiles,
            chunks,
            16,
            4,
            512,
            sorted,
            kpacked,
        );
        // With the quad tail (gemv.cu `ga_tail_quad`, `c1w16s`): H100, M = 16, against
        // `c1w16` in the same bench process, alternating, 4096x4096 -0.14 to -0.33 us,
        // 8192x8192 -0.29 to -0.40, 4096x14336 -0.17 to -0.24 (docs/perf.md, session 28).
        // `SAFEWEIGHTS_MMA_W16Q=0` keeps `c1w16`.
        if let (Plan::Column { kernel, .. }, 1) = (&mut plan, env_knob("SAFEWEIGHTS_MMA_W16Q", 1)) {
            *kernel = kernel.replacen("_n2_c1w16", "_n2_c1w16s", 1);
        }
        return plan;
    }
    let (k_warps, threads) = if w4 || q4 { (4, 128) } else { (8 / cols, 256) };
    mma_col_plan(
        gpu,
        kernel,
        tiles,
        chunks,
        k_warps,
        two_tile_min_chunks(m, sorted),
        threads,
        sorted,
        kpacked,
    )
}

/// The fewest 32-k chunks per warp for the GPTQ4 plan's K splits. At M > 8 the group-sum
/// kernel (gemv.cu, `mma_gptq4_ga_body`) pays a fixed cost per warp (its last group's sums,
/// the scalar copy for the tail), so its warps keep at least 8 chunks, two groups of 128:
/// H100, same call, M = 16 (docs/perf.md, session 18), 4096x4096 GPTQ4 four splits (4
/// chunks per warp) 12.5 us, two 11.3 (ct int4 12.4 -> 11.3); 4096x14336 keeps four (14
/// chunks; two 22.1 against 20.6-21.0); 8192x8192 already took two. Act-order layers keep
/// two chunks: on 4096x4096 their two splits took 14.6-14.7 against 14.0-14.1 with four.
fn two_tile_min_chunks(m: usize, sorted: bool) -> usize {
    if m > 8 && !sorted {
        8
    } else {
        2
    }
}

/// Whether `tiles` blocks need more than one wave of `wave` and their last wave is at most
/// three quarters full (the M > 8 GPTQ4 plan's switch to 128-column blocks).
fn partial_second_wave(tiles: usize, wave: usize) -> bool {
    let last = tiles % wave.max(1);
    tiles > wave && last != 0 && 4 * last <= 3 * wave
}

/// The `z` twin of GPTQ4 kernel `kernel` (gemv.cu, `GEMV_MMA_Z8`: every zero point 8, the
/// zero words not read), for symmetric compressed-tensors int4 on the GPTQ4 kernels; `None`
/// for a tuning variant without one (it reads the repack's zero words of 8 instead).
fn zero8_variant(kernel: &str) -> Option<String> {
    const TWINS: [(&str, &str); 13] = [
        ("gptq4w4", "n1_c1"),
        ("gptq4w", "n1_c1"),
        ("gptq4w", "n1_c1_sk"),
        ("gptq4w", "n1_c1_skf"),
        ("gptq4", "n1_c1"),
        ("gptq4", "n1_c1_sk"),
        ("gptq4", "n1_c1_skf"),
        ("gptq4", "n2_c1"),
        ("gptq4", "n2_c1_sk"),
        ("gptq4", "n2_c2"),
        ("gptq4", "n2_c2m"),
        ("gptq4", "n2_c2t"),
        ("gptq4", "n2_c2mt"),
    ];
    ["bf16", "f16"].into_iter().find_map(|dt| {
        TWINS
            .iter()
            .find(|(family, tail)| kernel == format!("gemv_mma_{family}_{dt}_{tail}"))
            .map(|(family, tail)| format!("gemv_mma_{family}z_{dt}_{tail}"))
    })
}

/// Whether an AWQ layer of `n x k` at `m` rows runs on the GPTQ4 kernels, repacked (see
/// `plan`).
fn awq_repack(m: usize, n: usize, k: usize) -> bool {
    m > 8 || n * k > 4096 * 4096
}

/// Whether a compressed-tensors int4 layer of `n x k` at `m` rows runs on the GPTQ4
/// kernels, repacked (see `plan`).
fn ct4_repack(m: usize, n: usize, k: usize) -> bool {
    m > 8 || n.max(k) >= 14336 || n.min(k) >= 8192
}

/// K splits that run as one cluster: two, the only count measured faster (gemv.cu's
/// `split_tail` takes up to `CL_MAX` = 8, the portable cluster size, and conformance checks
/// 3 and 8 with `SAFEWEIGHTS_MMA_SPLITS`).
const CLUSTER_SPLITS: u32 = 2;

/// Whether the `_sk` launch of `kernel` over `tiles` x `splits` blocks of `threads`
/// threads runs as clusters of each tile's split blocks, which then sum their partials
/// through distributed shared memory (`split_tail` in gemv.cu) instead of through L2
/// (`splitk_fixup`): only when the driver says all `tiles` clusters can be resident at
/// once. H100, M = 1, same call (docs/perf.md, session 8): with two splits GPTQ4 8192x8192
/// 20.2 -> 18.5 us; four-block clusters on 64 tiles (4096x14336, before the residency
/// test) 18.5 -> 24.5, two-block ones on 448 tiles (28672x8192, forced) 48.7 -> 58.6.
/// `SAFEWEIGHTS_GEMV_CLUSTER=0` turns it off.
fn cluster_split(gpu: &Gpu, kernel: &str, tiles: u32, splits: u32, threads: u32) -> bool {
    kernel.ends_with("_sk")
        && splits == CLUSTER_SPLITS
        && env_knob("SAFEWEIGHTS_GEMV_CLUSTER", 1) == 1
        && gpu
            .max_active_clusters(kernel, threads, (1, splits, 1))
            .is_ok_and(|c| c >= tiles)
}

/// Whether K-major kernel `kernel` has a `_sk` variant (splits summed in the kernel): the
/// one-tile (M <= 8) GPTQ4 (one column group), GPTQ8 and AWQ kernels.
fn has_splitk_variant(kernel: &str) -> bool {
    ["gemv_mma_gptq4_", "gemv_mma_gptq4w_"]
        .iter()
        .any(|f| kernel.starts_with(f) && kernel.ends_with("_n1_c1"))
        || (kernel.starts_with("gemv_mma_gptq4_")
            && (kernel.ends_with("_n2_c1") || kernel.ends_with("_n2_c1w16")))
        || ["gemv_mma_gptq8_", "gemv_mma_awq_"]
            .iter()
            .any(|f| kernel.starts_with(f) && kernel.ends_with("_n1"))
}

/// A tensor-core plan `gemv_mma_<name>_<dt>_n<NT>_w<W>` (`name`: family and variant, e.g.
/// `nvfp4w`): one block per `16 * rt` rows, its warps (`mma_warps`) splitting `chunks`
/// K-chunks; with `wr` > 1 (the `r<wr>` kernels) one block per `16 * rt * wr` rows, its
/// warps `wr` row groups that each split K.
fn mma_plan(
    name: &str,
    dt: &str,
    m: usize,
    rows: usize,
    (rt, wr): (usize, usize),
    chunks: usize,
    min_warps: u32,
) -> Plan {
    let tiles = rows.div_ceil(16 * rt);
    let warps = mma_warps(chunks, tiles, min_warps);
    let (name, tiles) = match wr {
        1 => (name.to_string(), tiles),
        _ => (format!("{name}r{wr}"), tiles.div_ceil(wr)),
    };
    Plan::Mma {
        kernel: format!(
            "gemv_mma_{name}_{dt}_n{}_w{warps}",
            if m <= 8 { 1 } else { 2 }
        ),
        tiles: tiles as u32,
        warps,
        persistent: false,
        splits: 1,
    }
}

/// At M > 8 on 8192 rows or more, the warps per block (2 or 4) of the small-block two-tile
/// FP4 kernel (`x2s`: one 32-row pair per block at 128 registers, its warps splitting K), or
/// 0 for the 128-row `x2r4l` / `x2r4` blocks. At M = 16 these kernels go as fast as their
/// busiest SM, so the choice is the one that puts the fewest rows on it, in one wave:
/// - 4 warps (4 blocks per SM) wherever one wave holds every 32-row block (H100: up to
///   16896 rows). Same call, M = 16, against `x2r4`: 8192x8192 NVFP4 29.8 -> 26.3 us, MXFP4
///   29.4 -> 25.2; 14336x4096 24.5 -> 24.0, 23.0 -> 22.5 (session 12).
/// - Past that, 2 warps (8 blocks per SM, still one wave up to 33792 rows) where the
///   busiest SM gets fewer rows than with two 128-row blocks. H100, same call, M = 16,
///   `x2r4l` / the 4-warp `x2s` (two rounds) -> 2 warps, µs (docs/perf.md, session 17):
///   28672x8192 (224 rows against 256) NVFP4 70.1-70.5 -> 67.7-68.4, MXFP4 68.3-69.0 ->
///   64.4-64.7; 24576x8192 (192) 72.8-73.6 -> 57.9-58.3, 70.0-70.7 -> 55.6-56.0; 20480x8192
///   (160) 71.6-71.9 -> 50.8-51.3, 69.1-69.7 -> 48.3-48.5; 28672x4096 39.1 -> 37.7, 38.6 ->
///   36.5-36.8. 33792 rows (256 either way) keep `x2r4l`: 75.0-75.6 against 76.0-76.9.
fn fp4_small_warps(family: &str, dt: &str, rows: usize, sms: usize, slots: Slots) -> usize {
    if rows < 8192 {
        return 0;
    }
    let blocks = rows.div_ceil(32);
    if blocks <= slots(&format!("gemv_mma_{family}x2s_{dt}_n2_w4"), 128) {
        return 4;
    }
    let sms = sms.max(1);
    let small = (blocks <= slots(&format!("gemv_mma_{family}x2s_{dt}_n2_w2"), 64))
        .then(|| blocks.div_ceil(sms) * 32);
    let tiles = rows.div_ceil(128);
    let large = (tiles <= slots(&format!("gemv_mma_{family}x2r4l_{dt}_n2_w8"), 256))
        .then(|| tiles.div_ceil(sms) * 128);
    match (small, large) {
        (Some(s), Some(l)) if s < l => 2,
        (Some(_), None) => 2,
        _ => 0,
    }
}

/// The `fp4ga` plan for NVFP4 / MXFP4 at M > 8 (mma_fp4_ga_body in gemv.cu: K-major
/// repacked weights, 64 columns per warp, 8-warp blocks of NWN column groups), or `None`
/// where the other FP4 kernels stay (fewer than 4096 rows). NWN 1 where one wave holds the
/// 64-column blocks, else 2; K splits (summed by gemv_finalize) up to 4 while one wave has
/// room for them, keeping at least 4 chunks of 32 k per warp. H100, M = 16, same call, the
/// kernels before -> `fp4ga` (NVFP4 modelopt / MXFP4, µs, docs/perf.md session 19):
/// 28672x8192 (NWN 2) 67.3-67.7 -> 60.3 / 64.2-64.4 -> 57.3; 14336x4096 (NWN 1) 23.9-24.2
/// -> 19.6-19.7 / 22.5-22.6 -> 19.7-19.9 (24.1-24.2 / 23.4-23.6 with 2 splits); 8192x8192
/// (2 splits) 26.3-26.4 -> 23.1-23.2 / 25.7-25.9 -> 22.1 (1 split 24.6-24.7 / 23.6-23.7, 4
/// splits 24.9-25.0 / 24.0-24.1); 4096x14336 (4 splits) 25.2 -> 20.9 / 23.8 -> 20.1 (2
/// splits 24.8 / 23.1, 8 splits 23.5 / 22.6); 4096x4096 (4 splits) 12.3 -> 12.2 / 12.2 ->
/// 11.8 (2 splits 12.8 / 12.7). Two splits of one column group take the `_sk` twin, which
/// sums them in a cluster (8192x8192 23.0 / 22.5 -> 21.9 / 21.8, session 19 call 9; the
/// launch falls back to the twin without it where the clusters do not all fit).
/// Where one wave of 16-warp blocks (one per SM) holds the column groups, one group per
/// such block instead (`c1w16`), K split 16 ways in it and over two blocks as a cluster
/// where twice the groups fit (`c1w16_sk`): no finalize launch on the 4096-row layers.
/// H100, M = 16, same call, 8-warp -> 16-warp (NVFP4 modelopt / MXFP4, session 20):
/// 4096x4096 12.3 -> 11.2-11.4 / 11.9-12.2 -> 10.8-10.9; 4096x14336 20.9 -> 20.2-20.3 /
/// 20.4-20.5 -> 19.3; 8192x8192 21.8 -> 20.2-20.5 / 21.9-22.1 -> 20.5-20.6.
/// `SAFEWEIGHTS_FP4_GA=0` keeps the other kernels; 1, 2 or 4
/// forces NWN (and the plan on any layer at M > 8); `SAFEWEIGHTS_FP4_GA_SPLITS` forces the
/// splits; `SAFEWEIGHTS_FP4_GA_W16=0` keeps the 8-warp blocks.
fn fp4ga_plan(
    family: &str,
    dt: &str,
    rows: usize,
    k: usize,
    m: usize,
    slots: Slots,
) -> Option<Plan> {
    let knob = env_knob("SAFEWEIGHTS_FP4_GA", 3);
    if m <= 8 || k % 32 != 0 || knob == 0 {
        return None;
    }
    let wave = |nwn: usize| slots(&format!("gemv_mma_{family}ga_{dt}_c{nwn}"), 256).max(1);
    let nwn = match knob {
        1 | 2 | 4 => knob,
        _ if rows < 4096 => return None,
        _ if rows.div_ceil(64) <= wave(1) => 1,
        _ => 2,
    };
    let tiles = rows.div_ceil(64 * nwn);
    // One column group per 16-warp block (one per SM) where one wave of them holds the
    // groups: K split 16 ways in the block, and over two blocks as a cluster where twice
    // the groups still fit, at least 4 chunks per warp (`SAFEWEIGHTS_FP4_GA_W16=0|1`).
    let wave16 = slots(&format!("gemv_mma_{family}ga_{dt}_c1w16"), 512).max(1);
    let per_warp16 = |s: usize| (k / 32) / (16 * s);
    if nwn == 1 && tiles <= wave16 && env_knob("SAFEWEIGHTS_FP4_GA_W16", 1) == 1 {
        let splits = match 2 * tiles <= wave16 && per_warp16(2) >= 4 {
            true => 2,
            false => 1,
        };
        let splits = env_knob("SAFEWEIGHTS_FP4_GA_SPLITS", splits).clamp(1, 2);
        if per_warp16(splits) >= 4 {
            return Some(Plan::Mma {
                kernel: format!(
                    "gemv_mma_{family}ga_{dt}_c1w16{}",
                    if splits == 2 { "_sk" } else { "" }
                ),
                tiles: tiles as u32,
                warps: 16,
                persistent: false,
                splits: splits as u32,
            });
        }
    }
    let per_warp = |s: usize| (k / 32) / (s * 8 / nwn);
    let mut splits = (wave(nwn) / tiles).clamp(1, 4);
    while splits > 1 && per_warp(splits) < 4 {
        splits -= 1;
    }
    let splits = env_knob("SAFEWEIGHTS_FP4_GA_SPLITS", splits).clamp(1, 16);
    // Two splits of one column group: the `_sk` kernel, whose splits sum in a cluster
    // (`SAFEWEIGHTS_FP4_GA_SK=0` keeps the finalize launch).
    let sk =
        nwn == 1 && splits as u32 == CLUSTER_SPLITS && env_knob("SAFEWEIGHTS_FP4_GA_SK", 1) == 1;
    Some(Plan::Mma {
        kernel: format!(
            "gemv_mma_{family}ga_{dt}_c{nwn}{}",
            if sk { "_sk" } else { "" }
        ),
        tiles: tiles as u32,
        warps: 8,
        persistent: false,
        splits: splits as u32,
    })
}

/// NVFP4 / MXFP4 (`family`) on tensor cores: `fp4ga_plan` where it applies, else
/// `fp4_mma_plan_base`.
fn fp4_mma_plan(
    family: &str,
    dt: &str,
    rows: usize,
    k: usize,
    m: usize,
    sms: usize,
    slots: Slots,
) -> Plan {
    fp4ga_plan(family, dt, rows, k, m, slots)
        .unwrap_or_else(|| fp4_mma_plan_base(family, dt, rows, k, m, sms, slots))
}

/// NVFP4 / MXFP4 (`family`) on tensor cores: M <= 8 takes 256-k chunks (32 contiguous bytes
/// per lane and row); M > 8 takes 128-k chunks with two m16 tiles per warp sharing the
/// activation fragments once there are many rows (H100, M = 16: 28672 rows 115 -> 92 us,
/// 14336 rows 43 -> 35 us; 8192 rows and fewer slower).
fn fp4_mma_plan_base(
    family: &str,
    dt: &str,
    rows: usize,
    k: usize,
    m: usize,
    sms: usize,
    slots: Slots,
) -> Plan {
    // M > 8 from 8192 rows: the small-block two-tile kernel where `fp4_small_warps` finds
    // it balances the SMs better. `SAFEWEIGHTS_FP4_SMALL=0|2|4` turns it off or forces it
    // with 2 or 4 warps.
    let small = match m > 8 {
        true => env_knob(
            "SAFEWEIGHTS_FP4_SMALL",
            fp4_small_warps(family, dt, rows, sms, slots),
        ),
        false => 0,
    };
    if small == 2 || small == 4 {
        return Plan::Mma {
            kernel: format!("gemv_mma_{family}x2s_{dt}_n2_w{small}"),
            tiles: rows.div_ceil(32) as u32,
            warps: small as u32,
            persistent: false,
            splits: 1,
        };
    }
    let wide = m <= 8 && k % 256 == 0 && env_knob("SAFEWEIGHTS_MMA_WIDE", 1) == 1;
    // The 256-k kernel has one tile per warp whatever the override says.
    let rt = match wide {
        true => 1,
        false => env_knob("SAFEWEIGHTS_MMA_RT", if rows >= 14336 { 2 } else { 1 }).clamp(1, 2),
    };
    // NVFP4 at M = 1: the `wc` kernel, activation rows clamped instead of zeroed (see
    // mma_load_x: 28672x8192 57.0 -> 55.2 us, 8192x8192 21.5 -> 20.5). MXFP4 with it took
    // 82 registers, 5 blocks per SM instead of 7 (28672x8192 48.3 -> 55.0; session 12).
    let (variant, chunk_k) = match (wide, rt) {
        (true, _) if m == 1 && family == "nvfp4" => ("wc", 256),
        (true, _) => ("w", 256),
        (false, 2) => ("x2", 128),
        _ => ("", 128),
    };
    // M > 8 with two tiles per warp: four row groups per block read each activation
    // fragment about together (L1 hits instead of L2 reads). H100 M = 16: 28672x8192
    // NVFP4 91.8 -> 87.2 us, MXFP4 87.5 -> 85.0; 14336x4096 34.7 -> 28.5 and 29.2 -> 27.5
    // (two groups were slower: 100.8 on 28672x8192, 1.13 waves of blocks).
    let wr = match rt == 2 && m > 8 {
        true => row_groups(4, &[1, 4]),
        false => 1,
    };
    if let Some(splits) = fp4_ksplits(m, rows, k) {
        return Plan::Mma {
            kernel: format!("gemv_mma_{family}x2r4k_{dt}_n2_w8"),
            tiles: rows.div_ceil(128) as u32,
            warps: 8,
            persistent: false,
            splits,
        };
    }
    // 25600 rows or more: the 8-warp `x2r4l` kernel at 128 registers, two blocks per SM
    // (224 blocks of 4 warps had 1 or 2 per SM): 28672x8192 NVFP4 87.2 -> 83.0 us, MXFP4
    // 84.9 -> 75.9.
    if wr == 4 && rows >= 25600 && std::env::var_os("SAFEWEIGHTS_MMA_WARPS").is_none() {
        return Plan::Mma {
            kernel: match env_knob("SAFEWEIGHTS_FP4_XP", 2) {
                v @ (0 | 1) => format!("gemv_mma_{family}x2r4lv{v}_{dt}_n2_w8"),
                _ => format!("gemv_mma_{family}x2r4l_{dt}_n2_w8"),
            },
            tiles: rows.div_ceil(128) as u32,
            warps: 8,
            persistent: false,
            splits: 1,
        };
    }
    if wide {
        let tiles = rows.div_ceil(16);
        let pt = format!("{family}{}", if family == "nvfp4" { "wcp" } else { "wp" });
        if let Some(w) = fp4_persistent_warps(&format!("gemv_mma_{pt}_{dt}_n1"), m, tiles, k, slots)
        {
            return Plan::Mma {
                kernel: format!("gemv_mma_{pt}_{dt}_n1_w{w}"),
                tiles: tiles as u32,
                warps: w,
                persistent: true,
                splits: 1,
            };
        }
        let name = format!("{family}{variant}");
        let warps = fp4_wide_warps(
            &format!("gemv_mma_{name}_{dt}_n1"),
            tiles,
            k / 256,
            m,
            slots,
        );
        let (name, warps) = match fp4_ring_warps(m, warps, k / 256) {
            Some(w) => (
                format!("{family}{}", if family == "nvfp4" { "wca" } else { "wa" }),
                w,
            ),
            None => (name, warps),
        };
        return Plan::Mma {
            kernel: format!("gemv_mma_{name}_{dt}_n1_w{warps}"),
            tiles: tiles as u32,
            warps,
            persistent: false,
            splits: 1,
        };
    }
    mma_plan(
        &format!("{family}{variant}"),
        dt,
        m,
        rows,
        (rt, wr),
        k / chunk_k,
        4,
    )
}

/// At M = 1, the warps per block of the 256-k FP4 kernel that takes its activations through
/// a shared-memory ring (`wca` / `wa`: `XR` in gemv.cu), or `None` for the kernel that loads
/// them per chunk, given the plain kernel's `warps` and the layer's 256-k chunks. The ring
/// costs instructions (412 against 345 per chunk in the 4-warp NVFP4 kernel held to 72
/// registers) and hides the activations' latency; it pays where few warps share an SM.
/// H100, same call, µs (docs/perf.md, session 13):
/// - 8-warp blocks (4096-row layers), ring: 4096x14336 NVFP4 17.7 -> 16.2, MXFP4 17.5 ->
///   15.9; 4096x4096 9.7 -> 8.6, 9.2 -> 8.5.
/// - 28672x8192, 4-warp plain -> 8-warp ring: NVFP4 51.7-51.9 -> 51.2-51.7, MXFP4 48.4 ->
///   47.5; the 4-warp ring was no faster (51.6, 49.2-49.5).
/// - Slower with it, so not taken: 14336x4096 (16 chunks) 4-warp ring 16.7 -> 17.5, 8-warp
///   ring 19.0-19.3; 8192x8192 (6 warps) MXFP4 18.0 -> 19.1 at 8 warps; 16-warp rings
///   (28672x8192 63-64, not measured where the plain plan takes 16).
///
/// `SAFEWEIGHTS_FP4_XR=0` never takes it, `=2` takes it at any warp count (for tuning); a
/// forced `SAFEWEIGHTS_FP4_WARPS` keeps its count.
fn fp4_ring_warps(m: usize, warps: u32, chunks: usize) -> Option<u32> {
    match (m, env_knob("SAFEWEIGHTS_FP4_XR", 1)) {
        (1, 1) => {}
        (1, 2) => return Some(warps), // any warp count, for tuning
        _ => return None,
    }
    match warps {
        8 => Some(8),
        4 if chunks >= 32 && std::env::var_os("SAFEWEIGHTS_FP4_WARPS").is_none() => Some(8),
        _ => None,
    }
}

/// At M > 8 on fewer than 8192 rows (where one 16-row tile per warp would run) with at
/// least 80 128-k chunks: the K splits of the `x2r4k` kernel (128 rows per 8-warp block,
/// four row groups of two tiles sharing each activation fragment, K split over grid.y
/// and the f32 shares summed by `gemv_finalize_*`), or `None`. One tile per warp reads
/// four times its weight bytes in activations, mostly from L2 on these long rows. H100,
/// same call, M = 16 (docs/perf.md, session 14): 4096x14336 NVFP4 27.8-28.1 -> 25.7 us (4
/// or 8 splits; 2: 38.3), MXFP4 27.1-27.4 -> 24.4-24.7; 4096x4096 (32 chunks) slower, 12.2
/// -> 13.3 (8) and 14.1 (4). `SAFEWEIGHTS_FP4_KSPLIT=0` never takes it, `=S` (1-32)
/// wherever M > 8 and K % 128 == 0, with S splits (with `SAFEWEIGHTS_FP4_SMALL=0` where
/// the `x2s` plan comes first: `fp4_small_warps`).
fn fp4_ksplits(m: usize, rows: usize, k: usize) -> Option<u32> {
    if m <= 8 || k % 128 != 0 {
        return None;
    }
    match env_knob("SAFEWEIGHTS_FP4_KSPLIT", usize::MAX) {
        0 => None,
        usize::MAX => (rows < 8192 && k / 128 >= 80).then_some(4),
        s => Some(s.clamp(1, 32) as u32),
    }
}

/// Dynamic shared memory of the persistent M = 1 FP4 kernels (`PT` in gemv.cu): the
/// activations of a `k`-long row, 256-k chunks of 36 16-byte slots (32 and four pad slots).
fn fp4_pt_smem(k: usize) -> u32 {
    (k / 256 * 36 * 16) as u32
}

/// Blocks of a persistent kernel over `tiles` tiles with room for `blocks` at once: as few
/// as give every block the same number of tiles, give or take one (ceil(tiles / blocks)
/// rounds of tiles, then the fewest blocks that cover them in that many rounds), so that no
/// block holds more tiles than the busiest must. `SAFEWEIGHTS_FP4_PT_BALANCE=0` takes
/// `min(tiles, blocks)` instead, for tuning.
fn pt_grid(tiles: u32, blocks: u32) -> u32 {
    let blocks = blocks.max(1);
    match env_knob("SAFEWEIGHTS_FP4_PT_BALANCE", 1) {
        0 => tiles.min(blocks),
        _ => tiles.div_ceil(tiles.div_ceil(blocks)),
    }
}

/// The most dynamic shared memory a persistent FP4 kernel is planned with: the 48 KB a
/// launch gets without opting in, less the kernel's static reduction buffers (8 KB).
const FP4_PT_SMEM_MAX: u32 = 40 * 1024;

/// At M = 1, the warps per block of the persistent 256-k FP4 kernel (`prefix` + `_w<W>`:
/// `wcp` / `wp`, `PT` in gemv.cu), or `None` for the one-tile-per-block kernels. Taken with
/// 8 warps where the layer has more tiles than one wave of those blocks holds and at least
/// 32 chunks (4 per warp). H100, same call, M = 1, µs (docs/perf.md, session 14):
/// - 28672x8192 (1792 tiles; NVFP4 in 256 blocks of 7): NVFP4 51.3 -> 46.4-46.5, MXFP4
///   47.2-47.4 -> 44.5-44.7;
/// - 8192x8192 (512 tiles): NVFP4 18.8 -> 17.3, MXFP4 18.0 -> 16.9.
///
/// Not taken: 14336x4096 (16 chunks; NVFP4 16.6-16.8 -> 17.1-17.5, MXFP4 16.4 -> 16.9-17.1),
/// 4096-row layers (one tile per block: equal to the ring kernels). `SAFEWEIGHTS_FP4_PT=0`
/// never takes it, `=2` wherever it fits (for tuning and conformance), and
/// `SAFEWEIGHTS_FP4_PT_WARPS=4` picks 4-warp blocks; a forced `SAFEWEIGHTS_FP4_WARPS` or
/// `SAFEWEIGHTS_MMA_WARPS` keeps the one-tile kernels.
fn fp4_persistent_warps(
    prefix: &str,
    m: usize,
    tiles: usize,
    k: usize,
    slots: Slots,
) -> Option<u32> {
    if m != 1 || k % 256 != 0 || fp4_pt_smem(k) > FP4_PT_SMEM_MAX {
        return None;
    }
    let warps = match env_knob("SAFEWEIGHTS_FP4_PT_WARPS", 8) {
        4 => 4,
        _ => 8,
    };
    let forced = ["SAFEWEIGHTS_FP4_WARPS", "SAFEWEIGHTS_MMA_WARPS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    match env_knob("SAFEWEIGHTS_FP4_PT", 1) {
        0 => None,
        2 => Some(warps),
        _ => (!forced && k / 256 >= 32 && tiles > slots(&format!("{prefix}_w{warps}"), 32 * warps))
            .then_some(warps),
    }
}

/// At M = 1, the warps per block of the persistent 4-bit kernel (`gemv_mma_i4wp_*`, GPTQ,
/// AWQ and compressed-tensors: FMT 2 of `mma_nvfp4_wide_body`, the FP4 `wcp` frame on the layer repacked row-major by
/// `i4wp_operands`; act-order layers take their activations permuted by `gemv_permute_x`,
/// the GEMV launched to overlap it), or `None` for the K-major GPTQ4 kernels. It needs 256-k chunks, groups of a
/// multiple of 128 (an MMA's 16 k then share one scale), whole words of zero points, and
/// the row's activations in the dynamic shared memory the FP4 kernels plan with. Taken
/// wherever it fits: H100, same call, M = 1, µs, K-major kernels -> `i4wp` (docs/perf.md,
/// session 22):
/// - 28672x8192: 46.5-46.6 -> 44.2-44.6, act-order 47.0 -> 45.9;
/// - 8192x8192: 18.6 -> 16.8-16.9, act-order 19.4-19.5 -> 18.0;
/// - 14336x4096: 16.7 -> 15.9, act-order 17.4 -> 16.6-16.7;
/// - 4096x14336: 18.4-18.6 -> 15.8, act-order 19.0-19.2 -> 16.8;
/// - 4096x4096: 11.0 -> 8.6, act-order 12.0-12.1 -> 9.5.
///
/// `SAFEWEIGHTS_I4_PT=0` never takes it.
fn i4_persistent_warps(m: usize, n: usize, k: usize, group_size: usize) -> Option<u32> {
    if m != 1
        || k % 256 != 0
        || group_size % 128 != 0
        || n % 8 != 0
        || fp4_pt_smem(k) > FP4_PT_SMEM_MAX
    {
        return None;
    }
    (env_knob("SAFEWEIGHTS_I4_PT", 1) != 0).then_some(8)
}

/// The `i4wp` plan for a 4-bit layer at `m` rows, where `i4_persistent_warps` takes it.
fn i4_persistent_plan(sfx: &str, m: usize, n: usize, k: usize, group_size: usize) -> Option<Plan> {
    i4_persistent_warps(m, n, k, group_size).map(|w| Plan::Mma {
        kernel: format!("gemv_mma_i4wp_{sfx}_n1_w{w}"),
        tiles: n.div_ceil(16) as u32,
        warps: w,
        persistent: true,
        splits: 1,
    })
}

/// One wave of a kernel by name and threads per block (`wave` on a device; a model of one
/// in tests), so that the plans that size blocks to it stay testable without a GPU.
type Slots<'a> = &'a dyn Fn(&str, u32) -> usize;

/// How many blocks of `threads` threads of kernel `name` the device holds at once (blocks
/// per SM from the driver's occupancy, times the SMs): one wave.
fn wave(gpu: &Gpu, name: &str, threads: u32) -> usize {
    gpu.blocks_per_sm(name, threads).unwrap_or(1) as usize * gpu.info().sm_count.max(1) as usize
}

/// Warps per block of the 256-k FP4 kernels (`prefix` + `_w<W>`, one 16-row tile per block,
/// M <= 8): `mma_warps`' count, except at M = 1 where that is 4 and 6-warp blocks also all
/// fit on the device at once (with at least two chunks per warp): then 6. The kernel keeps
/// one chunk of loads in flight per warp, so where one wave of blocks holds every tile
/// anyway, more warps per SM read more bytes at once. H100, same call, M = 1, 4 -> 6 warps:
/// 8192x8192 NVFP4 20.2-20.5 -> 18.8-18.9 us, MXFP4 18.4-18.6 -> 18.1-18.2. Not taken
/// (docs/perf.md, session 12): M = 4 (8192x8192 NVFP4 20.6-20.9 -> 21.7-22.1); 12 warps
/// instead of 8 on 4096 rows (4096x14336 M = 1 17.6-18.0 -> 18.1-18.3); layers with more
/// tiles than one wave of 6-warp blocks (28672x8192, 14336x4096: the 4-warp blocks then run
/// in fewer rounds). `SAFEWEIGHTS_FP4_WARPS=4|6|8|16` forces a count, for tuning (and
/// `SAFEWEIGHTS_MMA_WARPS`, `mma_warps`' override, is kept as set).
fn fp4_wide_warps(prefix: &str, tiles: usize, chunks: usize, m: usize, slots: Slots) -> u32 {
    if let Some(w) = std::env::var("SAFEWEIGHTS_FP4_WARPS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|w| [4, 6, 8, 16].contains(w))
    {
        return w;
    }
    let forced = std::env::var_os("SAFEWEIGHTS_MMA_WARPS").is_some();
    match mma_warps(chunks, tiles, 4) {
        4 if !forced && m == 1 && chunks >= 12 && slots(&format!("{prefix}_w6"), 192) >= tiles => 6,
        w => w,
    }
}

/// Row groups per block for a two-tile kernel (`SAFEWEIGHTS_MMA_WR` overrides with one of
/// `allowed`, for tuning).
fn row_groups(default: usize, allowed: &[usize]) -> usize {
    let wr = env_knob("SAFEWEIGHTS_MMA_WR", default);
    if allowed.contains(&wr) {
        wr
    } else {
        default
    }
}

/// A tuning override from the environment (unset or unparsable: `default`).
fn env_knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Warps per block of a tensor-core kernel with `tiles` blocks over `chunks` K-chunks: the
/// fewest of 4, 8, 16 (and at least `min_warps`) that give about 2048 warps in all (H100:
/// ~16 per SM), keeping at least two chunks per warp (`SAFEWEIGHTS_MMA_WARPS` overrides,
/// for tuning).
fn mma_warps(chunks: usize, tiles: usize, min_warps: u32) -> u32 {
    if let Some(w) = std::env::var("SAFEWEIGHTS_MMA_WARPS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|w| [4, 8, 16].contains(w))
    {
        return w;
    }
    let mut w = 4;
    while w < 16 && tiles * w < 2048 && chunks >= 4 * w {
        w *= 2;
    }
    (w as u32).max(min_warps)
}

/// Whether the tensor-core kernels may be chosen: on unless `SAFEWEIGHTS_GEMV_MMA=0`, which
/// the bench uses to measure the CUDA-core kernels against them in one run.
pub fn mma_enabled() -> bool {
    std::env::var("SAFEWEIGHTS_GEMV_MMA").map_or(true, |v| v != "0")
}

impl Plan {
    /// Short name for tables.
    pub fn describe(&self) -> String {
        match self {
            Plan::Row { kernel } => kernel.clone(),
            Plan::Column {
                kernel,
                splits,
                sorted,
                kpacked,
                cluster,
                ..
            } => format!(
                "{kernel} (split {splits}{}{}{})",
                if *cluster { " in clusters" } else { "" },
                if *sorted { ", sorted K" } else { "" },
                if *kpacked { ", repacked" } else { "" }
            ),
            Plan::Mma { kernel, .. } => kernel.clone(),
            Plan::DequantCublas => "dequant+cublas".into(),
        }
    }
}

fn mt_for(m: usize) -> usize {
    [1, 2, 4, 8, 16].into_iter().find(|&t| t >= m).unwrap_or(16)
}

/// Chooses the kernel for a layer, activation type and M.
pub fn plan(gpu: &Gpu, p: &DevicePacked, act: OutDtype, m: usize) -> Plan {
    let mt = mt_for(m);
    let sfx = act.suffix();
    let row = |f: &str| Plan::Row {
        kernel: format!("gemv_{f}_{sfx}_m{mt}"),
    };
    let sms = gpu.info().sm_count.max(1) as usize;
    match p.desc {
        Desc::Gptq {
            bits: 4,
            n,
            k,
            group_size,
            scale_dtype,
            ..
        } if (p.ptr(3) == 0 || p.ptr(4) != 0)
            && k % 32 == 0
            && group_size % 32 == 0
            && scale_dtype != super::dequant::ScaleDtype::F32
            && mma_enabled() =>
        {
            if let Some(plan) = i4_persistent_plan(sfx, m, n, k, group_size) {
                return plan;
            }
            gptq4_mma_plan(gpu, sfx, m, n, k, group_size, p.ptr(3) != 0, false)
        }
        Desc::Gptq {
            bits: 8,
            n,
            k,
            group_size,
            scale_dtype,
            ..
        } if p.ptr(3) == 0
            && k % 32 == 0
            && group_size % 32 == 0
            && scale_dtype != super::dequant::ScaleDtype::F32
            && mma_enabled() =>
        {
            let tiles = n.div_ceil(64);
            let chunks = k / 32;
            let kernel = format!("gemv_mma_gptq8_{sfx}_n{}", if m <= 8 { 1 } else { 2 });
            mma_col_plan(gpu, kernel, tiles, chunks, 8, 2, 256, false, false)
        }
        Desc::Gptq { bits, n, k, .. } if bits == 4 || bits == 8 => {
            let tiles = n.div_ceil(32);
            let rows = k * bits as usize / 32;
            let splits = (2 * sms)
                .div_ceil(tiles)
                .clamp(1, (rows / 64).max(1))
                .min(16);
            Plan::Column {
                kernel: format!("gemv_gptq{bits}_{sfx}_m{mt}"),
                tiles: tiles as u32,
                splits: splits as u32,
                threads: 512,
                sorted: false,
                kpacked: false,
                cluster: false,
            }
        }
        Desc::Awq {
            n,
            k,
            group_size,
            scale_dtype,
        } if k % 32 == 0
            && group_size % 32 == 0
            && scale_dtype != super::dequant::ScaleDtype::F32
            && mma_enabled() =>
        {
            // The GPTQ4 kernels on the layer repacked into the GPTQ layout, where they
            // measured faster (H100, µs, AWQ kernel -> repacked): M <= 8 on layers above
            // 4096x4096 (M = 1 28672x8192 62.6 -> 52.6, 8192x8192 23.1 -> 21.9, 14336x4096
            // 19.6 -> 18.3; 4096x4096 11.5 -> 12.3 keeps the AWQ kernel and its in-kernel
            // split sum); M > 8 everywhere since the two-tile GPTQ4 kernel takes the zero
            // point out of its decode (session 9, same call: 28672x8192 73.3 -> 65.7,
            // 14336x4096 22.8 -> 20.8, the others equal).
            // `SAFEWEIGHTS_AWQ_REPACK=0|1` forces the choice, for tuning. At M = 1 the
            // persistent `i4wp` kernel first, where it fits (`i4_persistent_warps`).
            if let Some(plan) = i4_persistent_plan(sfx, m, n, k, group_size) {
                return plan;
            }
            if env_knob("SAFEWEIGHTS_AWQ_REPACK", awq_repack(m, n, k) as usize) == 1 {
                return gptq4_mma_plan(gpu, sfx, m, n, k, group_size, false, true);
            }
            // 64 columns (8 words) x 8 warps per block; grid.y splits K (`mma_col_plan`).
            let tiles = (n / 8).div_ceil(8);
            let chunks = k / 32;
            let kernel = format!("gemv_mma_awq_{sfx}_n{}", if m <= 8 { 1 } else { 2 });
            mma_col_plan(gpu, kernel, tiles, chunks, 8, 2, 256, false, false)
        }
        Desc::Awq { n, k, .. } if m <= 4 => {
            let tiles = (n / 8).div_ceil(32);
            let splits = (2 * sms).div_ceil(tiles).clamp(1, (k / 64).max(1)).min(32);
            Plan::Column {
                kernel: format!("gemv_awq_{sfx}_m{mt}"),
                tiles: tiles as u32,
                splits: splits as u32,
                threads: 512,
                sorted: false,
                kpacked: false,
                cluster: false,
            }
        }
        Desc::Nvfp4 {
            rows,
            k,
            rows_per_global,
            ..
        } if rows_per_global >= rows && k % 128 == 0 && mma_enabled() => {
            fp4_mma_plan("nvfp4", sfx, rows, k, m, sms, &|name, threads| {
                wave(gpu, name, threads)
            })
        }
        Desc::Nvfp4 {
            rows,
            rows_per_global,
            ..
        } if rows_per_global >= rows => row("nvfp4"),
        Desc::Mxfp4 { rows, k } if act == OutDtype::Bf16 && k % 128 == 0 && mma_enabled() => {
            // Same layout and decode as NVFP4 with one E8M0 scale per 32 values, folded into
            // the bf16 weights exactly (f16 cannot hold every 2^e, so f16 keeps the CUDA-core
            // kernel).
            fp4_mma_plan("mxfp4", sfx, rows, k, m, sms, &|name, threads| {
                wave(gpu, name, threads)
            })
        }
        Desc::Mxfp4 { .. } => row("mxfp4"),
        Desc::Fp8 {
            n,
            k,
            scaling,
            scale_dtype: super::dequant::ScaleDtype::F32,
        } if (m >= 4 || env_knob("SAFEWEIGHTS_FP8_MMA_M1", (n <= 8192) as usize) == 1)
            && k % 64 == 0
            && match scaling {
                Fp8Scaling::Block { rows, cols } => rows % 16 == 0 && cols % 64 == 0,
                _ => true,
            }
            && mma_enabled() =>
        {
            // M >= 4, and M < 4 on 8192 rows or fewer: on more rows the CUDA-core kernel is
            // faster at M = 1 (H100, same call, session 10, tensor-core -> CUDA-core:
            // 28672x8192 94.2 -> 83.7 us, 14336x4096 32.2 -> 26.6), on fewer the tensor-core
            // one since it skips the NaN test (4096x14336 33.0 -> 27.1, 4096x4096 13.5 ->
            // 11.4, 8192x8192 30.9 -> 30.0, CUDA-core -> tensor-core).
            // `SAFEWEIGHTS_FP8_MMA_M1=0|1` forces the choice below M = 4. 128-k chunks where
            // they fit (twice the bytes in flight per lane).
            let wide = k % 128 == 0
                && match scaling {
                    Fp8Scaling::Block { cols, .. } => cols % 128 == 0,
                    _ => true,
                };
            let (variant, chunk_k) = if wide { ("w", 128) } else { ("", 64) };
            // M > 8 on 8192 rows or more: two chunks per loop iteration ("u").
            let variant = match m > 8 && n >= 8192 {
                true => format!("{variant}u"),
                false => variant.to_string(),
            };
            // (Row groups per block as for FP4 measured slower here: 28672x8192 M = 16 equal
            // with two, +18% with four; 14336x4096 and 8192x8192 +12% and more.)
            mma_plan(&format!("fp8{variant}"), sfx, m, n, (1, 1), k / chunk_k, 4)
        }
        Desc::Fp8 {
            k,
            scaling,
            scale_dtype: super::dequant::ScaleDtype::F32,
            ..
        } if k % 16 == 0
            && match scaling {
                Fp8Scaling::Block { cols, .. } => cols % 16 == 0,
                _ => true,
            } =>
        {
            row("fp8")
        }
        // Layers with 14336 rows or columns, or at M <= 8 at least 8192 of both: the GPTQ4
        // kernels on the layer repacked into the GPTQ layout. H100, same call, ct4 kernels -> repacked,
        // M = 1: 28672x8192 55.8 -> 52.7 us, 14336x4096 19.7 -> 18.3, 4096x14336 20.7 ->
        // 19.7; 8192x8192 equal (20.8 / 21.0) until its two K splits ran as clusters (20.4
        // -> 18.5, session 8); 4096x4096 slower (9.5 -> 11.4). M > 8 on 14336 rows or
        // columns, since the two-tile GPTQ4 kernel takes the zero point out of its decode
        // (session 9, same call, M = 16: 28672x8192 70.3 -> 66.0, 14336x4096 22.8 -> 20.9,
        // 4096x14336 23.8 -> 22.3 / 22.8; 4096x4096 12.3 -> 13.0 keeps the ct4 kernels), and
        // on 8192x8192 since its two K splits sum in the kernel there too (session 12, same
        // call, M = 16: 24.3 / 24.5 -> 21.6 / 21.7; before that 24.2 -> 24.3 / 24.8). Since
        // session 16 every layer at M > 8, as AWQ (a smaller layer used at M <= 8 as well
        // then keeps both layouts): with the activations written afresh before each run and
        // the zero-free twin, 4096x4096 M = 16 took 12.6-12.8 -> 12.3-12.4 (M = 4 stays on
        // the ct4 kernel: 10.0-10.1 against 11.0-11.1 repacked).
        // `SAFEWEIGHTS_CT4_REPACK=0|1` forces the choice. At M = 1 the persistent `i4wp`
        // kernel first, where it fits (`i4_persistent_warps`), on the layer's own scales and
        // zero words.
        Desc::Ct {
            bits: 4,
            n,
            k,
            group_size,
            scale_dtype,
            ..
        } if k % 32 == 0
            && group_size % 32 == 0
            && n % 8 == 0
            && scale_dtype != super::dequant::ScaleDtype::F32
            && p.bufs.get(3).is_some_and(|b| b.is_none())
            && mma_enabled()
            && (i4_persistent_warps(m, n, k, group_size).is_some()
                || env_knob("SAFEWEIGHTS_CT4_REPACK", ct4_repack(m, n, k) as usize) == 1) =>
        {
            if let Some(plan) = i4_persistent_plan(sfx, m, n, k, group_size) {
                return plan;
            }
            let mut plan = gptq4_mma_plan(gpu, sfx, m, n, k, group_size, false, true);
            // Symmetric (no zero-point tensor, buffer 2): the kernels that take every zero
            // point as 8 instead of reading the repack's zero words.
            if let Plan::Column { kernel, .. } = &mut plan {
                if p.ptr(2) == 0 && env_knob("SAFEWEIGHTS_CT4_Z8", 1) == 1 {
                    if let Some(z) = zero8_variant(kernel) {
                        *kernel = z;
                    }
                }
            }
            plan
        }
        Desc::Ct {
            bits: 4,
            n,
            k,
            group_size,
            ..
        } if k % 128 == 0
            && group_size % 128 == 0
            && p.bufs.get(3).is_some_and(|b| b.is_none())
            && mma_enabled() =>
        {
            // M > 8, or K >= 8192: two m16 tiles per warp share the activation fragments
            // (halving their L2 traffic per weight), as for NVFP4 (`SAFEWEIGHTS_MMA_RT`
            // overrides). H100 M = 1 with two tiles: 28672x8192 60.7 -> 56.3 us, 8192x8192
            // 22.4 -> 20.8, 4096x14336 equal, 14336x4096 19.5 -> 21.5 (so not below 8192 k).
            let two = m > 8 || k >= 8192;
            let rt = env_knob("SAFEWEIGHTS_MMA_RT", if two { 2 } else { 1 }).clamp(1, 2);
            // Two tiles per warp need 152 registers in 4-warp blocks (3 blocks, 12 warps per
            // SM) but 120 in 8-warp ones (16 warps per SM): H100, 28672x8192, M = 16,
            // 84.8 -> 80.7 us.
            // M > 8: row groups per block as for FP4 (see fp4_mma_plan), as many as keep
            // about 200 blocks (H100, M = 16: 28672x8192 81.1 -> 72.6 us with four,
            // 14336x4096 27.2 -> 23.9 with two; four there leave 112 blocks: 27.2). M <= 8
            // was slower with them (28672x8192 M = 1 56.0 -> 64.6).
            let tiles = n.div_ceil(32);
            let wr = match (rt, m > 8) {
                (2, true) => row_groups(
                    match tiles {
                        t if t >= 800 => 4,
                        t if t >= 400 => 2,
                        _ => 1,
                    },
                    &[1, 2, 4],
                ),
                _ => 1,
            };
            mma_plan(
                if rt == 2 { "ct4x2" } else { "ct4" },
                sfx,
                m,
                n,
                (rt, wr),
                k / 128,
                if rt == 2 { 8 } else { 4 },
            )
        }
        Desc::Ct {
            bits: 4,
            k,
            group_size,
            ..
        } if k % 32 == 0 && group_size % 32 == 0 && p.bufs.get(3).is_some_and(|b| b.is_none()) => {
            row("ct4")
        }
        _ => Plan::DequantCublas,
    }
}

/// Output rows one warp of a row-family kernel computes (kernels/gemv.cu): the NVFP4 and
/// MXFP4 kernels at M = 1 do two, so each activation chunk is converted once for both.
pub fn row_kernel_rows_per_warp(kernel: &str) -> usize {
    if (kernel.starts_with("gemv_nvfp4_") || kernel.starts_with("gemv_mxfp4_"))
        && kernel.ends_with("_m1")
    {
        2
    } else {
        1
    }
}

/// Scratch memory a GEMV may need (K-split partials, dequantized weights), kept between
/// calls so timing excludes allocation.
#[derive(Debug, Default)]
pub struct Scratch {
    part: Option<DevBuf>,
    dense: Option<DevBuf>,
    x32: Option<DevBuf>,
    /// Activations in a layer's sorted K order (act-order GPTQ).
    xs: Option<DevBuf>,
    /// K-sorted packed weights of act-order GPTQ layers, by the layer's upload id.
    sorted: std::collections::HashMap<u64, DevBuf>,
    /// AWQ and compressed-tensors int4 layers in the GPTQ layout (`kpacked_operands`), by
    /// the layer's upload id.
    kpacked: std::collections::HashMap<u64, Kpacked>,
    /// NVFP4 and MXFP4 weights repacked for the tensor-core kernels' decode
    /// (`gemv_fp4_repack_*`) with the layer's MXFP4 delta (0 for NVFP4), by the layer's
    /// upload id and activation type (the bit layout differs); `None` for an MXFP4 layer
    /// whose scales span too wide a range for that decode (it takes dequant + cuBLAS).
    fp4packed: std::collections::HashMap<(u64, OutDtype), Option<(DevBuf, i32)>>,
    /// NVFP4 and MXFP4 layers in the K-major layout of the `fp4ga` kernels (weights, scale
    /// codes, MXFP4 delta; `fp4ga_weights`), by the layer's upload id and activation type;
    /// `None` where the layer keeps the other kernels.
    fp4ga: std::collections::HashMap<(u64, OutDtype), Option<Fp4gaLayer>>,
    /// 4-bit layers in the row-major layout of the `i4wp` kernels (weights, and scales and
    /// zero words, `None` for compressed-tensors, which keeps its own; `i4wp_operands`), by
    /// the layer's upload id.
    i4wp: std::collections::HashMap<u64, (DevBuf, Option<(DevBuf, DevBuf)>)>,
    /// GPTQ-layout 4-bit weights (GPTQ's own, or the AWQ / compressed-tensors repack) in
    /// the chunk-major layout of the `c2m` kernels (`cm_weights`), by the layer's upload id.
    cm: std::collections::HashMap<u64, DevBuf>,
    /// Whether an FP8 layer holds NaN codes (`gemv_fp8_has_nan`), by the layer's upload id.
    fp8_nan: std::collections::HashMap<u64, bool>,
    /// K-split arrival counters (zero between launches) and partials of the tensor-core
    /// column kernels, which sum their splits themselves (`splitk_fixup` in gemv.cu).
    fixup: Option<DevBuf>,
}

impl Scratch {
    /// Frees the copies derived from `layer` (act-order sorted weights; the GPTQ-layout,
    /// chunk-major, `i4wp` and FP4 repacks), for a caller that drops the layer and keeps
    /// this scratch.
    pub fn forget(&mut self, layer: &DevicePacked) {
        self.sorted.remove(&layer.id());
        self.kpacked.remove(&layer.id());
        self.fp4packed.retain(|(id, _), _| *id != layer.id());
        self.fp4ga.retain(|(id, _), _| *id != layer.id());
        self.i4wp.remove(&layer.id());
        self.cm.remove(&layer.id());
        self.fp8_nan.remove(&layer.id());
    }
}

fn ensure(gpu: &Gpu, slot: &mut Option<DevBuf>, bytes: usize) -> GpuResult<u64> {
    if !slot.as_ref().is_some_and(|b| b.len() >= bytes) {
        *slot = Some(gpu.alloc(bytes)?);
    }
    Ok(slot.as_ref().map_or(0, |b| b.ptr()))
}

/// An AWQ or compressed-tensors int4 layer in the GPTQ 4-bit layout: the device buffers
/// that hold it, and the addresses of its weights, zero words and scales in them (`scales`
/// `None`: AWQ's own scales, used in place).
#[derive(Debug)]
struct Kpacked {
    _bufs: Vec<DevBuf>,
    weights: u64,
    zeros: u64,
    scales: Option<u64>,
}

/// A layer repacked into the GPTQ 4-bit layout (built on first use and kept in `scratch`,
/// like the act-order sorted weights: one more copy of the packed weights on the device):
/// the addresses of its weights, zeros and scales, which lie in one allocation. AWQ's
/// scales (`[K/G, N]` already) are copied in as they are; compressed-tensors int4 gets its
/// scales transposed and, when symmetric, zero words of 8.
fn kpacked_operands(
    gpu: &Gpu,
    p: &DevicePacked,
    scratch: &mut Scratch,
) -> GpuResult<(u64, u64, u64)> {
    let (n, k) = p.out_shape();
    let (name, group_size, groups) = match p.desc {
        Desc::Awq { group_size, .. } => ("gemv_awq_repack_w", group_size, 0),
        Desc::Ct {
            bits: 4,
            group_size,
            groups,
            scale_dtype,
            ..
        } if scale_dtype != super::dequant::ScaleDtype::F32 => {
            ("gemv_ct4_repack_w", group_size, groups)
        }
        _ => {
            return Err(GpuError::bad_args(
                "gemv repack",
                "only AWQ and 16-bit-scale compressed-tensors int4 layers are repacked",
            ))
        }
    };
    if n % 8 != 0 || k % 8 != 0 || group_size == 0 || k % group_size != 0 {
        return Err(GpuError::bad_args(
            name,
            format!("{n}x{k} with group size {group_size} has no GPTQ layout"),
        ));
    }
    let ng = k / group_size;
    if let std::collections::hash_map::Entry::Vacant(slot) = scratch.kpacked.entry(p.id()) {
        // Weights, zero words and scales in one allocation, each section 256-byte aligned:
        // a layer's operands then lie together (AWQ's scales are copied in, 1/32 of the
        // weights' bytes). H100, same call, AWQ M = 16, three allocations -> one: 8192x8192
        // 20.58-20.62 -> 20.26-20.35 us, 28672x8192 55.46-55.71 -> 55.39-55.41; 4096x4096
        // within noise (docs/perf.md, session 27). `SAFEWEIGHTS_KPACK_ONE=0` keeps three
        // allocations and AWQ's scales in place.
        let awq = matches!(p.desc, Desc::Awq { .. });
        let one = env_knob("SAFEWEIGHTS_KPACK_ONE", 1) == 1;
        let words = k / 8 * n;
        let zwords = ng * (n / 8);
        let align = |b: usize| b.div_ceil(256) * 256;
        let zeros_at = align(words * 4);
        let scales_at = align(zeros_at + zwords * 4);
        let copy_scales = !awq || one;
        let mut bufs = match one {
            true => vec![gpu.alloc(scales_at + ng * n * 2)?],
            false => {
                let mut v = vec![gpu.alloc(words * 4)?, gpu.alloc(zwords * 4)?];
                if copy_scales {
                    v.push(gpu.alloc(ng * n * 2)?);
                }
                v
            }
        };
        let (w_ptr, z_ptr, s_ptr) = match one {
            true => {
                let base = bufs[0].ptr();
                (base, base + zeros_at as u64, base + scales_at as u64)
            }
            false => (
                bufs[0].ptr(),
                bufs[1].ptr(),
                bufs.get(2).map_or(0, |b| b.ptr()),
            ),
        };
        // The weights: the same launch for both layouts (`name` above).
        gpu.launch(
            name,
            grid_1d(words as u64, 256)?,
            &[
                KArg::Ptr(w_ptr),
                KArg::Ptr(p.ptr(0)),
                KArg::I32(n as i32),
                KArg::I32(k as i32),
            ],
        )?;
        if awq {
            gpu.launch(
                "gemv_awq_repack_z",
                grid_1d(zwords as u64, 256)?,
                &[
                    KArg::Ptr(z_ptr),
                    KArg::Ptr(p.ptr(1)),
                    KArg::U64(zwords as u64),
                ],
            )?;
            if copy_scales {
                let own = p.bufs.get(2).and_then(Option::as_ref).ok_or_else(|| {
                    GpuError::bad_args("gemv repack", "the AWQ layer has no scales buffer")
                })?;
                gpu.copy_dtod_at(own, &mut bufs[0], scales_at)?;
            }
        } else {
            gpu.launch(
                "gemv_ct4_repack_sz",
                grid_1d((ng * n) as u64, 256)?,
                &[
                    KArg::Ptr(s_ptr),
                    KArg::Ptr(z_ptr),
                    KArg::Ptr(p.ptr(1)),
                    KArg::Ptr(p.ptr(2)),
                    KArg::I32(n as i32),
                    KArg::I32(groups as i32),
                    KArg::I32(ng as i32),
                ],
            )?;
        }
        slot.insert(Kpacked {
            _bufs: bufs,
            weights: w_ptr,
            zeros: z_ptr,
            scales: copy_scales.then_some(s_ptr),
        });
    }
    let kp = &scratch.kpacked[&p.id()];
    // AWQ's own scales (buffer 2, `[K/G, N]` already) where they were not copied in.
    Ok((kp.weights, kp.zeros, kp.scales.unwrap_or(p.ptr(2))))
}

/// Whether `kernel` reads the chunk-major layout of `cm_weights` (the `c2m` kernels).
fn is_chunk_major(kernel: &str) -> bool {
    kernel.starts_with("gemv_mma_gptq4")
        && (kernel.ends_with("_n2_c2m") || kernel.ends_with("_n2_c2mt"))
}

/// The words of `p`'s GPTQ-layout 4-bit weights at `qw` (`[K/8, N]`: the layer's own, its
/// K-sorted copy, or its AWQ / compressed-tensors repack) in the chunk-major layout of the
/// `c2m` kernels,
/// `[ceil(N/64)][K/32][4][64]` (gemv.cu, `gemv_gptq4_cm_repack`). Built on first use and
/// kept in `scratch` like the other repacks: one more copy of the packed weights on the
/// device, freed by `Scratch::forget`.
fn cm_weights(gpu: &Gpu, p: &DevicePacked, qw: u64, scratch: &mut Scratch) -> GpuResult<u64> {
    let (n, k) = p.out_shape();
    if k % 32 != 0 {
        return Err(GpuError::bad_args(
            "gemv_gptq4_cm_repack",
            format!("{n}x{k}: K must be a multiple of 32 for the chunk-major layout"),
        ));
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = scratch.cm.entry(p.id()) {
        let words = n.div_ceil(64) * 64 * (k / 8);
        let out = gpu.alloc(words * 4)?;
        gpu.launch(
            "gemv_gptq4_cm_repack",
            grid_1d(words as u64, 256)?,
            &[
                KArg::Ptr(out.ptr()),
                KArg::Ptr(qw),
                KArg::I32(n as i32),
                KArg::I32(k as i32),
            ],
        )?;
        slot.insert(out);
    }
    Ok(scratch.cm[&p.id()].ptr())
}

/// The delta of an MXFP4 layer (`e8m0_rp_bf16x2`, `mxfp4_delta`) from its largest and
/// smallest scale exponents (`gemv_e8m0_range`; reads two integers back from the device),
/// or `None` where no delta keeps every product exact in bf16.
fn mxfp4_layer_delta(gpu: &Gpu, p: &DevicePacked) -> GpuResult<Option<i32>> {
    let (n, k) = p.out_shape();
    let scales = (n * (k / 32)) as u64;
    let range = gpu.upload_bytes(
        &[0i32, 255]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    gpu.launch(
        "gemv_e8m0_range",
        grid_1d(scales.min(1 << 20), 256)?,
        &[
            KArg::Ptr(p.ptr(1)),
            KArg::U64(scales),
            KArg::Ptr(range.ptr()),
        ],
    )?;
    let b = gpu.download(&range)?;
    let (hi, lo) = (
        i32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    );
    Ok(mxfp4_delta(hi, lo))
}

/// A layer in the layout of the `fp4ga` kernels: weights, scale codes, MXFP4 delta.
type Fp4gaLayer = (DevBuf, DevBuf, i32);

/// Whether `kernel` is one of the `fp4ga` kernels (`fp4ga_plan`), which read the layout of
/// `fp4ga_weights`.
fn is_fp4ga(kernel: &str) -> bool {
    kernel.starts_with("gemv_mma_nvfp4ga_") || kernel.starts_with("gemv_mma_mxfp4ga_")
}

/// An NVFP4 or MXFP4 layer in the K-major layout of the `fp4ga` kernels
/// (`gemv_fp4ga_repack_*`: the weights in the bit layout of `e2m1_ga2`, the scales as the
/// kernels' codes, columns padded to 64), built on first use and kept in `scratch` like
/// `fp4packed_weights` (one more copy of the packed weights on the device): the weights'
/// and the scales' addresses and the MXFP4 delta. `None` for a layer with a NaN scale (the
/// codes cannot hold it) or an MXFP4 layer without a delta: those keep the other kernels.
/// Finding a NaN reads one integer back from the device, once per layer.
fn fp4ga_weights(
    gpu: &Gpu,
    p: &DevicePacked,
    act: OutDtype,
    scratch: &mut Scratch,
) -> GpuResult<Option<(u64, u64, i32)>> {
    let (n, k) = p.out_shape();
    let mx = matches!(p.desc, Desc::Mxfp4 { .. });
    let name = format!(
        "gemv_fp4ga_repack_{}_{}",
        if mx { "mx" } else { "nv" },
        act.suffix()
    );
    if !(mx || matches!(p.desc, Desc::Nvfp4 { .. })) || k % 32 != 0 || (mx && act != OutDtype::Bf16)
    {
        return Err(GpuError::bad_args(
            name,
            "only NVFP4 and bf16 MXFP4 layers with K a multiple of 32 take the fp4ga layout",
        ));
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = scratch.fp4ga.entry((p.id(), act)) {
        let delta = match mx {
            false => Some(0),
            true => mxfp4_layer_delta(gpu, p)?,
        };
        let entry = match delta {
            None => None,
            Some(d) => {
                let np = n.div_ceil(64) * 64;
                let words = np * (k / 8);
                let w = gpu.alloc(words * 4)?;
                let sc = gpu.alloc(np * (k / if mx { 32 } else { 16 }))?;
                let flag = gpu.upload_bytes(&0i32.to_le_bytes())?;
                gpu.launch(
                    &name,
                    grid_1d(words as u64, 256)?,
                    &[
                        KArg::Ptr(w.ptr()),
                        KArg::Ptr(sc.ptr()),
                        KArg::Ptr(p.ptr(0)),
                        KArg::Ptr(p.ptr(1)),
                        KArg::I32(n as i32),
                        KArg::I32(k as i32),
                        KArg::I32(d),
                        KArg::Ptr(flag.ptr()),
                    ],
                )?;
                let f = gpu.download(&flag)?;
                (i32::from_le_bytes([f[0], f[1], f[2], f[3]]) == 0).then_some((w, sc, d))
            }
        };
        slot.insert(entry);
    }
    Ok(scratch.fp4ga[&(p.id(), act)]
        .as_ref()
        .map(|(w, sc, d)| (w.ptr(), sc.ptr(), *d)))
}

/// A GPTQ, AWQ or compressed-tensors 4-bit layer in the layout of the `i4wp` kernels (built
/// on first use and kept in `scratch`, like the other repacks: one more copy of the packed
/// weights on the device): the addresses of its row-major weights (`gemv_i4wp_repack_w`;
/// act-order layers in their sorted K order), scales `[N, groups]` and zero words
/// `[N/8, groups]` (GPTQ and AWQ: `gemv_i4wp_repack_sz`; compressed-tensors stores both so
/// already, and a symmetric layer has no zero words: 0, every zero point 8).
fn i4wp_operands(gpu: &Gpu, p: &DevicePacked, scratch: &mut Scratch) -> GpuResult<(u64, u64, u64)> {
    let (n, k) = p.out_shape();
    let l = I4Layer::of(p)?;
    if let std::collections::hash_map::Entry::Vacant(slot) = scratch.i4wp.entry(p.id()) {
        let words = n * (k / 8);
        let w = gpu.alloc(words * 4)?;
        gpu.launch(
            "gemv_i4wp_repack_w",
            grid_1d(words as u64, 256)?,
            &[
                KArg::Ptr(w.ptr()),
                KArg::Ptr(p.ptr(0)),
                KArg::Ptr(if l.src == 0 { p.ptr(4) } else { 0 }),
                KArg::I32(l.src),
                KArg::I32(n as i32),
                KArg::I32(k as i32),
            ],
        )?;
        let sz = match l.src {
            2 => None,
            _ => {
                let s = gpu.alloc(l.groups * n * l.scale_dtype.size())?;
                let z = gpu.alloc(l.groups * (n / 8) * 4)?;
                gpu.launch(
                    "gemv_i4wp_repack_sz",
                    grid_1d((l.groups * n) as u64, 256)?,
                    &[
                        KArg::Ptr(s.ptr()),
                        KArg::Ptr(z.ptr()),
                        KArg::Ptr(p.ptr(2)),
                        KArg::Ptr(p.ptr(1)),
                        KArg::I32(l.src),
                        KArg::I32(n as i32),
                        KArg::I32(l.groups as i32),
                    ],
                )?;
                Some((s, z))
            }
        };
        slot.insert((w, sz));
    }
    let (w, sz) = &scratch.i4wp[&p.id()];
    Ok(match sz {
        Some((s, z)) => (w.ptr(), s.ptr(), z.ptr()),
        None => (w.ptr(), p.ptr(1), p.ptr(2)),
    })
}

/// What the `i4wp` repack and launch need to know of a 4-bit layer.
struct I4Layer {
    /// Source layout of `gemv_i4wp_repack_w`: 0 GPTQ, 1 AWQ, 2 compressed-tensors.
    src: i32,
    group_size: usize,
    groups: usize,
    /// GPTQ v1 zero points (stored minus one).
    v1: bool,
    scale_dtype: super::dequant::ScaleDtype,
}

impl I4Layer {
    fn of(p: &DevicePacked) -> GpuResult<I4Layer> {
        use super::dequant::ScaleDtype;
        let (n, k) = p.out_shape();
        let l = match p.desc {
            Desc::Gptq {
                bits: 4,
                group_size,
                groups,
                v1,
                scale_dtype,
                ..
            } => Some((0, group_size, groups, v1, scale_dtype)),
            Desc::Awq {
                group_size,
                scale_dtype,
                ..
            } if group_size > 0 => {
                Some((1, group_size, k.div_ceil(group_size), false, scale_dtype))
            }
            Desc::Ct {
                bits: 4,
                group_size,
                groups,
                scale_dtype,
                ..
            } => Some((2, group_size, groups, false, scale_dtype)),
            _ => None,
        };
        match l {
            Some((src, group_size, groups, v1, scale_dtype))
                if scale_dtype != ScaleDtype::F32 && n % 8 == 0 && k % 8 == 0 =>
            {
                Ok(I4Layer {
                    src,
                    group_size,
                    groups,
                    v1,
                    scale_dtype,
                })
            }
            _ => Err(GpuError::bad_args(
                "gemv_i4wp_repack_w",
                "only GPTQ, AWQ and compressed-tensors 4-bit layers with 16-bit scales and N, K \
                 multiples of 8 are repacked",
            )),
        }
    }
}

/// The arguments of a `gemv_mma_i4wp_*` launch (`I4WP_ARGS` in gemv.cu) for `p`, `m` rows of
/// `x` (act-order: permuted into the layer's sorted K order first, by `permuted_x`).
#[allow(clippy::too_many_arguments)]
fn i4wp_args(
    gpu: &Gpu,
    p: &DevicePacked,
    m: usize,
    x: &DevBuf,
    y: &DevBuf,
    bias: KArg,
    scratch: &mut Scratch,
) -> GpuResult<Vec<KArg>> {
    let (n, k) = p.out_shape();
    let l = I4Layer::of(p)?;
    let (w, s, z) = i4wp_operands(gpu, p, scratch)?;
    let xk = match (l.src, p.ptr(4)) {
        (0, perm) if perm != 0 => permuted_x(gpu, p, m, x, scratch)?,
        _ => x.ptr(),
    };
    let i = |v: usize| KArg::I32(v as i32);
    Ok(vec![
        KArg::Ptr(y.ptr()),
        KArg::Ptr(xk),
        KArg::Ptr(w),
        KArg::Ptr(s),
        KArg::I32(l.scale_dtype as i32),
        KArg::Ptr(z),
        KArg::I32(l.v1 as i32),
        i(l.groups),
        i(l.group_size / 128),
        bias,
        i(m),
        i(n),
        i(k),
    ])
}

/// The packed weights of an NVFP4 or MXFP4 layer in the bit layout of the tensor-core
/// kernels for activation type `act` (`e2m1_rp` in gemv.cu: each pair of codes comes out
/// by a rotation and a mask instead of table lookups), built on first use and kept in
/// `scratch` like the AWQ repack (one more copy of the packed weights on the device): its
/// address and the layer's delta (MXFP4, `e8m0_rp_bf16x2`; 0 for NVFP4). `None` for an
/// MXFP4 layer whose largest and smallest scale exponents are more than 133 apart: no delta
/// keeps all its products exact in bf16, so it runs dequant + cuBLAS instead. Finding the
/// range reads two integers back from the device, once per layer.
fn fp4packed_weights(
    gpu: &Gpu,
    p: &DevicePacked,
    act: OutDtype,
    scratch: &mut Scratch,
) -> GpuResult<Option<(u64, i32)>> {
    let (n, k) = p.out_shape();
    let name = format!("gemv_fp4_repack_{}", act.suffix());
    let mx = matches!(p.desc, Desc::Mxfp4 { .. });
    if !(mx || matches!(p.desc, Desc::Nvfp4 { .. })) || k % 32 != 0 {
        return Err(GpuError::bad_args(
            name,
            "only NVFP4 and MXFP4 layers with K a multiple of 32 are repacked",
        ));
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = scratch.fp4packed.entry((p.id(), act))
    {
        let delta = match mx {
            false => Some(0),
            true => mxfp4_layer_delta(gpu, p)?,
        };
        let entry = match delta {
            Some(d) => {
                let words = n * (k / 8);
                let buf = gpu.alloc(words * 4)?;
                gpu.launch(
                    &name,
                    grid_1d(words as u64, 256)?,
                    &[
                        KArg::Ptr(buf.ptr()),
                        KArg::Ptr(p.ptr(0)),
                        KArg::U64(words as u64),
                    ],
                )?;
                Some((buf, d))
            }
            None => None,
        };
        slot.insert(entry);
    }
    Ok(scratch.fp4packed[&(p.id(), act)]
        .as_ref()
        .map(|(b, d)| (b.ptr(), *d)))
}

/// Whether FP8 layers are scanned for NaN codes, so that those without any take the
/// `gemv_fp8n_*` / `gemv_mma_fp8n*` kernels (`SAFEWEIGHTS_FP8_NANSCAN=0`: never, every
/// chunk is tested).
pub fn fp8_nan_scan() -> bool {
    env_knob("SAFEWEIGHTS_FP8_NANSCAN", 1) == 1
}

/// Whether FP8 layer `p` holds a NaN code (found once per layer by `gemv_fp8_has_nan`,
/// one integer read back, and kept in `scratch`). A layer without one runs the
/// `gemv_fp8n_*` kernels, which skip the per-chunk NaN test (gemv.cu).
fn fp8_has_nan(gpu: &Gpu, p: &DevicePacked, scratch: &mut Scratch) -> GpuResult<bool> {
    if let Some(&nan) = scratch.fp8_nan.get(&p.id()) {
        return Ok(nan);
    }
    let (n, k) = p.out_shape();
    if !matches!(p.desc, Desc::Fp8 { .. }) || (n * k) % 4 != 0 {
        return Err(GpuError::bad_args(
            "gemv_fp8_has_nan",
            "only FP8 layers of whole 4-byte words are scanned",
        ));
    }
    let words = (n * k / 4) as u64;
    let flag = gpu.upload_bytes(&0i32.to_le_bytes())?;
    gpu.launch(
        "gemv_fp8_has_nan",
        grid_1d(words.min(1 << 22), 256)?,
        &[KArg::Ptr(p.ptr(0)), KArg::U64(words), KArg::Ptr(flag.ptr())],
    )?;
    let b = gpu.download(&flag)?;
    let nan = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) != 0;
    scratch.fp8_nan.insert(p.id(), nan);
    Ok(nan)
}

/// The delta of an MXFP4 layer whose non-NaN scale exponents (E8M0 bytes) span
/// `lo..=hi`: `max(0, hi - 128)`, which keeps every scale pair 2^(e - 1 - delta) finite in
/// bf16, provided `lo >= delta - 5`, which keeps every product of an E2M1 value with it
/// exact (`e8m0_rp_bf16x2` in gemv.cu); `None` otherwise. A layer of NaN scales only
/// (`hi < lo`) takes 0.
fn mxfp4_delta(hi: i32, lo: i32) -> Option<i32> {
    let delta = (hi - 128).max(0);
    (hi < lo || lo >= delta - 5).then_some(delta)
}

/// The K-sorted weights of an act-order GPTQ 4-bit layer (built on first use and kept in
/// `scratch`) and its activations gathered into that order; returns both addresses.
fn sorted_operands(
    gpu: &Gpu,
    p: &DevicePacked,
    m: usize,
    x: &DevBuf,
    scratch: &mut Scratch,
) -> GpuResult<(u64, u64)> {
    let (n, k) = p.out_shape();
    let perm = p.ptr(4);
    if perm == 0 {
        return Err(GpuError::bad_args(
            "gptq4_sort_k",
            "layer has no sorted-K permutation",
        ));
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = scratch.sorted.entry(p.id()) {
        let words = k / 8 * n;
        let buf = gpu.alloc(words * 4)?;
        gpu.launch(
            "gptq4_sort_k",
            grid_1d(words as u64, 256)?,
            &[
                KArg::Ptr(buf.ptr()),
                KArg::Ptr(p.ptr(0)),
                KArg::Ptr(perm),
                KArg::I32(n as i32),
                KArg::I32(k as i32),
            ],
        )?;
        slot.insert(buf);
    }
    let qw = scratch.sorted[&p.id()].ptr();
    Ok((qw, permuted_x(gpu, p, m, x, scratch)?))
}

/// Whether act-order GEMVs are launched to overlap the activation permute before them
/// (programmatic stream serialization; `SAFEWEIGHTS_GEMV_PDL=0` launches them plainly).
fn pdl_after_permute() -> bool {
    env_knob("SAFEWEIGHTS_GEMV_PDL", 1) != 0
}

/// Launches `gemv_permute_x`: the `m` activation rows gathered into the act-order layer's
/// sorted K order (`perm`, buffer 4), in `scratch`; returns their address.
fn permuted_x(
    gpu: &Gpu,
    p: &DevicePacked,
    m: usize,
    x: &DevBuf,
    scratch: &mut Scratch,
) -> GpuResult<u64> {
    let (_, k) = p.out_shape();
    let perm = p.ptr(4);
    if perm == 0 {
        return Err(GpuError::bad_args(
            "gemv_permute_x",
            "layer has no sorted-K permutation",
        ));
    }
    let xs = ensure(gpu, &mut scratch.xs, m * k * 2)?;
    let (name, threads, smem) = permute_launch(k, env_knob("SAFEWEIGHTS_PERMUTE_SM", 1) == 1);
    let mut cfg = grid_1d(threads, 256)?;
    cfg.shared_mem_bytes = smem;
    cfg.grid_dim.1 = m as u32;
    gpu.launch(
        name,
        cfg,
        &[
            KArg::Ptr(xs),
            KArg::Ptr(x.ptr()),
            KArg::Ptr(perm),
            KArg::I32(m as i32),
            KArg::I32(k as i32),
        ],
    )?;
    Ok(xs)
}

/// The activation permute for K positions: its kernel, the threads per row and the dynamic
/// shared memory. Staged through shared memory (`gemv_permute_x_sm`: a row of x per block, 8
/// positions per thread) where K % 8 == 0 and the row fits without an opt-in, when `staged`;
/// `gemv_permute_x` (one gathered position per thread) otherwise.
fn permute_launch(k: usize, staged: bool) -> (&'static str, u64, u32) {
    match staged && k % 8 == 0 && k * 2 <= 48 * 1024 {
        true => ("gemv_permute_x_sm", (k / 8) as u64, (k * 2) as u32),
        false => ("gemv_permute_x", k as u64, 0),
    }
}

/// Launches `gemv_finalize_<act>` (the sum of a K-split GEMV's f32 shares, plus the bias)
/// to overlap the GEMV before it on the stream: programmatic stream serialization, the
/// GEMVs trigger it at entry (`grid_dep_launch`) and it waits for their grid
/// (`grid_dep_wait`) before reading. H100, same call, M = 16 (docs/perf.md, session 14):
/// 4096x14336 GPTQ4 22.0-22.6 -> 21.3-21.6 us, act-order 24.5-24.9 -> 23.9-24.4; 4096x4096
/// GPTQ4 13.0-13.1 -> 12.2-12.3. `SAFEWEIGHTS_FINALIZE_PDL=0` launches it plainly.
fn finalize(gpu: &Gpu, act: OutDtype, cfg: LaunchConfig, args: &[KArg]) -> GpuResult<()> {
    let name = format!("gemv_finalize_{}", act.suffix());
    match env_knob("SAFEWEIGHTS_FINALIZE_PDL", 1) {
        1 => gpu.launch_ex(
            &name,
            cfg,
            args,
            LaunchEx {
                overlap: true,
                cluster: None,
            },
        ),
        _ => gpu.launch(&name, cfg, args),
    }
}

/// cuBLAS handle on the GPU's stream.
pub fn cublas(gpu: &Gpu) -> GpuResult<CudaBlas> {
    // SAFETY: only tries to dlopen libcublas by its candidate names; no cuBLAS call.
    if !unsafe { cublas_sys::is_culib_present() } {
        return Err(GpuError::Cublas {
            call: "dlopen",
            detail: "libcublas.so.13 not found; put the CUDA toolkit's lib64 on LD_LIBRARY_PATH"
                .into(),
        });
    }
    CudaBlas::new(gpu.stream().clone()).map_err(|e| GpuError::Cublas {
        call: "cublasCreate",
        detail: format!("{e:?}"),
    })
}

/// `y[M, N] = x[M, K] * W^T` with a dense row-major `W [N, K]` of `dtype`, through cuBLAS
/// (f32 compute). Used as the fallback and as the bench's reference.
#[allow(clippy::too_many_arguments)]
pub fn cublas_gemm(
    blas: &CudaBlas,
    dtype: OutDtype,
    w: u64,
    x: u64,
    y: u64,
    m: usize,
    n: usize,
    k: usize,
) -> GpuResult<()> {
    let t = match dtype {
        OutDtype::Bf16 => cublas_sys::cudaDataType::CUDA_R_16BF,
        OutDtype::F16 => cublas_sys::cudaDataType::CUDA_R_16F,
    };
    cublas_gemm_t(blas, t, w, x, y, m, n, k)
}

#[allow(clippy::too_many_arguments)]
fn cublas_gemm_t(
    blas: &CudaBlas,
    t: cublas_sys::cudaDataType,
    w: u64,
    x: u64,
    y: u64,
    m: usize,
    n: usize,
    k: usize,
) -> GpuResult<()> {
    let (alpha, beta) = (1.0f32, 0.0f32);
    // Column-major view: C (N x M) = op(A) * B with A = W as a K x N column-major matrix
    // (transposed), B = x as K x M, C = y as N x M (row-major y [M, N]).
    // SAFETY: the callers allocate w (N*K), x (M*K) and y (M*N) elements of `dtype`; the
    // scalars live on the host for the call (default host pointer mode).
    unsafe {
        cublas_result::gemm_ex(
            *blas.handle(),
            cublas_sys::cublasOperation_t::CUBLAS_OP_T,
            cublas_sys::cublasOperation_t::CUBLAS_OP_N,
            n as i32,
            m as i32,
            k as i32,
            &alpha as *const f32 as *const _,
            w as *const _,
            t,
            k as i32,
            x as *const _,
            t,
            k as i32,
            &beta as *const f32 as *const _,
            y as *mut _,
            t,
            n as i32,
            cublas_sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
            cublas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
        )
    }
    .map_err(|e| GpuError::Cublas {
        call: "cublasGemmEx",
        detail: format!("{e:?}"),
    })
}

/// Queues `y = x * W^T (+ bias)`. `x` holds `m * K` elements of `act`, `y` `m * N`,
/// `bias` (optional) `N`. The fallback path needs `blas`.
#[allow(clippy::too_many_arguments)]
pub fn gemv_async(
    gpu: &Gpu,
    p: &DevicePacked,
    act: OutDtype,
    m: usize,
    x: &DevBuf,
    bias: Option<&DevBuf>,
    y: &DevBuf,
    scratch: &mut Scratch,
    blas: Option<&CudaBlas>,
) -> GpuResult<Plan> {
    let (n, k) = p.out_shape();
    if m == 0 || m > MAX_M {
        return Err(GpuError::bad_args(
            "gemv",
            format!("M = {m} is outside 1..=16"),
        ));
    }
    if x.len() < m * k * 2 || y.len() < m * n * 2 || bias.is_some_and(|b| b.len() < n * 2) {
        return Err(GpuError::bad_args(
            "gemv",
            "x, y or bias buffer too small for the shape",
        ));
    }
    let bias_ptr = KArg::Ptr(bias.map_or(0, |b| b.ptr()));
    let i = |v: usize| KArg::I32(v as i32);
    let mut pl = plan(gpu, p, act, m);
    // The FP4 tensor-core kernels read the repacked weights (and MXFP4 its delta).
    // The FP4 tensor-core kernels read repacked weights: the `fp4ga` kernels their K-major
    // layout (a layer that cannot take it falls back to the other plan), the others the
    // e2m1_rp bit layout. `fp4`: weights, scales and the MXFP4 delta.
    let mut fp4: Option<(u64, u64, i32)> = None;
    if let Plan::Mma { kernel, .. } = &pl {
        if is_fp4ga(kernel) {
            fp4 = fp4ga_weights(gpu, p, act, scratch)?;
            if fp4.is_none() {
                let sms = gpu.info().sm_count.max(1) as usize;
                let family = match p.desc {
                    Desc::Mxfp4 { .. } => "mxfp4",
                    _ => "nvfp4",
                };
                let (rows, k) = p.out_shape();
                pl = fp4_mma_plan_base(family, act.suffix(), rows, k, m, sms, &|name, threads| {
                    wave(gpu, name, threads)
                });
            }
        }
    }
    if fp4.is_none()
        && matches!(pl, Plan::Mma { .. })
        && matches!(p.desc, Desc::Nvfp4 { .. } | Desc::Mxfp4 { .. })
    {
        fp4 = fp4packed_weights(gpu, p, act, scratch)?.map(|(w, d)| (w, p.ptr(1), d));
        if fp4.is_none() {
            pl = Plan::DequantCublas;
        }
    }
    // FP8: the variant without the NaN test where the layer has no NaN code
    // (`SAFEWEIGHTS_FP8_NANSCAN=0` keeps the testing kernel). On tensor cores the test was
    // 4 of the 11 instructions per decoded pair (H100, 28672x8192 M = 16: see docs/perf.md,
    // session 10).
    match &mut pl {
        Plan::Row { kernel } | Plan::Mma { kernel, .. }
            if (kernel.starts_with("gemv_fp8_") || kernel.starts_with("gemv_mma_fp8"))
                && fp8_nan_scan()
                && !fp8_has_nan(gpu, p, scratch)? =>
        {
            *kernel = match kernel.strip_prefix("gemv_mma_fp8") {
                // `SAFEWEIGHTS_FP8_XP=0|1`: tuning variants of `fp8nwu` (gemv.cu,
                // `GEMV_MMA_FP8V0`).
                Some(rest) => match (rest.strip_prefix("wu"), env_knob("SAFEWEIGHTS_FP8_XP", 2)) {
                    (Some(tail), v @ (0 | 1)) => format!("gemv_mma_fp8nwuv{v}{tail}"),
                    _ => format!("gemv_mma_fp8n{rest}"),
                },
                None => kernel.replacen("gemv_fp8_", "gemv_fp8n_", 1),
            };
        }
        _ => {}
    }
    match &pl {
        Plan::Row { kernel } | Plan::Mma { kernel, .. } => {
            // The tensor-core kernels take the row kernels' arguments; only the shape differs.
            let cfg = match &pl {
                Plan::Mma {
                    tiles,
                    warps,
                    persistent: true,
                    ..
                } => {
                    // One wave at most (`SAFEWEIGHTS_FP4_PT_BLOCKS` caps it lower, so that
                    // conformance runs several tiles per block on small layers).
                    let smem = fp4_pt_smem(k);
                    let wave = gpu.blocks_per_sm_smem(kernel, 32 * warps, smem)?
                        * gpu.info().sm_count.max(1) as u32;
                    let cap = env_knob("SAFEWEIGHTS_FP4_PT_BLOCKS", 0) as u32;
                    let blocks = match cap {
                        0 => wave,
                        c => c.min(wave),
                    };
                    LaunchConfig {
                        grid_dim: (pt_grid(*tiles, blocks), 1, 1),
                        block_dim: (32 * warps, 1, 1),
                        shared_mem_bytes: smem,
                    }
                }
                Plan::Mma {
                    tiles,
                    warps,
                    splits,
                    ..
                } => LaunchConfig {
                    grid_dim: (*tiles, *splits, 1),
                    block_dim: (32 * warps, 1, 1),
                    shared_mem_bytes: 0,
                },
                _ => grid_1d(
                    n.div_ceil(row_kernel_rows_per_warp(kernel)) as u64 * 32,
                    256,
                )?,
            };
            let (yk, xk) = (KArg::Ptr(y.ptr()), KArg::Ptr(x.ptr()));
            let args: Vec<KArg> = match p.desc {
                _ if kernel.starts_with("gemv_mma_i4wp_") => {
                    i4wp_args(gpu, p, m, x, y, bias_ptr, scratch)?
                }
                Desc::Nvfp4 { convention, .. } => vec![
                    yk,
                    xk,
                    KArg::Ptr(fp4.map_or(p.ptr(0), |(w, _, _)| w)),
                    KArg::Ptr(fp4.map_or(p.ptr(1), |(_, s, _)| s)),
                    KArg::Ptr(p.ptr(2)),
                    KArg::I32((convention == Nvfp4Convention::Divisor) as i32),
                    bias_ptr,
                    i(m),
                    i(n),
                    i(k),
                ],
                Desc::Mxfp4 { .. } if fp4.is_some() => vec![
                    yk,
                    xk,
                    KArg::Ptr(fp4.map_or(0, |(w, _, _)| w)),
                    KArg::Ptr(fp4.map_or(0, |(_, s, _)| s)),
                    KArg::I32(fp4.map_or(0, |(_, _, d)| d)),
                    bias_ptr,
                    i(m),
                    i(n),
                    i(k),
                ],
                Desc::Mxfp4 { .. } => vec![
                    yk,
                    xk,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    bias_ptr,
                    i(m),
                    i(n),
                    i(k),
                ],
                Desc::Fp8 { scaling, .. } => {
                    let (mode, bh, bw) = match scaling {
                        Fp8Scaling::Tensor => (0, n, k),
                        Fp8Scaling::Channel => (1, n, k),
                        Fp8Scaling::Block { rows, cols } => (2, rows, cols),
                    };
                    vec![
                        yk,
                        xk,
                        KArg::Ptr(p.ptr(0)),
                        KArg::Ptr(p.ptr(1)),
                        KArg::I32(mode),
                        i(bh),
                        i(bw),
                        bias_ptr,
                        i(m),
                        i(n),
                        i(k),
                    ]
                }
                Desc::Ct {
                    group_size,
                    groups,
                    scale_dtype,
                    ..
                } => vec![
                    yk,
                    xk,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::I32(scale_dtype as i32),
                    KArg::Ptr(p.ptr(2)),
                    i(group_size),
                    i(groups),
                    bias_ptr,
                    i(m),
                    i(n),
                    i(k),
                ],
                _ => {
                    return Err(GpuError::bad_args(
                        kernel.clone(),
                        "plan does not match the layer",
                    ))
                }
            };
            // The K-split FP4 kernels (`x2r4k`, `fp4ga`) take the f32 buffer of their shares
            // last.
            let splits = cfg.grid_dim.1;
            let part = match kernel.contains("x2r4k_") || is_fp4ga(kernel) {
                true => Some(ensure(gpu, &mut scratch.part, splits as usize * m * n * 4)?),
                false => None,
            };
            let mut args = args;
            args.extend(part.map(KArg::Ptr));
            // The `fp4ga` `_sk` kernels sum their two K splits in a cluster where every
            // cluster of the grid can be resident at once (`cluster_split`); otherwise their
            // twin without it runs, with the finalize launch.
            let sk = kernel.ends_with("_sk") && is_fp4ga(kernel);
            if sk && cluster_split(gpu, kernel, cfg.grid_dim.0, splits, cfg.block_dim.0) {
                let ex = LaunchEx {
                    overlap: false,
                    cluster: Some((1, splits, 1)),
                };
                gpu.launch_ex(kernel, cfg, &args, ex)?;
                return Ok(pl);
            }
            let kernel = if sk {
                kernel.trim_end_matches("_sk")
            } else {
                kernel.as_str()
            };
            // The act-order `i4wp` kernels overlap the activation permute before them, as the
            // K-major ones do (`grid_dep_wait` in gemv.cu).
            if kernel.starts_with("gemv_mma_i4wp_")
                && matches!(p.desc, Desc::Gptq { .. })
                && p.ptr(4) != 0
                && pdl_after_permute()
            {
                let ex = LaunchEx {
                    overlap: true,
                    cluster: None,
                };
                gpu.launch_ex(kernel, cfg, &args, ex)?;
                return Ok(pl);
            }
            gpu.launch(kernel, cfg, &args)?;
            if let Some(part) = part.filter(|_| splits > 1) {
                let args = [
                    KArg::Ptr(y.ptr()),
                    KArg::Ptr(part),
                    KArg::I32(splits as i32),
                    bias_ptr,
                    i(m),
                    i(n),
                ];
                finalize(gpu, act, grid_1d((m * n) as u64, 256)?, &args)?;
            }
        }
        Plan::Column {
            kernel,
            tiles,
            splits,
            threads,
            sorted,
            kpacked,
            cluster,
        } => {
            // The tensor-core kernels sum their K splits in the last block of each column
            // tile to arrive (no finalize launch; H100 M = 1: see docs/perf.md, session 5);
            // their buffer starts with the tiles' arrival counters, zeroed once here and
            // reset by the kernel after each use. Launched as clusters, they sum in shared
            // memory and need no buffer.
            let fused = kernel.ends_with("_sk") || kernel.ends_with("_skf");
            let part = match (*splits > 1 && !*cluster, fused) {
                (false, _) => 0,
                (true, false) => ensure(gpu, &mut scratch.part, *splits as usize * m * n * 4)?,
                (true, true) => {
                    let bytes =
                        (*tiles as usize).div_ceil(64) * 64 * 4 + *splits as usize * m * n * 4;
                    if !scratch.fixup.as_ref().is_some_and(|b| b.len() >= bytes) {
                        let buf = gpu.alloc(bytes)?;
                        gpu.fill_u16(&buf, 0)?;
                        scratch.fixup = Some(buf);
                    }
                    scratch.fixup.as_ref().map_or(0, |b| b.ptr())
                }
            };
            let cfg = LaunchConfig {
                grid_dim: (*tiles, *splits, 1),
                block_dim: (*threads, 1, 1),
                shared_mem_bytes: super::kernels::opt_in_smem(kernel),
            };
            let (yk, pk) = (KArg::Ptr(y.ptr()), KArg::Ptr(part));
            let (mut xk, mut qw, mut gi) = (KArg::Ptr(x.ptr()), p.ptr(0), p.ptr(3));
            if *sorted {
                let (qw_s, xs) = sorted_operands(gpu, p, m, x, scratch)?;
                (xk, qw, gi) = (KArg::Ptr(xs), qw_s, 0);
            }
            // The chunk-major copy of the weights the kernel would read otherwise.
            if is_chunk_major(kernel) && matches!(p.desc, Desc::Gptq { .. }) {
                qw = cm_weights(gpu, p, qw, scratch)?;
            }
            let args: Vec<KArg> = match p.desc {
                // AWQ and compressed-tensors int4 on the GPTQ4 kernels: the repacked layer,
                // no g_idx, zeros used as stored (v1 = 0; quant_formats §3.4, §5.4).
                Desc::Awq {
                    group_size,
                    scale_dtype,
                    ..
                }
                | Desc::Ct {
                    group_size,
                    scale_dtype,
                    ..
                } if *kpacked => {
                    let (qw_k, qz_k, s_k) = kpacked_operands(gpu, p, scratch)?;
                    let qw_k = match is_chunk_major(kernel) {
                        true => cm_weights(gpu, p, qw_k, scratch)?,
                        false => qw_k,
                    };
                    vec![
                        yk,
                        pk,
                        xk,
                        KArg::Ptr(qw_k),
                        KArg::Ptr(qz_k),
                        KArg::Ptr(s_k),
                        KArg::I32(scale_dtype as i32),
                        KArg::Ptr(0),
                        i(group_size),
                        KArg::I32(0),
                        bias_ptr,
                        i(m),
                        i(n),
                        i(k),
                    ]
                }
                Desc::Gptq {
                    group_size,
                    v1,
                    scale_dtype,
                    ..
                } => vec![
                    yk,
                    pk,
                    xk,
                    KArg::Ptr(qw),
                    KArg::Ptr(p.ptr(1)),
                    KArg::Ptr(p.ptr(2)),
                    KArg::I32(scale_dtype as i32),
                    KArg::Ptr(gi),
                    i(group_size),
                    KArg::I32(v1 as i32),
                    bias_ptr,
                    i(m),
                    i(n),
                    i(k),
                ],
                Desc::Awq {
                    group_size,
                    scale_dtype,
                    ..
                } => vec![
                    yk,
                    pk,
                    xk,
                    KArg::Ptr(p.ptr(0)),
                    KArg::Ptr(p.ptr(1)),
                    KArg::Ptr(p.ptr(2)),
                    KArg::I32(scale_dtype as i32),
                    i(group_size),
                    bias_ptr,
                    i(m),
                    i(n),
                    i(k),
                ],
                _ => {
                    return Err(GpuError::bad_args(
                        kernel.clone(),
                        "plan does not match the layer",
                    ))
                }
            };
            // After the activation permute: launched to overlap it (the kernel waits for
            // the permuted activations itself, `grid_dep_wait` in gemv.cu). H100, same call,
            // M = 1: act-order 28672x8192 51.3 -> 49.45 us, 8192x8192 22.65 -> 21.0,
            // 14336x4096 19.55 -> 17.7 (M = 16 76.2 -> 74.5).
            let ex = LaunchEx {
                overlap: match env_knob("SAFEWEIGHTS_GEMV_PDL", 1) {
                    1 => *sorted,
                    2 => true, // every GPTQ-family launch, for tuning
                    _ => false,
                },
                cluster: cluster.then_some((1, *splits, 1)),
            };
            if ex.overlap || ex.cluster.is_some() {
                gpu.launch_ex(kernel, cfg, &args, ex)?;
            } else {
                gpu.launch(kernel, cfg, &args)?;
            }
            if *splits > 1 && !fused {
                let args = [yk, pk, KArg::I32(*splits as i32), bias_ptr, i(m), i(n)];
                finalize(gpu, act, grid_1d((m * n) as u64, 256)?, &args)?;
            }
        }
        Plan::DequantCublas => {
            // f32 weights (the oracle's exact values), f32 activations, f32 GEMM, then one
            // rounding to the output type with the bias: only the output rounding is lost.
            let blas =
                blas.ok_or_else(|| GpuError::bad_args("gemv", "fallback path needs cuBLAS"))?;
            let dense = ensure(gpu, &mut scratch.dense, n * k * 4)?;
            let x32 = ensure(gpu, &mut scratch.x32, m * k * 4)?;
            let y32 = ensure(gpu, &mut scratch.part, m * n * 4)?;
            dequant_f32_async(gpu, p, scratch.dense.as_ref().expect("just allocated"))?;
            gpu.launch(
                &format!("gemv_act_to_f32_{}", act.suffix()),
                grid_1d((m * k) as u64, 256)?,
                &[
                    KArg::Ptr(x.ptr()),
                    KArg::Ptr(x32),
                    KArg::U64((m * k) as u64),
                ],
            )?;
            cublas_gemm_t(
                blas,
                cublas_sys::cudaDataType::CUDA_R_32F,
                dense,
                x32,
                y32,
                m,
                n,
                k,
            )?;
            gpu.launch(
                &format!("gemv_finalize_{}", act.suffix()),
                grid_1d((m * n) as u64, 256)?,
                &[
                    KArg::Ptr(y.ptr()),
                    KArg::Ptr(y32),
                    KArg::I32(1),
                    bias_ptr,
                    i(m),
                    i(n),
                ],
            )?;
        }
    }
    Ok(pl)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `kernels/gemv.cu` defines a kernel `gemv_mma_<prefix>_<dt>_...`, written out
    /// or through a `##SUF##` macro.
    fn defined(kernel: &str, dt: &str) -> bool {
        let src = super::super::kernels::ModuleId::Gemv.source();
        let prefix = kernel
            .strip_prefix("gemv_mma_")
            .and_then(|r| r.split(&format!("_{dt}_")).next())
            .unwrap();
        src.contains(&format!("gemv_mma_{prefix}_##SUF##"))
            || src.contains(&format!("gemv_mma_{prefix}_{dt}_"))
    }

    fn mma(p: &Plan) -> (&str, u32, u32) {
        match p {
            Plan::Mma {
                kernel,
                tiles,
                warps,
                ..
            } => (kernel.as_str(), *tiles, *warps),
            other => panic!("not a tensor-core plan: {other:?}"),
        }
    }

    #[test]
    fn fp4_plans_name_kernels_that_exist() {
        for (family, dt) in [("nvfp4", "bf16"), ("nvfp4", "f16"), ("mxfp4", "bf16")] {
            for rows in [520, 4096, 8192, 14336, 20480, 25601, 28672, 33792] {
                for k in [384, 3072, 4096, 8192, 14336] {
                    for (m, sl) in [1, 4, 9, 16, 9, 16].into_iter().zip([
                        H100_SLOTS, H100_SLOTS, H100_SLOTS, H100_SLOTS, H100_128, H100_128,
                    ]) {
                        let p = fp4_mma_plan(family, dt, rows, k, m, 132, sl);
                        let (kernel, tiles, warps) = mma(&p);
                        assert!(defined(kernel, dt), "{kernel} ({rows}x{k}, M = {m})");
                        assert!(tiles > 0 && [2, 4, 6, 8, 16].contains(&warps), "{p:?}");
                        if is_fp4ga(kernel) {
                            assert!(
                                m > 8
                                    && (warps == 8 || (warps == 16 && kernel.contains("_c1w16")))
                                    && kernel.starts_with(&format!("gemv_mma_{family}ga_{dt}_c"))
                            );
                            continue;
                        }
                        assert!(
                            kernel.ends_with(&format!("_n{}_w{warps}", if m <= 8 { 1 } else { 2 }))
                        );
                    }
                }
            }
        }
    }

    /// One wave of a kernel at 72 registers on an H100: 28 warps on each of 132 SMs.
    const H100: fn(&str, u32) -> usize = |_, threads| 132 * (28 / (threads / 32)) as usize;
    const H100_SLOTS: Slots<'static> = &H100;
    /// One wave of a kernel at 128 registers on an H100: 16 warps on each of 132 SMs.
    const H100_128: Slots<'static> = &|_, threads| 132 * (16 / (threads / 32)) as usize;

    #[test]
    fn fp4_wide_warps_fill_one_wave() {
        // Slots that never leave a tile over for the persistent kernels, which then keep
        // out of the way (`fp4_persistent_warps`).
        let no_pt = |name: &str, threads: u32| match name.contains("wcp_") || name.contains("wp_") {
            true => usize::MAX,
            false => H100(name, threads),
        };
        let w = |rows: usize, k: usize, m: usize| {
            mma(&fp4_mma_plan("nvfp4", "bf16", rows, k, m, 132, &no_pt)).2
        };
        // 512 tiles at M = 1: 6-warp blocks all fit at once (4 per SM, 528).
        assert_eq!(w(8192, 8192, 1), 6);
        // M = 4 keeps 4; so do layers of more tiles than one wave of 6-warp blocks.
        assert_eq!(w(8192, 8192, 4), 4);
        assert_eq!(w(14336, 4096, 1), 4);
        // 28672x8192 at M = 1 takes the 8-warp ring kernel instead (`fp4_ring_warps`).
        assert_eq!(w(28672, 8192, 1), 8);
        assert_eq!(w(28672, 8192, 4), 4);
        // 256 tiles: 8 warps as before; fewer than 12 chunks: 4.
        assert_eq!(w(4096, 14336, 1), 8);
        assert_eq!(w(4096, 4096, 1), 8);
        assert_eq!(w(8192, 2816, 1), 4);
        // The slots are asked for the kernel the plan names.
        let asked = std::cell::RefCell::new(Vec::new());
        let p = fp4_mma_plan("mxfp4", "bf16", 8192, 8192, 1, 132, &|name, threads| {
            asked.borrow_mut().push((name.to_string(), threads));
            no_pt(name, threads)
        });
        assert_eq!(mma(&p).0, "gemv_mma_mxfp4w_bf16_n1_w6");
        assert_eq!(
            asked.borrow().as_slice(),
            &[
                ("gemv_mma_mxfp4wp_bf16_n1_w8".to_string(), 256),
                ("gemv_mma_mxfp4w_bf16_n1_w6".to_string(), 192)
            ]
        );
        // Both 6-warp kernels exist.
        let src = super::super::kernels::ModuleId::Gemv.source();
        assert!(src.contains("GEMV_MMA_WIDE(SUF, A, NT, 6)"));
        assert!(src.contains("void __launch_bounds__(192) gemv_mma_mxfp4w_bf16_n1_w6("));
        // One wave too few: 4 (M = 4), which at M = 1 with 32 chunks per tile becomes the
        // 8-warp ring kernel (`fp4_ring_warps`).
        // (512 slots of persistent blocks: one tile each, so those are not taken either.)
        let p = fp4_mma_plan("mxfp4", "bf16", 8192, 8192, 4, 132, &|_, _| 511);
        assert_eq!(mma(&p).0, "gemv_mma_mxfp4w_bf16_n1_w4");
        let p = fp4_mma_plan("mxfp4", "bf16", 8192, 8192, 1, 132, &|n, _| {
            511 + n.contains("wp_") as usize
        });
        assert_eq!(mma(&p).0, "gemv_mma_mxfp4wa_bf16_n1_w8");
    }

    /// The scale codes of `gemv_fp4ga_repack_*` (`e4m3_ga_code` in gemv.cu, written out
    /// again here) decode through `fp4ga_scale_halves`' shift-add to every positive E4M3
    /// value times 2^118 in bf16 and times 2^7 in f16, exactly, and fit a byte; the MXFP4
    /// code e + 126 - delta gives 2^(e - 1 - delta) (`e8m0_rp_bf16x2`).
    #[test]
    fn fp4ga_scale_codes_decode_exactly() {
        fn ga_code(mag: u32) -> u32 {
            if mag >> 3 != 0 {
                return mag + 16;
            }
            let p = 31 - mag.leading_zeros(); // mag in 1..7
            8 * p + ((mag << (3 - p)) & 7)
        }
        for mag in 1u8..0x7F {
            let v = f64::from(crate::oracle::minifloat::e4m3fn_to_f32(mag));
            let r = ga_code(u32::from(mag));
            assert!(r < 256, "{mag:#x}");
            let bf = half::bf16::from_bits((16 * r + 0x7600) as u16).to_f64();
            assert_eq!(bf, v * 2f64.powi(118), "bf16, {mag:#x}");
            let hf = half::f16::from_bits((128 * r + 0x3400) as u16).to_f64();
            assert_eq!(hf, v * 2f64.powi(7), "f16, {mag:#x}");
        }
        for (e, delta) in [(1u32, 0u32), (127, 0), (128, 0), (200, 72), (121, 0)] {
            let r = e + 126 - delta;
            let bf = half::bf16::from_bits((128 * r) as u16).to_f64();
            assert_eq!(bf, 2f64.powi(e as i32 - 1 - delta as i32), "e8m0 {e}");
        }
    }

    /// The `fp4ga` weight layout (`fp4_ga2_src`, `e2m1_ga2` and `fp4_rp_word<A, true>` in
    /// gemv.cu, written out again here): the bit map is a bijection, and every code in every
    /// nibble decodes to its E2M1 value times 2^-126 (bf16) or 2^-14 (f16), exactly, in the
    /// half and pair register that the kernel's MMA pairing gives it, whatever the other
    /// codes are.
    #[test]
    fn fp4ga_weight_layout_decodes_every_code() {
        fn src(bf16: bool, r: u32, q: u32) -> u32 {
            let sgn = q & 15 == 15;
            match (bf16, r, sgn) {
                (_, 0, _) => q,
                (_, 1, _) => q - 3,
                (_, 2, true) => q - 1,
                (true, 2, false) => q + 3,
                (false, 2, false) => q - 6,
                (_, _, true) => q - 2,
                (true, _, false) => q - 6,
                (false, _, false) => q - 9,
            }
        }
        fn decode(bf16: bool, w: u32, r: u32) -> u32 {
            let (pm, em, sm) = match bf16 {
                true => (0x81C0_81C0u32, 0x01C0_01C0u32, 0x8000_8000u32),
                false => (0x8E00_8E00, 0x0E00_0E00, 0x8000_8000),
            };
            match (r, bf16) {
                (0, _) => w & pm,
                (1, _) => (w << 3) & pm,
                (2, true) => ((w >> 3) & em) | ((w << 1) & sm),
                (2, false) => ((w << 6) & em) | ((w << 1) & sm),
                (_, true) => ((w << 6) & em) | ((w << 2) & sm),
                (_, false) => ((w << 9) & em) | ((w << 2) & sm),
            }
        }
        // (pair register, half) of code j: k offsets (h, h + 4), (h + 2, h + 6) of step h.
        let slot = |j: u32| (((j & 1) << 1) | ((j >> 1) & 1), j >> 2);
        for bf16 in [true, false] {
            let pos: [u32; 4] = if bf16 { [6, 7, 8, 15] } else { [9, 10, 11, 15] };
            let mut seen = 0u64;
            for r in 0..4 {
                for q in pos.iter().flat_map(|&p| [p, p + 16]) {
                    let b = src(bf16, r, q);
                    assert!(
                        b < 32 && seen & (1 << b) == 0,
                        "bf16 {bf16}: r {r} q {q} -> {b}"
                    );
                    seen |= 1 << b;
                }
            }
            assert_eq!(seen, 0xFFFF_FFFF);
            let word = |v: u32| {
                let mut o = 0u32;
                for j in 0..8 {
                    let (r, half) = slot(j);
                    for (b, &p) in pos.iter().enumerate() {
                        o |= ((v >> (4 * j + b as u32)) & 1) << src(bf16, r, p + 16 * half);
                    }
                }
                o
            };
            let mut rng = 0x9E37_79B9_7F4A_7C15u64;
            for j in 0..8u32 {
                for code in 0..16u32 {
                    for _ in 0..8 {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let v = (rng as u32 & !(0xF << (4 * j))) | (code << (4 * j));
                        let (r, half) = slot(j);
                        let bits = (decode(bf16, word(v), r) >> (16 * half)) as u16;
                        let want = f64::from(crate::oracle::minifloat::e2m1_to_f32(code as u8));
                        let got = match bf16 {
                            true => half::bf16::from_bits(bits).to_f64() * 2f64.powi(126),
                            false => half::f16::from_bits(bits).to_f64() * 2f64.powi(14),
                        };
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "bf16 {bf16}: code {code:#x} at nibble {j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fp4ga_plan_choices() {
        // M > 8 from 4096 rows: where one wave of 16-warp blocks (one per SM) holds the
        // 64-column groups, one group per such block, K split over two blocks as a cluster
        // where twice the groups fit, with at least 4 chunks of 32 k per warp. Otherwise one
        // group per 8-warp block while one wave (two blocks per SM) holds them, else two;
        // K splits up to 4 while the wave has room, with at least 4 chunks per warp.
        for (family, rows, k, variant, warps, tiles, splits) in [
            ("nvfp4", 28672, 8192, "c2", 8, 224, 1),
            ("mxfp4", 33792, 8192, "c2", 8, 264, 1),
            ("nvfp4", 14336, 4096, "c1", 8, 224, 1),
            ("nvfp4", 14337, 128, "c1", 8, 225, 1),
            ("mxfp4", 8192, 8192, "c1w16", 16, 128, 1),
            ("nvfp4", 4096, 14336, "c1w16", 16, 64, 2),
            ("mxfp4", 4096, 4096, "c1w16", 16, 64, 2),
            ("nvfp4", 4096, 2048, "c1w16", 16, 64, 1),
            ("nvfp4", 4096, 1024, "c1", 8, 64, 1),
        ] {
            let p = fp4_mma_plan(family, "bf16", rows, k, 16, 132, H100_128);
            let sk = if splits == 2 { "_sk" } else { "" };
            let want = format!("gemv_mma_{family}ga_bf16_{variant}{sk}");
            assert!(
                matches!(&p, Plan::Mma { kernel, tiles: t, warps: w, splits: s, .. }
                    if *kernel == want && *t == tiles && *s == splits && *w == warps),
                "{rows}x{k}: {p:?}"
            );
            assert!(defined(&want, "bf16"), "{want}");
        }
        for (rows, k, m) in [(2048, 8192, 16), (28672, 8192, 8), (8192, 8192, 1)] {
            assert!(fp4ga_plan("nvfp4", "bf16", rows, k, m, H100_128).is_none());
        }
    }

    #[test]
    fn fp4_plan_choices() {
        // (fp4_mma_plan_base: the plans before `fp4ga_plan`, which layers with a NaN scale
        // keep.) M > 8 from 8192 rows, kernels at 128 registers (16 warps per SM): one row pair
        // (32 rows) per 4-warp block while one wave holds them all (16896 rows).
        // Past that, 2-warp blocks where the busiest SM gets fewer rows than with 128-row
        // blocks (28672: 224 against 256; 20480: 160 against 256), and not where both put
        // 256 (33792) nor past one wave of 2-warp blocks: there four row groups of two
        // tiles in 8-warp blocks.
        for (family, rows, k, kernel, tiles, warps) in [
            ("nvfp4", 14336, 4096, "nvfp4x2s_bf16_n2_w4", 448, 4),
            ("mxfp4", 8192, 8192, "mxfp4x2s_bf16_n2_w4", 256, 4),
            ("nvfp4", 16896, 8192, "nvfp4x2s_bf16_n2_w4", 528, 4),
            ("nvfp4", 28672, 8192, "nvfp4x2s_bf16_n2_w2", 896, 2),
            ("mxfp4", 20480, 8192, "mxfp4x2s_bf16_n2_w2", 640, 2),
            ("mxfp4", 17408, 4096, "mxfp4x2s_bf16_n2_w2", 544, 2),
            ("nvfp4", 33792, 8192, "nvfp4x2r4l_bf16_n2_w8", 264, 8),
            ("mxfp4", 40960, 8192, "mxfp4x2r4l_bf16_n2_w8", 320, 8),
        ] {
            let p = fp4_mma_plan_base(family, "bf16", rows, k, 16, 132, H100_128);
            let want = format!("gemv_mma_{kernel}");
            assert_eq!(mma(&p), (want.as_str(), tiles, warps), "{rows}x{k}");
        }
        assert_eq!(fp4_small_warps("nvfp4", "bf16", 4096, 132, H100_128), 0);
        // Fewer rows: one tile per warp, or with at least 80 chunks (K >= 10240) 128-row
        // blocks with four K splits over grid.y.
        let p = fp4_mma_plan_base("nvfp4", "f16", 4096, 4096, 16, 132, &H100);
        assert!(mma(&p).0.starts_with("gemv_mma_nvfp4_f16_n2_w"), "{p:?}");
        for (family, rows, k) in [("nvfp4", 4096, 14336), ("mxfp4", 264, 10240)] {
            let p = fp4_mma_plan_base(family, "bf16", rows, k, 16, 132, &H100);
            let want = format!("gemv_mma_{family}x2r4k_bf16_n2_w8");
            assert!(
                matches!(&p, Plan::Mma { kernel, splits: 4, tiles, .. } if *kernel == want && *tiles == rows.div_ceil(128) as u32),
                "{p:?}"
            );
        }
        assert_eq!(fp4_ksplits(16, 4096, 10112), None);
        assert_eq!(fp4_ksplits(16, 8192, 14336), None);
        assert_eq!(fp4_ksplits(8, 4096, 14336), None);
        assert!(defined("gemv_mma_nvfp4x2r4k_f16_n2_w8", "f16"));
        // M = 1: the clamped 256-k kernel for NVFP4 only; M = 4 the plain one.
        assert!(
            mma(&fp4_mma_plan("nvfp4", "f16", 14336, 4096, 1, 132, &H100))
                .0
                .starts_with("gemv_mma_nvfp4wc_f16_n1_")
        );
        assert!(
            mma(&fp4_mma_plan("mxfp4", "bf16", 14336, 4096, 1, 132, &H100))
                .0
                .starts_with("gemv_mma_mxfp4w_bf16_n1_")
        );
        assert!(
            mma(&fp4_mma_plan("nvfp4", "bf16", 8192, 8192, 4, 132, &H100))
                .0
                .starts_with("gemv_mma_nvfp4w_bf16_n1_")
        );
        // M = 1 with the activation ring: the 8-warp plans, and 4-warp ones of 32 chunks or
        // more in 8-warp blocks; not 6 warps, fewer chunks, or M > 1.
        let k1 = |family: &str, rows: usize, k: usize, m: usize| {
            mma(&fp4_mma_plan(family, "bf16", rows, k, m, 132, &H100))
                .0
                .to_string()
        };
        assert_eq!(k1("nvfp4", 4096, 14336, 1), "gemv_mma_nvfp4wca_bf16_n1_w8");
        assert_eq!(k1("mxfp4", 4096, 4096, 1), "gemv_mma_mxfp4wa_bf16_n1_w8");
        assert_eq!(k1("nvfp4", 14336, 4096, 1), "gemv_mma_nvfp4wc_bf16_n1_w4");
        assert_eq!(k1("mxfp4", 4096, 14336, 2), "gemv_mma_mxfp4w_bf16_n1_w8");
        // M = 1 in persistent 8-warp blocks: more tiles than one wave of them (396 here),
        // with at least 32 chunks; not 16 chunks (14336x4096, above), one tile per block
        // (4096 rows), K beyond the shared memory for its activations, or M > 1.
        assert_eq!(k1("nvfp4", 28672, 8192, 1), "gemv_mma_nvfp4wcp_bf16_n1_w8");
        assert_eq!(k1("mxfp4", 28672, 8192, 1), "gemv_mma_mxfp4wp_bf16_n1_w8");
        assert_eq!(k1("mxfp4", 8192, 8192, 1), "gemv_mma_mxfp4wp_bf16_n1_w8");
        assert_eq!(k1("nvfp4", 8192, 8192, 4), "gemv_mma_nvfp4w_bf16_n1_w4");
        assert_eq!(k1("nvfp4", 28672, 18176, 1), "gemv_mma_nvfp4wcp_bf16_n1_w8");
        assert_eq!(k1("nvfp4", 28672, 18432, 1), "gemv_mma_nvfp4wca_bf16_n1_w8");
        let p = fp4_mma_plan("nvfp4", "f16", 28672, 8192, 1, 132, &H100);
        assert!(
            matches!(
                p,
                Plan::Mma {
                    persistent: true,
                    tiles: 1792,
                    warps: 8,
                    ..
                }
            ),
            "{p:?}"
        );
        assert!(defined("gemv_mma_nvfp4wcp_f16_n1_w8", "f16"));
        // The conformance layers that cover the ring kernels (conformance.rs).
        assert_eq!(k1("nvfp4", 4104, 10240, 1), "gemv_mma_nvfp4wca_bf16_n1_w8");
        assert_eq!(k1("mxfp4", 520, 4096, 1), "gemv_mma_mxfp4wa_bf16_n1_w8");
        assert_eq!(fp4_ring_warps(1, 16, 64), None);
        assert_eq!(fp4_ring_warps(1, 4, 31), None);
        // K % 256 != 0 keeps 128-k chunks; below 14336 rows one tile per warp.
        assert_eq!(
            mma(&fp4_mma_plan("nvfp4", "bf16", 8192, 384, 1, 132, &H100)).0,
            "gemv_mma_nvfp4_bf16_n1_w4"
        );
    }
    /// The `i4wp` layout (gemv_i4wp_repack_w): code k = 8 kb + j in nibble (j >> 1) + 4 (j & 1)
    /// of word kb, so that pair register r, `and_or` of the word shifted by 4r, holds k = 2r
    /// (low half) and 2r + 1 (high half); (magic | q) - (magic + z + v1) is exact in bf16 and
    /// f16 for every code and zero point; and the kernel's group of half hh,
    /// umulhi(2 hh + 1, gmag), is hh / hpg for every group size it takes.
    #[test]
    fn i4wp_layout_decodes_every_code() {
        let src = include_str!("../../kernels/gemv.cu");
        assert!(src.contains("<< (4 * ((j >> 1) + 4 * (j & 1)))"));
        assert!(src.contains("and_or<0x000F000Fu>(wA[u] >> (8 * h), MAGIC)"));
        assert!(src.contains("and_or<0x000F000Fu>(wA[u] >> (8 * h + 4), MAGIC)"));
        assert!(src.contains("__umulhi(4u * (u32)c + 2u * h + 1u, gmag)"));
        let nibble = |j: u32| (j >> 1) + 4 * (j & 1);
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..256 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let codes: Vec<u32> = (0..8).map(|j| (rng >> (4 * j)) as u32 & 15).collect();
            let w = (0..8).fold(0u32, |w, j| w | codes[j as usize] << (4 * nibble(j)));
            for r in 0..4 {
                let pair = (w >> (4 * r)) & 0x000F_000F;
                assert_eq!(pair & 15, codes[2 * r as usize], "k {} of {codes:?}", 2 * r);
                assert_eq!(pair >> 16, codes[2 * r as usize + 1], "k {}", 2 * r + 1);
            }
        }
        for q in 0..16u32 {
            for z in 0..17u32 {
                // bf16: magic 128 (0x4300); f16: magic 1024 (0x6400).
                let b = half::bf16::from_bits((0x4300 | q) as u16).to_f64()
                    - half::bf16::from_bits((0x4300 + z) as u16).to_f64();
                let f = half::f16::from_bits((0x6400 | q) as u16).to_f64()
                    - half::f16::from_bits((0x6400 + z) as u16).to_f64();
                assert_eq!(b, f64::from(q) - f64::from(z));
                assert_eq!(f, f64::from(q) - f64::from(z));
            }
        }
        for hpg in 1..=512u32 {
            let gmag = (0xFFFF_FFFFu32 / (2 * hpg)).wrapping_add(1);
            for hh in (0..32768u32).step_by(7).chain([32767]) {
                let grp = ((u64::from(2 * hh + 1) * u64::from(gmag)) >> 32) as u32;
                assert_eq!(grp, hh / hpg, "hpg {hpg} half {hh}");
            }
        }
    }

    #[test]
    fn act_order_permute_is_staged_where_a_row_fits() {
        let src = include_str!("../../kernels/gemv.cu");
        assert_eq!(
            permute_launch(8192, true),
            ("gemv_permute_x_sm", 1024, 16384)
        );
        assert_eq!(
            permute_launch(24576, true),
            ("gemv_permute_x_sm", 3072, 49152)
        );
        // Past 48 KB of shared memory, K % 8 != 0, or turned off: the gather kernel.
        assert_eq!(permute_launch(24584, true), ("gemv_permute_x", 24584, 0));
        assert_eq!(permute_launch(4100, true), ("gemv_permute_x", 4100, 0));
        assert_eq!(permute_launch(8192, false), ("gemv_permute_x", 8192, 0));
        for name in ["gemv_permute_x", "gemv_permute_x_sm"] {
            assert!(src.contains(&format!("void {name}(")), "{name}");
        }
    }

    #[test]
    fn gptq4_w16_kernels_exist_and_opt_in() {
        let src = include_str!("../../kernels/gemv.cu");
        for tail in [
            "_n2_c1w16(",
            "_n2_c1w16_sk(",
            "_n2_c1w16s(",
            "_n2_c1w16s_sk(",
        ] {
            assert!(
                src.contains(&format!("gemv_mma_gptq4_##SUF##{tail}")),
                "{tail}"
            );
        }
        use super::super::kernels::opt_in_smem;
        assert_eq!(opt_in_smem("gemv_mma_gptq4_bf16_n2_c1w16"), 64 * 1024);
        assert_eq!(opt_in_smem("gemv_mma_gptq4_f16_n2_c1w16_sk"), 64 * 1024);
        assert_eq!(opt_in_smem("gemv_mma_gptq4_bf16_n2_c1w16s_sk"), 64 * 1024);
        // FP4's 16-warp kernels reduce in static shared memory.
        assert_eq!(opt_in_smem("gemv_mma_nvfp4ga_bf16_c1w16"), 0);
        assert_eq!(opt_in_smem("gemv_mma_gptq4_bf16_n2_c1"), 0);
        assert!(has_splitk_variant("gemv_mma_gptq4_bf16_n2_c1w16"));
    }

    #[test]
    fn i4_persistent_plan_choices() {
        // GPTQ 4-bit at M = 1 wherever the row fits the shared memory and the groups are
        // whole 128-k halves.
        for (n, k) in [(28672, 8192), (4096, 4096), (4096, 14336), (1032, 256)] {
            assert_eq!(i4_persistent_warps(1, n, k, 128), Some(8), "{n}x{k}");
        }
        assert_eq!(i4_persistent_warps(1, 4096, 4096, 4096), Some(8)); // one group
        assert_eq!(i4_persistent_warps(1, 1032, 1536, 384), Some(8)); // three halves
        assert_eq!(i4_persistent_warps(2, 4096, 4096, 128), None); // M > 1
        assert_eq!(i4_persistent_warps(1, 4096, 4160, 128), None); // K % 256
        assert_eq!(i4_persistent_warps(1, 4096, 4096, 64), None); // half-chunk groups
        assert_eq!(i4_persistent_warps(1, 4100, 4096, 128), None); // N % 8

        // 40 KB of activations at most: K = 18176 fits, 18432 does not.
        assert_eq!(i4_persistent_warps(1, 4096, 18176, 128), Some(8));
        assert_eq!(i4_persistent_warps(1, 4096, 18432, 128), None);
        for dt in ["bf16", "f16"] {
            assert!(defined(&format!("gemv_mma_i4wp_{dt}_n1_w8"), dt));
        }
        let src = include_str!("../../kernels/gemv.cu");
        assert!(src.contains("void gemv_i4wp_repack_w("));
        assert!(src.contains("void gemv_i4wp_repack_sz("));
    }

    #[test]
    fn persistent_grid_evens_out_the_tiles() {
        // 1792 tiles in 264 slots: 7 rounds, and 256 blocks of 7 tiles cover them.
        assert_eq!(pt_grid(1792, 264), 256);
        // 512 tiles in 396 slots: 2 rounds, 256 blocks of 2 (not 396, some of them 1).
        assert_eq!(pt_grid(512, 396), 256);
        // Fewer tiles than slots: one block per tile.
        assert_eq!(pt_grid(257, 396), 257);
        assert_eq!(pt_grid(1, 0), 1);
        // 40 KB of activations at most: K = 18176 (71 chunks of 576 bytes).
        assert_eq!(fp4_pt_smem(18176), 40896);
        assert!(fp4_pt_smem(18432) > FP4_PT_SMEM_MAX);
    }

    #[test]
    fn fp4_repack_kernels_exist() {
        // The names fp4packed_weights launches, for every activation type it takes.
        let src = super::super::kernels::ModuleId::Gemv.source();
        for act in OutDtype::ALL {
            let name = format!("gemv_fp4_repack_{}", act.suffix());
            assert!(src.contains(&format!("void {name}(")), "{name}");
        }
        assert!(src.contains("void gemv_e8m0_range("));
        assert!(src.contains("void gemv_permute_x("));
        // fp8_has_nan, and the NaN-free FP8 kernels gemv_async switches to.
        assert!(src.contains("void gemv_fp8_has_nan("));
        assert!(src.contains("void gemv_fp8n_##SUF##_m##MT("));
        // and the tensor-core ones: every FP8 plan's kernel with `fp8n` exists too.
        for (v, nv) in [("fp8", "fp8w"), ("fp8u", "fp8wu")] {
            assert!(src.contains(&format!("{v}, {nv}, true)")), "{v} / {nv}");
            let (n, nn) = (v.replacen("fp8", "fp8n", 1), nv.replacen("fp8", "fp8n", 1));
            assert!(src.contains(&format!("{n}, {nn}, false)")), "{n} / {nn}");
        }
    }

    #[test]
    fn mxfp4_delta_range() {
        // Scales all 2 or less: delta 0 whatever the smallest (2^-127 included).
        assert_eq!(mxfp4_delta(128, 0), Some(0));
        assert_eq!(mxfp4_delta(120, 110), Some(0));
        // Larger scales shift by hi - 128, as long as the smallest stays within 133.
        assert_eq!(mxfp4_delta(140, 7), Some(12));
        assert_eq!(mxfp4_delta(254, 121), Some(126));
        assert_eq!(mxfp4_delta(254, 120), None);
        assert_eq!(mxfp4_delta(140, 6), None);
        // NaN scales only: nothing to shift.
        assert_eq!(mxfp4_delta(0, 255), Some(0));
    }

    #[test]
    fn zero8_variants_exist_for_every_kernel_they_replace() {
        let src = include_str!("../../kernels/gemv.cu");
        for (from, to) in [
            (
                "gemv_mma_gptq4w4_bf16_n1_c1",
                "gemv_mma_gptq4w4z_bf16_n1_c1",
            ),
            ("gemv_mma_gptq4w_f16_n1_c1", "gemv_mma_gptq4wz_f16_n1_c1"),
            (
                "gemv_mma_gptq4w_bf16_n1_c1_sk",
                "gemv_mma_gptq4wz_bf16_n1_c1_sk",
            ),
            ("gemv_mma_gptq4_bf16_n1_c1", "gemv_mma_gptq4z_bf16_n1_c1"),
            (
                "gemv_mma_gptq4_f16_n1_c1_sk",
                "gemv_mma_gptq4z_f16_n1_c1_sk",
            ),
            (
                "gemv_mma_gptq4_bf16_n1_c1_skf",
                "gemv_mma_gptq4z_bf16_n1_c1_skf",
            ),
            (
                "gemv_mma_gptq4w_f16_n1_c1_skf",
                "gemv_mma_gptq4wz_f16_n1_c1_skf",
            ),
            ("gemv_mma_gptq4_bf16_n2_c1", "gemv_mma_gptq4z_bf16_n2_c1"),
            ("gemv_mma_gptq4_f16_n2_c2", "gemv_mma_gptq4z_f16_n2_c2"),
            ("gemv_mma_gptq4_bf16_n2_c2m", "gemv_mma_gptq4z_bf16_n2_c2m"),
            ("gemv_mma_gptq4_f16_n2_c2t", "gemv_mma_gptq4z_f16_n2_c2t"),
            (
                "gemv_mma_gptq4_bf16_n2_c2mt",
                "gemv_mma_gptq4z_bf16_n2_c2mt",
            ),
            (
                "gemv_mma_gptq4_f16_n2_c1_sk",
                "gemv_mma_gptq4z_f16_n2_c1_sk",
            ),
        ] {
            assert_eq!(zero8_variant(from).as_deref(), Some(to), "{from}");
            let family = to
                .split("_bf16")
                .next()
                .unwrap()
                .split("_f16")
                .next()
                .unwrap();
            let tail = to
                .strip_prefix(family)
                .unwrap()
                .replacen("_bf16", "", 1)
                .replacen("_f16", "", 1);
            assert!(
                src.contains(&format!("{family}_##SUF##{tail},"))
                    || src.contains(&format!("{family}_##SUF##{tail}(")),
                "{to} is not defined in gemv.cu"
            );
        }
        for none in [
            "gemv_mma_gptq4p3_bf16_n2_c1",
            "gemv_mma_gptq4q_bf16_n2_c1",
            "gemv_mma_gptq4_bf16_n1_c2",
            "gemv_mma_gptq4_bf16_n1_c4",
            "gemv_mma_gptq4w_bf16_n2_c1",
            "gemv_mma_awq_bf16_n1",
            "gemv_gptq4_bf16_m1",
        ] {
            assert_eq!(zero8_variant(none), None, "{none}");
        }
    }

    #[test]
    fn chunk_major_kernels_are_exactly_the_c2m_ones() {
        let src = include_str!("../../kernels/gemv.cu");
        assert!(src.contains("void gemv_gptq4_cm_repack("));
        for dt in ["bf16", "f16"] {
            for family in ["gptq4", "gptq4z"] {
                for tail in ["n2_c2m", "n2_c2mt"] {
                    let c2m = format!("gemv_mma_{family}_{dt}_{tail}");
                    assert!(is_chunk_major(&c2m), "{c2m}");
                    assert!(
                        src.contains(&format!("gemv_mma_{family}_##SUF##_{tail}(")),
                        "{c2m} is not defined in gemv.cu"
                    );
                }
                // The K-major kernels read the GPTQ layout, never the chunk-major copy.
                for tail in [
                    "n2_c2",
                    "n2_c2t",
                    "n2_c1",
                    "n2_c1w16_sk",
                    "n2_c1w16s_sk",
                    "n1_c1",
                ] {
                    assert!(!is_chunk_major(&format!("gemv_mma_{family}_{dt}_{tail}")));
                }
            }
            assert!(!is_chunk_major(&format!("gemv_mma_nvfp4ga_{dt}_c2")));
        }
    }

    #[test]
    fn two_tile_splits_keep_eight_chunks_per_warp_at_m16() {
        // An H100 wave: 264 blocks of 8 warps (2 per SM), all 8 warps along K (`c1`).
        let splits = |tiles, k: usize, m, sorted| {
            col_splits(264, tiles, k / 32, 8, two_tile_min_chunks(m, sorted), 0)
        };
        assert_eq!(splits(64, 4096, 16, false), 2); // 4096x4096: four would leave 4 chunks
        assert_eq!(splits(64, 4096, 16, true), 4); // act-order keeps four
        assert_eq!(splits(64, 4096, 8, false), 4); // M <= 8 unchanged
        assert_eq!(splits(64, 14336, 16, false), 4); // 4096x14336: 14 chunks per warp
        assert_eq!(splits(128, 8192, 16, false), 2); // 8192x8192
        assert_eq!(splits(224, 4096, 16, false), 1); // 14336x4096: the tiles fill the wave
        assert_eq!(splits(448, 8192, 16, false), 1); // 28672x8192

        // A forced count (tuning) is held only to two chunks per warp.
        assert_eq!(col_splits(264, 64, 128, 8, 8, 4), 4);
        assert_eq!(col_splits(264, 64, 128, 8, 8, 16), 8);
        assert_eq!(col_splits(264, 64, 128, 8, 8, 0), 2);
        assert_eq!(col_splits(0, 64, 128, 8, 2, 0), 1); // no occupancy figure
    }

    #[test]
    fn big_layers_at_m16_switch_only_on_a_partial_last_wave() {
        // 264 two-tile blocks per wave on an H100 (2 per SM, 132 SMs).
        assert!(partial_second_wave(448, 264)); // 28672 rows: last wave 70% full
        assert!(partial_second_wave(384, 264)); // 24576 rows: 45%
        assert!(!partial_second_wave(528, 264)); // 33792 rows: two full waves
        assert!(!partial_second_wave(496, 264)); // 31744 rows: 88%
        assert!(!partial_second_wave(224, 264)); // 14336 rows: one wave
        assert!(!partial_second_wave(264, 264));
        assert!(partial_second_wave(265, 264));
        assert!(!partial_second_wave(5, 0)); // no occupancy figure: no division by zero
    }

    #[test]
    fn awq_repack_choice() {
        assert!(awq_repack(1, 28672, 8192) && awq_repack(8, 4096, 14336));
        assert!(!awq_repack(1, 4096, 4096) && !awq_repack(4, 2056, 96));
        assert!(awq_repack(16, 8192, 8192) && awq_repack(9, 4096, 4096));
        assert!(awq_repack(16, 14336, 4096) && awq_repack(16, 28672, 8192));
        // The conformance cases cover both paths at M <= 8 (the alternate pass of
        // ci/gpu-conformance.sh takes the AWQ kernels at M > 8).
        assert!(awq_repack(1, 4104, 4160) && awq_repack(1, 4104, 4128));
        assert!(!awq_repack(1, 1032, 2048) && awq_repack(16, 1032, 2048));
    }

    #[test]
    fn ct4_repack_choice() {
        assert!(ct4_repack(1, 28672, 8192) && ct4_repack(1, 4096, 14336));
        assert!(ct4_repack(4, 14344, 256) && ct4_repack(8, 528, 14336));
        assert!(ct4_repack(1, 8192, 8192) && !ct4_repack(1, 4096, 4096));
        assert!(!ct4_repack(8, 520, 8192) && !ct4_repack(4, 8192, 4096));
        assert!(ct4_repack(1, 14336, 4096) && !ct4_repack(1, 4104, 8184));
        // M > 8: every layer, as AWQ.
        assert!(ct4_repack(9, 4096, 4096) && ct4_repack(16, 520, 8192));
    }

    #[test]
    fn splitk_variants_exist_exactly_where_chosen() {
        let src = super::super::kernels::ModuleId::Gemv.source();
        for dt in ["bf16", "f16"] {
            for (kernel, sk) in [
                (format!("gemv_mma_gptq8_{dt}_n1"), true),
                (format!("gemv_mma_gptq8_{dt}_n2"), false),
                (format!("gemv_mma_awq_{dt}_n1"), true),
                (format!("gemv_mma_awq_{dt}_n2"), false),
                (format!("gemv_mma_gptq4w_{dt}_n1_c1"), true),
                (format!("gemv_mma_gptq4_{dt}_n1_c1"), true),
                (format!("gemv_mma_gptq4_{dt}_n2_c1"), true),
                (format!("gemv_mma_gptq4p0_{dt}_n2_c1"), false),
                (format!("gemv_mma_gptq4_{dt}_n1_c2"), false),
            ] {
                assert_eq!(has_splitk_variant(&kernel), sk, "{kernel}");
            }
        }
        // The variants are instantiated by one macro per activation type (gemv.cu).
        for f in [
            "gptq4_##SUF##_n1_c1",
            "gptq4_##SUF##_n2_c1",
            "gptq4w_##SUF##_n1_c1",
            "gptq8_##SUF##_n1",
            "awq_##SUF##_n1",
        ] {
            assert!(src.contains(&format!("gemv_mma_{f}_sk(")), "{f}");
            // Its twin for launches without clusters (`mma_col_plan`), at M <= 8.
            if !f.contains("_n2_") {
                assert!(src.contains(&format!("gemv_mma_{f}_skf(")), "{f}");
            }
        }
        assert!(src.contains("GEMV_MMA_SK(bf16, OUT_BF16)"));
        assert!(src.contains("GEMV_MMA_SK(f16, OUT_F16)"));
        // The 4-warp 64-k kernel (`gptq4_mma_plan`), for both activation types.
        assert!(src.contains("gemv_mma_gptq4w4_##SUF##_n1_c1("));
        assert!(src.contains("GEMV_MMA_W4(bf16, OUT_BF16)"));
        assert!(src.contains("GEMV_MMA_W4(f16, OUT_F16)"));
    }
}
