//! `proxyland info FILE`: what a pool, trajectory or checkpoint file holds.

use anyhow::Result;
use proxyland_dataset::{Pool, TrajectoryFile};
use std::path::Path;

pub fn run(path: &Path) -> Result<()> {
    // A trajectory file says so in its `kind` attribute; everything else is tried as a pool.
    if let Ok(t) = TrajectoryFile::read(path) {
        println!(
            "{}: trajectory of {} at {} = {:?}\nshape: {} frames × {} components (t = {} .. {})",
            path.display(),
            t.experiment,
            t.param_names.join(", "),
            t.params,
            t.trajectory.nrows(),
            t.trajectory.ncols(),
            t.time.first().copied().unwrap_or(0.0),
            t.time.last().copied().unwrap_or(0.0),
        );
        return Ok(());
    }
    let pool = Pool::open(path)?;
    println!("{}", pool.describe());
    Ok(())
}
