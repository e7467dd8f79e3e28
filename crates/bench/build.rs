// Embed libtorch's directory as an rpath so this crate's tests and examples run without
// LD_LIBRARY_PATH (tch itself gives the final binary none).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
