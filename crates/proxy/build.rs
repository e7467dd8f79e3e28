// Embed libtorch's directory as an rpath so this crate's tests and examples run without
// LD_LIBRARY_PATH (tch itself gives the final binary none), and record which libtorch build we
// link (results files name it: CPU kernels differ between builds).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let mut version = String::from("unknown");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        // A PyPI wheel's libtorch sits in torch/lib beside torch/version.py.
        let version_py = std::path::Path::new(&lib).join("../version.py");
        println!("cargo:rerun-if-changed={}", version_py.display());
        if let Ok(text) = std::fs::read_to_string(&version_py) {
            if let Some(v) = text.lines().find_map(|l| {
                let rest = l.trim().strip_prefix("__version__")?.trim_start();
                let rest = rest.strip_prefix('=')?.trim();
                Some(rest.trim_matches(|c| c == '\'' || c == '"').to_string())
            }) {
                version = v;
            }
        }
    }
    println!("cargo:rustc-env=PROXYLAND_LIBTORCH_VERSION={version}");
}
