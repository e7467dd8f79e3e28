//! Writing what the user asked for, atomically: a temporary file in the same folder, renamed
//! into place once complete, so an interrupted run never leaves a half-written file behind.

use anyhow::{Context, Result};
use proxyland_physics::{Simulator, Trajectory};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A hidden temporary sibling of `path` (`.name.tmp-PID` + `suffix`), after checking that the
/// folder exists.
pub fn temp_sibling(path: &Path, suffix: &str) -> Result<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    let file_name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    Ok(dir.join(format!(
        ".{}.tmp-{}{suffix}",
        file_name.to_string_lossy(),
        std::process::id()
    )))
}

/// Writes `write` into `path` via a temporary sibling and a rename.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let tmp = temp_sibling(path, "")?;
    let result = (|| {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut buf = std::io::BufWriter::new(file);
        write(&mut buf)?;
        let file = buf.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// CSV with `#` header lines (experiment, X, columns), then one row per frame: t, then the state.
pub fn write_trajectory_csv(
    path: &Path,
    sim: &dyn Simulator,
    x: &[f64],
    y: &Trajectory,
) -> Result<()> {
    let (x_in, _) = sim.param_space().fold(x);
    let times = sim.frame_times();
    let axis = sim.state_axis();
    write_atomically(path, |w| {
        writeln!(w, "# experiment: {}", sim.name())?;
        writeln!(w, "# proxyland {}", env!("CARGO_PKG_VERSION"))?;
        let names = &sim.param_space().names;
        let params: Vec<String> = names
            .iter()
            .zip(&x_in)
            .map(|(n, v)| format!("{n}={v:.17e}"))
            .collect();
        writeln!(w, "# params: {}", params.join(" "))?;
        writeln!(w, "# columns: t, then the state at coordinates {axis:?}")?;
        for (row, t) in y.outer_iter().zip(&times) {
            write!(w, "{t:.17e}")?;
            for v in row {
                write!(w, ",{v:.17e}")?;
            }
            writeln!(w)?;
        }
        Ok(())
    })
}
