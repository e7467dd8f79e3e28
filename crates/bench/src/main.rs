//! `proxyland-bench`: proxyland measured side by side with what a user would otherwise write —
//! NumPy and Exponax (JAX) ETDRK4 for E1/E2, a NumPy event-driven billiards, the identical proxy
//! network in PyTorch — plus generation scaling and the FFT floor. Every comparison first checks
//! that both sides compute the same thing (the reference scripts refuse to time otherwise).
//! Writes results/BENCH.md. `cargo xtask bench` builds this, installs the references' venv from
//! PyPI and runs it.
//!
//! ```text
//! proxyland-bench --python ~/.cache/proxyland/bench-venv/bin/python --out results/BENCH.md
//! ```

mod billiards;
mod generation;
mod npy;
mod reference;
mod report;
mod spectral;
mod timing;
mod training;

use anyhow::{Context, Result, bail};
use clap::Parser;
use reference::Python;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "proxyland vs NumPy / Exponax / PyTorch, side by side"
)]
struct Args {
    /// Python interpreter with numpy, jax, exponax and torch (without it, only proxyland's side
    /// is measured).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Folder of the reference scripts.
    #[arg(long, default_value = "benches/reference")]
    reference: PathBuf,
    /// Working folder for exported cases (git-ignored).
    #[arg(long, default_value = "runs/bench")]
    work: PathBuf,
    /// The report to write.
    #[arg(long, default_value = "results/BENCH.md")]
    out: PathBuf,
    /// Comparisons to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "burgers,ks,billiards,training,generation"
    )]
    cases: Vec<String>,
    /// Small sizes, for a quick smoke run (the numbers are not worth reporting).
    #[arg(long)]
    quick: bool,
}

/// Problem sizes of the comparisons.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Batch of E1/E2 solves.
    pub batch: usize,
    /// Batch of billiards simulations.
    pub billiards_batch: usize,
    /// Pool size for the Burgers generation runs (KS uses 8×, billiards 200×).
    pub generation_samples: usize,
    /// Pairs in the timed training epoch.
    pub epoch_pairs: usize,
}

const CASES: [&str; 5] = ["burgers", "ks", "billiards", "training", "generation"];

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    for c in &args.cases {
        if !CASES.contains(&c.as_str()) {
            bail!("--cases: unknown comparison {c:?}; expected some of {CASES:?}");
        }
    }
    let sizes = if args.quick {
        Sizes {
            batch: 8,
            billiards_batch: 200,
            generation_samples: 64,
            epoch_pairs: 1024,
        }
    } else {
        Sizes {
            batch: 256,
            billiards_batch: 10_000,
            generation_samples: 512,
            epoch_pairs: 8192,
        }
    };
    let threads = rayon::current_num_threads();
    let python = match &args.python {
        Some(p) => {
            if !p.exists() {
                bail!("--python {}: no such interpreter", p.display());
            }
            Some(Python {
                interpreter: p.clone(),
                scripts: args.reference.clone(),
                threads,
            })
        }
        None => None,
    };
    std::fs::create_dir_all(&args.work)
        .with_context(|| format!("creating --work {}", args.work.display()))?;

    let mut sections = Vec::new();
    for case in &args.cases {
        let section = match case.as_str() {
            "burgers" | "ks" => spectral::compare(case, &args.work, python.as_ref(), &sizes)?,
            "billiards" => billiards::compare(&args.work, python.as_ref(), &sizes)?,
            "training" => training::compare(&args.work, python.as_ref(), &sizes)?,
            _ => generation::compare(&args.work, &sizes)?,
        };
        println!("{}", section.markdown());
        sections.push(section);
    }
    let report = render(&sections, &args, threads);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    proxyland_dataset::write_atomically(&args.out, report.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cpu}, {} logical cores available",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

fn render(sections: &[report::Section], args: &Args, threads: usize) -> String {
    let mut s = String::from("# proxyland performance, side by side\n\n");
    s.push_str(
        "Generated by `cargo xtask bench` (do not edit by hand). Each table gives medians of warm \
         calls measured in one run on one machine, and the ratio reference time / proxyland \
         time (> 1: proxyland is faster). Before timing, every reference is checked to compute \
         the same thing as proxyland; the checks are listed under each table.\n\n",
    );
    let _ = writeln!(s, "- Machine: {}", machine());
    let _ = writeln!(
        s,
        "- proxyland {} (release build); rayon threads: {threads}; libtorch threads: {threads}",
        env!("CARGO_PKG_VERSION")
    );
    if args.quick {
        s.push_str("- **--quick sizes: smoke-test numbers, not for comparison**\n");
    }
    if args.python.is_none() {
        s.push_str("- No --python given: only proxyland's side was measured.\n");
    }
    s.push('\n');
    s.push_str(&targets(sections, threads));
    for section in sections {
        s.push_str(&section.markdown());
    }
    s
}

/// The issue's targets, as met or not by this run's ratios.
fn targets(sections: &[report::Section], threads: usize) -> String {
    let mut s = String::from("## Targets\n\n| target | measured | met |\n|---|---:|:---:|\n");
    let mut line = |what: &str, value: Option<f64>, ok: &dyn Fn(f64) -> bool, unit: &str| {
        if let Some(v) = value {
            let _ = writeln!(
                s,
                "| {what} | {v:.2}{unit} | {} |",
                if ok(v) { "yes" } else { "**no**" }
            );
        }
    };
    for sec in sections {
        let e = if sec.title.starts_with("E1") {
            "E1"
        } else if sec.title.starts_with("E2") {
            "E2"
        } else {
            continue;
        };
        let fwd = "forward, 1 trajectory";
        line(
            &format!("{e} forward ≥ 20× faster than NumPy"),
            sec.ratio(fwd, 0),
            &|v| v >= 20.0,
            "×",
        );
        line(
            &format!("{e} forward ≥ 2× faster than Exponax-CPU"),
            sec.ratio(fwd, 1),
            &|v| v >= 2.0,
            "×",
        );
        let g = sec
            .rows
            .iter()
            .find(|r| r.what.starts_with("loss + gradient, 1"));
        let f = sec.rows.iter().find(|r| r.what == fwd);
        if let (Some(g), Some(f)) = (g, f) {
            line(
                &format!("{e} gradient ≤ 3× forward"),
                Some(g.ours / f.ours),
                &|v| v <= 3.0,
                "×",
            );
        }
    }
    for sec in sections {
        if sec.title.starts_with("Proxy training") {
            if let Some(r) = sec.ratio("one epoch (identical batches)", 0) {
                line(
                    "training epoch ≤ 1.05× PyTorch's time",
                    Some(1.0 / r),
                    &|v| v <= 1.05,
                    "× PyTorch",
                );
            }
        }
        for (name, value) in &sec.metrics {
            if let Some(exp) = name.strip_prefix("of solver ") {
                // The targets: the PDEs' solves dwarf writing; billiards' few µs do not.
                let floor = if exp.starts_with("billiards") {
                    0.5
                } else {
                    0.8
                };
                line(
                    &format!(
                        "generation ≥ {:.0}% of the bare solver's throughput ({exp})",
                        100.0 * floor
                    ),
                    Some(100.0 * value),
                    &move |v| v >= 100.0 * floor,
                    "%",
                );
            }
            if let Some(exp) = name.strip_prefix("scaling ") {
                line(
                    &format!("generation scaling 1 → {threads} threads ≥ 1.8× ({exp})"),
                    Some(*value),
                    &|v| v >= 1.8,
                    "×",
                );
            }
        }
    }
    s.push('\n');
    s
}
