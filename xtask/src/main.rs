//! `cargo xtask`: proxyland's automation. Every command bootstraps the toolchain first
//! (see [`bootstrap`]), so a fresh clone needs no other step.
//!
//! ```text
//! cargo xtask bootstrap [--cuda]        install libtorch (CUDA-capable with --cuda), CMake,
//!                                       OpenBLAS; link .deps/
//! cargo xtask test                      fmt check, clippy -D warnings, all workspace tests
//! cargo xtask reproduce [--profile quick|paper|scaling|refine] [--experiments E,..] [--out results]
//! cargo xtask bench [--compare-only] [--quick] [--cases ..]
//!                                       criterion benches, then proxyland vs NumPy/Exponax/PyTorch
//! ```

mod ablation;
mod bench;
mod bootstrap;
mod plan;
mod reproduce;
mod rooms;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  bootstrap    install libtorch (PyPI torch 2.11.0), CMake and OpenBLAS; link .deps/
               [--cuda: the CUDA libraries too (about 2.6 GB), for --device cuda]
  test         bootstrap, then cargo fmt --check, clippy -D warnings, and every test
  reproduce    bootstrap, build, run the whole pipeline: [--profile quick|paper|scaling|refine]
               [--experiments burgers,ks,...] [--out results]
  bench        bootstrap, run the criterion benches of every crate, then compare proxyland
               side by side with NumPy, Exponax and PyTorch (results/BENCH.md):
               [--compare-only | --criterion-only] [--quick] [--cases burgers,ks,...]
";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        bail!("no command given");
    };
    let repo = repo_root();
    match command.as_str() {
        "bootstrap" => {
            let cuda = match args.get(1).map(String::as_str) {
                None => false,
                Some("--cuda") => true,
                Some(other) => bail!("bootstrap: unknown flag `{other}` (flags: --cuda)"),
            };
            let tools = bootstrap::run_with(&repo, cuda)?;
            eprintln!(
                "[bootstrap] ready: libtorch {}, cmake {}",
                tools.libtorch.display(),
                tools.cmake.display()
            );
            Ok(())
        }
        "test" => test(&repo),
        "reproduce" => {
            bootstrap::run(&repo)?;
            reproduce::run(&repo, &args[1..])
        }
        "bench" => {
            bootstrap::run(&repo)?;
            bench::run(&repo, &args[1..])
        }
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown command `{other}`")
        }
    }
}

/// The workspace root: xtask lives one folder below it.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// The README's test command. One profile (dev) and one feature set throughout, so torch-sys and
/// HDF5 are compiled once and shared by clippy and the tests.
fn test(repo: &Path) -> Result<()> {
    let started = Instant::now();
    bootstrap::run(repo)?;
    cargo(repo, &["fmt", "--all", "--", "--check"])
        .context("formatting differs: run `cargo fmt --all`")?;
    cargo(
        repo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    check_lean_crates(repo)?;
    check_tch_stays_in_proxy(repo)?;
    rooms::check_room_sizes(repo)?;
    cargo(repo, &["test", "--workspace", "--locked"])?;
    eprintln!(
        "[xtask] test: all green in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Only crates/proxy names tch (docs/architecture.md): every other crate, the workspace tests
/// and xtask reach libtorch through proxy's own types, so a tch upgrade touches one crate.
fn check_tch_stays_in_proxy(repo: &Path) -> Result<()> {
    let mut offenders = Vec::new();
    let mut stack = vec![repo.join("crates"), repo.join("tests"), repo.join("xtask")];
    while let Some(dir) = stack.pop() {
        if dir == repo.join("crates").join("proxy") {
            continue;
        }
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                for (i, line) in text.lines().enumerate() {
                    if names_tch(line) {
                        offenders.push(format!("{}:{}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    if !offenders.is_empty() {
        bail!(
            "tch is named outside crates/proxy (use proxy's own types): {}",
            offenders.join(", ")
        );
    }
    eprintln!("[xtask] only crates/proxy names tch");
    Ok(())
}

/// Whether a line of Rust code names the tch crate (its path or a `use` of it), with a word
/// boundary before it: `Batch::` and `scratch::` do not; comments do not count.
fn names_tch(line: &str) -> bool {
    // Comments may talk about tch; code may not name it.
    if line.trim_start().starts_with("//") {
        return false;
    }
    // Built at run time, so that this file does not match itself.
    let needles = [format!("{}::", "tch"), format!("use {}", "tch")];
    needles.iter().any(|n| {
        line.match_indices(n.as_str()).any(|(at, _)| {
            !line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// Crates downstream users pull alone must stay free of the heavy native stacks: `physics` and
/// `optim` of libtorch and HDF5, `dataset` of libtorch. A new dependency that drags one in fails
/// here, not in a user's build.
fn check_lean_crates(repo: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (krate, forbidden) in [
        ("proxyland-physics", &["tch", "torch-sys", "hdf5-metno"][..]),
        ("proxyland-optim", &["tch", "torch-sys", "hdf5-metno"][..]),
        ("proxyland-dataset", &["tch", "torch-sys"][..]),
    ] {
        let out = Command::new(&cargo)
            .args([
                "tree",
                "-p",
                krate,
                "-e",
                "normal",
                "--prefix",
                "none",
                "--locked",
                "--offline",
            ])
            .current_dir(repo)
            .output()
            .with_context(|| format!("cannot start {cargo}"))?;
        if !out.status.success() {
            bail!(
                "`cargo tree -p {krate}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if forbidden.contains(&name) {
                bail!("{krate} depends on {name} (normal dependencies): it must stay lean");
            }
        }
    }
    eprintln!(
        "[xtask] physics, optim and dataset are free of libtorch (and physics, optim of HDF5)"
    );
    Ok(())
}

/// Runs `cargo <args>` in the repository, echoing the command and its duration.
pub fn cargo(repo: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("[xtask] $ cargo {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(repo)
        .status()
        .with_context(|| format!("cannot start {cargo}"))?;
    eprintln!("[xtask]   took {:.0} s", started.elapsed().as_secs_f64());
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::names_tch;

    #[test]
    fn only_the_tch_crate_counts_as_tch() {
        let t = "tch";
        assert!(names_tch(&format!("use {t}::Tensor;")));
        assert!(names_tch(&format!("    {t}::manual_seed(0);")));
        assert!(names_tch(&format!("let d = ({t}::Device::Cpu);")));
        assert!(!names_tch("format::Batch::Plain(block)"));
        assert!(!names_tch("let s = grid.scratch(); Scratch::new()"));
        assert!(!names_tch("// tch 0.24.0 needs libtorch 2.11"));
        assert!(!names_tch(&format!(
            "    /// `{t}::Tensor` stays inside proxy"
        )));
    }
}
