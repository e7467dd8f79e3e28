//! `proxyland`: the command line. Thin by design: parse, wire the crates together, present.
//! No numerics live here.

// Link the BLAS/LAPACK backend that ndarray-linalg (in proxyland-optim) needs.
use openblas_src as _;

/// `println!` that returns an error instead of panicking when stdout cannot be written
/// (`> /dev/full`): use inside functions returning `anyhow::Result`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::stdout_text(&format!("{}\n", format_args!($($arg)*)))?
    };
}

mod ablation_report;
mod answers;
mod args;
mod cells;
mod evaluate;
mod figures;
mod generate;
mod info;
mod interrupt;
mod landscape;
mod limits;
mod output;
mod progress;
mod refine_report;
mod refine_studies;
mod report;
mod scaling;
mod simulate;
mod solve;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Solve physics inverse problems with learned loss landscapes (arXiv 2501.16573).
#[derive(Debug, Parser)]
#[command(name = "proxyland", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one forward simulation and write its trajectory (CSV or HDF5).
    Simulate(simulate::Args),
    /// Draw a heat map of log L over a 2D slice through a target (true loss, or a proxy's).
    Landscape(landscape::Args),
    /// Simulate a pool of trajectories for an experiment config into one HDF5 file.
    Generate(generate::Args),
    /// Merge shards written by `generate --shard i/n` into one dataset.
    Merge(generate::MergeArgs),
    /// Train a proxy network on a generated dataset.
    Train(train::Args),
    /// Train an inverse network Y* → X (supervised, or fine-tuned on the physics loss).
    TrainInverse(train::InverseArgs),
    /// Solve inverse problems for your observations (or a synthetic --target).
    Solve(solve::SolveArgs),
    /// Run every method on held-out targets and write the results JSON.
    Evaluate(evaluate::Args),
    /// Choose the headline proxy configuration (σ, λ) on validation results.
    Select(evaluate::SelectArgs),
    /// Write results/REPORT.md and figures from the evaluations of a reproduce run.
    Report(report::Args),
    /// Write results/scaling/REPORT.md and figures from a scaling-profile reproduce run.
    ScalingReport(scaling::Args),
    /// Write results/scaling/REFINE.md (BFGS against Levenberg–Marquardt refinement at every d)
    /// from a refine-profile reproduce run.
    RefineReport(refine_report::Args),
    /// Write results/ablation/REPORT.md and figures (which regularizer smooths a proxy best; how
    /// σ maps to smoothness and success) from an ablation-profile reproduce run.
    AblationReport(ablation_report::Args),
    /// Measure what limits success on a pool's test targets: the Jacobian's conditioning at
    /// the truth, the basin's size, and how near the pool's samples come.
    Limits(limits::Args),
    /// Show what a dataset or checkpoint file holds.
    Info {
        /// The file to describe.
        file: PathBuf,
    },
}

fn main() {
    // A closed stdout (`proxyland info x.h5 | head -1`) ends the process quietly, as it does any
    // other Unix tool, instead of a panic from println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    init_logging();
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        let interrupted = e.downcast_ref::<interrupt::Interrupted>().is_some();
        std::process::exit(if interrupted { 130 } else { 1 });
    }
}

fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Colour codes only where a terminal draws them, never in a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Landscape(args) => landscape::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Merge(args) => generate::run_merge(args),
        Command::Train(args) => train::run(args),
        Command::TrainInverse(args) => train::run_inverse(args),
        Command::ScalingReport(args) => scaling::run(args),
        Command::RefineReport(args) => refine_report::run(args),
        Command::AblationReport(args) => ablation_report::run(args),
        Command::Limits(args) => limits::run(args),
        Command::Solve(args) => solve::run_solve(args),
        Command::Evaluate(args) => evaluate::run_evaluate(args),
        Command::Select(args) => evaluate::run_select(args),
        Command::Info { file } => info::run(&file),
        Command::Report(args) => report::run(args),
    }
}
