//! `.npy` files for the reference scripts, written by dataset's encoder (the workspace's one).

use anyhow::{Context, Result};
use proxyland_dataset::npy::{Element, encode};
use std::io::Write;
use std::path::Path;

/// Writes `dir/<name>.npy`.
pub fn write<T: Element>(dir: &Path, name: &str, shape: &[usize], data: &[T]) -> Result<()> {
    let path = dir.join(format!("{name}.npy"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&encode(shape, data)))
        .with_context(|| format!("writing {}", path.display()))
}
