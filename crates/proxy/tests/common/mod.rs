//! Helpers shared by the proxy tests: tiny pools made on the fly.
#![allow(dead_code)]

use proxyland_dataset::{ExperimentConfig, GenerateOptions, Pool, generate};
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A pool of `samples` for a shipped config, with `edit` applied to the config text.
pub fn pool(
    dir: &Path,
    name: &str,
    samples: usize,
    edit: &dyn Fn(String) -> String,
) -> (ExperimentConfig, Pool) {
    let text = edit(std::fs::read_to_string(repo().join(format!("datasets/{name}.toml"))).unwrap());
    let cfg_path = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg_path, text).unwrap();
    let config = ExperimentConfig::load(&cfg_path).unwrap();
    let out = dir.join(format!("{name}.h5"));
    if !out.exists() {
        generate(
            &config,
            &out,
            &GenerateOptions::new(samples, 4, 11),
            &|_, _| {},
        )
        .unwrap();
    }
    (config, Pool::open(&out).unwrap())
}

pub fn no_edit(s: String) -> String {
    s
}

/// A safetensors file's tensors as raw bytes, by name: equal only when bit-identical.
pub fn weights(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    out.sort();
    out
}
