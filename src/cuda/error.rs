//! Typed errors of the CUDA layer. Every variant maps to a stable `GPU` code that is
//! catalogued in `docs/diagnostics.md` ("## CUDA (GPU)").

use std::fmt;

/// Grid and block dimensions of a launch, kept for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchShape {
    /// Grid dimensions in blocks.
    pub grid: (u32, u32, u32),
    /// Block dimensions in threads.
    pub block: (u32, u32, u32),
}

impl fmt::Display for LaunchShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "grid ({}, {}, {}) block ({}, {}, {})",
            self.grid.0, self.grid.1, self.grid.2, self.block.0, self.block.1, self.block.2
        )
    }
}

/// Everything that can go wrong on the GPU side.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// The CUDA driver library (libcuda) could not be loaded: no GPU driver on this machine.
    #[error("GPU001: no CUDA driver found (libcuda could not be loaded); GPU commands need an NVIDIA GPU and driver")]
    NoDriver,
    /// The driver loaded but reports no device.
    #[error("GPU002: the CUDA driver reports no GPU device ({0})")]
    NoDevice(String),
    /// A driver API call failed.
    #[error("GPU003: CUDA driver call {call} failed: {detail}")]
    Driver {
        /// The call (or operation) that failed.
        call: &'static str,
        /// The driver's error text.
        detail: String,
    },
    /// NVRTC (libnvrtc) could not be loaded.
    #[error("GPU004: NVRTC (libnvrtc.so.13) could not be loaded; put the CUDA toolkit's lib64 on LD_LIBRARY_PATH")]
    NoNvrtc,
    /// A kernel module failed to compile.
    #[error("GPU005: NVRTC failed to compile kernel module {module} for {arch}: {log}")]
    Compile {
        /// Module name (kernels/<module>.cu).
        module: &'static str,
        /// Target architecture, e.g. `compute_90`.
        arch: String,
        /// Compiler log.
        log: String,
    },
    /// A kernel launch (or the work it queued) failed.
    #[error("GPU006: kernel {kernel} failed ({shape}): {detail}")]
    Launch {
        /// Kernel function name.
        kernel: String,
        /// The launch shape.
        shape: LaunchShape,
        /// The driver's error text.
        detail: String,
    },
    /// cuBLAS could not be loaded or a cuBLAS call failed.
    #[error("GPU008: cuBLAS {call} failed: {detail}")]
    Cublas {
        /// The call that failed.
        call: &'static str,
        /// Error text.
        detail: String,
    },
    /// The arguments do not describe a valid launch (sizes, shapes, unsupported parameters).
    #[error("GPU011: {kernel}: {detail}")]
    BadArgs {
        /// Kernel (or format) concerned.
        kernel: String,
        /// What is wrong.
        detail: String,
    },
}

impl GpuError {
    /// The stable diagnostic code (`GPU001` ...).
    pub fn code(&self) -> &'static str {
        match self {
            GpuError::NoDriver => "GPU001",
            GpuError::NoDevice(_) => "GPU002",
            GpuError::Driver { .. } => "GPU003",
            GpuError::NoNvrtc => "GPU004",
            GpuError::Compile { .. } => "GPU005",
            GpuError::Launch { .. } => "GPU006",
            GpuError::Cublas { .. } => "GPU008",
            GpuError::BadArgs { .. } => "GPU011",
        }
    }

    /// True when the machine simply has no usable GPU (the CLI exits 2 with a clear message).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            GpuError::NoDriver | GpuError::NoDevice(_) | GpuError::NoNvrtc
        )
    }

    /// Shorthand for a [`GpuError::BadArgs`].
    pub fn bad_args(kernel: impl Into<String>, detail: impl Into<String>) -> Self {
        GpuError::BadArgs {
            kernel: kernel.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn driver(call: &'static str, e: impl fmt::Debug) -> Self {
        GpuError::Driver {
            call,
            detail: format!("{e:?}"),
        }
    }
}

/// Warning: a compiled kernel module could not be written to the disk cache.
pub const CACHE_NOT_WRITTEN: &str = "GPU007";
/// Conformance found kernels that disagree with the oracles (the bench must not run).
pub const CONFORMANCE_FAILED: &str = "GPU009";
/// The perf gate's baseline is unreadable or for another GPU.
pub const BASELINE_UNUSABLE: &str = "GPU014";

/// Result alias for the CUDA layer.
pub type GpuResult<T> = Result<T, GpuError>;
