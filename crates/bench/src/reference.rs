//! Running a reference script on an exported case and reading what it measured.

use crate::timing::Timing;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the reference scripts are and which interpreter runs them.
#[derive(Debug, Clone)]
pub struct Python {
    pub interpreter: PathBuf,
    pub scripts: PathBuf,
    /// Threads the references may use (torch.set_num_threads, ...), as ours.
    pub threads: usize,
}

/// One agreement check the script ran before timing.
#[derive(Debug, Clone, Deserialize)]
pub struct Check {
    pub quantity: String,
    pub max_rel_err: f64,
    pub tolerance: f64,
    pub passed: bool,
}

/// What a reference script wrote (`<case>/<name>.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceResult {
    pub implementation: String,
    pub versions: BTreeMap<String, String>,
    pub threads: String,
    pub checks: Vec<Check>,
    pub timings: BTreeMap<String, Timing>,
    #[serde(default)]
    pub notes: String,
}

impl ReferenceResult {
    /// The median of timing `key`, if the script measured it.
    pub fn seconds(&self, key: &str) -> Option<f64> {
        self.timings.get(key).map(|t| t.median_s)
    }
}

impl<'de> Deserialize<'de> for Timing {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            median_s: f64,
            reps: usize,
        }
        let r = Raw::deserialize(d)?;
        Ok(Timing {
            median_s: r.median_s,
            reps: r.reps,
        })
    }
}

impl Python {
    /// Runs `<scripts>/<script> <case_dir>` and reads `<case_dir>/<name>.json`. A script that
    /// fails (including a failed agreement check) is an error carrying its stderr.
    pub fn run(&self, script: &str, name: &str, case_dir: &Path) -> Result<ReferenceResult> {
        let out = case_dir.join(format!("{name}.json"));
        let _ = std::fs::remove_file(&out);
        tracing::info!(script, case = %case_dir.display(), "running reference");
        let output = Command::new(&self.interpreter)
            .arg(self.scripts.join(script))
            .arg(case_dir)
            .env("PROXYLAND_BENCH_THREADS", self.threads.to_string())
            .env("OMP_NUM_THREADS", self.threads.to_string())
            .output()
            .with_context(|| format!("starting {}", self.interpreter.display()))?;
        if !output.status.success() {
            bail!(
                "{script} on {} failed ({}):\n{}",
                case_dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let text = std::fs::read_to_string(&out)
            .with_context(|| format!("{script} wrote no {}", out.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", out.display()))
    }
}
