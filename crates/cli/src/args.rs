//! Argument parsing and input reading shared by several subcommands: one home, so that no
//! subcommand imports another's helpers.

use anyhow::{Context, Result, bail};
use proxyland_dataset::Pool;
use proxyland_optim::{Results, SampleLibrary};
use proxyland_physics::Simulator;
use std::path::Path;

/// The refusal of `--resume --force` (generate, train and train-inverse).
pub const RESUME_AND_FORCE: &str = "--resume and --force contradict each other: --resume continues the file, --force replaces \
     it; give one of them";

/// Parses comma-separated parameters given with `flag`; every entry must be a finite number.
pub fn parse_params(raw: &[String], flag: &str) -> Result<Vec<f64>> {
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let v: f64 = s
                .trim()
                .parse()
                .with_context(|| format!("{flag} entry {} (`{s}`) is not a number", i + 1))?;
            if !v.is_finite() {
                bail!("{flag} entry {} is {v}; parameters must be finite", i + 1);
            }
            Ok(v)
        })
        .collect()
}

/// Refuses parameters (given with `flag`) outside the experiment's box, unless the user asks for
/// folding with `--fold`: a value past a face is more often a typo than a wish.
pub fn inside_box(sim: &dyn Simulator, x: &[f64], flag: &str) -> Result<()> {
    sim.param_space()
        .check_inside(sim.name(), x)
        .with_context(|| {
            format!(
                "{flag} lies outside the box (pass --fold to fold it in: periodic coordinates \
                 wrap, the others mirror)"
            )
        })
}

/// Whether `--horizon` (given as `flag`) asks for continuation; `default` when not given.
pub fn horizon_is_continuation(flag: Option<&str>, default: bool) -> Result<bool> {
    match flag {
        None => Ok(default),
        Some("continuation") => Ok(true),
        Some("full") => Ok(false),
        Some(other) => bail!("--horizon {other}: choose continuation or full"),
    }
}

/// A results file (`proxyland evaluate`), refused with its path when unreadable, garbled or
/// newer than this build.
pub fn read_results(path: &Path) -> Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Results::from_json(path, &text)?)
}

/// The pool's valid samples as a lookup table for `pool-bfgs`.
pub fn library_of(pool: &Pool, sim: &dyn Simulator) -> Result<SampleLibrary> {
    let valid = pool.valid();
    let space = sim.param_space();
    let unit = ndarray::Array2::from_shape_fn((valid.len(), space.dim()), |(r, j)| {
        space.to_unit(&pool.params.row(valid[r]).to_vec())[j]
    });
    let trajectories = pool.trajectories.select(ndarray::Axis(0), &valid);
    SampleLibrary::new(unit, trajectories)
        .with_context(|| format!("{}: no usable samples for pool-bfgs", pool.path.display()))
}
