//! Choosing where to train: CUDA when present, CPU otherwise, from one binary.
//!
//! rustc links with `--as-needed`, which drops `libtorch_cuda.so` (nothing references it
//! directly), so `tch::Cuda::is_available()` would say no even on a GPU machine. Loading the
//! library at run time, globally, registers its CUDA kernels; where it cannot be loaded (no GPU
//! driver, CPU-only libtorch) we fall back to the CPU.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// Where a network trains or runs: proxyland's own type, so that callers of this crate never
/// name a tch type (docs/architecture.md).
///
/// ```
/// use proxyland_proxy::device::{self, Device};
/// assert_eq!(device::choose("cpu")?, Device::Cpu);
/// assert_eq!(device::describe(Device::Cuda(1)), "cuda:1");
/// # Ok::<(), proxyland_proxy::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The CPU, with libtorch's intra-op threads.
    Cpu,
    /// CUDA device `i`.
    Cuda(usize),
}

impl Device {
    /// The libtorch device.
    pub(crate) fn tch(self) -> tch::Device {
        match self {
            Device::Cpu => tch::Device::Cpu,
            Device::Cuda(i) => tch::Device::Cuda(i),
        }
    }
}

/// Tries once per process to load `libtorch_cuda.so`; returns why it failed, if it did (the
/// dynamic loader's own words: which library is missing).
fn load_cuda_backend() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            // SAFETY: dlopen with a valid NUL-terminated name; the handle is deliberately kept
            // open for the life of the process. dlerror returns a thread-local C string or null.
            let handle = unsafe {
                libc::dlopen(
                    c"libtorch_cuda.so".as_ptr(),
                    libc::RTLD_NOW | libc::RTLD_GLOBAL,
                )
            };
            if handle.is_null() {
                let why = unsafe { libc::dlerror() };
                let why = if why.is_null() {
                    "unknown reason".to_string()
                } else {
                    unsafe { std::ffi::CStr::from_ptr(why) }
                        .to_string_lossy()
                        .into_owned()
                };
                Err(why)
            } else {
                Ok(())
            }
        })
        .clone()
}

/// Whether a usable CUDA device is present.
pub fn cuda_available() -> bool {
    load_cuda_backend().is_ok() && tch::Cuda::is_available()
}

/// `auto` (CUDA when present), `cpu` or `cuda`.
pub fn choose(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if cuda_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }),
        "cuda" => match load_cuda_backend() {
            Err(why) => Err(Error::Device(
                name.into(),
                format!(
                    "libtorch_cuda.so could not be loaded: {why}. On a GPU machine run \
                     `cargo xtask bootstrap --cuda` (installs the CUDA libraries); otherwise use \
                     --device cpu or auto"
                ),
            )),
            Ok(()) if !tch::Cuda::is_available() => Err(Error::Device(
                name.into(),
                "libtorch_cuda.so loaded, but no CUDA device is visible (driver missing or \
                 CUDA_VISIBLE_DEVICES empty); use --device cpu or auto"
                    .into(),
            )),
            Ok(()) => Ok(Device::Cuda(0)),
        },
        other => Err(Error::Device(
            other.into(),
            "expected auto, cpu or cuda".into(),
        )),
    }
}

/// A short name for logs and metadata.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        Device::Cuda(i) => format!("cuda:{i}"),
    }
}

/// Caps libtorch's intra-op threads (evaluation runs many small predictions in parallel
/// threads of its own; libtorch's pool on top would oversubscribe the cores).
pub fn set_threads(n: usize) {
    tch::set_num_threads(n.max(1) as i32);
}

/// The libtorch build this binary links and how it runs: what can make training differ between
/// machines (CPU kernels, thread counts), for results files and reports.
///
/// ```
/// let d = proxyland_proxy::device::libtorch_description();
/// assert!(d.starts_with("libtorch "));
/// ```
pub fn libtorch_description() -> String {
    format!(
        "libtorch {} (tch 0.24.0), {} intra-op threads, MKL {}, oneDNN {}",
        env!("PROXYLAND_LIBTORCH_VERSION"),
        tch::get_num_threads(),
        if tch::utils::has_mkl() { "yes" } else { "no" },
        if tch::utils::has_mkldnn() {
            "yes"
        } else {
            "no"
        },
    )
}
