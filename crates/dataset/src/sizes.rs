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

/// The most samples, test targets or validation targets one pool may hold: 2^40 (about 10^12,
/// petabytes of trajectories for the smallest experiment). A count above it is a typo (or a
/// wrapped negative number) and is refused before anything is drawn, simulated or created.
pub const MAX_COUNT: u64 = 1 << 40;

/// Where a count was set and its value, in the words of the error that refuses it: a flag reads
/// `--samples 12`, a config field `profile.quick.samples = 12`.
fn describe(name: &str, value: impl std::fmt::Display) -> String {
    if name.starts_with("--") {
        format!("{name} {value}")
    } else {
        format!("{name} = {value}")
    }
}

/// Refuses `value` (set by `name`: a flag such as `--samples`, or a config field such as
/// `profile.quick.samples`) when it exceeds [`MAX_COUNT`]; returns it as a u64.
///
/// ```
/// use proxyland_dataset::sizes::check_count;
/// let config = std::path::Path::new("datasets/ks.toml");
/// assert_eq!(check_count(config, "--samples", 4096)?, 4096);
/// let err = check_count(config, "--samples", usize::MAX).unwrap_err();
/// assert!(err.to_string().contains("--samples 18446744073709551615"), "{err}");
/// # Ok::<(), proxyland_dataset::Error>(())
/// ```
pub fn check_count(config: &Path, name: &str, value: usize) -> Result<u64> {
    let v = u64::try_from(value).unwrap_or(u64::MAX);
    if v > MAX_COUNT {
        return Err(Error::Config {
            path: config.to_path_buf(),
            message: format!(
                "{}: more than {MAX_COUNT} (2^40), the most one pool may hold",
                describe(name, value)
            ),
        });
    }
    Ok(v)
}

/// The size of a pool's trajectories, computed without wrap-around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    /// Trajectories in the file: the samples plus the test and validation targets.
    pub rows: u64,
    /// f64 values those trajectories hold.
    pub values: u64,
    /// Their bytes (8 per value).
    pub bytes: u64,
}

/// The rows, values and bytes of a pool whose trajectories are `frames` × `components` f64
/// values, from its `counts`: (where each was set, its value), e.g. `("--samples", k)`,
/// `("--targets", t)`, `("profile.quick.validation_targets", v)`. Every count is checked
/// against [`MAX_COUNT`] and every sum and product is checked, so an absurd count is an error
/// naming it instead of a size that wrapped around to something small.
///
/// ```
/// use proxyland_dataset::sizes::pool_size;
/// let config = std::path::Path::new("datasets/ks.toml");
/// let size = pool_size(config, &[("--samples", 10), ("--targets", 2)], 3, 4)?;
/// assert_eq!((size.rows, size.values, size.bytes), (12, 144, 1152));
/// # Ok::<(), proxyland_dataset::Error>(())
/// ```
pub fn pool_size(
    config: &Path,
    counts: &[(&str, usize)],
    frames: usize,
    components: usize,
) -> Result<PoolSize> {
    let mut rows: u64 = 0;
    for &(name, value) in counts {
        let v = check_count(config, name, value)?;
        rows = rows.checked_add(v).ok_or_else(|| Error::Config {
            path: config.to_path_buf(),
            message: format!(
                "{}: the pool's trajectories would number more than 2^64",
                describe(name, value)
            ),
        })?;
    }
    let all_counts = || {
        counts
            .iter()
            .map(|&(name, value)| describe(name, value))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let too_big = |what: &str| Error::Config {
        path: config.to_path_buf(),
        message: format!(
            "{}: {rows} trajectories of {frames} × {components} values would need more than \
             2^64 {what}; choose smaller counts",
            all_counts()
        ),
    };
    let values = rows
        .checked_mul(frames as u64)
        .and_then(|v| v.checked_mul(components as u64))
        .ok_or_else(|| too_big("values"))?;
    let bytes = values.checked_mul(8).ok_or_else(|| too_big("bytes"))?;
    Ok(PoolSize {
        rows,
        values,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_past_the_cap_are_refused_naming_where_they_were_set() {
        let config = Path::new("datasets/ks.toml");
        let err = check_count(config, "--samples", usize::MAX).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--samples 18446744073709551615") && text.contains("2^40"),
            "{text}"
        );
        assert!(text.contains("datasets/ks.toml"), "{text}");
        let err = check_count(config, "profile.quick.samples", (1usize << 40) + 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("profile.quick.samples = 1099511627777"),
            "{err}"
        );
        assert_eq!(check_count(config, "--samples", 1 << 40).unwrap(), 1 << 40);
    }

    #[test]
    fn a_pool_size_never_wraps_around() {
        let config = Path::new("datasets/ks.toml");
        // Each count alone: the cap names the one at fault, whichever it is.
        for (i, name) in ["--samples", "--targets", "--validation-targets"]
            .into_iter()
            .enumerate()
        {
            let mut counts = [
                ("--samples", 100),
                ("--targets", 5),
                ("--validation-targets", 30),
            ];
            counts[i].1 = usize::MAX;
            let err = pool_size(config, &counts, 41, 64).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("{name} 18446744073709551615")),
                "{err}"
            );
        }
        // Counts within the cap whose bytes pass 2^64: refused, naming the counts.
        let err = pool_size(
            config,
            &[("--samples", 1 << 40), ("--targets", 50)],
            1 << 12,
            1 << 12,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--samples 1099511627776") && text.contains("2^64"),
            "{text}"
        );
        // Values that fit, bytes that do not.
        let err = pool_size(config, &[("samples", 1 << 30)], 1 << 16, 1 << 16).unwrap_err();
        assert!(err.to_string().contains("samples = 1073741824"), "{err}");
        assert!(err.to_string().contains("2^64 bytes"), "{err}");
        // The largest sizes that fit are computed exactly.
        let size = pool_size(config, &[("samples", 1 << 40)], 1 << 10, 1 << 10).unwrap();
        assert_eq!(
            (size.rows, size.values, size.bytes),
            (1 << 40, 1 << 60, 1 << 63)
        );
    }
}
