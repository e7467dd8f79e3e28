//! `proxyland train`: fit a proxy to a pool.

use crate::progress;
use anyhow::{Context, Result};
use proxyland_dataset::{ExperimentConfig, OutputLock, Pool};
use proxyland_proxy::{
    EncoderKind, InverseOptions, InverseVariant, PhysicsSelection, Regularizers, TrainOptions,
    TrainSpec, device, train, train_inverse,
};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pool written by `proxyland generate`.
    #[arg(long)]
    data: PathBuf,
    /// Checkpoint to write (.safetensors).
    #[arg(long)]
    out: PathBuf,
    /// Noise-injection σ on normalized parameters u.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Gradient-penalty λ on ‖∂f/∂u‖².
    #[arg(long, default_value_t = 0.0)]
    penalty: f64,
    /// Dropout probability on the head's hidden activations, in training only (0..1).
    #[arg(long, default_value_t = 0.0)]
    dropout: f64,
    /// Decoupled (AdamW) weight decay: weights shrink by 1 − lr·W each step.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Bound every head layer's spectral norm by 1 (power iteration, one step per batch).
    #[arg(long)]
    spectral_norm: bool,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Size profile of the pool's config: epochs and pairs per epoch.
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Override the profile's epoch count.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the profile's pairs per epoch.
    #[arg(long)]
    pairs_per_epoch: Option<usize>,
    /// Override the config's early stopping: epochs without a better validation metric (the
    /// learning rate halves after a third of them).
    #[arg(long)]
    patience: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train without Fourier features (to see spectral bias).
    #[arg(long)]
    no_fourier: bool,
    /// Continue an interrupted run from `<out>.resume` (not with --force).
    #[arg(long)]
    resume: bool,
    /// Override the config's encoder: conv2d, periodic-conv, temporal or mlp.
    #[arg(long)]
    encoder: Option<String>,
    /// Override the config's share of near-neighbour training pairs (0..1).
    #[arg(long)]
    near_share: Option<f64>,
    /// Replace --out if it exists, and discard an interrupted run's `.resume` state (not with
    /// --resume).
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.resume && args.force {
        anyhow::bail!(crate::args::RESUME_AND_FORCE);
    }
    crate::output::check_output("--out", &args.out, &[("--data", &args.data)], args.force)?;
    // One writer per output, for the whole run: taken before `<out>.resume` is looked at, so a
    // second run on the same output is told who writes it, not that a run was interrupted.
    let _lock = OutputLock::acquire(&args.out)?;
    // Again under the lock: a run that finished in between has written `--out`.
    crate::output::check_output("--out", &args.out, &[("--data", &args.data)], args.force)?;
    let pool = Pool::open(&args.data)?;
    // The pool carries the config it was generated from.
    let mut config = ExperimentConfig::parse(&args.data, &pool.header.config_text)
        .with_context(|| format!("{}: the stored config", args.data.display()))?;
    if let Some(p) = args.patience {
        if p == 0 {
            anyhow::bail!("--patience 0: give at least 1 epoch");
        }
        config.proxy.patience = p;
    }
    let mut opts = TrainOptions::from_profile(&config, &args.profile, args.seed)?;
    opts.noise = args.noise;
    opts.penalty = args.penalty;
    opts.regularizers = Regularizers {
        dropout: args.dropout,
        weight_decay: args.weight_decay,
        spectral_norm: args.spectral_norm,
    };
    opts.device =
        device::choose(&args.device).with_context(|| format!("--device {}", args.device))?;
    opts.use_fourier = !args.no_fourier;
    opts.resume = args.resume;
    opts.force = args.force;
    opts.near_share = args.near_share;
    opts.encoder = match &args.encoder {
        Some(name) => Some(EncoderKind::parse(name).with_context(|| {
            format!("--encoder {name}: expected conv2d, periodic-conv, temporal or mlp")
        })?),
        None => None,
    };
    if let Some(e) = args.epochs {
        opts.epochs = e;
    }
    if let Some(p) = args.pairs_per_epoch {
        opts.pairs_per_epoch = p;
    }
    tracing::info!(
        experiment = %config.experiment,
        device = %device::describe(opts.device),
        noise = opts.noise,
        penalty = opts.penalty,
        regularizers = %opts.regularizers.describe(),
        epochs = opts.epochs,
        "training"
    );
    let bar = progress::bar(opts.epochs as u64, "training");
    let meta = train(&pool, &config, &opts, &args.out, &|epoch, _, r| {
        bar.set_position(epoch as u64);
        tracing::info!(
            epoch,
            train_loss = r.train_loss,
            val_loss = r.validation_loss,
            argmin_error = ?r.validation_argmin_error,
            lr = r.learning_rate,
            "epoch"
        );
    })?;
    bar.finish_and_clear();
    say!(
        "wrote {} (best epoch {} of {}: validation loss {:.4e}, {}; {:.1} s on {})",
        args.out.display(),
        meta.training.best_epoch,
        meta.training.epochs_run,
        meta.training.best_validation,
        crate::cells::describe_argmin_error(meta.training.best_validation_argmin_error),
        meta.training.seconds,
        meta.training.device
    );
    Ok(())
}

/// `proxyland train-inverse`: the amortized direct inverse Y* → u on the same pool.
#[derive(Debug, clap::Args)]
pub struct InverseArgs {
    /// Pool written by `proxyland generate`.
    #[arg(long)]
    data: PathBuf,
    /// Network to write (.safetensors).
    #[arg(long)]
    out: PathBuf,
    /// `supervised` (regression on the pool's (Y, u) pairs) or `physics` (trained on the
    /// physics loss through the simulator's gradient, from the supervised network; give --from).
    #[arg(long, default_value = "supervised")]
    variant: String,
    /// The supervised network the physics variant starts from.
    #[arg(long)]
    from: Option<PathBuf>,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Supervised epochs at most (one pass over the pool each).
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Physics variant: pool trajectories to train on.
    #[arg(long, default_value_t = 1024)]
    physics_samples: usize,
    /// Physics variant: epochs at most (each simulates every training trajectory once, with
    /// its gradient).
    #[arg(long, default_value_t = 60)]
    physics_epochs: usize,
    /// Physics variant: epochs without a better validation score before training stops.
    #[arg(long, default_value_t = 10)]
    physics_patience: usize,
    /// Physics variant: trajectories per step.
    #[arg(long, default_value_t = 32)]
    physics_batch: usize,
    /// Physics variant: its learning rate as a fraction of the supervised one.
    #[arg(long, default_value_t = 0.1)]
    physics_learning_rate: f64,
    /// Physics variant: the validation score that picks the epoch: `physics-loss` (median
    /// physics loss of the prediction) or `parameter-error` (median parameter error).
    #[arg(long, default_value = "physics-loss")]
    physics_select: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue an interrupted run from `<out>.resume` (not with --force).
    #[arg(long)]
    resume: bool,
    /// Replace --out if it exists, and discard an interrupted run's `.resume` state (not with
    /// --resume).
    #[arg(long)]
    force: bool,
}

pub fn run_inverse(args: InverseArgs) -> Result<()> {
    if args.resume && args.force {
        anyhow::bail!(crate::args::RESUME_AND_FORCE);
    }
    let mut inputs: Vec<(&str, &std::path::Path)> = vec![("--data", &args.data)];
    if let Some(f) = &args.from {
        inputs.push(("--from", f));
    }
    crate::output::check_output("--out", &args.out, &inputs, args.force)?;
    let _lock = OutputLock::acquire(&args.out)?;
    // Again under the lock: a run that finished in between has written `--out`.
    crate::output::check_output("--out", &args.out, &inputs, args.force)?;
    let variant = match args.variant.as_str() {
        "supervised" => InverseVariant::Supervised,
        "physics" => InverseVariant::Physics,
        other => anyhow::bail!("--variant {other}: expected supervised or physics"),
    };
    let physics_selection = PhysicsSelection::parse(&args.physics_select).with_context(|| {
        format!(
            "--physics-select {}: expected physics-loss or parameter-error",
            args.physics_select
        )
    })?;
    let pool = Pool::open(&args.data)?;
    let config = ExperimentConfig::parse(&args.data, &pool.header.config_text)
        .with_context(|| format!("{}: the stored config", args.data.display()))?;
    let sim = config.simulator()?;
    let opts = InverseOptions {
        epochs: args.epochs,
        physics_samples: args.physics_samples,
        physics_epochs: args.physics_epochs,
        physics_patience: args.physics_patience,
        physics_selection,
        physics_batch: args.physics_batch,
        physics_learning_rate: args.physics_learning_rate,
        device: device::choose(&args.device)
            .with_context(|| format!("--device {}", args.device))?,
        force: args.force,
        resume: args.resume,
        ..InverseOptions::new(variant, args.seed)
    };
    tracing::info!(experiment = %config.experiment, variant = variant.name(), "training an inverse network");
    let steps = match variant {
        InverseVariant::Supervised => opts.epochs,
        InverseVariant::Physics => opts.physics_epochs + 1,
    };
    let bar = progress::bar(steps as u64, variant.name());
    let meta = train_inverse(
        &pool,
        &TrainSpec::from_config(&config)?,
        Some(sim.as_ref()),
        args.from.as_deref(),
        &opts,
        &args.out,
        &|stage, epoch, r| {
            bar.set_position(epoch as u64 + u64::from(stage == "supervised"));
            tracing::info!(stage, epoch, train_loss = ?r.train_loss, validation_error = r.validation_error, validation_loss = ?r.validation_loss, "epoch");
        },
    )?;
    bar.finish_and_clear();
    let t = &meta.training;
    say!(
        "wrote {} ({}: {}, median validation error {:.4}; {} simulator calls with gradient, \
         {} without; {:.1} s on {})",
        args.out.display(),
        variant.name(),
        t.chosen,
        t.validation_error,
        t.physics_sim_calls,
        t.validation_sim_calls,
        t.seconds,
        t.device
    );
    Ok(())
}
