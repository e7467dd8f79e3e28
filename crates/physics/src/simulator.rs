//! The [`Simulator`] trait every experiment implements, and what is generic over it.

use crate::error::{Error, Result};
use crate::params::ParamSpace;
use crate::rng::Domain;
use ndarray::Array2;
use rayon::prelude::*;

/// A trajectory: frames × state components (grid values, or ball coordinates).
pub type Trajectory = Array2<f64>;

/// A trajectory with its derivatives: `tangents[j]` = ∂Y/∂X_j.
#[derive(Debug, Clone)]
pub struct Tangents {
    /// Y itself.
    pub trajectory: Trajectory,
    /// ∂Y/∂X_j for each parameter j, each shaped like Y.
    pub tangents: Vec<Trajectory>,
}

/// A deterministic, differentiable forward model X ↦ Y = P(Y0, X).
///
/// Implementations accept any finite X: it is folded into the box first ([`ParamSpace::fold`]),
/// and gradients are carried back through the fold.
pub trait Simulator: Send + Sync {
    /// The experiment name (`burgers`, `ks`, ...).
    fn name(&self) -> &str;
    /// The parameter box.
    fn param_space(&self) -> &ParamSpace;
    /// (frames, state components) of every trajectory.
    fn trajectory_shape(&self) -> (usize, usize);
    /// The time of each saved frame.
    fn frame_times(&self) -> Vec<f64>;
    /// A coordinate for each state component (grid points for PDEs; 0, 1, ... otherwise).
    fn state_axis(&self) -> Vec<f64>;
    /// Runs the simulation.
    fn simulate(&self, x: &[f64]) -> Result<Trajectory>;
    /// Runs the simulation into `out`: the trajectory's frames × components, row after row
    /// (`out.len()` must be frames · components).
    ///
    /// For callers that keep many trajectories in one block (dataset generation): a simulator
    /// that builds its frames in place saves an allocation and a copy per run, which for a
    /// microsecond-scale simulation like billiards is as much time as the physics. The default
    /// runs [`Simulator::simulate`] and copies.
    ///
    /// ```
    /// use proxyland_physics::experiment;
    /// let sim = experiment("billiards2d")?;
    /// let (frames, components) = sim.trajectory_shape();
    /// let mut block = vec![0.0; 2 * frames * components]; // room for two trajectories
    /// let (first, second) = block.split_at_mut(frames * components);
    /// sim.simulate_into(&[1.2, 0.3], first)?;
    /// sim.simulate_into(&[0.8, -0.2], second)?;
    /// assert_eq!(first, sim.simulate(&[1.2, 0.3])?.as_slice().unwrap());
    /// # Ok::<(), proxyland_physics::Error>(())
    /// ```
    fn simulate_into(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let shape = self.trajectory_shape();
        check_buffer(self.name(), shape, out.len())?;
        let y = self.simulate(x)?;
        if y.dim() != shape {
            return Err(Error::TrajectorySize {
                experiment: self.name().to_string(),
                expected: shape,
                got: y.len(),
            });
        }
        out.iter_mut().zip(y.iter()).for_each(|(o, v)| *o = *v);
        Ok(())
    }
    /// The trajectory and its exact derivative w.r.t. each X_j (the Jacobian, one trajectory-shaped
    /// array per parameter), carried back through the fold into the box.
    fn simulate_with_tangents(&self, x: &[f64]) -> Result<Tangents>;
    /// Field solves one [`Simulator::simulate_with_tangents`] costs, counted against a plain
    /// [`Simulator::simulate`] as 1: forward-mode tangents carry one field per parameter beside
    /// the trajectory, so 1 + d by default. Budgets in field solves use it, so that a method
    /// that asks for gradients is charged for them.
    fn tangent_cost(&self) -> usize {
        1 + self.param_space().dim()
    }
    /// The configuration loss L(Y*, X) = mean (P(Y0, X) − Y*)² and its exact gradient w.r.t. X.
    fn loss_and_grad(&self, x: &[f64], target: &Trajectory) -> Result<(f64, Vec<f64>)> {
        check_target(self.name(), self.trajectory_shape(), target)?;
        let run = self.simulate_with_tangents(x)?;
        let residual = &run.trajectory - target;
        let scale = 1.0 / residual.len() as f64;
        let loss = residual.iter().map(|r| r * r).sum::<f64>() * scale;
        let grad = run
            .tangents
            .iter()
            .map(|t| 2.0 * scale * residual.iter().zip(t).map(|(r, t)| r * t).sum::<f64>())
            .collect();
        Ok((loss, grad))
    }
    /// The configuration loss alone (one forward solve, no tangents).
    fn loss(&self, x: &[f64], target: &Trajectory) -> Result<f64> {
        check_target(self.name(), self.trajectory_shape(), target)?;
        Ok(configuration_loss(&self.simulate(x)?, target))
    }
    /// Whether (X, Y) makes an identifiable target. Billiards reject shots that hit nothing.
    fn is_admissible_target(&self, _x: &[f64], _y: &Trajectory) -> bool {
        true
    }
    /// Experiments with one fixed target (E0's global minimum) return it here.
    fn fixed_target(&self) -> Option<Vec<f64>> {
        None
    }
}

/// mean over frames and components of (y − target)².
pub fn configuration_loss(y: &Trajectory, target: &Trajectory) -> f64 {
    let n = y.len() as f64;
    y.iter()
        .zip(target.iter())
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / n
}

/// Rejects a buffer that cannot hold exactly one trajectory of `shape`, naming the experiment.
pub(crate) fn check_buffer(name: &str, shape: (usize, usize), len: usize) -> Result<()> {
    if len == shape.0 * shape.1 {
        Ok(())
    } else {
        Err(Error::TrajectorySize {
            experiment: name.to_string(),
            expected: shape,
            got: len,
        })
    }
}

/// Rejects a target of the wrong shape or with non-finite entries, naming the experiment.
pub(crate) fn check_target(name: &str, shape: (usize, usize), target: &Trajectory) -> Result<()> {
    if target.dim() != shape {
        return Err(Error::TargetShape {
            experiment: name.to_string(),
            expected: shape,
            got: target.dim(),
        });
    }
    if let Some((frame, _)) = target
        .outer_iter()
        .enumerate()
        .find(|(_, row)| row.iter().any(|v| !v.is_finite()))
    {
        return Err(Error::NonFiniteTarget {
            experiment: name.to_string(),
            frame,
        });
    }
    Ok(())
}

/// Simulates many parameter vectors in parallel (rayon). Each result is independent of the
/// thread count: simulations share nothing.
pub fn simulate_batch(sim: &dyn Simulator, xs: &[Vec<f64>]) -> Vec<Result<Trajectory>> {
    xs.par_iter().map(|x| sim.simulate(x)).collect()
}

/// Draws target number `index` of the stream `seed`: X uniform in the box, redrawn until the
/// experiment calls it admissible (docs/spec.md: billiards shots must move an object ball).
/// Every caller (dataset generation, evaluation, the CLI) uses this one rule.
///
/// ```
/// use proxyland_physics::{experiment, sample_target};
/// let sim = experiment("billiards2d")?;
/// let (x, y) = sample_target(sim.as_ref(), 7, 0)?;
/// assert!(sim.is_admissible_target(&x, &y));
/// assert_eq!(sample_target(sim.as_ref(), 7, 0)?.0, x); // deterministic
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
pub fn sample_target(sim: &dyn Simulator, seed: u64, index: u64) -> Result<(Vec<f64>, Trajectory)> {
    if let Some(x) = sim.fixed_target() {
        let y = sim.simulate(&x)?;
        return Ok((x, y));
    }
    const TRIES: usize = 10_000;
    let mut stream = Domain::Target.stream(seed, index);
    let space = sim.param_space();
    for _ in 0..TRIES {
        let u: Vec<f64> = (0..space.dim()).map(|_| stream.uniform()).collect();
        let x = space.from_unit(&u);
        let y = sim.simulate(&x)?;
        if sim.is_admissible_target(&x, &y) {
            return Ok((x, y));
        }
    }
    Err(Error::NoTarget {
        experiment: sim.name().to_string(),
        tries: TRIES,
    })
}

/// The simulator of an experiment named in the spec, with the spec's settings: E0–E4 and the
/// scaling families `burgers-k{K}` and `ks-m{M}` (`burgers-k1` is E1 and `ks-m2` is E2, each
/// under its family name).
///
/// ```
/// let ks = proxyland_physics::experiment("ks")?;
/// assert_eq!(ks.trajectory_shape(), (41, 64));
/// assert_eq!(proxyland_physics::experiment("ks-m8")?.param_space().dim(), 8);
/// assert!(proxyland_physics::experiment("navier-stokes").is_err());
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
pub fn experiment(name: &str) -> Result<Box<dyn Simulator>> {
    use crate::registry::ScalingFamily;
    use crate::{Billiards, BilliardsConfig, Burgers, BurgersConfig, GramacyLee};
    use crate::{KsConfig, KuramotoSivashinsky};
    Ok(match name {
        "gramacy-lee" => Box::new(GramacyLee::new()),
        "burgers" => Box::new(Burgers::new(BurgersConfig::default())?),
        "ks" => Box::new(KuramotoSivashinsky::new(KsConfig::default())?),
        "ks-kt" => Box::new(KuramotoSivashinsky::kassam_trefethen_benchmark()?),
        "billiards2d" => Box::new(Billiards::new(BilliardsConfig::two_d())?),
        "billiards4d" => Box::new(Billiards::new(BilliardsConfig::four_d())?),
        other => match crate::registry::scaling_member(other) {
            Some((ScalingFamily::Burgers, sources)) => Box::new(Burgers::new(BurgersConfig {
                sources: Some(sources),
                ..BurgersConfig::default()
            })?),
            Some((ScalingFamily::Ks, modes)) => Box::new(KuramotoSivashinsky::new(KsConfig {
                modes: Some(modes),
                ..KsConfig::default()
            })?),
            None => return Err(Error::UnknownExperiment(other.to_string())),
        },
    })
}
