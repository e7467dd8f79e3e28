//! The public entry `train_inverse` and the supervised stage: regression on the pool's (Y, u)
//! pairs, chosen on the validation targets' median parameter error.

use super::model::read_inverse;
use super::net::InverseNet;
use super::physics::train_on_physics;
use super::tensors::{permutation, predict_rows, trajectory_tensor, unit_tensor};
use super::{
    INVERSE_FORMAT, INVERSE_FORMAT_VERSION, InverseArchitecture, InverseEpoch, InverseMeta,
    InverseOptions, InverseTraining, InverseVariant,
};
use crate::adam::Adam;
use crate::checkpoint;
use crate::error::{Error, Result};
use crate::model::EncoderKind;
use crate::train::TrainSpec;
use crate::training_shared::{dataset_provenance, refuse_to_replace, trajectory_moments};
use ndarray::Array2;
use proxyland_dataset::Pool;
use proxyland_optim::stats::upper_median;
use proxyland_physics::rng::Domain;
use proxyland_physics::{Boundary, ParamSpace, Simulator};
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;

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
    check_inputs(pool, spec, opts, out)?;
    let space = spec.space.clone();
    let _rng = crate::torch_rng_lock();
    let started = Instant::now();
    let device = opts.device.tch();
    let settings = &spec.settings;
    let arch = architecture(pool, spec)?;
    let (traj_mean, traj_std) = trajectory_moments(pool, &pool.valid());

    tch::manual_seed(Domain::InverseTorch.torch_seed(opts.seed, 0));
    let mut vs = VarStore::new(device);
    let net = InverseNet::new(&vs.root(), &arch)?;
    let mut best = VarStore::new(device);
    let _best_net = InverseNet::new(&best.root(), &arch)?;
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
    let mut training = untrained(opts, settings.learning_rate);
    let mut earlier_seconds = 0.0;
    match (opts.variant, from) {
        (InverseVariant::Supervised, None) => {
            train_supervised(
                &net,
                &vs,
                &mut best,
                pool,
                &space,
                (traj_mean, traj_std),
                settings.learning_rate,
                opts,
                &mut training,
                &validation_error,
                on_epoch,
            )?;
        }
        (InverseVariant::Physics, Some(from)) => {
            let sim =
                sim.ok_or_else(|| Error::Input("the physics variant needs the simulator".into()))?;
            earlier_seconds = start_from_supervised(&mut vs, from, &arch, pool, &mut training)?;
            train_on_physics(
                &net,
                &vs,
                &mut best,
                pool,
                sim,
                &space,
                (traj_mean, traj_std),
                settings.learning_rate,
                opts,
                &mut training,
                &validation_error,
                on_epoch,
            )?;
        }
        (InverseVariant::Supervised, Some(_)) => {
            return Err(Error::Input(
                "the supervised variant trains from scratch: give no --from".into(),
            ));
        }
        (InverseVariant::Physics, None) => {
            return Err(Error::Input(
                "the physics variant starts from a supervised network: give --from".into(),
            ));
        }
    }
    training.seconds = earlier_seconds + started.elapsed().as_secs_f64();
    let meta = inverse_meta(pool, spec, opts, arch, (traj_mean, traj_std), training);
    checkpoint::save_named(best.variables().into_iter().collect(), &meta, out)?;
    Ok(meta)
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

/// Refuses to replace `out` (unless `opts.force`), options no training runs with, and a pool
/// with no trajectories to invert, another parameter box or no validation targets.
fn check_inputs(pool: &Pool, spec: &TrainSpec, opts: &InverseOptions, out: &Path) -> Result<()> {
    refuse_to_replace(out, opts.force)?;
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
        physics: vec![],
        physics_sim_calls: 0,
        validation_sim_calls: 0,
        physics_failed: 0,
        physics_diverged: None,
        selection: None,
        chosen: String::new(),
        validation_error: f64::INFINITY,
    }
}

/// The supervised stage: epochs of shuffled minibatches of the pool's (Y, u) pairs, keeping
/// the epoch with the lowest validation error in `best` and stopping after `opts.patience`
/// epochs without a lower one.
#[allow(clippy::too_many_arguments)]
fn train_supervised(
    net: &InverseNet,
    vs: &VarStore,
    best: &mut VarStore,
    pool: &Pool,
    space: &ParamSpace,
    (traj_mean, traj_std): (f64, f64),
    learning_rate: f64,
    opts: &InverseOptions,
    training: &mut InverseTraining,
    validation_error: &dyn Fn(&InverseNet) -> Result<f64>,
    on_epoch: &dyn Fn(&str, usize, &InverseEpoch),
) -> Result<()> {
    let device = opts.device.tch();
    let valid = pool.valid();
    let units: Vec<Vec<f64>> = valid
        .iter()
        .map(|&i| space.to_unit(&pool.params.row(i).to_vec()))
        .collect();
    let mut adam = Adam::new(vs, learning_rate);
    let mut since_best = 0;
    for epoch in 0..opts.epochs {
        let order = permutation(valid.len())?;
        let (mut total, mut batches) = (0.0, 0);
        for chunk in order.chunks(opts.batch_size) {
            let rows: Vec<usize> = chunk.iter().map(|&k| valid[k]).collect();
            let y = trajectory_tensor(&pool.trajectories, &rows, traj_mean, traj_std, device);
            let u: Vec<Vec<f64>> = chunk.iter().map(|&k| units[k].clone()).collect();
            let loss = net.supervised_loss(&net.raw(&y), &unit_tensor(&u, device));
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
            validation_error: validation_error(net)?,
            validation_loss: None,
        };
        on_epoch("supervised", epoch, &record);
        training.supervised.push(record);
        if record.validation_error < training.validation_error {
            training.validation_error = record.validation_error;
            training.chosen = format!("supervised epoch {epoch}");
            best.copy(vs)?;
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= opts.patience.max(1) {
                break;
            }
        }
    }
    Ok(())
}

/// Loads the supervised network in `from` into `vs` for physics training, after checking it
/// was trained on this pool with this architecture; its epochs go into `training`. Returns its
/// training time.
fn start_from_supervised(
    vs: &mut VarStore,
    from: &Path,
    arch: &InverseArchitecture,
    pool: &Pool,
    training: &mut InverseTraining,
) -> Result<f64> {
    let (base, tensors) = read_inverse(from)?;
    if base.variant != InverseVariant::Supervised
        || base.architecture != *arch
        || base.dataset.hash != pool.header.provenance_hash()
    {
        return Err(Error::Input(format!(
            "--from {}: physics training starts from a supervised network of this pool \
             and architecture",
            from.display()
        )));
    }
    checkpoint::fill(vs, &tensors, from)?;
    training.supervised = base.training.supervised.clone();
    Ok(base.training.seconds)
}
