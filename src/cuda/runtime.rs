//! The CUDA runtime: device discovery, one context and stream, device buffers, checked
//! kernel launches and event timing.
//!
//! Everything goes through cudarc with dynamic loading, so this module compiles and links
//! on machines without CUDA; [`Gpu::open`] then returns [`GpuError::NoDriver`] (or
//! [`GpuError::NoDevice`]) instead of panicking, because the library presence is checked
//! before cudarc is asked to load it.

use super::error::{GpuError, GpuResult, LaunchShape};
use super::kernels::{self, ModuleId};
use cudarc::driver::{
    sys, CudaContext, CudaEvent, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr,
    LaunchConfig, PushKernelArg,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the driver says about the device, for reports and cache keys.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceInfo {
    /// Marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Compute capability (major, minor).
    pub compute_capability: (i32, i32),
    /// Driver API version as reported by `cuDriverGetVersion` (e.g. 13000).
    pub driver_version: i32,
    /// Number of streaming multiprocessors.
    pub sm_count: i32,
    /// L2 cache size in bytes.
    pub l2_bytes: i32,
    /// Total device memory in bytes.
    pub total_mem: usize,
}

impl DeviceInfo {
    /// NVRTC virtual architecture for this device, e.g. `compute_90`.
    pub fn arch(&self) -> String {
        format!(
            "compute_{}{}",
            self.compute_capability.0, self.compute_capability.1
        )
    }

    /// Short lower-case card name used for baseline files, e.g. `h100`.
    pub fn short_name(&self) -> String {
        let lower = self.name.to_lowercase();
        for known in ["h200", "h100", "b200", "a100", "l40s", "l4", "a10"] {
            if lower.contains(known) {
                return known.to_string();
            }
        }
        lower
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }
}

/// True when the CUDA driver library can be loaded on this machine.
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the driver library by its candidate names; no CUDA call.
    unsafe { sys::is_culib_present() }
}

/// True when NVRTC can be loaded on this machine.
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen libnvrtc by its candidate names; no NVRTC call.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// A device allocation of raw bytes. Kernels receive its address as a 64-bit integer,
/// which is what a `T*` parameter is on the device.
#[derive(Debug)]
pub struct DevBuf {
    slice: CudaSlice<u8>,
    ptr: u64,
}

impl DevBuf {
    /// Device address of the first byte.
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.slice.len()
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.slice.is_empty()
    }
}

/// An open GPU: one context, one stream, and the kernel modules loaded so far.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    info: DeviceInfo,
    modules: Mutex<HashMap<ModuleId, Arc<CudaModule>>>,
    functions: Mutex<HashMap<String, CudaFunction>>,
    /// Resident blocks per SM by (kernel, threads per block): the driver's occupancy query
    /// is too slow to repeat per launch.
    occupancy: Mutex<HashMap<(String, u32), u32>>,
    /// Where the last module of each kind came from ("cache" or "nvrtc"), for reports.
    pub(crate) module_origin: Mutex<HashMap<ModuleId, &'static str>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("info", &self.info).finish()
    }
}

impl Gpu {
    /// Opens device `ordinal`. Fails with [`GpuError::NoDriver`] / [`GpuError::NoDevice`]
    /// when the machine has no usable GPU, never by panicking.
    pub fn open(ordinal: usize) -> GpuResult<Gpu> {
        if !driver_present() {
            return Err(GpuError::NoDriver);
        }
        let count =
            CudaContext::device_count().map_err(|e| GpuError::NoDevice(format!("{e:?}")))?;
        if count <= 0 || ordinal >= count as usize {
            return Err(GpuError::NoDevice(format!(
                "{count} device(s), ordinal {ordinal} requested"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| GpuError::driver("cuCtx (primary)", e))?;
        // One stream and raw device addresses: cudarc's per-allocation event tracking
        // would only add events to a single in-order stream.
        // SAFETY: called before any allocation or launch on this context.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx
            .new_stream()
            .map_err(|e| GpuError::driver("cuStreamCreate", e))?;
        let name = ctx
            .name()
            .map_err(|e| GpuError::driver("cuDeviceGetName", e))?;
        let compute_capability = ctx
            .compute_capability()
            .map_err(|e| GpuError::driver("cuDeviceGetAttribute", e))?;
        let mut driver_version: std::ffi::c_int = 0;
        // SAFETY: cuDriverGetVersion writes one int through a valid pointer.
        let r = unsafe { sys::cuDriverGetVersion(&mut driver_version) };
        if r != sys::CUresult::CUDA_SUCCESS {
            return Err(GpuError::driver("cuDriverGetVersion", r));
        }
        let attr = |a| {
            ctx.attribute(a)
                .map_err(|e| GpuError::driver("cuDeviceGetAttribute", e))
        };
        let sm_count = attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?;
        let l2_bytes = attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)?;
        let total_mem = ctx
            .total_mem()
            .map_err(|e| GpuError::driver("cuDeviceTotalMem", e))?;
        Ok(Gpu {
            ctx,
            stream,
            info: DeviceInfo {
                name,
                compute_capability,
                driver_version,
                sm_count,
                l2_bytes,
                total_mem,
            },
            modules: Mutex::new(HashMap::new()),
            functions: Mutex::new(HashMap::new()),
            occupancy: Mutex::new(HashMap::new()),
            module_origin: Mutex::new(HashMap::new()),
        })
    }

    /// What the driver reports about the device.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The context (for cuBLAS and pinned allocations).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The one stream every operation is queued on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// Allocates `bytes` of device memory, zero-filled.
    pub fn alloc(&self, bytes: usize) -> GpuResult<DevBuf> {
        let slice = self
            .stream
            .alloc_zeros::<u8>(bytes.max(1))
            .map_err(|e| GpuError::driver("cuMemAlloc", e))?;
        let ptr = {
            let (p, _sync) = slice.device_ptr(&self.stream);
            p
        };
        Ok(DevBuf { slice, ptr })
    }

    /// Copies host bytes into a new device buffer (synchronous with respect to `bytes`).
    pub fn upload_bytes(&self, bytes: &[u8]) -> GpuResult<DevBuf> {
        let mut buf = self.alloc(bytes.len())?;
        if !bytes.is_empty() {
            self.stream
                .memcpy_htod(bytes, &mut buf.slice)
                .map_err(|e| GpuError::driver("cuMemcpyHtoDAsync", e))?;
        }
        Ok(buf)
    }

    /// Copies a device buffer back to the host.
    pub fn download(&self, buf: &DevBuf) -> GpuResult<Vec<u8>> {
        self.stream
            .clone_dtoh(&buf.slice)
            .map_err(|e| GpuError::driver("cuMemcpyDtoHAsync", e))
    }

    /// Device-to-device copy of `src` into `dst` (lengths must match).
    pub fn copy_dtod(&self, src: &DevBuf, dst: &mut DevBuf) -> GpuResult<()> {
        if src.len() != dst.len() {
            return Err(GpuError::bad_args("memcpy_dtod", "length mismatch"));
        }
        self.stream
            .memcpy_dtod(&src.slice, &mut dst.slice)
            .map_err(|e| GpuError::driver("cuMemcpyDtoDAsync", e))
    }

    /// Device-to-device copy of all of `src` into `dst` at byte `offset` (which must leave
    /// room for it).
    pub fn copy_dtod_at(&self, src: &DevBuf, dst: &mut DevBuf, offset: usize) -> GpuResult<()> {
        let end = offset
            .checked_add(src.len())
            .filter(|&e| e <= dst.len())
            .ok_or_else(|| GpuError::bad_args("memcpy_dtod", "copy past the end of the buffer"))?;
        let mut view = dst.slice.slice_mut(offset..end);
        self.stream
            .memcpy_dtod(&src.slice, &mut view)
            .map_err(|e| GpuError::driver("cuMemcpyDtoDAsync", e))
    }

    /// Waits for all queued work; a failure here is reported against `what`.
    pub fn sync(&self, what: &'static str) -> GpuResult<()> {
        self.stream
            .synchronize()
            .map_err(|e| GpuError::driver(what, e))
    }

    /// A timing event.
    pub fn event(&self) -> GpuResult<CudaEvent> {
        self.ctx
            .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(|e| GpuError::driver("cuEventCreate", e))
    }

    /// Records `ev` on the stream.
    pub fn record(&self, ev: &CudaEvent) -> GpuResult<()> {
        ev.record(&self.stream)
            .map_err(|e| GpuError::driver("cuEventRecord", e))
    }

    /// Milliseconds between two recorded events (waits for `end`).
    pub fn elapsed_ms(&self, start: &CudaEvent, end: &CudaEvent) -> GpuResult<f32> {
        end.synchronize()
            .map_err(|e| GpuError::driver("cuEventSynchronize", e))?;
        start
            .elapsed_ms(end)
            .map_err(|e| GpuError::driver("cuEventElapsedTime", e))
    }

    /// Looks up (compiling or loading from the disk cache on first use) a kernel function.
    pub fn function(&self, name: &str) -> GpuResult<CudaFunction> {
        if let Some(f) = self.functions.lock().expect("poisoned").get(name) {
            return Ok(f.clone());
        }
        let module_id = kernels::module_of(name)
            .ok_or_else(|| GpuError::bad_args(name, "no kernel module defines this function"))?;
        let module = self.module(module_id)?;
        let f = module
            .load_function(name)
            .map_err(|e| GpuError::driver("cuModuleGetFunction", e))?;
        let smem = kernels::opt_in_smem(name);
        if smem > 0 {
            f.set_attribute(
                sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                smem as i32,
            )
            .map_err(|e| GpuError::driver("cuFuncSetAttribute", e))?;
        }
        if let Some(pct) = kernels::preferred_carveout(name) {
            f.set_attribute(
                sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                pct,
            )
            .map_err(|e| GpuError::driver("cuFuncSetAttribute", e))?;
        }
        self.functions
            .lock()
            .expect("poisoned")
            .insert(name.to_string(), f.clone());
        Ok(f)
    }

    fn module(&self, id: ModuleId) -> GpuResult<Arc<CudaModule>> {
        if let Some(m) = self.modules.lock().expect("poisoned").get(&id) {
            return Ok(m.clone());
        }
        let (ptx, origin) = super::nvrtc_cache::image_for(id, &self.info)?;
        let module = self
            .ctx
            .load_module(ptx)
            .map_err(|e| GpuError::driver("cuModuleLoadData", e))?;
        self.modules
            .lock()
            .expect("poisoned")
            .insert(id, module.clone());
        self.module_origin
            .lock()
            .expect("poisoned")
            .insert(id, origin);
        Ok(module)
    }

    /// How many blocks of `threads` threads of kernel `name` (no dynamic shared memory) one
    /// SM holds at once (at least 1), as the driver computes it; cached per kernel.
    pub fn blocks_per_sm(&self, name: &str, threads: u32) -> GpuResult<u32> {
        self.blocks_per_sm_smem(name, threads, 0)
    }

    /// `blocks_per_sm` for blocks that take `smem` bytes of dynamic shared memory.
    pub fn blocks_per_sm_smem(&self, name: &str, threads: u32, smem: u32) -> GpuResult<u32> {
        let key = (format!("{name}@smem{smem}"), threads);
        if let Some(&b) = self.occupancy.lock().expect("poisoned").get(&key) {
            return Ok(b);
        }
        let b = self
            .function(name)?
            .occupancy_max_active_blocks_per_multiprocessor(threads, smem as usize, None)
            .map_err(|e| GpuError::driver("cuOccupancyMaxActiveBlocksPerMultiprocessor", e))?
            .max(1);
        self.occupancy.lock().expect("poisoned").insert(key, b);
        Ok(b)
    }

    /// How many clusters of `cluster` blocks of `threads` threads of kernel `name` can be
    /// resident on the device at once (`cuOccupancyMaxActiveClusters`; 0 where the device
    /// has no clusters). Cached per kernel, block and cluster shape.
    pub fn max_active_clusters(
        &self,
        name: &str,
        threads: u32,
        cluster: (u32, u32, u32),
    ) -> GpuResult<u32> {
        let key = (format!("{name}@cluster{cluster:?}"), threads);
        if let Some(&c) = self.occupancy.lock().expect("poisoned").get(&key) {
            return Ok(c);
        }
        let func = self.function(name)?;
        let mut attr = cluster_attr(cluster);
        // The grid only has to be a multiple of the cluster for the query.
        let conf = sys::CUlaunchConfig {
            gridDimX: cluster.0,
            gridDimY: cluster.1,
            gridDimZ: cluster.2,
            blockDimX: threads,
            blockDimY: 1,
            blockDimZ: 1,
            sharedMemBytes: 0,
            hStream: self.stream.cu_stream(),
            attrs: &mut attr,
            numAttrs: 1,
        };
        let mut n: std::ffi::c_int = 0;
        // SAFETY: `conf` and `attr` are valid for the call, which only reads them; `n` is
        // written.
        let r = unsafe { sys::cuOccupancyMaxActiveClusters(&mut n, func.cu_function(), &conf) };
        if r != sys::CUresult::CUDA_SUCCESS {
            return Err(GpuError::Launch {
                kernel: name.to_string(),
                shape: LaunchShape {
                    grid: (cluster.0, cluster.1, cluster.2),
                    block: (threads, 1, 1),
                },
                detail: format!("cuOccupancyMaxActiveClusters: {r:?}"),
            });
        }
        let c = n.max(0) as u32;
        self.occupancy.lock().expect("poisoned").insert(key, c);
        Ok(c)
    }

    /// Launches `name` with the given shape and arguments (each a 64-bit address or a
    /// scalar). Errors carry the kernel name and the launch shape. The launch is
    /// asynchronous; call [`Gpu::sync`] or [`Gpu::check`] to surface execution errors.
    pub fn launch(&self, name: &str, cfg: LaunchConfig, args: &[KArg]) -> GpuResult<()> {
        let func = self.function(name)?;
        let mut b = self.stream.launch_builder(&func);
        for a in args {
            match a {
                KArg::Ptr(p) => b.arg(p),
                KArg::I32(v) => b.arg(v),
                KArg::U32(v) => b.arg(v),
                KArg::U64(v) => b.arg(v),
                KArg::F32(v) => b.arg(v),
            };
        }
        let shape = LaunchShape {
            grid: cfg.grid_dim,
            block: cfg.block_dim,
        };
        // SAFETY: every caller (dequant, gemv, bench) validates buffer sizes against the
        // kernel's indexing before building `args` (see the `check_*` helpers there), and the
        // argument list matches the kernel's `extern "C"` signature in kernels/*.cu.
        unsafe { b.launch(cfg) }.map_err(|e| GpuError::Launch {
            kernel: name.to_string(),
            shape,
            detail: format!("{e:?}"),
        })?;
        Ok(())
    }

    /// Launches `name` through `cuLaunchKernelEx` with the attributes in `ex`:
    /// - `overlap`: programmatic stream serialization. The blocks may start while the
    ///   kernel before it on the stream is still running, so they must wait for that
    ///   kernel's writes themselves (`griddepcontrol.wait` in kernels/gemv.cu) before they
    ///   read them. For the GEMV after the act-order activation permute, whose weight loads
    ///   then overlap the permute.
    /// - `cluster`: thread-block cluster dimensions (sm_90; at most 8 blocks), for kernels
    ///   whose blocks share distributed shared memory (the K-split sums in gemv.cu).
    pub fn launch_ex(
        &self,
        name: &str,
        cfg: LaunchConfig,
        args: &[KArg],
        ex: LaunchEx,
    ) -> GpuResult<()> {
        let func = self.function(name)?;
        let shape = LaunchShape {
            grid: cfg.grid_dim,
            block: cfg.block_dim,
        };
        let fail = |detail: String| GpuError::Launch {
            kernel: name.to_string(),
            shape,
            detail,
        };
        self.stream
            .context()
            .bind_to_thread()
            .map_err(|e| fail(format!("{e:?}")))?;
        // One 8-byte slot per argument (the driver reads each argument's own size from its
        // slot, little-endian), and the array of pointers to them.
        let mut vals: Vec<u64> = args
            .iter()
            .map(|a| match *a {
                KArg::Ptr(p) => p,
                KArg::I32(v) => v as u32 as u64,
                KArg::U32(v) => v as u64,
                KArg::U64(v) => v,
                KArg::F32(v) => v.to_bits() as u64,
            })
            .collect();
        let mut ptrs: Vec<*mut std::ffi::c_void> = vals
            .iter_mut()
            .map(|v| v as *mut u64 as *mut std::ffi::c_void)
            .collect();
        let mut attrs = Vec::with_capacity(2);
        if ex.overlap {
            // SAFETY: an all-zero CUlaunchAttribute is valid (a plain C struct and union).
            let mut a: sys::CUlaunchAttribute = unsafe { std::mem::zeroed() };
            a.id = sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
            a.value.programmaticStreamSerializationAllowed = 1;
            attrs.push(a);
        }
        if let Some(dims) = ex.cluster {
            attrs.push(cluster_attr(dims));
        }
        let conf = sys::CUlaunchConfig {
            gridDimX: cfg.grid_dim.0,
            gridDimY: cfg.grid_dim.1,
            gridDimZ: cfg.grid_dim.2,
            blockDimX: cfg.block_dim.0,
            blockDimY: cfg.block_dim.1,
            blockDimZ: cfg.block_dim.2,
            sharedMemBytes: cfg.shared_mem_bytes,
            hStream: self.stream.cu_stream(),
            attrs: attrs.as_mut_ptr(),
            numAttrs: attrs.len() as u32,
        };
        // SAFETY: as in `launch` for the arguments; `conf`, `attrs`, `vals` and `ptrs`
        // outlive the call, which copies them.
        let r = unsafe {
            sys::cuLaunchKernelEx(
                &conf,
                func.cu_function(),
                ptrs.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        };
        if r != sys::CUresult::CUDA_SUCCESS {
            return Err(fail(format!("cuLaunchKernelEx: {r:?}")));
        }
        Ok(())
    }

    /// Launches and then waits, so that an execution fault is reported against this kernel.
    pub fn launch_checked(&self, name: &str, cfg: LaunchConfig, args: &[KArg]) -> GpuResult<()> {
        self.launch(name, cfg, args)?;
        self.stream.synchronize().map_err(|e| GpuError::Launch {
            kernel: name.to_string(),
            shape: LaunchShape {
                grid: cfg.grid_dim,
                block: cfg.block_dim,
            },
            detail: format!("{e:?}"),
        })
    }

    /// Fills `buf` (viewed as u16 elements) with `value`: the poison written before every
    /// checked launch.
    pub fn fill_u16(&self, buf: &DevBuf, value: u16) -> GpuResult<()> {
        let n = (buf.len() / 2) as u64;
        let blocks = n.div_ceil(256).clamp(1, 65_535) as u32;
        self.launch(
            "fill_u16",
            LaunchConfig {
                grid_dim: (blocks, 1, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            },
            &[KArg::Ptr(buf.ptr()), KArg::U64(n), KArg::U32(value as u32)],
        )
    }
}

/// The launch attribute that makes blocks of `dims` one thread-block cluster.
fn cluster_attr(dims: (u32, u32, u32)) -> sys::CUlaunchAttribute {
    // SAFETY: an all-zero CUlaunchAttribute is valid (a plain C struct and union).
    let mut a: sys::CUlaunchAttribute = unsafe { std::mem::zeroed() };
    a.id = sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    a.value.clusterDim.x = dims.0;
    a.value.clusterDim.y = dims.1;
    a.value.clusterDim.z = dims.2;
    a
}

/// Launch attributes of [`Gpu::launch_ex`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LaunchEx {
    /// Programmatic stream serialization: start while the previous kernel still runs.
    pub overlap: bool,
    /// Thread-block cluster dimensions.
    pub cluster: Option<(u32, u32, u32)>,
}

/// One kernel argument.
#[derive(Debug, Clone, Copy)]
pub enum KArg {
    /// A device address (0 for a null pointer).
    Ptr(u64),
    /// `int`.
    I32(i32),
    /// `unsigned int`.
    U32(u32),
    /// `unsigned long long`.
    U64(u64),
    /// `float`.
    F32(f32),
}

/// A 1-D launch of `threads` threads in blocks of `block`.
pub fn grid_1d(threads: u64, block: u32) -> GpuResult<LaunchConfig> {
    let blocks = threads.div_ceil(block as u64).max(1);
    if blocks > i32::MAX as u64 {
        return Err(GpuError::bad_args(
            "grid",
            format!("{threads} threads is too many"),
        ));
    }
    Ok(LaunchConfig {
        grid_dim: (blocks as u32, 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    })
}
