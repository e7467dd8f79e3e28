//! `proxyland train`: fit a proxy to a pool.

use crate::progress;
use anyhow::{Context, Result};
use proxyland_dataset::{ExperimentConfig, Pool};
use proxyland_proxy::{EncoderKind, TrainOptions, device, train};
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
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train without Fourier features (to see spectral bias).
    #[arg(long)]
    no_fourier: bool,
    /// Continue an interrupted run from `<out>.resume`.
    #[arg(long)]
    resume: bool,
    /// Override the config's encoder: conv2d, periodic-conv, temporal or mlp.
    #[arg(long)]
    encoder: Option<String>,
    /// Override the config's share of near-neighbour training pairs (0..1).
    #[arg(long)]
    near_share: Option<f64>,
    /// Replace --out if it exists, and discard an interrupted run's `.resume` state.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<()> {
    crate::output::check_output("--out", &args.out, &[("--data", &args.data)], args.force)?;
    let pool = Pool::open(&args.data)?;
    // The pool carries the config it was generated from.
    let config = ExperimentConfig::parse(&args.data, &pool.header.config_text)
        .with_context(|| format!("{}: the stored config", args.data.display()))?;
    let mut opts = TrainOptions::from_profile(&config, &args.profile, args.seed)?;
    opts.noise = args.noise;
    opts.penalty = args.penalty;
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
            argmin_error = r.validation_argmin_error,
            lr = r.learning_rate,
            "epoch"
        );
    })?;
    bar.finish_and_clear();
    println!(
        "wrote {} (best epoch {} of {}: validation loss {:.4e}, argmin error {:.4}; {:.1} s on {})",
        args.out.display(),
        meta.training.best_epoch,
        meta.training.epochs_run,
        meta.training.best_validation,
        meta.training.best_validation_argmin_error,
        meta.training.seconds,
        meta.training.device
    );
    Ok(())
}
