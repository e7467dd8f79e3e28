//! E3 billiards: one simulation and a batch against a NumPy event-driven reference.

use crate::reference::Python;
use crate::report::{Row, Section};
use crate::timing::{self, pretty};
use crate::{Sizes, npy};
use anyhow::Result;
use proxyland_physics::rng::Domain;
use proxyland_physics::{Billiards, BilliardsConfig, Simulator, simulate_batch};
use serde_json::json;
use std::path::Path;

pub fn compare(work: &Path, python: Option<&Python>, sizes: &Sizes) -> Result<Section> {
    let c = BilliardsConfig::two_d();
    let settings = json!({
        "variant": "2d", "radius": c.radius, "friction": c.friction, "cue_start": c.cue_start,
        "objects": c.objects, "frame_dt": c.frame_dt, "frames": c.frames,
        "max_events": c.max_events,
    });
    let sim = Billiards::new(c)?;
    let dir = work.join("billiards2d");
    std::fs::create_dir_all(&dir)?;
    let space = sim.param_space();
    let (frames, cols) = sim.trajectory_shape();
    let mut rng = Domain::Scratch.stream(11, 0);
    let mut draw = || {
        let u: Vec<f64> = (0..space.dim()).map(|_| rng.uniform()).collect();
        space.from_unit(&u)
    };
    // A shot that hits the first object ball, so the single run has collisions.
    let x = vec![1.2, 0.0];
    let batch: Vec<Vec<f64>> = (0..sizes.billiards_batch).map(|_| draw()).collect();
    let traj = sim.simulate(&x)?;
    let batch_traj: Vec<f64> = simulate_batch(&sim, &batch)
        .into_iter()
        .map(|r| r.map(|y| y.iter().copied().collect::<Vec<_>>()))
        .collect::<proxyland_physics::Result<Vec<_>>>()?
        .concat();
    std::fs::write(
        dir.join("case.json"),
        serde_json::to_string_pretty(&settings)?,
    )?;
    npy::write(&dir, "x", &[x.len()], &x)?;
    npy::write(
        &dir,
        "traj",
        &[frames, cols],
        &traj.iter().copied().collect::<Vec<_>>(),
    )?;
    npy::write(
        &dir,
        "batch_x",
        &[batch.len(), space.dim()],
        &batch.concat(),
    )?;
    npy::write(
        &dir,
        "batch_traj",
        &[batch.len(), frames, cols],
        &batch_traj,
    )?;

    let forward = timing::median(20, 1.0, || sim.simulate(&x));
    let gradient = timing::median(20, 1.0, || sim.simulate_with_tangents(&x));
    let forward_batch = timing::median(5, 1.0, || simulate_batch(&sim, &batch));
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let forward_batch_1 =
        one_thread.install(|| timing::median(5, 1.0, || simulate_batch(&sim, &batch)));

    let mut section = Section::new("E3 billiards (2D): event-driven simulation");
    section.intro.push(format!(
        "Three balls, {frames} frames, linear friction. The single shot (vx, vy) = (1.2, 0) hits \
         the first object ball; the batch is {} seeded shots across the box.",
        batch.len()
    ));
    let result = match python {
        Some(py) => {
            section.reference_names = vec!["NumPy".into()];
            Some(py.run("billiards_numpy.py", "numpy", &dir)?)
        }
        None => None,
    };
    let r = |key: &str| vec![result.as_ref().and_then(|r| r.seconds(key))];
    section.rows.push(Row {
        what: "one simulation".into(),
        ours: forward.median_s,
        references: r("forward"),
    });
    section.rows.push(Row {
        what: format!("batch of {}", batch.len()),
        ours: forward_batch.median_s,
        references: r("forward_batch"),
    });
    section.references.extend(result);
    section.notes.push(format!(
        "proxyland's batch runs on {} rayon threads; on 1 thread it takes {} ({:.2}×). With exact \
         gradients (dual numbers, contact times included) one simulation takes {} ({:.2}× the \
         plain one; the NumPy reference has no gradient).",
        rayon::current_num_threads(),
        pretty(forward_batch_1.median_s),
        forward_batch_1.median_s / forward_batch.median_s,
        pretty(gradient.median_s),
        gradient.median_s / forward.median_s
    ));
    Ok(section)
}
