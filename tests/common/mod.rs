//! What every top-level test needs, once: the binary runner, a tiny config that fails loudly
//! when the TOML it shrinks has changed, and `.npy` fixtures by dataset's own writer.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `proxyland` binary, logging warnings only: the one place a test names it (for runs
/// that need their own stdio, environment or a child process).
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_proxyland"));
    c.env("RUST_LOG", "warn");
    c
}

/// Runs the `proxyland` binary with `args`, logging warnings only.
pub fn proxyland(args: &[&str]) -> Output {
    command().args(args).output().expect("the binary runs")
}

/// Its stderr, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the run succeeded and returns its stdout.
pub fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `datasets/<name>.toml` with each `(from, to)` replaced, written into `dir`. Panics when a
/// `from` is not in the file: a fixture that silently stopped shrinking anything would make
/// the tests slow and prove nothing new.
pub fn shrunk_config(dir: &Path, name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let source = repo().join("datasets").join(format!("{name}.toml"));
    let mut text =
        std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    for (from, to) in replacements {
        text = replaced(&text, from, to);
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `text` with `from` replaced by `to`; panics when `from` is not in it (dataset's one
/// fixture helper, shared by every crate's tests).
pub use proxyland_dataset::testing::replaced;

/// A Burgers-family config on a coarse grid and a short horizon: the same experiment, cheap.
pub fn tiny_config(dir: &Path, name: &str) -> PathBuf {
    shrunk_config(
        dir,
        name,
        &[("n = 128", "n = 32"), ("steps = 400", "steps = 40")],
    )
}

/// A tiny Burgers pool at `out` (24 samples, 3 test and 2 validation targets) from
/// [`tiny_config`] written into `dir`: the start of every end-to-end pipeline test.
pub fn tiny_burgers_pool(dir: &Path, out: &Path) {
    let config = tiny_config(dir, "burgers");
    ok(proxyland(&[
        "generate",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--samples",
        "24",
        "--targets",
        "3",
        "--validation-targets",
        "2",
    ]));
}

/// A one-epoch proxy on `data` at `out`, with extra `train` flags (`--noise 0.05`, `--dropout
/// 0.1`, ...): cheap enough for end-to-end tests.
pub fn tiny_train(data: &Path, out: &Path, extra: &[&str]) {
    let (data, out) = (data.to_str().unwrap(), out.to_str().unwrap());
    let mut a = vec![
        "train",
        "--data",
        data,
        "--out",
        out,
        "--epochs",
        "1",
        "--pairs-per-epoch",
        "256",
        "--device",
        "cpu",
    ];
    a.extend_from_slice(extra);
    ok(proxyland(&a));
}

/// A little-endian float64 `.npy` file of `values` with shape `dims`.
pub fn npy(dims: &[usize], values: &[f64]) -> Vec<u8> {
    proxyland_dataset::npy::encode(dims, values)
}
