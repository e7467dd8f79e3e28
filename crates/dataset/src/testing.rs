//! Test support for the workspace's own tests (not part of the API users build on): the
//! shipped configs, shrunk so a pool takes milliseconds, by replacements that must apply.

use std::path::{Path, PathBuf};

/// The workspace root (where `datasets/` lives), from a crate's manifest folder.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `text` with `from` replaced by `to`; panics when `from` is not in it: a fixture that
/// silently stopped shrinking anything would make the tests slow and prove nothing new.
///
/// ```
/// use proxyland_dataset::testing::replaced;
/// assert_eq!(replaced("n = 128", "n = 128", "n = 32"), "n = 32");
/// ```
pub fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "`{from}` is no longer in the config; update the test fixture"
    );
    text.replace(from, to)
}

/// The grid and horizon replacements that make a Burgers-family config tiny.
pub const TINY_BURGERS: [(&str, &str); 2] = [("n = 128", "n = 32"), ("steps = 400", "steps = 40")];

/// `datasets/<name>.toml` with every replacement applied (each must apply).
pub fn shrunk_config_text(name: &str, replacements: &[(&str, &str)]) -> String {
    let source = repo().join("datasets").join(format!("{name}.toml"));
    let text =
        std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    replacements
        .iter()
        .fold(text, |text, (from, to)| replaced(&text, from, to))
}
