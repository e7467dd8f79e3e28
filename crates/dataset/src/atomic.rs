//! The one way proxyland writes a file: into a hidden temporary sibling, synced, then renamed
//! into place, so an interrupted run never leaves a half-written file under the final name, and
//! an error never leaves the temporary behind. (Pools, being HDF5, follow the same rule through
//! `<out>.partial`.)

use std::io::Write;
use std::path::{Path, PathBuf};

/// A hidden temporary sibling of `path`: `.name.tmp-PID` + `suffix` (a suffix keeps an
/// extension that a writer looks at, e.g. `.png`).
pub fn temp_sibling(path: &Path, suffix: &str) -> std::io::Result<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    Ok(dir.join(format!(
        ".{}.tmp-{}{suffix}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Writes `bytes` to `path` atomically.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.json");
/// proxyland_dataset::write_atomically(&path, b"{}")?;
/// assert_eq!(std::fs::read(&path)?, b"{}");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_sibling(path, "")?;
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An I/O error in words a user acts on: a full disk is named as such.
///
/// ```
/// let e = std::io::Error::from_raw_os_error(28);
/// assert!(proxyland_dataset::describe_io(&e).contains("disk is full"));
/// ```
pub fn describe_io(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(28) => format!("the disk is full (ENOSPC: {e}); free space and run again"),
        Some(122) => format!("the disk quota is exceeded (EDQUOT: {e})"),
        _ => e.to_string(),
    }
}
