//! Upload of tensor bytes (typically views of a memory-mapped file) to device memory.
//!
//! Two paths, both asynchronous copy-engine transfers (`cuMemcpyHtoDAsync`):
//! - **direct**: when the host address is page-aligned (a tensor whose file offset is a
//!   multiple of the page size, in a mapped file) and the tensor is large enough to pay
//!   for it, the range is page-locked in place (`cuMemHostRegister`, read-only) and copied
//!   straight from the mapping: the bytes are copied once;
//! - **staged**: otherwise the bytes go through two pinned staging buffers used in turn:
//!   the CPU fills one while the copy engine drains the other, each reuse waiting on the
//!   event recorded after that buffer's last copy.

use super::error::{GpuError, GpuResult};
use super::runtime::{DevBuf, Gpu};
use cudarc::driver::{result, sys, CudaEvent, PinnedHostSlice};

/// Host page size assumed for the direct path.
pub const PAGE: usize = 4096;
/// Smallest tensor worth registering in place.
pub const DIRECT_MIN_BYTES: usize = 1 << 20;
/// Size of each pinned staging buffer.
pub const STAGING_BYTES: usize = 8 << 20;

/// Counters of what an [`Uploader`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UploadStats {
    /// Tensors copied straight from their (registered) host pages.
    pub direct_tensors: usize,
    /// Bytes copied that way.
    pub direct_bytes: usize,
    /// Tensors copied through the staging buffers.
    pub staged_tensors: usize,
    /// Bytes copied that way.
    pub staged_bytes: usize,
}

/// Uploads host byte ranges to new device buffers.
pub struct Uploader<'g> {
    gpu: &'g Gpu,
    staging: Vec<PinnedHostSlice<u8>>,
    done: Vec<CudaEvent>,
    /// What has been uploaded so far.
    pub stats: UploadStats,
}

impl<'g> Uploader<'g> {
    /// Allocates the two pinned staging buffers.
    pub fn new(gpu: &'g Gpu) -> GpuResult<Self> {
        let mut staging = Vec::new();
        let mut done = Vec::new();
        for _ in 0..2 {
            // SAFETY: the staging memory is only read by copies after this code has
            // written the bytes being copied (see `upload`).
            let buf = unsafe { gpu.context().alloc_pinned::<u8>(STAGING_BYTES) }
                .map_err(|e| GpuError::driver("cuMemHostAlloc", e))?;
            staging.push(buf);
            done.push(gpu.event()?);
        }
        Ok(Uploader {
            gpu,
            staging,
            done,
            stats: UploadStats::default(),
        })
    }

    /// True when `bytes` qualifies for the single-copy path.
    pub fn direct_eligible(bytes: &[u8]) -> bool {
        bytes.len() >= DIRECT_MIN_BYTES && (bytes.as_ptr() as usize) % PAGE == 0
    }

    /// Copies `bytes` into a new device buffer. The copy is queued on the GPU's stream;
    /// work queued after it on that stream sees the data.
    pub fn upload(&mut self, bytes: &[u8]) -> GpuResult<DevBuf> {
        let dst = self.gpu.alloc(bytes.len())?;
        if bytes.is_empty() {
            return Ok(dst);
        }
        if Self::direct_eligible(bytes) && self.upload_direct(bytes, &dst)? {
            self.stats.direct_tensors += 1;
            self.stats.direct_bytes += bytes.len();
            return Ok(dst);
        }
        let stream = self.gpu.stream().cu_stream();
        for (ci, chunk) in bytes.chunks(STAGING_BYTES).enumerate() {
            let i = ci % 2;
            self.done[i]
                .synchronize()
                .map_err(|e| GpuError::driver("cuEventSynchronize", e))?;
            let st = self.staging[i]
                .as_mut_slice()
                .map_err(|e| GpuError::driver("pinned staging", e))?;
            st[..chunk.len()].copy_from_slice(chunk);
            let off = (ci * STAGING_BYTES) as u64;
            // SAFETY: `dst` holds bytes.len() bytes, so [off, off + chunk.len()) is inside it;
            // the source is pinned memory that stays untouched until `done[i]` (recorded
            // right after this copy) has completed.
            unsafe { result::memcpy_htod_async(dst.ptr() + off, &st[..chunk.len()], stream) }
                .map_err(|e| GpuError::driver("cuMemcpyHtoDAsync", e))?;
            self.gpu.record(&self.done[i])?;
        }
        self.stats.staged_tensors += 1;
        self.stats.staged_bytes += bytes.len();
        Ok(dst)
    }

    /// Registers `bytes` in place, copies, waits, unregisters. Returns false (and copies
    /// nothing) when the driver refuses the registration, so the caller stages instead.
    fn upload_direct(&mut self, bytes: &[u8], dst: &DevBuf) -> GpuResult<bool> {
        let ptr = bytes.as_ptr() as *mut std::ffi::c_void;
        // SAFETY: registers an existing, live host range read-only; it is unregistered
        // below before `bytes` can go out of scope.
        let r = unsafe {
            sys::cuMemHostRegister_v2(ptr, bytes.len(), sys::CU_MEMHOSTREGISTER_READ_ONLY)
        };
        if r != sys::CUresult::CUDA_SUCCESS {
            return Ok(false);
        }
        let stream = self.gpu.stream().cu_stream();
        // SAFETY: `dst` holds exactly bytes.len() bytes and the source range is registered.
        let copy = unsafe { result::memcpy_htod_async(dst.ptr(), bytes, stream) };
        let synced = self.gpu.sync("cuMemcpyHtoDAsync (registered)");
        // SAFETY: the copy has completed (or failed) before the range is unregistered.
        let ur = unsafe { sys::cuMemHostUnregister(ptr) };
        copy.map_err(|e| GpuError::driver("cuMemcpyHtoDAsync", e))?;
        synced?;
        if ur != sys::CUresult::CUDA_SUCCESS {
            return Err(GpuError::driver("cuMemHostUnregister", ur));
        }
        Ok(true)
    }
}
