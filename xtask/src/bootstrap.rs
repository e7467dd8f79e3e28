//! Installs what the build needs, idempotently, from the package registries only.
//!
//! - libtorch for tch 0.24.0: the PyPI `torch==2.11.0` wheel plus the two small CUDA runtime wheels
//!   that `libtorch_cpu.so` links against, into `<cache>/libtorch-2.11.0` (shared by every clone).
//!   With `--cuda`, the wheel and its whole CUDA dependency set (cuBLAS, cuDNN, ...; about 2.6 GB)
//!   into `<cache>/libtorch-2.11.0-cuda`, so `libtorch_cuda.so` loads and `--device cuda` works.
//!   Once chosen, CUDA stays: later runs keep the CUDA entry linked.
//! - CMake >= 3.26 (for the static HDF5 build): the PyPI `cmake` wheel, into `<cache>/cmake-<v>`.
//! - OpenBLAS (for ndarray-linalg): the Debian package `libopenblas-dev`, with apt when root.
//!
//! Then `.deps/libtorch` and `.deps/cmake` in the repository are pointed at the cache, which is what
//! the `[env]` entries of `.cargo/config.toml` name, so plain `cargo build` works afterwards.
//!
//! Every install goes to a staging folder that is renamed into place only once verified, so an
//! interrupted download never leaves a cache entry that later runs would trust.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PyTorch release that tch 0.24.0 is built against (tch pins exactly one).
pub const TORCH_VERSION: &str = "2.11.0";
/// Wheels that make a CPU-capable libtorch: `libtorch_cpu.so` needs libcudart and libcupti even
/// when no GPU is used; its RPATH finds them when `torch/` and `nvidia/` are siblings.
const TORCH_WHEELS: &[&str] = &[
    "torch==2.11.0",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];
pub const CMAKE_VERSION: &str = "3.31.6";
const CMAKE_MIN: (u32, u32) = (3, 26);

/// Where the resolved tools live, as the build will see them.
#[derive(Debug)]
pub struct Toolchain {
    /// The libtorch root (the folder holding `lib/` and `include/`).
    pub libtorch: PathBuf,
    pub cmake: PathBuf,
}

/// The per-user cache: `$PROXYLAND_CACHE`, else `$XDG_CACHE_HOME/proxyland`, else
/// `$HOME/.cache/proxyland`.
pub fn cache_dir() -> Result<PathBuf> {
    cache_dir_from(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
}

fn cache_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf> {
    if let Some(dir) = var("PROXYLAND_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("proxyland"));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("proxyland")),
        None => bail!("cannot choose a cache folder: set PROXYLAND_CACHE (or HOME)"),
    }
}

/// The cache entry for one libtorch version: keyed by version so that a tch upgrade installs
/// side by side instead of overwriting what older clones use.
pub fn libtorch_entry(cache: &Path, version: &str) -> PathBuf {
    cache.join(format!("libtorch-{version}"))
}

/// Reads `__version__ = '2.11.0+cu130'` from torch's `version.py` and returns `2.11.0`
/// (the local build tag after `+` names the CUDA flavour, not the API).
pub fn parse_torch_version(version_py: &str) -> Option<String> {
    version_py.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("__version__")?.trim_start();
        let rest = rest.strip_prefix('=')?.trim();
        let quoted = rest.trim_matches(|c| c == '\'' || c == '"');
        Some(quoted.split('+').next()?.to_string())
    })
}

/// Checks that `root` (a libtorch root: `lib/`, `include/`) holds the wanted version.
pub fn check_libtorch(root: &Path, version: &str) -> Result<()> {
    let lib = root.join("lib");
    if !lib.join("libtorch_cpu.so").exists() {
        bail!("{} has no lib/libtorch_cpu.so", root.display());
    }
    if !root.join("include").is_dir() {
        bail!("{} has no include/ folder", root.display());
    }
    let version_py = root.join("version.py");
    let text = std::fs::read_to_string(&version_py)
        .with_context(|| format!("cannot read {}", version_py.display()))?;
    match parse_torch_version(&text) {
        Some(v) if v == version => Ok(()),
        Some(v) => bail!(
            "{} is PyTorch {v}, but tch 0.24.0 needs exactly {version}",
            root.display()
        ),
        None => bail!("{} has no __version__ line", version_py.display()),
    }
}

/// Parses the first line of `cmake --version` ("cmake version 3.31.6").
pub fn parse_cmake_version(output: &str) -> Option<(u32, u32)> {
    let v = output
        .lines()
        .next()?
        .trim()
        .strip_prefix("cmake version ")?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn step(msg: impl AsRef<str>) {
    eprintln!("[bootstrap] {}", msg.as_ref());
}

/// Whether an NVIDIA driver is loaded on this machine.
fn nvidia_driver_present() -> bool {
    Path::new("/proc/driver/nvidia/version").exists()
}

/// Installs (or reuses) everything and links `.deps/`. Safe to run any number of times.
pub fn run(repo: &Path) -> Result<Toolchain> {
    run_with(repo, false)
}

/// As [`run`]; `cuda` installs the CUDA-capable libtorch (it stays chosen afterwards).
pub fn run_with(repo: &Path, cuda: bool) -> Result<Toolchain> {
    let cache = cache_dir()?;
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create the cache folder {}", cache.display()))?;
    step(format!("cache: {}", cache.display()));

    let deps = repo.join(".deps");
    std::fs::create_dir_all(&deps).with_context(|| format!("cannot create {}", deps.display()))?;

    let cuda_entry = cuda_entry(&cache);
    let chosen_before = std::fs::read_link(deps.join("libtorch")).is_ok_and(|t| t == cuda_entry);
    let cuda = cuda || chosen_before;
    if !cuda && nvidia_driver_present() {
        step(
            "an NVIDIA driver is present, but this libtorch is CPU-only: `cargo xtask bootstrap \
             --cuda` installs the CUDA libraries (about 2.6 GB) so `--device cuda` works",
        );
    }
    let libtorch = resolve_libtorch(repo, &cache, &deps, cuda)?;
    let cmake = resolve_cmake(repo, &cache, &deps)?;
    ensure_openblas()?;
    Ok(Toolchain { libtorch, cmake })
}

/// Our own `.cargo/config.toml` sets LIBTORCH for every process cargo starts (xtask included), so
/// only a value that differs from our `.deps` path is the user's own choice.
fn users_own(var: &str, ours: &Path) -> Option<PathBuf> {
    let value = PathBuf::from(std::env::var_os(var).filter(|v| !v.is_empty())?);
    (value != ours).then_some(value)
}

/// The cache entry of the CUDA-capable libtorch.
pub fn cuda_entry(cache: &Path) -> PathBuf {
    cache.join(format!("libtorch-{TORCH_VERSION}-cuda"))
}

fn resolve_libtorch(repo: &Path, cache: &Path, deps: &Path, cuda: bool) -> Result<PathBuf> {
    let ours = repo.join(".deps/libtorch/torch");
    if let Some(own) = users_own("LIBTORCH", &ours) {
        step(format!(
            "libtorch: using LIBTORCH={} from your environment",
            own.display()
        ));
        if let Err(e) = check_libtorch(&own, TORCH_VERSION) {
            if std::env::var_os("LIBTORCH_BYPASS_VERSION_CHECK").is_some() {
                step(format!(
                    "warning: {e:#} (continuing: LIBTORCH_BYPASS_VERSION_CHECK is set)"
                ));
            } else {
                bail!(
                    "{e:#}\nfix: unset LIBTORCH to let xtask install PyTorch {TORCH_VERSION}, or point it at a \
                     libtorch {TORCH_VERSION} (set LIBTORCH_BYPASS_VERSION_CHECK=1 to override)"
                );
            }
        }
        return Ok(own);
    }
    if cuda {
        let entry = cuda_entry(cache);
        let verify = |dir: &Path| {
            check_libtorch(&dir.join("torch"), TORCH_VERSION)?;
            for needed in [
                "torch/lib/libtorch_cuda.so",
                "nvidia/cublas",
                "nvidia/cudnn",
            ] {
                if !dir.join(needed).exists() {
                    bail!("{} has no {needed}", dir.display());
                }
            }
            Ok(())
        };
        // With its dependencies: they are the CUDA libraries libtorch_cuda.so loads.
        let package = format!("torch=={TORCH_VERSION}");
        install_from_pypi(
            &entry,
            &[package.as_str()],
            "libtorch (CUDA)",
            &verify,
            true,
        )?;
        link(deps.join("libtorch"), &entry)?;
        return Ok(ours);
    }
    let entry = libtorch_entry(cache, TORCH_VERSION);
    let verify = |dir: &Path| check_libtorch(&dir.join("torch"), TORCH_VERSION);
    install_from_pypi(&entry, TORCH_WHEELS, "libtorch", &verify, false)?;
    link(deps.join("libtorch"), &entry)?;
    Ok(ours)
}

fn resolve_cmake(repo: &Path, cache: &Path, deps: &Path) -> Result<PathBuf> {
    let ours = repo.join(".deps/cmake/bin/cmake");
    if let Some(own) = users_own("CMAKE", &ours) {
        step(format!(
            "cmake: using CMAKE={} from your environment",
            own.display()
        ));
        return Ok(own);
    }
    let entry = cache.join(format!("cmake-{CMAKE_VERSION}"));
    let verify = |dir: &Path| {
        let bin = dir.join("cmake/data/bin/cmake");
        let out = Command::new(&bin)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        match parse_cmake_version(&String::from_utf8_lossy(&out.stdout)) {
            Some(v) if v >= CMAKE_MIN => Ok(()),
            other => bail!("{} reports version {other:?}, need >= 3.26", bin.display()),
        }
    };
    let package = format!("cmake=={CMAKE_VERSION}");
    install_from_pypi(&entry, &[package.as_str()], "cmake", &verify, false)?;
    link(deps.join("cmake"), &entry.join("cmake/data"))?;
    Ok(ours)
}

/// Installs `packages` with `pip --target` into `entry` (with their dependencies if `with_deps`),
/// unless a verified copy is already there.
fn install_from_pypi(
    entry: &Path,
    packages: &[&str],
    what: &str,
    verify: &dyn Fn(&Path) -> Result<()>,
    with_deps: bool,
) -> Result<()> {
    if entry.exists() {
        match verify(entry) {
            Ok(()) => {
                step(format!("{what}: reusing {}", entry.display()));
                return Ok(());
            }
            Err(e) => {
                step(format!(
                    "{what}: {} is unusable ({e:#}); reinstalling",
                    entry.display()
                ));
                std::fs::remove_dir_all(entry)
                    .with_context(|| format!("cannot remove {}", entry.display()))?;
            }
        }
    }
    let staging = entry.with_extension(format!("partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    step(format!(
        "{what}: installing {} from PyPI into {} (once per machine)",
        packages.join(" "),
        entry.display()
    ));
    let python = find_python()?;
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--no-input", "--quiet"]);
    if !with_deps {
        pip.arg("--no-deps");
    }
    let status = pip
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .args(["--disable-pip-version-check", "--target"])
        .arg(&staging)
        .args(packages)
        .status()
        .with_context(|| format!("cannot run {python} -m pip"))?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        bail!(
            "pip could not install {} ({status}); check that PyPI is reachable and that \
             `{python} -m pip --version` works",
            packages.join(" ")
        );
    }
    verify(&staging).with_context(|| format!("the fresh {what} install failed its check"))?;
    match std::fs::rename(&staging, entry) {
        Ok(()) => {}
        // Another clone bootstrapping at the same time won the race: use its copy.
        Err(_) if entry.exists() && verify(entry).is_ok() => {
            std::fs::remove_dir_all(&staging)?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot move into {}", entry.display())),
    }
    step(format!("{what}: installed {}", entry.display()));
    Ok(())
}

fn find_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        let ok = Command::new(candidate)
            .args(["-m", "pip", "--version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Ok(candidate.to_string());
        }
    }
    bail!(
        "Python 3 with pip is needed to fetch libtorch and CMake from PyPI; install it \
         (Debian: `apt-get install python3-pip`)"
    )
}

/// Points `link` at `target`, replacing an older link.
fn link(link: PathBuf, target: &Path) -> Result<()> {
    if let Ok(existing) = std::fs::read_link(&link) {
        if existing == target {
            return Ok(());
        }
        std::fs::remove_file(&link)?;
    } else if link.exists() {
        bail!(
            "{} exists and is not a link; remove it and run `cargo xtask bootstrap` again",
            link.display()
        );
    }
    std::os::unix::fs::symlink(target, &link)
        .with_context(|| format!("cannot link {} -> {}", link.display(), target.display()))?;
    step(format!("linked {} -> {}", link.display(), target.display()));
    Ok(())
}

fn openblas_present() -> bool {
    let dirs = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];
    dirs.iter()
        .any(|d| Path::new(d).join("libopenblas.so").exists())
}

fn ensure_openblas() -> Result<()> {
    if openblas_present() {
        step("openblas: libopenblas-dev is installed");
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !is_root {
        bail!(
            "OpenBLAS (for ndarray-linalg) is missing. Install it, then run this again:\n    \
             sudo apt-get install -y libopenblas-dev"
        );
    }
    step("openblas: installing libopenblas-dev with apt-get");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "libopenblas-dev"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    let mut ok = install().map(|s| s.success()).unwrap_or(false);
    if !ok {
        step("openblas: refreshing the package lists (apt-get update) and retrying");
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        ok = install().map(|s| s.success()).unwrap_or(false);
    }
    if !ok || !openblas_present() {
        bail!(
            "apt-get could not install libopenblas-dev; run `apt-get install -y libopenblas-dev` yourself"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn torch_version_drops_the_local_build_tag() {
        let text = "from typing import Optional\n__version__ = '2.11.0+cu130'\ndebug = False\n";
        assert_eq!(parse_torch_version(text).as_deref(), Some("2.11.0"));
        assert_eq!(
            parse_torch_version("__version__ = \"2.13.1\"").as_deref(),
            Some("2.13.1")
        );
        assert_eq!(parse_torch_version("version = '2.11.0'"), None);
    }

    #[test]
    fn cache_prefers_proxyland_cache_then_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        const ALL: &[(&str, &str)] = &[
            ("PROXYLAND_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        const NO_OWN: &[(&str, &str)] = &[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(cache_dir_from(env(ALL)).unwrap(), PathBuf::from("/c"));
        assert_eq!(
            cache_dir_from(env(NO_OWN)).unwrap(),
            PathBuf::from("/x/proxyland")
        );
        assert_eq!(
            cache_dir_from(env(&[("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.cache/proxyland")
        );
        assert!(cache_dir_from(env(&[])).is_err());
    }

    #[test]
    fn libtorch_entries_are_keyed_by_version() {
        let cache = Path::new("/c");
        assert_ne!(
            libtorch_entry(cache, "2.11.0"),
            libtorch_entry(cache, "2.13.0")
        );
        assert_eq!(
            libtorch_entry(cache, "2.11.0"),
            PathBuf::from("/c/libtorch-2.11.0")
        );
    }

    #[test]
    fn check_libtorch_rejects_a_wrong_version_and_accepts_the_right_one() {
        let dir = std::env::temp_dir().join(format!("xtask-lt-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::create_dir_all(dir.join("include")).unwrap();
        assert!(check_libtorch(&dir, "2.11.0").is_err(), "no library yet");
        std::fs::write(dir.join("lib/libtorch_cpu.so"), b"").unwrap();
        std::fs::write(dir.join("version.py"), "__version__ = '2.10.0+cpu'\n").unwrap();
        let err = check_libtorch(&dir, "2.11.0").unwrap_err().to_string();
        assert!(err.contains("2.10.0") && err.contains("2.11.0"), "{err}");
        std::fs::write(dir.join("version.py"), "__version__ = '2.11.0+cu130'\n").unwrap();
        assert!(check_libtorch(&dir, "2.11.0").is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cmake_version_is_parsed_and_compared() {
        let v = parse_cmake_version("cmake version 3.31.6\n\nCMake suite maintained").unwrap();
        assert_eq!(v, (3, 31));
        assert!(v >= CMAKE_MIN);
        assert!(parse_cmake_version("cmake version 3.25.1").unwrap() < CMAKE_MIN);
        assert_eq!(parse_cmake_version("garbage"), None);
    }
}
