//! Writing what the user asked for, atomically: a temporary file in the same folder, renamed
//! into place once complete, so an interrupted run never leaves a half-written file behind.

use anyhow::{Context, Result, bail};
use proxyland_physics::{Simulator, Trajectory};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The same file, whether named by one path or another (a link, `./x` against `x`).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

pub use proxyland_dataset::describe_io;

/// Checks, before any work starts, that a command may write `out` (given with `flag`):
/// it is not a folder, not one of the command's `inputs` (flag, path), not an existing file
/// (unless `force`), and its folder exists and is writable. Nothing a user made is lost, and no
/// long computation ends in a failure to write.
pub fn check_output(flag: &str, out: &Path, inputs: &[(&str, &Path)], force: bool) -> Result<()> {
    if out.is_dir() {
        bail!(
            "{flag} {}: is a folder; give a file name in it",
            out.display()
        );
    }
    for (input_flag, input) in inputs {
        if same_file(out, input) || out == *input {
            bail!(
                "{flag} {} is also the input {input_flag} {}: refusing to overwrite an input \
                 (choose another {flag})",
                out.display(),
                input.display()
            );
        }
    }
    // symlink_metadata: a link, even one pointing nowhere, is something the user made.
    if std::fs::symlink_metadata(out).is_ok() && !force {
        bail!(
            "{flag} {} exists; pass --force to replace it (nothing was changed)",
            out.display()
        );
    }
    check_folder_writable(flag, out)
}

/// The folder of `out` exists and accepts a new file (probed with a file created and removed).
pub fn check_folder_writable(flag: &str, out: &Path) -> Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{flag} {}: folder {} does not exist",
            out.display(),
            dir.display()
        );
    }
    let probe = dir.join(format!(".proxyland-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => bail!(
            "{flag} {}: cannot write in folder {}: {}",
            out.display(),
            dir.display(),
            describe_io(&e)
        ),
    }
}

/// A hidden temporary sibling of `path` (`.name.tmp-PID` + `suffix`), after checking that the
/// folder exists.
pub fn temp_sibling(path: &Path, suffix: &str) -> Result<PathBuf> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    proxyland_dataset::temp_sibling(path, suffix)
        .with_context(|| format!("{} names no file", path.display()))
}

/// Renders `write` and writes it into `path` atomically (proxyland's one atomic writer,
/// `proxyland_dataset::write_atomically`).
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let mut bytes = Vec::new();
    write(&mut bytes)?;
    proxyland_dataset::write_atomically(path, &bytes)
        .map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), describe_io(&e)))
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

/// Writes `text` to standard output and flushes it. A failure (a full disk, `> /dev/full`) is an
/// error naming standard output, never a panic as from `println!`.
pub fn stdout_text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write to standard output: {}", describe_io(&e)))
}
