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

/// Creates `path` atomically with a writer that needs a file name (HDF5, image encoders):
/// `write` fills the temporary sibling it is given (named with `suffix` so its extension is
/// right), which is then synced and renamed into place; on any error the temporary is removed.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.txt");
/// proxyland_dataset::replace_via_temp(&path, ".txt", |tmp| std::fs::write(tmp, "hi"))?;
/// assert_eq!(std::fs::read_to_string(&path)?, "hi");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn replace_via_temp<E: From<std::io::Error>>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = temp_sibling(path, suffix)?;
    let result = write(&tmp).and_then(|()| {
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
    replace_via_temp(path, "", |tmp| std::fs::File::create(tmp)?.write_all(bytes))
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
