//! `cargo xtask reproduce`: the whole pipeline, driven through the `proxyland` binary.
//!
//! Only the stages whose subcommands exist are run; the others are named as not built yet, so the
//! command never pretends to produce results it cannot.

use anyhow::{Result, bail};
use std::path::Path;

pub fn run(repo: &Path, args: &[String]) -> Result<()> {
    let mut profile = "quick".to_string();
    let mut experiments: Vec<String> =
        ["gramacy-lee", "burgers", "ks", "billiards2d", "billiards4d"]
            .map(String::from)
            .to_vec();
    let mut out = repo.join("results");
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--profile" => profile = value()?,
            "--experiments" => experiments = value()?.split(',').map(String::from).collect(),
            "--out" => out = value()?.into(),
            other => bail!("reproduce: unknown flag `{other}`"),
        }
    }
    if profile != "quick" && profile != "paper" {
        bail!("--profile must be `quick` or `paper`, got `{profile}`");
    }
    crate::cargo(
        repo,
        &["build", "--release", "--locked", "--package", "proxyland"],
    )?;
    eprintln!(
        "[reproduce] profile {profile}, experiments {}, output {}",
        experiments.join(","),
        out.display()
    );
    bail!(
        "the pipeline stages (generate, train, evaluate, report) are not built yet; \
         nothing was written to {}",
        out.display()
    )
}
