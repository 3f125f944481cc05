//! The GPU side: a cudarc runtime (dynamic loading, so the crate builds and runs without
//! CUDA), an NVRTC compile cache, weight upload, one dequant kernel per format, fused
//! GEMV kernels, the GPU conformance suite and the bandwidth benchmark.
//!
//! Nothing here is needed for CPU-only use; every entry point returns
//! [`GpuError::NoDriver`] / [`GpuError::NoDevice`] on a machine without a GPU.

pub mod bench;
pub mod bridge;
pub mod conformance;
pub mod dequant;
pub mod error;
pub mod fixtures;
pub mod gemv;
pub mod kernels;
pub mod nvrtc_cache;
pub mod runtime;
pub mod upload;

pub use error::{GpuError, GpuResult};
pub use runtime::{DevBuf, DeviceInfo, Gpu};

#[cfg(test)]
mod nvrtc_tests {
    use super::kernels::ModuleId;
    use super::runtime::{nvrtc_present, DeviceInfo};

    /// Compiles every module for sm_90 where NVRTC is installed (no GPU needed); skipped,
    /// with a note, where it is not.
    #[test]
    fn every_module_compiles_with_nvrtc_for_sm90() {
        if !nvrtc_present() {
            eprintln!("libnvrtc not found: NVRTC compile test skipped");
            return;
        }
        let info = DeviceInfo {
            name: "test".into(),
            compute_capability: (9, 0),
            driver_version: 0,
            sm_count: 0,
            l2_bytes: 0,
            total_mem: 0,
        };
        for id in ModuleId::ALL {
            let image = super::nvrtc_cache::compile(id, &info).unwrap_or_else(|e| panic!("{e}"));
            // An ELF image (CUBIN), not PTX text.
            assert_eq!(&image[..4], b"\x7fELF", "{}", id.name());
        }
    }
}
