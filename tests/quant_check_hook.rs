//! `check` with the quantization detector plugged in fills the `quantization` block.

use safeweights::gen::model::{synthesize, GenFormat, ModelSpec};
use safeweights::model::check::{check_dir, CheckOptions};
use safeweights::quant::check_hook::detect_for_check;

#[test]
fn check_reports_the_quantization_block() {
    for (format, method) in [
        (GenFormat::GptqV2, "gptq"),
        (GenFormat::Mxfp4, "mxfp4"),
        (GenFormat::Nvfp4ModelOpt, "nvfp4"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        synthesize(&ModelSpec::small(format, 1))
            .unwrap()
            .write(dir.path())
            .unwrap();
        let opts = CheckOptions {
            quant_detector: detect_for_check,
            ..CheckOptions::default()
        };
        let report = check_dir(dir.path(), &opts).unwrap();
        let q = &report.to_json()["quantization"];
        assert_eq!(q["method"], method, "{q}");
        assert_eq!(q["supported"], true);
        assert_eq!(q["source"], "config.json:quantization_config");
        for key in [
            "producer",
            "bits",
            "group_size",
            "desc_act",
            "sym",
            "checkpoint_format",
            "scale_convention",
            "unquantized_modules",
            "layers",
        ] {
            assert!(
                q.get(key).is_some(),
                "{format:?}: quantization block lacks {key}: {q}"
            );
        }
        assert_eq!(q["layers"], if format == GenFormat::Mxfp4 { 4 } else { 14 });
    }
}
