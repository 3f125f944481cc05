//! NVRTC compilation with an on-disk cache.
//!
//! A module is compiled on first use for the device's architecture (a CUBIN for `sm_XY`,
//! so the driver JITs nothing). The image is stored in
//! `$SAFEWEIGHTS_KERNEL_CACHE`, else `$XDG_CACHE_HOME/safeweights/kernels`, else
//! `~/.cache/safeweights/kernels`, under a name derived from a 128-bit hash of the full
//! source, the options, the architecture, the driver version and the NVRTC version. The
//! file repeats the whole key on its first line, and a file whose key line differs is
//! ignored, so a hash collision or a truncated file can only cost a recompile. Files are
//! written to a temporary name and renamed, so readers never see a partial file. Cache
//! problems are never fatal: they are reported once (GPU007) and the module is compiled.

use super::error::{GpuError, GpuResult};
use super::kernels::ModuleId;
use super::runtime::{nvrtc_present, DeviceInfo};
use cudarc::nvrtc::{self, Ptx};
use std::io::Write;
use std::path::PathBuf;

const MAGIC: &str = "// safeweights kernel cache v1";

/// The directory holding cached PTX, if one can be determined.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SAFEWEIGHTS_KERNEL_CACHE") {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(p).join("safeweights").join("kernels"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/safeweights/kernels"))
}

/// 128-bit FNV-1a (two 64-bit lanes with different offsets); a cache key, not a MAC.
pub fn hash128(data: &[u8]) -> u128 {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &byte in data {
        a = (a ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ (byte as u64).rotate_left(5)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((a as u128) << 64) | b as u128
}

fn nvrtc_version() -> (i32, i32) {
    if !nvrtc_present() {
        return (0, 0);
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: nvrtcVersion writes two ints through valid pointers; libnvrtc is present.
    let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    if r == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
        (major, minor)
    } else {
        (0, 0)
    }
}

/// The full cache key of a module on a device.
pub fn cache_key(id: ModuleId, info: &DeviceInfo) -> String {
    let src = id.full_source();
    let (maj, min) = nvrtc_version();
    format!(
        "module={} src={:032x} len={} opts={} arch={} driver={} nvrtc={}.{}",
        id.name(),
        hash128(src.as_bytes()),
        src.len(),
        id.options().join(","),
        info.arch(),
        info.driver_version,
        maj,
        min
    )
}

/// A compiled module image (CUBIN for the device's real architecture) for module `id` on
/// the device described by `info`, and where it came from (`"cache"` or `"nvrtc"`).
pub fn image_for(id: ModuleId, info: &DeviceInfo) -> GpuResult<(Ptx, &'static str)> {
    if !nvrtc_present() {
        return Err(GpuError::NoNvrtc);
    }
    let key = cache_key(id, info);
    let file = cache_file(id, &key);
    if let Some(path) = &file {
        if let Ok(bytes) = std::fs::read(path) {
            let header = format!("{MAGIC}\n// {key}\n");
            if let Some(image) = bytes.strip_prefix(header.as_bytes()) {
                if !image.is_empty() {
                    return Ok((Ptx::from_binary(image.to_vec()), "cache"));
                }
            }
        }
    }
    let image = compile(id, info)?;
    if let Some(path) = &file {
        if let Err(e) = store(path, &key, &image) {
            eprintln!(
                "warning {}: kernel cache {} not written ({e}); kernels will be recompiled next run",
                super::error::CACHE_NOT_WRITTEN,
                path.display()
            );
        }
    }
    Ok((Ptx::from_binary(image), "nvrtc"))
}

/// Path of the cache file for a module key, when a cache directory is known.
pub fn cache_file(id: ModuleId, key: &str) -> Option<PathBuf> {
    cache_dir().map(|d| {
        d.join(format!(
            "{}-{:032x}.cubin",
            id.name(),
            hash128(key.as_bytes())
        ))
    })
}

/// Compiles (or reuses) every module for `info` and stores them in the cache; returns the
/// files written. Lets a GPU machine without a warm cache skip NVRTC entirely.
pub fn precompile(info: &DeviceInfo) -> GpuResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for id in ModuleId::ALL {
        image_for(id, info)?;
        if let Some(p) = cache_file(id, &cache_key(id, info)) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Compiles module `id` with NVRTC to a CUBIN for the device's real architecture
/// (`sm_XY`), so the driver has no PTX to JIT at load time.
pub fn compile(id: ModuleId, info: &DeviceInfo) -> GpuResult<Vec<u8>> {
    let arch = info.arch().replace("compute_", "sm_");
    let fail = |log: String| GpuError::Compile {
        module: id.name(),
        arch: arch.clone(),
        log,
    };
    let src = std::ffi::CString::new(id.full_source()).map_err(|e| fail(e.to_string()))?;
    let name =
        std::ffi::CString::new(format!("{}.cu", id.name())).map_err(|e| fail(e.to_string()))?;
    let prog =
        nvrtc::result::create_program(&src, Some(&name)).map_err(|e| fail(format!("{e:?}")))?;
    let mut opts = id.options();
    opts.push(format!("--gpu-architecture={arch}"));
    // SAFETY: `prog` was just created and is destroyed exactly once below; `src` and `name`
    // outlive it.
    let compiled = unsafe { nvrtc::result::compile_program(prog, &opts) };
    let result = match compiled {
        Err(e) => {
            // SAFETY: as above; the log is read before the program is destroyed.
            let log = unsafe { nvrtc::result::get_program_log(prog) }
                .map(|l| l.iter().map(|&c| c as u8 as char).collect::<String>())
                .unwrap_or_default();
            Err(fail(format!("{e:?}: {}", log.trim_end_matches('\0'))))
        }
        Ok(()) => {
            let mut size = 0usize;
            // SAFETY: `prog` compiled successfully; the buffer has exactly `size` bytes.
            let r = unsafe { nvrtc::sys::nvrtcGetCUBINSize(prog, &mut size) };
            let mut image = vec![0u8; size];
            let r2 = if r == nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
                // SAFETY: see above.
                unsafe {
                    nvrtc::sys::nvrtcGetCUBIN(prog, image.as_mut_ptr() as *mut std::ffi::c_char)
                }
            } else {
                r
            };
            if r2 == nvrtc::sys::nvrtcResult::NVRTC_SUCCESS && size > 0 {
                Ok(image)
            } else {
                Err(fail(format!("nvrtcGetCUBIN: {r2:?}")))
            }
        }
    };
    // SAFETY: `prog` is live and destroyed once.
    let _ = unsafe { nvrtc::result::destroy_program(prog) };
    result
}

fn store(path: &std::path::Path, key: &str, image: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    write!(tmp, "{MAGIC}\n// {key}\n")?;
    tmp.write_all(image)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_differs_for_one_changed_byte_and_is_stable() {
        let a = hash128(b"__global__ void k() {}");
        let b = hash128(b"__global__ void k() {;");
        assert_ne!(a, b);
        assert_eq!(a, hash128(b"__global__ void k() {}"));
    }

    #[test]
    fn cache_key_names_arch_and_driver() {
        let info = DeviceInfo {
            name: "NVIDIA H100 80GB HBM3".into(),
            compute_capability: (9, 0),
            driver_version: 13000,
            sm_count: 132,
            l2_bytes: 50 << 20,
            total_mem: 80 << 30,
        };
        let k = cache_key(ModuleId::Dequant, &info);
        assert!(k.contains("arch=compute_90"), "{k}");
        assert!(k.contains("driver=13000"), "{k}");
        let mut other = info.clone();
        other.driver_version = 12080;
        assert_ne!(k, cache_key(ModuleId::Dequant, &other));
        assert_eq!(info.short_name(), "h100");
    }
}
