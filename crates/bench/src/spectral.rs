//! E1 (Burgers) and E2 (KS): forward solves and exact gradients against NumPy and Exponax, and the
//! FFT floor of our solver.

use crate::reference::Python;
use crate::report::{Row, Section};
use crate::timing::{self, Timing, pretty};
use crate::{Sizes, npy};
use anyhow::{Context, Result};
use proxyland_physics::rng::Domain;
use proxyland_physics::spectral::{C64, FourierGrid};
use proxyland_physics::{
    Burgers, BurgersConfig, KsConfig, KuramotoSivashinsky, Simulator, Trajectory, simulate_batch,
};
use rayon::prelude::*;
use serde_json::json;
use std::path::Path;

/// What the reference scripts need to rebuild the same discretization.
struct Case {
    name: &'static str,
    sim: Box<dyn Simulator>,
    settings: serde_json::Value,
    steps: usize,
}

fn burgers() -> Result<Case> {
    let c = BurgersConfig::default();
    let settings = json!({
        "experiment": "burgers", "n": c.n, "length": std::f64::consts::TAU,
        "viscosity": c.viscosity, "forcing_amplitude": c.forcing_amplitude,
        "forcing_width": c.forcing_width, "dealias": c.dealias, "dt": c.dt, "steps": c.steps,
        "frame_every": c.frame_every, "contour_points": c.contour_points,
        "contour_radius": c.contour_radius,
    });
    Ok(Case {
        name: "burgers",
        steps: c.steps,
        sim: Box::new(Burgers::new(c)?),
        settings,
    })
}

fn ks() -> Result<Case> {
    let c = KsConfig::default();
    let settings = json!({
        "experiment": "ks", "n": c.n, "length": c.length, "dt": c.dt, "steps": c.steps,
        "frame_every": c.frame_every, "contour_points": c.contour_points,
        "contour_radius": c.contour_radius,
    });
    Ok(Case {
        name: "ks",
        steps: c.steps,
        sim: Box::new(KuramotoSivashinsky::new(c)?),
        settings,
    })
}

/// Parameters strictly inside the box (the references do not fold), from a seeded stream.
fn interior_points(sim: &dyn Simulator, seed: u64, count: usize) -> Vec<Vec<f64>> {
    let space = sim.param_space();
    let mut rng = Domain::Scratch.stream(seed, 0);
    (0..count)
        .map(|_| {
            let u: Vec<f64> = (0..space.dim())
                .map(|_| 0.05 + 0.9 * rng.uniform())
                .collect();
            space.from_unit(&u)
        })
        .collect()
}

fn flat(a: &ndarray::Array2<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

/// Time of one rfft + irfft pair on an N-point grid, through the same code the solver uses.
fn fft_pair_seconds(n: usize) -> f64 {
    let grid = FourierGrid::new(n, 1.0);
    let mut scratch = grid.scratch();
    let u: Vec<f64> = (0..n).map(|j| (j as f64 * 0.37).sin()).collect();
    let mut spectrum = vec![C64::default(); grid.modes()];
    let mut back = vec![0.0; n];
    let reps = 1000;
    let t = timing::median(5, 0.3, || {
        for _ in 0..reps {
            grid.to_spectral(&u, &mut spectrum, &mut scratch);
            grid.to_physical(&spectrum, &mut back, &mut scratch);
        }
        back[0]
    });
    t.median_s / reps as f64
}

/// Exports the case, times ours, runs the references; one report section.
pub fn compare(
    experiment: &str,
    work: &Path,
    python: Option<&Python>,
    sizes: &Sizes,
) -> Result<Section> {
    let case = match experiment {
        "burgers" => burgers()?,
        _ => ks()?,
    };
    let sim = case.sim.as_ref();
    let dir = work.join(case.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let d = sim.param_space().dim();
    let (frames, n) = sim.trajectory_shape();

    let points = interior_points(sim, 7, sizes.batch + 2);
    let (x, x_star, batch) = (&points[0], &points[1], &points[2..]);
    let target = export_case(&case, &dir, x, x_star, batch)?;

    tracing::info!(experiment, "timing proxyland");
    let ours = time_ours(sim, x, &target, batch)?;

    let mut section = Section::new(match case.name {
        "burgers" => "E1 Burgers: forward solve and exact gradient",
        _ => "E2 Kuramoto–Sivashinsky: forward solve and exact gradient",
    });
    section.intro.push(format!(
        "N = {n}, {} ETDRK4 steps, {frames} frames, X ∈ R^{d}. proxyland's gradient is the \
         tangent-linear (forward-mode) solve; batches run on rayon's {} threads.",
        case.steps,
        rayon::current_num_threads()
    ));
    reference_rows(&mut section, python, &dir, batch.len(), &ours)?;
    floor_notes(&mut section, &case, &ours);
    Ok(section)
}

/// Writes what the reference scripts read into `dir`: the case's settings; X (`x`), the
/// target (simulated at `x_star`), our trajectory and our loss + gradient at X; the batch's
/// parameters, trajectories and losses + gradients; and, for KS, the background. Returns the
/// target.
fn export_case(
    case: &Case,
    dir: &Path,
    x: &[f64],
    x_star: &[f64],
    batch: &[Vec<f64>],
) -> Result<Trajectory> {
    let sim = case.sim.as_ref();
    let d = sim.param_space().dim();
    let (frames, n) = sim.trajectory_shape();
    let target = sim.simulate(x_star)?;
    let traj = sim.simulate(x)?;
    let (loss, grad) = sim.loss_and_grad(x, &target)?;
    let batch_traj: Vec<f64> = simulate_batch(sim, batch)
        .into_iter()
        .map(|r| r.map(|y| flat(&y)))
        .collect::<proxyland_physics::Result<Vec<_>>>()?
        .concat();
    let batch_lg: Vec<f64> = batch
        .iter()
        .map(|x| {
            sim.loss_and_grad(x, &target)
                .map(|(l, g)| std::iter::once(l).chain(g).collect::<Vec<_>>())
        })
        .collect::<proxyland_physics::Result<Vec<_>>>()?
        .concat();

    std::fs::write(
        dir.join("case.json"),
        serde_json::to_string_pretty(&case.settings)?,
    )?;
    npy::write(dir, "x", &[d], x)?;
    npy::write(dir, "target", &[frames, n], &flat(&target))?;
    npy::write(dir, "traj", &[frames, n], &flat(&traj))?;
    let lg: Vec<f64> = std::iter::once(loss).chain(grad).collect();
    npy::write(dir, "loss_grad", &[1 + d], &lg)?;
    let bx: Vec<f64> = batch.concat();
    npy::write(dir, "batch_x", &[batch.len(), d], &bx)?;
    npy::write(dir, "batch_traj", &[batch.len(), frames, n], &batch_traj)?;
    npy::write(dir, "batch_loss_grad", &[batch.len(), 1 + d], &batch_lg)?;
    if case.name == "ks" {
        // u0 at X = 0 is the spec's background b(x).
        let y0 = sim.simulate(&vec![0.0; d])?;
        npy::write(dir, "background", &[n], &y0.row(0).to_vec())?;
    }
    Ok(target)
}

/// proxyland's medians: forward and loss + gradient at X, the same over the batch on all
/// threads, and the batch's forward on 1 thread.
struct OurTimes {
    forward: Timing,
    gradient: Timing,
    forward_batch: Timing,
    gradient_batch: Timing,
    forward_batch_1: Timing,
}

/// Times our forward solves and gradients at `x` and over `batch`, against `target`.
fn time_ours(
    sim: &dyn Simulator,
    x: &[f64],
    target: &Trajectory,
    batch: &[Vec<f64>],
) -> Result<OurTimes> {
    let forward = timing::median(5, 1.0, || sim.simulate(x));
    let gradient = timing::median(5, 1.0, || sim.loss_and_grad(x, target));
    let forward_batch = timing::median(3, 1.0, || simulate_batch(sim, batch));
    let gradient_batch = timing::median(3, 1.0, || {
        batch
            .par_iter()
            .map(|x| sim.loss_and_grad(x, target))
            .collect::<Vec<_>>()
    });
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let forward_batch_1 =
        one_thread.install(|| timing::median(3, 1.0, || simulate_batch(sim, batch)));
    Ok(OurTimes {
        forward,
        gradient,
        forward_batch,
        gradient_batch,
        forward_batch_1,
    })
}

/// Runs the NumPy and Exponax references on the case in `dir` (where there is an interpreter)
/// and adds the four timed rows (the batches of `b`), ours beside theirs.
fn reference_rows(
    section: &mut Section,
    python: Option<&Python>,
    dir: &Path,
    b: usize,
    times: &OurTimes,
) -> Result<()> {
    let names = ["NumPy", "Exponax (JAX)"];
    let mut results = Vec::new();
    if let Some(py) = python {
        for (script, name) in [
            ("etdrk4_numpy.py", "numpy"),
            ("etdrk4_exponax.py", "exponax"),
        ] {
            results.push(Some(py.run(script, name, dir)?));
        }
        section.reference_names = names.iter().map(|s| s.to_string()).collect();
    }
    let refs = |key: &str| -> Vec<Option<f64>> {
        results
            .iter()
            .map(|r| r.as_ref().and_then(|r| r.seconds(key)))
            .collect()
    };
    for (what, ours, key) in [
        ("forward, 1 trajectory", times.forward, "forward"),
        ("loss + gradient, 1 trajectory", times.gradient, "gradient"),
        (
            &*format!("forward, batch of {b}"),
            times.forward_batch,
            "forward_batch",
        ),
        (
            &*format!("loss + gradient, batch of {b}"),
            times.gradient_batch,
            "gradient_batch",
        ),
    ] {
        section.rows.push(Row {
            what: what.to_string(),
            ours: ours.median_s,
            references: refs(key),
        });
    }
    section.references = results.into_iter().flatten().collect();
    Ok(())
}

/// The notes on our gradient's cost against the forward solve's, the batch on 1 thread, and
/// the FFT floor of a step.
fn floor_notes(section: &mut Section, case: &Case, ours: &OurTimes) {
    let sim = case.sim.as_ref();
    let d = sim.param_space().dim();
    let (_, n) = sim.trajectory_shape();
    let OurTimes {
        forward,
        gradient,
        forward_batch,
        forward_batch_1,
        ..
    } = *ours;
    // The floor: the FFTs a step cannot avoid (one rfft + irfft pair per stage and field).
    let pair = fft_pair_seconds(n);
    let flops_pair = 5.0 * n as f64 * (n as f64).log2(); // 2 × 2.5 N log2 N (real FFT)
    let fft_forward = case.steps as f64 * 4.0 * pair;
    let fft_gradient = case.steps as f64 * 4.0 * (1 + d) as f64 * pair;
    section.notes.push(format!(
        "Gradient / forward (proxyland): {:.2}× (the tangent-linear bound is 1 + d = {}). \
         The batch on 1 thread takes {} ({:.2}× the {}-thread time).",
        gradient.median_s / forward.median_s,
        1 + d,
        pretty(forward_batch_1.median_s),
        forward_batch_1.median_s / forward_batch.median_s,
        rayon::current_num_threads(),
    ));
    section.notes.push(format!(
        "FFT floor: a step evaluates the nonlinear term 4 times, each an rfft + irfft pair per \
         field; one pair at N = {n} takes {} here (≈{:.1} GFLOP/s at 5 N log2 N flops). The \
         forward solve's {} pairs need {} ({:.0}% of the measured {}); the gradient's {} pairs \
         need {} ({:.0}% of {}). The rest is the ETDRK4 combinations, products and frame output.",
        pretty(pair),
        flops_pair / pair * 1e-9,
        case.steps * 4,
        pretty(fft_forward),
        100.0 * fft_forward / forward.median_s,
        pretty(forward.median_s),
        case.steps * 4 * (1 + d),
        pretty(fft_gradient),
        100.0 * fft_gradient / gradient.median_s,
        pretty(gradient.median_s),
    ));
}
