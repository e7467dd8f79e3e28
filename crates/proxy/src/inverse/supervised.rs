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
use crate::checkpoint::{self, DatasetProvenance};
use crate::error::{Error, Result};
use crate::model::EncoderKind;
use crate::train::TrainSpec;
use ndarray::Array2;
use proxyland_dataset::Pool;
use proxyland_physics::{Boundary, ParamSpace, Simulator};
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;

/// Median over targets of the worst normalized coordinate error of `u` against the truth.
fn median_error(space: &ParamSpace, u: &[Vec<f64>], truth: &Array2<f64>) -> f64 {
    let mut errors: Vec<f64> = u
        .iter()
        .enumerate()
        .map(|(i, u)| {
            // A non-finite prediction is infinitely wrong (f64::max would drop its NaN and
            // score it perfect).
            space
                .normalized_distance(&space.from_unit(u), &truth.row(i).to_vec())
                .into_iter()
                .fold(0.0_f64, |worst, e| {
                    if e.is_finite() {
                        worst.max(e)
                    } else {
                        f64::INFINITY
                    }
                })
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN)
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
    if out.exists() && !opts.force {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "already exists; training would replace it (nothing was changed)".into(),
        });
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
    let space = spec.space.clone();
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
    let _rng = crate::torch_rng_lock();
    let started = Instant::now();
    let device = opts.device.tch();
    let valid = pool.valid();
    let (frames, components) = pool.trajectory_shape();
    let settings = &spec.settings;
    let encoder = EncoderKind::parse(&settings.encoder).ok_or_else(|| {
        Error::Input(format!(
            "proxy.encoder = \"{}\" is not an encoder this proxyland knows",
            settings.encoder
        ))
    })?;
    let arch = InverseArchitecture {
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
    };
    let (mut sum, mut sq, mut n) = (0.0, 0.0, 0.0);
    for &i in &valid {
        for &y in pool.trajectories.index_axis(ndarray::Axis(0), i) {
            sum += y;
            sq += y * y;
            n += 1.0;
        }
    }
    let traj_mean = sum / n;
    let traj_std = (sq / n - traj_mean * traj_mean).max(0.0).sqrt().max(1e-12);

    tch::manual_seed(opts.seed as i64);
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
    let mut training = InverseTraining {
        seed: opts.seed,
        device: crate::device::describe(opts.device),
        seconds: 0.0,
        learning_rate: settings.learning_rate,
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
    };
    let mut earlier_seconds = 0.0;
    match (opts.variant, from) {
        (InverseVariant::Supervised, None) => {
            let units: Vec<Vec<f64>> = valid
                .iter()
                .map(|&i| space.to_unit(&pool.params.row(i).to_vec()))
                .collect();
            let mut adam = Adam::new(&vs, settings.learning_rate);
            let mut since_best = 0;
            for epoch in 0..opts.epochs {
                let order = permutation(valid.len())?;
                let (mut total, mut batches) = (0.0, 0);
                for chunk in order.chunks(opts.batch_size) {
                    let rows: Vec<usize> = chunk.iter().map(|&k| valid[k]).collect();
                    let y =
                        trajectory_tensor(&pool.trajectories, &rows, traj_mean, traj_std, device);
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
                    validation_error: validation_error(&net)?,
                    validation_loss: None,
                };
                on_epoch("supervised", epoch, &record);
                training.supervised.push(record);
                if record.validation_error < training.validation_error {
                    training.validation_error = record.validation_error;
                    training.chosen = format!("supervised epoch {epoch}");
                    best.copy(&vs)?;
                    since_best = 0;
                } else {
                    since_best += 1;
                    if since_best >= opts.patience.max(1) {
                        break;
                    }
                }
            }
        }
        (InverseVariant::Physics, Some(from)) => {
            let sim =
                sim.ok_or_else(|| Error::Input("the physics variant needs the simulator".into()))?;
            let (base, tensors) = read_inverse(from)?;
            if base.variant != InverseVariant::Supervised
                || base.architecture != arch
                || base.dataset.hash != pool.header.provenance_hash()
            {
                return Err(Error::Input(format!(
                    "--from {}: physics training starts from a supervised network of this pool \
                     and architecture",
                    from.display()
                )));
            }
            checkpoint::fill(&mut vs, &tensors, from)?;
            earlier_seconds = base.training.seconds;
            training.supervised = base.training.supervised.clone();
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
    let meta = InverseMeta {
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
        dataset: DatasetProvenance {
            path: pool.path.clone(),
            hash: pool.header.provenance_hash(),
            samples: pool.header.len(),
            seed: pool.header.seed,
        },
        training,
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    checkpoint::save_named(best.variables().into_iter().collect(), &meta, out)?;
    Ok(meta)
}
