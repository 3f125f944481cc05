//! The kernel registry: which `.cu` file (module) defines which function, and the
//! compile options of each module. Sources are embedded in the binary with
//! `include_str!`, so the same binary runs on any machine with a driver and NVRTC.

/// Text prepended to every module: device helpers shared by all kernels.
pub const COMMON: &str = include_str!("../../kernels/common.cuh");

/// A kernel module (one `.cu` file under `kernels/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ModuleId {
    /// `kernels/dequant.cu`: one dequant kernel per format, plus fill and read probes.
    Dequant,
    /// `kernels/gemv.cu`: fused low-bit GEMV kernels.
    Gemv,
}

impl ModuleId {
    /// Every module.
    pub const ALL: [ModuleId; 2] = [ModuleId::Dequant, ModuleId::Gemv];

    /// File stem under `kernels/`.
    pub fn name(self) -> &'static str {
        match self {
            ModuleId::Dequant => "dequant",
            ModuleId::Gemv => "gemv",
        }
    }

    /// The module's own source (without [`COMMON`]).
    pub fn source(self) -> &'static str {
        match self {
            ModuleId::Dequant => include_str!("../../kernels/dequant.cu"),
            ModuleId::Gemv => include_str!("../../kernels/gemv.cu"),
        }
    }

    /// The full text handed to NVRTC.
    pub fn full_source(self) -> String {
        format!(
            "{COMMON}\n#line 1 \"{}.cu\"\n{}",
            self.name(),
            self.source()
        )
    }

    /// NVRTC options besides the architecture. Dequant kernels must round exactly like the
    /// oracles, so multiply-add contraction is off there; GEMV accumulates with FMA.
    pub fn options(self) -> Vec<String> {
        let fmad = match self {
            ModuleId::Dequant => "--fmad=false",
            ModuleId::Gemv => "--fmad=true",
        };
        let mut opts = vec![
            fmad.to_string(),
            "--ftz=false".into(),
            "--prec-div=true".into(),
            "--std=c++17".into(),
            "-default-device".into(),
        ];
        opts.extend(tuning_defines().into_iter().map(|d| format!("-D{d}")));
        opts
    }
}

/// Tuning macros for the kernels from `SAFEWEIGHTS_KERNEL_DEFINES` (comma-separated
/// `NAME=VALUE` or `NAME`, letters, digits and `_` only; anything else is ignored), so that
/// kernel variants can be measured against each other with one binary. They are part of
/// the NVRTC options, hence of the kernel cache key. Unset in normal use.
pub fn tuning_defines() -> Vec<String> {
    parse_defines(&std::env::var("SAFEWEIGHTS_KERNEL_DEFINES").unwrap_or_default())
}

fn parse_defines(s: &str) -> Vec<String> {
    let ok = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    s.split(',')
        .map(str::trim)
        .filter(|d| {
            let (name, value) = d.split_once('=').unwrap_or((d, "0"));
            ok(name) && ok(value) && !name.starts_with(|c: char| c.is_ascii_digit())
        })
        .map(String::from)
        .collect()
}

/// Dynamic shared memory kernel `name` takes above the 48 KB a launch gets without opting in
/// (the runtime raises the function's limit to it when it loads the function), or 0: the
/// 16-warp GPTQ4 group-sum kernels (`gemv_mma_gptq4_<dt>_n2_c1w16[_sk]`) keep their per-lane
/// group sums in 64 KB.
pub fn opt_in_smem(name: &str) -> u32 {
    match name.starts_with("gemv_mma_gptq4") && name.contains("_n2_c1w16") {
        true => 64 * 1024,
        false => 0,
    }
}

/// The preferred shared-memory carveout (percent of the SM's unified L1 / shared memory,
/// `CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT`) set on kernel `name` when it is
/// loaded, if any. The shared-memory act-order permute (`gemv_permute_x_sm`, one row of
/// activations per block) asks for the least, 0: with the driver's choice, the `i4wp` GEMV
/// launched to overlap it took 1.5 us longer on 4096x14336 (H100, M = 1, same call: 18.2-18.5
/// against 16.8-16.9 us; with 100, 28672x8192 lost 0.8-1.0 instead; docs/perf.md, session
/// 24). `SAFEWEIGHTS_PERMUTE_CARVEOUT=<percent>` overrides it (-1: the driver's choice), and
/// `SAFEWEIGHTS_CARVEOUT=<kernel>=<percent>,...` sets any kernel's, for tuning.
pub fn preferred_carveout(name: &str) -> Option<i32> {
    let tuned = std::env::var("SAFEWEIGHTS_CARVEOUT").ok().and_then(|v| {
        v.split(',').find_map(|kv| {
            let (k, p) = kv.split_once('=')?;
            (k.trim() == name)
                .then(|| p.trim().parse::<i32>().ok())
                .flatten()
        })
    });
    let pct = match (tuned, name) {
        (Some(p), _) => p,
        (None, "gemv_permute_x_sm") => std::env::var("SAFEWEIGHTS_PERMUTE_CARVEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<i32>().ok())
            .unwrap_or(0),
        (None, _) => return None,
    };
    (0..=100).contains(&pct).then_some(pct)
}

/// The module defining kernel function `name`: `gemv_*` functions live in the GEMV module
/// (macro-generated families `gemv_<format>_<dtype>_m<MT>`); the others are found by
/// scanning the embedded dequant source for `void name(` or their macro family.
pub fn module_of(name: &str) -> Option<ModuleId> {
    if name.starts_with("gemv_") || name == "gptq4_sort_k" {
        return Some(ModuleId::Gemv);
    }
    defines(ModuleId::Dequant.source(), name).then_some(ModuleId::Dequant)
}

fn defines(src: &str, name: &str) -> bool {
    if src.contains(&format!("void {name}(")) || src.contains(&format!(") {name}(")) {
        return true;
    }
    // GPTQ_ACT_KERNEL(4, bf16, ..) defines dq_gptq4_act_bf16.
    if let Some((a, b)) = name
        .strip_prefix("dq_gptq")
        .and_then(|rest| rest.split_once("_act_"))
    {
        return src.contains(&format!("GPTQ_ACT_KERNEL({a}, {b},"));
    }
    // GPTQ_KERNEL(4, bf16, ..) defines dq_gptq4_bf16; CT_KERNEL(4, bf16, ..) dq_ct_int4_bf16.
    for (prefix, mac) in [("dq_gptq", "GPTQ_KERNEL("), ("dq_ct_int", "CT_KERNEL(")] {
        if let Some(rest) = name.strip_prefix(prefix) {
            let mut parts = rest.splitn(2, '_');
            let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if src.contains(&format!("{mac}{a}, {b},")) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_defines_keep_only_plain_macros() {
        assert_eq!(
            parse_defines("SW_GPTQ_PF=2, SW_L2_HINT ,bad-name=1,X=1;rm,9A=1,Y="),
            vec!["SW_GPTQ_PF=2".to_string(), "SW_L2_HINT".to_string()]
        );
        assert!(parse_defines("").is_empty());
    }

    #[test]
    fn every_dequant_kernel_is_found_in_its_module() {
        for name in [
            "dq_gptq2_bf16",
            "dq_gptq3_f16",
            "dq_gptq4_bf16",
            "dq_gptq8_f16",
            "dq_gptq4_act_bf16",
            "dq_gptq8_act_f16",
            "dq_awq_bf16",
            "dq_nvfp4_f16",
            "dq_mxfp4_bf16",
            "dq_fp8_bf16",
            "dq_ct_int4_bf16",
            "dq_ct_int8_f16",
            "fill_u16",
            "read_probe",
            "bench_hold",
        ] {
            assert_eq!(module_of(name), Some(ModuleId::Dequant), "{name}");
        }
        assert_eq!(module_of("dq_gptq5_bf16"), None);
        assert_eq!(module_of("dq_gptq3_act_bf16"), None);
        assert_eq!(module_of("no_such_kernel"), None);
    }

    #[test]
    fn only_the_staged_permute_sets_a_carveout() {
        if std::env::var_os("SAFEWEIGHTS_CARVEOUT").is_none() {
            assert_eq!(preferred_carveout("gemv_permute_x"), None);
            assert_eq!(preferred_carveout("gemv_mma_i4wp_bf16_n1_w8"), None);
        }
        if std::env::var_os("SAFEWEIGHTS_PERMUTE_CARVEOUT").is_none()
            && std::env::var_os("SAFEWEIGHTS_CARVEOUT").is_none()
        {
            assert_eq!(preferred_carveout("gemv_permute_x_sm"), Some(0));
        }
        let src = include_str!("../../kernels/gemv.cu");
        assert!(src.contains("void gemv_permute_x_sm("));
        assert_eq!(module_of("gemv_permute_x_sm"), Some(ModuleId::Gemv));
    }
}
