//! `proxyland scaling-report`: results/scaling/REPORT.md and its two figures from the runs of
//! `cargo xtask reproduce --profile scaling`: how each method's success and simulator spend
//! change with the number of unknowns d, and where a network beats the lookup in its own pool.

mod figures;
mod goals;
mod refinement;
mod tables;
mod verdicts;

use crate::cells::seconds_per_experiment;
use anyhow::{Context, Result, bail};
use figures::{Quantity, draw};
use proxyland_optim::{Family, MethodSummary, Results};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding <experiment>/eval.json of each family member.
    #[arg(long, default_value = "runs/scaling")]
    runs: PathBuf,
    /// Output folder for REPORT.md and the figures.
    #[arg(long, default_value = "results/scaling")]
    out: PathBuf,
    /// Family members, comma-separated (`burgers-k1,…,ks-m16`).
    #[arg(long, value_delimiter = ',', required = true)]
    experiments: Vec<String>,
    /// A `stage seconds` timings file written by `cargo xtask reproduce`.
    #[arg(long)]
    timings: Option<PathBuf>,
    /// Replace an existing REPORT.md and figures.
    #[arg(long)]
    force: bool,
}

/// The methods of the study, in the order of tables and legends: a label and how to find its
/// summary in one member's results. Baselines run at multiples of proxy-multistart's spend,
/// in simulator calls and in field solves (a call with gradient costs 1 + d solves).
const METHODS: [&str; 11] = [
    "bfgs",
    "pool-bfgs",
    "proxy-multistart",
    "inverse-net[supervised]",
    "inverse-net[physics]",
    "inverse-pool[supervised]",
    "inverse-pool[physics]",
    "strongest baseline @1× calls",
    "strongest baseline @10× calls",
    "strongest baseline @1× solves",
    "strongest baseline @10× solves",
];

/// The networks whose answer to "does a network beat the lookup?" the report gives.
const NETWORKS: [&str; 5] = [
    "proxy-multistart",
    "inverse-net[supervised]",
    "inverse-net[physics]",
    "inverse-pool[supervised]",
    "inverse-pool[physics]",
];

fn find<'a>(r: &'a Results, method: &str) -> Option<&'a MethodSummary> {
    let reference = Family::ProxyMultistart;
    match method {
        "proxy-multistart" => r.headline(Family::ProxyMultistart).map(|h| h.runs[0]),
        "strongest baseline @1× calls" => r.strongest_at(1, reference, false),
        "strongest baseline @10× calls" => r.strongest_at(10, reference, false),
        "strongest baseline @1× solves" => r.strongest_at(1, reference, true),
        "strongest baseline @10× solves" => r.strongest_at(10, reference, true),
        m if m.starts_with("inverse-") => r.method(m),
        m => r.plain_run(Family::parse(m)?),
    }
}

/// Whether a method of the study is a budgeted baseline.
fn is_baseline(method: &str) -> bool {
    method.starts_with("strongest")
}

/// One family member's results.
struct Member {
    name: String,
    family: &'static str,
    d: usize,
    results: Results,
    /// The same evaluation refined by BFGS instead of LM (`eval-bfgs.json`), where it ran.
    bfgs: Option<Results>,
    /// All its stages, and generating its pool alone.
    seconds: Option<f64>,
    pool_seconds: Option<f64>,
}

/// The name pattern of a member's family (`burgers-k{K}`), from physics' registry.
fn family_of(name: &str) -> Option<&'static str> {
    proxyland_physics::registry::scaling_member(name).map(|(family, _)| family.pattern())
}

pub fn run(args: Args) -> Result<()> {
    let report = args.out.join("REPORT.md");
    if report.exists() && !args.force {
        bail!(
            "{} exists: give --force to replace it (nothing was changed)",
            report.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let timings = match &args.timings {
        Some(t) => std::fs::read_to_string(t)
            .with_context(|| format!("--timings {}: cannot read", t.display()))?,
        None => String::new(),
    };
    let times = seconds_per_experiment(&timings);
    let stage_seconds = |stage: &str| {
        timings.lines().find_map(|l| {
            let (name, secs) = l.rsplit_once(' ')?;
            (name == stage).then(|| secs.parse::<f64>().ok()).flatten()
        })
    };
    let mut members = Vec::new();
    let mut missing = Vec::new();
    for e in &args.experiments {
        let family = family_of(e)
            .with_context(|| format!("--experiments {e}: not a scaling-family member"))?;
        let d = proxyland_physics::experiment(e)?.param_space().dim();
        let path = args.runs.join(e).join("eval.json");
        // Only an absent file is a member that has not run; one that exists must read.
        if !path.exists() {
            missing.push(e.clone());
            continue;
        }
        let results = crate::args::read_results(&path)?;
        let bfgs_path = args.runs.join(e).join("eval-bfgs.json");
        let bfgs = match bfgs_path.exists() {
            true => Some(crate::args::read_results(&bfgs_path)?),
            false => None,
        };
        members.push(Member {
            name: e.clone(),
            family,
            d,
            results,
            bfgs,
            seconds: times.get(e).copied(),
            pool_seconds: stage_seconds(&format!("{e}/generate")),
        });
    }
    if members.is_empty() {
        bail!(
            "no eval.json under {} for {}",
            args.runs.display(),
            args.experiments.join(", ")
        );
    }
    // Tables and lines run along d within each family, whatever order the members came in.
    members.sort_by_key(|m| (m.family, m.d));
    let md = markdown(&members, &missing);
    draw(
        &args.out.join("success-vs-d.png"),
        &members,
        Quantity::Success,
    )?;
    draw(&args.out.join("calls-vs-d.png"), &members, Quantity::Calls)?;
    proxyland_dataset::write_atomically(&report, md.as_bytes())
        .with_context(|| format!("cannot write {}", report.display()))?;
    say!("wrote {}", report.display());
    Ok(())
}

/// REPORT.md: the protocol and every member's table, then the one-off costs, the paired
/// studies and the goals.
fn markdown(members: &[Member], missing: &[String]) -> String {
    let mut md = tables::introduction(members, missing);
    md.push_str(&tables::member_tables(members));
    md.push_str("![success against d](success-vs-d.png)\n\n![calls against d](calls-vs-d.png)\n\n");
    md.push_str(&tables::one_off_costs(members));
    md.push_str(&verdicts::physics_training(members));
    md.push_str(&refinement::refinement(members));
    md.push_str(&verdicts::verdict(members));
    md.push_str(&goals::goals(members));
    md
}
