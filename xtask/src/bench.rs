//! `cargo xtask bench`: the criterion benches of every crate, then the side-by-side comparison
//! against NumPy, Exponax and PyTorch (`proxyland-bench`, which writes results/BENCH.md).
//!
//! The references run in a virtual environment this command creates once per machine under the
//! proxyland cache, with pinned versions from PyPI.

use crate::bootstrap;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The reference stack, pinned (PyPI). The venv's folder name carries this list's version.
const REFERENCE_PACKAGES: [&str; 7] = [
    "numpy==2.4.6",
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "exponax==0.2.0",
    "equinox==0.13.8",
    "jaxtyping==0.3.11",
    "torch==2.11.0",
];
const VENV_NAME: &str = "bench-venv-1";
/// Written into the venv once every package imports; a venv without it is reinstalled.
const COMPLETE_MARKER: &str = ".proxyland-complete";

struct Options {
    criterion: bool,
    compare: bool,
    passthrough: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        criterion: true,
        compare: true,
        passthrough: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--compare-only" => o.criterion = false,
            "--criterion-only" => o.compare = false,
            "--quick" => o.passthrough.push(a.clone()),
            "--cases" | "--out" => {
                let v = it.next().with_context(|| format!("{a} needs a value"))?;
                o.passthrough.extend([a.clone(), v.clone()]);
            }
            other => bail!(
                "bench: unknown argument `{other}` (expected --compare-only, --criterion-only, \
                 --quick, --cases A,B, --out FILE)"
            ),
        }
    }
    Ok(o)
}

pub fn run(repo: &Path, args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if o.criterion {
        crate::cargo(repo, &["bench", "--workspace", "--locked"])?;
    }
    if !o.compare {
        return Ok(());
    }
    let python = ensure_venv(&bootstrap::cache_dir()?)?;
    crate::cargo(
        repo,
        &[
            "build",
            "--release",
            "--locked",
            "--package",
            "proxyland",
            "--package",
            "proxyland-bench",
        ],
    )?;
    let status = Command::new(repo.join("target/release/proxyland-bench"))
        .current_dir(repo)
        .arg("--python")
        .arg(&python)
        .args(&o.passthrough)
        .status()
        .context("cannot start target/release/proxyland-bench")?;
    if !status.success() {
        bail!("proxyland-bench failed ({status})");
    }
    Ok(())
}

/// The reference venv's interpreter, creating the venv first if needed.
fn ensure_venv(cache: &Path) -> Result<PathBuf> {
    let venv = cache.join(VENV_NAME);
    let python = venv.join("bin/python");
    if venv.join(COMPLETE_MARKER).exists() {
        eprintln!("[bench] reference venv: reusing {}", venv.display());
        return Ok(python);
    }
    if venv.exists() {
        eprintln!("[bench] {} is incomplete; recreating it", venv.display());
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("cannot remove {}", venv.display()))?;
    }
    eprintln!(
        "[bench] creating the reference venv {} ({}; ~5 GB with torch's CUDA wheels, once per \
         machine)",
        venv.display(),
        REFERENCE_PACKAGES.join(" ")
    );
    std::fs::create_dir_all(cache)?;
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("cannot run python3 -m venv")?
        .success();
    if !ok {
        bail!("python3 -m venv failed (Debian: apt-get install python3-venv)");
    }
    let ok = Command::new(&python)
        .args(["-m", "pip", "install", "--no-input", "--quiet"])
        .arg("--disable-pip-version-check")
        .args(REFERENCE_PACKAGES)
        .status()
        .context("cannot run pip in the reference venv")?
        .success();
    if !ok {
        bail!(
            "pip could not install the reference packages into {}; check that PyPI is reachable",
            venv.display()
        );
    }
    let check = Command::new(&python)
        .args([
            "-c",
            "import numpy, jax, exponax, torch; print(numpy.__version__, jax.__version__, torch.__version__)",
        ])
        .output()
        .context("cannot run the reference venv's python")?;
    if !check.status.success() {
        bail!(
            "the reference venv does not import its packages:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    std::fs::write(venv.join(COMPLETE_MARKER), &check.stdout)?;
    eprintln!(
        "[bench] reference venv ready: numpy, jax, torch = {}",
        String::from_utf8_lossy(&check.stdout).trim()
    );
    Ok(python)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_select_the_parts_and_pass_the_rest_on() {
        let o = parse(&strings(&[
            "--compare-only",
            "--cases",
            "ks,billiards",
            "--quick",
        ]))
        .unwrap();
        assert!(!o.criterion && o.compare);
        assert_eq!(
            o.passthrough,
            strings(&["--cases", "ks,billiards", "--quick"])
        );
        assert!(parse(&strings(&["--cases"])).is_err());
        let e = parse(&strings(&["--fast"])).err().unwrap().to_string();
        assert!(e.contains("--fast"), "{e}");
    }

    #[test]
    fn every_reference_package_is_pinned() {
        assert!(REFERENCE_PACKAGES.iter().all(|p| p.contains("==")));
    }
}
