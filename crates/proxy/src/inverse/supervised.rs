//! The public entry `train_inverse` and the supervised stage: regression on the pool's (Y, u)
//! pairs, chosen on the validation targets' median parameter error.

use super::model::read_inverse;
use super::net::InverseNet;
use super::physics::train_on_physics;
use super::run::{InverseRun, Stage};
use super::tensors::{permutation, predict_rows, trajectory_tensor, unit_tensor};
use super::{
    INVERSE_FORMAT, INVERSE_FORMAT_VERSION, InverseArchitecture, InverseEpoch, InverseMeta,
    InverseOptions, InverseTraining, InverseVariant, PhysicsSchedule,
};
use crate::adam::Adam;
use crate::checkpoint;
use crate::error::{Error, Result};
use crate::model::EncoderKind;
use crate::train::TrainSpec;
use crate::training_core::{
    Patience, clear_the_output, dataset_provenance, resume_path, trajectory_moments,
};
use ndarray::Array2;
use proxyland_dataset::Pool;
use proxyland_optim::stats::upper_median;
use proxyland_physics::{Boundary, ParamSpace, Simulator};
use std::path::Path;

/// Median over targets of the worst normalized coordinate error of `u` against the truth.
fn median_error(space: &ParamSpace, u: &[Vec<f64>], truth: &Array2<f64>) -> f64 {
    let errors: Vec<f64> = u
        .iter()
        .enumerate()
        .map(|(i, u)| space.worst_distance(&space.from_unit(u), &truth.row(i).to_vec()))
        .collect();
    upper_median(errors).unwrap_or(f64::NAN)
}

/// Trains an inverse network on `pool` and writes it to `out`. The physics variant needs the
/// simulator (`sim`) and starts from the supervised network in `from` (whose training time is
/// counted in its one-off cost); the supervised variant takes neither.
pub fn train_inverse(
    pool: &Pool,
    spec: &TrainSpec,
    sim: Option<&dyn Simulator>,
    from: Option<&Path>,
    opts: &InverseOptions,
    out: &Path,
    on_epoch: &dyn Fn(&str, usize, &InverseEpoch),
) -> Result<InverseMeta> {
    check_inputs(pool, spec, opts, (from.is_some(), sim.is_some()))?;
    let arch = architecture(pool, spec)?;
    // Only once every input is known good: `force` discards an interrupted run's state.
    let resume_path = resume_path(out);
    clear_the_output(out, &resume_path, opts.resume, opts.force)?;
    let space = spec.space.clone();
    let _rng = crate::torch_rng_lock();
    let device = opts.device.tch();
    let settings = &spec.settings;
    let (traj_mean, traj_std) = trajectory_moments(pool, &pool.valid());
    let untrained = untrained(opts, settings.learning_rate);
    let meta = inverse_meta(pool, spec, opts, arch, (traj_mean, traj_std), untrained);
    let mut run = InverseRun::new(meta, opts, device, resume_path)?;
    let validation_error = |net: &InverseNet| -> Result<f64> {
        let u = predict_rows(
            net,
            &pool.validation_trajectories,
            traj_mean,
            traj_std,
            device,
        )?;
        Ok(median_error(&space, &u, &pool.validation_params))
    };
    let stage = Stage {
        pool,
        space: &space,
        normalization: (traj_mean, traj_std),
        learning_rate: settings.learning_rate,
        opts,
        validation_error: &validation_error,
        on_epoch,
    };
    match (sim, from) {
        // `check_inputs` has matched the variant with `from` and `sim`.
        (Some(sim), Some(from)) if opts.variant == InverseVariant::Physics => {
            start_from_supervised(&mut run, from, pool)?;
            train_on_physics(&mut run, &stage, sim)?;
        }
        _ => train_supervised(&mut run, &stage)?,
    }
    run.finish(out)
}

/// What the file says about the network trained on `pool` for `spec`.
fn inverse_meta(
    pool: &Pool,
    spec: &TrainSpec,
    opts: &InverseOptions,
    arch: InverseArchitecture,
    (traj_mean, traj_std): (f64, f64),
    training: InverseTraining,
) -> InverseMeta {
    let space = &spec.space;
    InverseMeta {
        format: INVERSE_FORMAT.into(),
        format_version: INVERSE_FORMAT_VERSION,
        experiment: spec.experiment.clone(),
        param_names: space.names.clone(),
        lo: space.lo.clone(),
        hi: space.hi.clone(),
        variant: opts.variant,
        architecture: arch,
        traj_mean,
        traj_std,
        dataset: dataset_provenance(pool),
        training,
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Refuses options no training runs with, a variant without what it starts from (`given`:
/// whether a supervised network and a simulator were given), and a pool with no trajectories
/// to invert, another parameter box or no validation targets. Touches no file.
fn check_inputs(
    pool: &Pool,
    spec: &TrainSpec,
    opts: &InverseOptions,
    (from, sim): (bool, bool),
) -> Result<()> {
    if opts.resume && opts.force {
        return Err(Error::Input(
            "resume and force contradict each other: resume continues the run, force \
             replaces it"
                .into(),
        ));
    }
    match (opts.variant, from, sim) {
        (InverseVariant::Supervised, true, _) => {
            return Err(Error::Input(
                "the supervised variant trains from scratch: give no --from".into(),
            ));
        }
        (InverseVariant::Physics, false, _) => {
            return Err(Error::Input(
                "the physics variant starts from a supervised network: give --from".into(),
            ));
        }
        (InverseVariant::Physics, true, false) => {
            return Err(Error::Input(
                "the physics variant needs the simulator".into(),
            ));
        }
        _ => {}
    }
    if opts.epochs == 0 || opts.batch_size == 0 || opts.physics_batch == 0 {
        return Err(Error::Input(
            "inverse network: epochs and batch sizes must be positive".into(),
        ));
    }
    let rate = opts.physics_learning_rate;
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(Error::Input(format!(
            "inverse network: the physics learning-rate fraction {rate} must be positive"
        )));
    }
    let space = &spec.space;
    if pool.fixed_target {
        return Err(Error::Input(format!(
            "{}: {} has one fixed target and no trajectories to invert",
            pool.path.display(),
            spec.experiment
        )));
    }
    if pool.param_box.row(0).to_vec() != space.lo || pool.param_box.row(1).to_vec() != space.hi {
        return Err(Error::Input(format!(
            "{}: the pool's parameter box differs from the experiment's",
            pool.path.display()
        )));
    }
    if pool.validation_params.nrows() == 0 {
        return Err(Error::Input(format!(
            "{}: the pool holds no validation targets to choose the checkpoint on",
            pool.path.display()
        )));
    }
    Ok(())
}

/// The network's shape for `pool`'s trajectories: the proxy settings' encoder and widths.
fn architecture(pool: &Pool, spec: &TrainSpec) -> Result<InverseArchitecture> {
    let space = &spec.space;
    let (frames, components) = pool.trajectory_shape();
    let settings = &spec.settings;
    let encoder = EncoderKind::parse(&settings.encoder).ok_or_else(|| {
        Error::Input(format!(
            "proxy.encoder = \"{}\" is not an encoder this proxyland knows",
            settings.encoder
        ))
    })?;
    Ok(InverseArchitecture {
        params: space.dim(),
        periodic: space
            .boundary
            .iter()
            .map(|b| *b == Boundary::Periodic)
            .collect(),
        frames,
        components,
        encoder,
        encoder_channels: settings.encoder_channels.clone(),
        embedding: settings.embedding,
        hidden: settings.hidden.clone(),
    })
}

/// The record of a training that has not run an epoch yet.
fn untrained(opts: &InverseOptions, learning_rate: f64) -> InverseTraining {
    InverseTraining {
        seed: opts.seed,
        device: crate::device::describe(opts.device),
        seconds: 0.0,
        learning_rate,
        batch_size: opts.batch_size,
        supervised: vec![],
        physics_schedule: (opts.variant == InverseVariant::Physics).then_some(PhysicsSchedule {
            samples: opts.physics_samples,
            batch: opts.physics_batch,
            learning_rate_fraction: opts.physics_learning_rate,
        }),
        physics: vec![],
        physics_sim_calls: 0,
        validation_sim_calls: 0,
        physics_failed: 0,
        physics_diverged: None,
        selection: None,
        chosen: String::new(),
        validation_error: f64::INFINITY,
        adam_steps: 0,
    }
}

/// The supervised stage: epochs of shuffled minibatches of the pool's (Y, u) pairs, keeping
/// the epoch with the lowest validation error in `run.best` and stopping after `opts.patience`
/// epochs without a lower one.
fn train_supervised(run: &mut InverseRun, stage: &Stage) -> Result<()> {
    let (pool, space, opts) = (stage.pool, stage.space, stage.opts);
    let (traj_mean, traj_std) = stage.normalization;
    let device = opts.device.tch();
    let valid = pool.valid();
    let units: Vec<Vec<f64>> = valid
        .iter()
        .map(|&i| space.to_unit(&pool.params.row(i).to_vec()))
        .collect();
    let mut adam = Adam::new(&run.vs, stage.learning_rate);
    run.resume_into(&mut adam)?;
    let start_epoch = run.meta.training.supervised.len();
    // The shuffles are the generator's draws in turn: a resumed run draws the ones its earlier
    // epochs used, and goes on with the next, as the uninterrupted run did.
    for _ in 0..start_epoch {
        permutation(valid.len())?;
    }
    let mut patience = Patience::replayed(
        opts.patience.max(1),
        f64::INFINITY,
        run.meta
            .training
            .supervised
            .iter()
            .map(|r| r.validation_error),
    );
    for epoch in start_epoch..opts.epochs {
        if patience.exhausted() {
            break;
        }
        let order = permutation(valid.len())?;
        let (mut total, mut batches) = (0.0, 0);
        for chunk in order.chunks(opts.batch_size) {
            let rows: Vec<usize> = chunk.iter().map(|&k| valid[k]).collect();
            let y = trajectory_tensor(&pool.trajectories, &rows, traj_mean, traj_std, device);
            let u: Vec<Vec<f64>> = chunk.iter().map(|&k| units[k].clone()).collect();
            let loss = run
                .net
                .supervised_loss(&run.net.raw(&y), &unit_tensor(&u, device));
            adam.backward_step(&loss);
            total += f64::try_from(&loss)?;
            batches += 1;
        }
        let train_loss = total / batches.max(1) as f64;
        if !train_loss.is_finite() {
            return Err(Error::Diverged {
                epoch,
                loss: train_loss,
            });
        }
        let record = InverseEpoch {
            train_loss: Some(train_loss),
            validation_error: (stage.validation_error)(&run.net)?,
            validation_loss: None,
        };
        (stage.on_epoch)("supervised", epoch, &record);
        let training = &mut run.meta.training;
        training.supervised.push(record);
        let improved = record.validation_error < training.validation_error;
        if improved {
            training.validation_error = record.validation_error;
            training.chosen = format!("supervised epoch {epoch}");
            run.best.copy(&run.vs)?;
        }
        patience.record(improved);
        run.after_epoch(&adam, epoch + 1, start_epoch, opts.epochs)?;
    }
    Ok(())
}

/// Loads the supervised network in `from` into the run for physics training, after checking it
/// was trained on this pool with this architecture; its epochs and training time go into the
/// run's record (the physics variant's one-off cost includes them).
fn start_from_supervised(run: &mut InverseRun, from: &Path, pool: &Pool) -> Result<()> {
    let (base, tensors) = read_inverse(from)?;
    if base.variant != InverseVariant::Supervised
        || base.architecture != run.meta.architecture
        || base.dataset.hash != pool.header.provenance_hash()
    {
        return Err(Error::Input(format!(
            "--from {}: physics training starts from a supervised network of this pool \
             and architecture",
            from.display()
        )));
    }
    checkpoint::fill(&mut run.vs, &tensors, from)?;
    run.meta.training.supervised = base.training.supervised.clone();
    run.spent_before(base.training.seconds);
    Ok(())
}
