//! `proxyland generate` and `proxyland merge`.

use crate::progress;
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, GenerateOptions, OutputLock, generate, merge};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment config (datasets/<experiment>.toml).
    #[arg(long)]
    config: PathBuf,
    /// Output pool file (.h5).
    #[arg(long)]
    out: PathBuf,
    /// Size profile from the config: quick or paper.
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Pool size K (overrides the profile).
    #[arg(long)]
    samples: Option<usize>,
    /// Held-out test targets (overrides the profile).
    #[arg(long)]
    targets: Option<usize>,
    /// Validation targets, where checkpoints are chosen (overrides the profile).
    #[arg(long)]
    validation_targets: Option<usize>,
    /// Seed of the pool (overrides the config's).
    #[arg(long)]
    seed: Option<u64>,
    /// Generate only shard i of n (0-based), e.g. `--shard 3/16`, for array jobs.
    #[arg(long)]
    shard: Option<String>,
    /// Finish `<out>.partial` left by an interrupted run (not with --force).
    #[arg(long)]
    resume: bool,
    /// Replace --out if it exists (once the new pool is complete; not with --resume).
    #[arg(long)]
    force: bool,
    /// Store trajectories byte-shuffled and deflated: 11–25% smaller on our experiments, and
    /// slower to write than a KS solve (docs/dataset-format.md has the measurements). A resumed
    /// file keeps the storage it was started with.
    #[arg(long)]
    compress: bool,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard files written by `generate --shard i/n`, in any order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The merged pool file.
    #[arg(long)]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

/// Parses `i/n`.
fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let (i, n) = s
        .split_once('/')
        .with_context(|| format!("--shard `{s}`: expected i/n, e.g. 0/4"))?;
    let i: usize = i
        .trim()
        .parse()
        .with_context(|| format!("--shard `{s}`: i is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .with_context(|| format!("--shard `{s}`: n is not a number"))?;
    if n == 0 || i >= n {
        bail!("--shard `{s}`: need 0 <= i < n");
    }
    Ok((i, n))
}

pub fn run(args: Args) -> Result<()> {
    if args.resume && args.force {
        bail!(crate::args::RESUME_AND_FORCE);
    }
    let config = ExperimentConfig::load(&args.config)?;
    let profile = config.profile(&args.profile)?;
    let mut opts = GenerateOptions::new(
        args.samples.unwrap_or(profile.samples),
        args.targets.unwrap_or(profile.targets),
        args.seed.unwrap_or(config.seed),
    );
    opts.validation_targets = args
        .validation_targets
        .unwrap_or(profile.validation_targets);
    opts.shard = args.shard.as_deref().map(parse_shard).transpose()?;
    opts.resume = args.resume;
    opts.overwrite = args.force;
    if args.compress {
        opts.storage = proxyland_dataset::Storage::Compressed;
    }
    // Absurd counts are refused first, naming the flag (or the profile's field) that set them:
    // before any file is created and before anything is drawn.
    let source = |flag: &str, given: bool, field: &str| {
        if given {
            flag.to_string()
        } else {
            format!("profile.{}.{field}", args.profile)
        }
    };
    let counts = [
        (
            source("--samples", args.samples.is_some(), "samples"),
            opts.samples,
        ),
        (
            source("--targets", args.targets.is_some(), "targets"),
            opts.targets,
        ),
        (
            source(
                "--validation-targets",
                args.validation_targets.is_some(),
                "validation_targets",
            ),
            opts.validation_targets,
        ),
    ];
    for (name, value) in &counts {
        proxyland_dataset::sizes::check_count(&args.config, name, *value)?;
    }
    let (start, end) = proxyland_dataset::shard_range(opts.samples, opts.shard)?;
    let (frames, components) = config.simulator()?.trajectory_shape();
    let shard_counts = [
        (counts[0].0.as_str(), end - start),
        (counts[1].0.as_str(), counts[1].1),
        (counts[2].0.as_str(), counts[2].1),
    ];
    proxyland_dataset::sizes::pool_size(&args.config, &shard_counts, frames, components)?;
    let check_out = || {
        crate::output::check_output(
            "--out",
            &args.out,
            &[("--config", &args.config)],
            args.force,
        )
    };
    check_out()?;
    // One writer per output, for the whole run: taken before `<out>.partial` is looked at, so a
    // second run on the same output is told who writes it, not that a run was interrupted.
    let _lock = OutputLock::acquire(&args.out)?;
    // Checked again under the lock: a run that finished between the first check and the lock
    // has written `--out`, and that file is not ours to replace unasked.
    check_out()?;
    let bar = progress::bar(0, "simulating");
    let report = generate(&config, &args.out, &opts, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    tracing::info!(
        samples = report.samples,
        simulated = report.simulated,
        failed = report.failed,
        seconds = report.seconds,
        "pool complete"
    );
    say!(
        "wrote {} ({} samples, {} failed) in {:.1} s",
        report.path.display(),
        report.samples,
        report.failed,
        report.seconds
    );
    Ok(())
}

pub fn run_merge(args: MergeArgs) -> Result<()> {
    let inputs: Vec<(&str, &std::path::Path)> =
        args.inputs.iter().map(|p| ("shard", p.as_path())).collect();
    crate::output::check_output("--out", &args.out, &inputs, args.force)?;
    if args.force && args.out.exists() {
        // merge builds under a temporary name; the old file goes only once the new one is whole.
        let merged = crate::output::temp_sibling(&args.out, ".h5")?;
        let header = merge(&args.inputs, &merged)?;
        std::fs::rename(&merged, &args.out)
            .with_context(|| format!("cannot move the merged pool to {}", args.out.display()))?;
        say!(
            "merged {} shards into {} ({} samples)",
            args.inputs.len(),
            args.out.display(),
            header.samples_total
        );
        return Ok(());
    }
    let header = merge(&args.inputs, &args.out)?;
    say!(
        "merged {} shards into {} ({} samples)",
        args.inputs.len(),
        args.out.display(),
        header.samples_total
    );
    Ok(())
}
