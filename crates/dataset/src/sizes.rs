//! Room for a pool, checked before anything is allocated or written: a typo in a sample count
//! must be a clear error, not an allocation failure minutes later.

use crate::error::{Error, Result};
use std::path::Path;

/// Bytes of memory available for new allocations (Linux `MemAvailable`), if known.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes free on the file system holding `path` (or its folder), if known.
pub fn free_disk(path: &Path) -> Option<u64> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a properly sized, writable statvfs buffer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Human-readable bytes: 1.5 GiB.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", units[u])
}

/// Refuses a pool of `count` samples (set by `field`) whose trajectories need `needed` bytes when
/// that exceeds the memory available (training and evaluation load the whole pool) or the disk
/// free where `out` goes.
pub fn check_room(config: &Path, field: &str, count: usize, needed: u64, out: &Path) -> Result<()> {
    let refuse = |what: String| {
        Err(Error::Config {
            path: config.to_path_buf(),
            message: format!(
                "{field} = {count}: the pool would hold {} of trajectories; {what}",
                bytes(needed)
            ),
        })
    };
    if let Some(mem) = available_memory() {
        if needed > mem {
            return refuse(format!(
                "only {} of memory is available, and training loads the whole pool",
                bytes(mem)
            ));
        }
    }
    if let Some(disk) = free_disk(out) {
        if needed > disk {
            return refuse(format!(
                "only {} is free on the disk of {}",
                bytes(disk),
                out.display()
            ));
        }
    }
    Ok(())
}
