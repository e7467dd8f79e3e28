//! The physics stage: the supervised network trained on the physics loss of pool trajectories
//! through the simulator's exact gradient, and its validation scoring.

use super::net::InverseNet;
use super::run::{InverseRun, Stage};
use super::tensors::{permutation, predict_rows, rows_of, trajectory_tensor};
use super::{InverseEpoch, InverseTraining, PhysicsSelection};
use crate::adam::Adam;
use crate::error::Result;
use crate::training_core::Patience;
use proxyland_dataset::Pool;
use proxyland_optim::stats::upper_median;
use proxyland_physics::rng::Domain;
use proxyland_physics::{ParamSpace, Simulator};
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

/// Median over the validation targets of the physics loss of the network's prediction, and
/// the value-only simulator calls it took (one per target).
fn validation_physics_loss(
    net: &InverseNet,
    pool: &Pool,
    sim: &dyn Simulator,
    space: &ParamSpace,
    (traj_mean, traj_std): (f64, f64),
    device: Device,
) -> Result<(f64, usize)> {
    let u = predict_rows(
        net,
        &pool.validation_trajectories,
        traj_mean,
        traj_std,
        device,
    )?;
    let losses: Vec<f64> = u
        .par_iter()
        .enumerate()
        .map(|(i, u)| {
            let target = pool
                .validation_trajectories
                .index_axis(ndarray::Axis(0), i)
                .to_owned();
            sim.loss(&space.from_unit(u), &target)
                .ok()
                .filter(|l| l.is_finite())
                .unwrap_or(f64::INFINITY)
        })
        .collect();
    let n = losses.len();
    Ok((upper_median(losses).unwrap_or(f64::NAN), n))
}

/// The physics stage: minimizes L(Y, P(net(Y))) over pool trajectories through the simulator's
/// exact gradient, for up to `physics_epochs` epochs, stopping after `physics_patience` epochs
/// without a better validation score, and keeping the best epoch by that score (epoch 0, the
/// supervised start, included: physics training that does not help leaves the network as it
/// was, and the file says so).
pub(super) fn train_on_physics(
    run: &mut InverseRun,
    stage: &Stage,
    sim: &dyn Simulator,
) -> Result<()> {
    let (pool, space, opts) = (stage.pool, stage.space, stage.opts);
    let device = opts.device.tch();
    let selection = opts.physics_selection;
    run.meta.training.selection = Some(selection);
    // Scoring on the physics loss spends one value call per validation target, counted in the
    // one-off cost; chosen on parameter error (the pinned earlier protocol) it spends none, as
    // that protocol did not.
    let score = |net: &InverseNet, train_loss: Option<f64>| -> Result<(InverseEpoch, usize)> {
        let (loss, calls) = match selection {
            PhysicsSelection::PhysicsLoss => {
                let (loss, calls) =
                    validation_physics_loss(net, pool, sim, space, stage.normalization, device)?;
                (Some(loss), calls)
            }
            PhysicsSelection::ParameterError => (None, 0),
        };
        let epoch = InverseEpoch {
            train_loss,
            validation_error: (stage.validation_error)(net)?,
            validation_loss: loss,
        };
        Ok((epoch, calls))
    };
    let mut adam = Adam::new(&run.vs, stage.learning_rate * opts.physics_learning_rate);
    if !run.resume_into(&mut adam)? {
        let (start, calls) = score(&run.net, None)?;
        let training = &mut run.meta.training;
        training.validation_sim_calls += calls;
        (stage.on_epoch)("physics", 0, &start);
        training.chosen = "physics epoch 0 (the supervised network)".into();
        training.validation_error = start.validation_error;
        training.physics = vec![start];
        run.best.copy(&run.vs)?;
    }
    // Epoch 0 is the start; a resumed run goes on after its last recorded epoch.
    let start_epoch = run.meta.training.physics.len() - 1;
    let scores = || run.meta.training.physics.iter().map(|r| selection.score(r));
    let mut best_score = scores().fold(f64::INFINITY, f64::min);
    // The start is the baseline an epoch must beat.
    let baseline = scores().next().unwrap_or(f64::INFINITY);
    let mut patience = Patience::replayed(opts.physics_patience.max(1), baseline, scores().skip(1));
    let valid = pool.valid();
    tch::manual_seed(Domain::InverseTorch.torch_seed(opts.seed, 1));
    let order = permutation(valid.len())?;
    let data = PhysicsData {
        pool,
        sim,
        space,
        normalization: stage.normalization,
        device,
        samples: order
            .iter()
            .take(opts.physics_samples.max(1))
            .map(|&k| valid[k])
            .collect(),
        width: (0..space.dim()).map(|j| space.width(j)).collect(),
    };
    for epoch in start_epoch + 1..=opts.physics_epochs {
        if patience.exhausted() {
            break;
        }
        let (total, counted) = data.epoch(
            &run.net,
            &mut adam,
            opts.physics_batch.max(1),
            &mut run.meta.training,
        )?;
        // Every sample failing means the network now predicts where the simulator cannot go
        // (or predicts NaN): training has diverged; the best epoch so far is kept, and the
        // file says why training ended.
        if counted == 0 {
            let why = format!(
                "physics epoch {epoch}: every one of its {} simulations failed",
                data.samples.len()
            );
            tracing::warn!("{why}; keeping {}", run.meta.training.chosen);
            run.meta.training.physics_diverged = Some(why);
            break;
        }
        let train_loss = total / counted as f64;
        let (record, calls) = score(&run.net, Some(train_loss))?;
        let training = &mut run.meta.training;
        training.validation_sim_calls += calls;
        (stage.on_epoch)("physics", epoch, &record);
        training.physics.push(record);
        let improved = selection.score(&record) < best_score;
        if improved {
            best_score = selection.score(&record);
            training.chosen = format!("physics epoch {epoch}");
            training.validation_error = record.validation_error;
            run.best.copy(&run.vs)?;
        }
        patience.record(improved);
        run.after_epoch(&adam, epoch, start_epoch, opts.physics_epochs)?;
    }
    Ok(())
}

/// The pool trajectories physics training runs on, with what its epochs need to run them
/// through the network and the simulator.
struct PhysicsData<'a> {
    pool: &'a Pool,
    sim: &'a dyn Simulator,
    space: &'a ParamSpace,
    normalization: (f64, f64),
    device: Device,
    /// Pool indices of the trajectories trained on.
    samples: Vec<usize>,
    /// The box's widths: dL/du is dL/dX times them.
    width: Vec<f64>,
}

impl PhysicsData<'_> {
    /// One epoch: the samples in batches of `batch`, each one Adam step on the simulator's
    /// gradients (clipped) back-propagated through the network, its simulator calls and
    /// failures counted in `training`. Returns the summed loss of the samples that simulated
    /// and how many did.
    fn epoch(
        &self,
        net: &InverseNet,
        adam: &mut Adam,
        batch: usize,
        training: &mut InverseTraining,
    ) -> Result<(f64, usize)> {
        let (pool, sim, space) = (self.pool, self.sim, self.space);
        let (traj_mean, traj_std) = self.normalization;
        let (device, width) = (self.device, &self.width);
        let (mut total, mut counted) = (0.0, 0usize);
        for chunk in self.samples.chunks(batch) {
            let y = trajectory_tensor(&pool.trajectories, chunk, traj_mean, traj_std, device);
            let u = net.unit(&net.raw(&y));
            let rows = rows_of(&u)?;
            // dL/du of each sample from the simulator: one call with its gradient each.
            let grads: Vec<Option<(f64, Vec<f64>)>> = chunk
                .par_iter()
                .zip(&rows)
                .map(|(&i, u)| {
                    let target = pool.trajectories.index_axis(ndarray::Axis(0), i).to_owned();
                    sim.loss_and_grad(&space.from_unit(u), &target)
                        .ok()
                        .filter(|(l, g)| l.is_finite() && g.iter().all(|v| v.is_finite()))
                        .map(|(l, g)| (l, g.iter().zip(width).map(|(g, w)| g * w).collect()))
                })
                .collect();
            training.physics_sim_calls += chunk.len();
            training.physics_failed += grads.iter().filter(|g| g.is_none()).count();
            let (batch_loss, batch_counted, g) = clipped_gradients(&grads, space.dim());
            total += batch_loss;
            counted += batch_counted;
            let g = Tensor::from_slice(&g)
                .reshape([chunk.len() as i64, space.dim() as i64])
                .to_device(device);
            // d/dθ of Σ u·(dL/du) is Σ (dL/du)·du/dθ: the simulator's gradient, back-propagated.
            let surrogate = (&u * g).sum(Kind::Float) / chunk.len() as f64;
            adam.backward_step(&surrogate);
        }
        Ok((total, counted))
    }
}

/// The batch's summed loss, how many samples it counts, and the flattened (b × d) gradients,
/// each clipped at the batch's median norm (a failed sample contributes zeros): on a chaotic
/// system one sample's gradient can be orders of magnitude above the rest and would throw the
/// network.
pub(super) fn clipped_gradients(
    grads: &[Option<(f64, Vec<f64>)>],
    d: usize,
) -> (f64, usize, Vec<f32>) {
    let norms: Vec<f64> = grads
        .iter()
        .flatten()
        .map(|(_, g)| g.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let clip = upper_median(norms).unwrap_or(0.0);
    let (mut total, mut counted) = (0.0, 0);
    let mut flat = Vec::with_capacity(grads.len() * d);
    for g in grads {
        match g {
            Some((l, g)) => {
                total += l;
                counted += 1;
                let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                let scale = if norm > clip && norm > 0.0 {
                    clip / norm
                } else {
                    1.0
                };
                // Clamped so an enormous gradient cannot overflow f32 into ±∞.
                flat.extend(
                    g.iter()
                        .map(|v| (v * scale).clamp(f32::MIN as f64, f32::MAX as f64) as f32),
                );
            }
            None => flat.extend(std::iter::repeat_n(0.0f32, d)),
        }
    }
    (total, counted, flat)
}
