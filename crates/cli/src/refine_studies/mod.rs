//! The studies of results/scaling/REFINE.md beyond the choice of refinement: horizon
//! continuation against one-shot fitting, learned starts against the pool's lookup, and what
//! limits each member (`proxyland limits`). Each reads its own file of a member's run folder
//! and is left out where the profile did not write it.

mod confirmation;
mod limits;
mod paired;

pub use confirmation::{confirmation_section, data_requirement_section};
pub use limits::limits_section;
pub use paired::{continuation_section, learned_section};

use crate::args::read_results;
use anyhow::{Context, Result};
use proxyland_optim::Results;
use proxyland_optim::limits::MemberLimits;
use std::path::Path;

/// The pool lookup every study compares against.
const POOL: &str = "pool-bfgs";
/// The learned starts: the inverse network alone, and its start ahead of the pool's.
const LEARNED: [&str; 2] = ["inverse-net[supervised]", "inverse-pool[supervised]"];
/// The variant the study picked, on fresh targets.
pub const CHOSEN: &str = "inverse-pool[supervised]";

/// One member's extra runs.
pub struct Studies {
    /// `pool-bfgs` refined by LM under horizon continuation (`eval-lm-continuation.json`).
    pub continuation: Option<Results>,
    /// `pool-bfgs`, `inverse-net` and `inverse-pool`, refined by LM, stopping at the first
    /// start that fits (`eval-learned.json`).
    pub learned: Option<Results>,
    /// The same three under horizon continuation (`eval-learned-continuation.json`).
    pub learned_continuation: Option<Results>,
    /// What limits the member (`limits.json`).
    pub limits: Option<MemberLimits>,
    /// The chosen variant and the lookup on fresh targets (`eval-confirm.json`).
    pub confirm: Option<Results>,
    /// The learned-start study under continuation on nested pools of other sizes
    /// (`pool-<n>/eval-learned-continuation.json`), smallest first.
    pub pool_sizes: Vec<Results>,
}

fn read_optional<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{}: not a file proxyland wrote", path.display()))
}

/// A results file that may not have been written (a study not run).
fn optional_results(path: &Path) -> Result<Option<Results>> {
    if path.exists() {
        Ok(Some(read_results(path)?))
    } else {
        Ok(None)
    }
}

/// Every `pool-<n>/eval-learned-continuation.json` under `dir`, by pool size.
fn read_pool_sizes(dir: &Path) -> Result<Vec<Results>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let sized = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("pool-"))
            .is_some_and(|n| n.parse::<usize>().is_ok());
        let file = path.join("eval-learned-continuation.json");
        if sized && file.exists() {
            found.push(read_results(&file)?);
        }
    }
    found.sort_by_key(|r| r.pool_simulations.unwrap_or(0));
    Ok(found)
}

impl Studies {
    /// Reads a member's run folder; a missing file is a study not run.
    pub fn read(dir: &Path) -> Result<Studies> {
        Ok(Studies {
            continuation: optional_results(&dir.join("eval-lm-continuation.json"))?,
            learned: optional_results(&dir.join("eval-learned.json"))?,
            learned_continuation: optional_results(&dir.join("eval-learned-continuation.json"))?,
            limits: read_optional(&dir.join("limits.json"))?,
            confirm: optional_results(&dir.join("eval-confirm.json"))?,
            pool_sizes: read_pool_sizes(dir)?,
        })
    }
}

/// A member as the studies see it: name, d, its LM-refined `pool-bfgs` run, its studies.
pub struct StudiedMember<'a> {
    pub name: &'a str,
    pub d: usize,
    pub lm: &'a Results,
    pub studies: &'a Studies,
}
