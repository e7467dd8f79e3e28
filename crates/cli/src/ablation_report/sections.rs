//! The sections of the ablation report: setup, the regularizer ablation, time (the fine σ
//! sweep's is in `sigma.rs`).

use crate::cells::{duration, seconds_per_experiment, verdict_cell};
use anyhow::Result;
use proxyland_optim::ablation::{Ablation, NoiseStanding, ProxyRun};
use proxyland_optim::{
    ARGMIN_STARTS, EvaluateOptions, MethodSummary, ROUGHNESS_GRID, ROUGHNESS_GRID_1D, Results,
};
use std::fmt::Write as _;

/// Targets, statistics and the machine, from the first evaluation.
pub(super) fn setup(md: &mut String, first: Option<&Results>) -> Result<()> {
    let Some(r) = first else { return Ok(()) };
    // `evaluate` grades every network with the protocol's slice (no flag changes it).
    let protocol = EvaluateOptions::new(&[], 0);
    let (graded, grid) = (protocol.quality_targets, protocol.quality_grid);
    writeln!(
        md,
        "## Setup\n\n\
         - Every proxy is scored once on {} test targets per experiment, seed 0, with the two \
         methods built on it: `proxy-bfgs` (the paper's two stages) and `proxy-multistart`. \
         Cells give the success rate [95% Wilson interval, n = the targets] and the mean \
         simulator calls per target.\n\
         - Each regularizer's strength is chosen on the pool's validation targets among its own \
         grid (docs/experiments.md lists the grids), by the rule that chooses σ and λ (highest \
         proxy-multistart success, then the lower argmin error, then the weaker setting), with \
         every other regularizer off: noise σ > 0 at λ = 0, the gradient penalty λ at σ = 0, \
         dropout, decoupled weight decay, the spectral norm of every head layer bounded by 1. \
         \"none\" is σ = λ = 0.\n\
         - The network alone, no simulator call: the median worst-coordinate error of its own \
         argmin against X* ({ARGMIN_STARTS} starts, BFGS on the network; the drift of the minimum), the \
         roughness of its predicted log-loss z on a slice through X* ({ROUGHNESS_GRID} points per axis, {ROUGHNESS_GRID_1D} \
         when d = 1; the curvature \
         energy ∫ (∂²z/∂u²)² du per line of the slice, mean over lines and the first {graded} \
         targets; lower is smoother, docs/proxy.md), and the Spearman rank correlation of \
         predicted against true loss on a {grid}-point slice through X* (first {graded} targets).\n\
         - Paired tests: exact two-sided McNemar tests of each regularizer against noise \
         injection on the same targets, one per proxy method, Holm-corrected over the whole \
         family (every experiment, regularizer and method). Noise injection is **best** when it \
         is significantly better than every other regularizer with one method or the other and \
         never worse, **beaten** when some regularizer is significantly better, else **tied**.\n\
         - Machine: {}; evaluation threads: {}; {}.\n",
        r.targets,
        r.environment.machine,
        r.environment.threads,
        r.environment.notes.join("; ")
    )?;
    Ok(())
}

/// `0.62 [0.48–0.74], 31 calls`.
pub(super) fn rate(s: &MethodSummary) -> String {
    crate::cells::rate_cell(s)
}

fn quality_cells(run: &ProxyRun) -> String {
    let q = run.quality;
    format!(
        "{:.3} | {} | {}",
        q.median_argmin_error,
        q.roughness.map_or("–".into(), |r| format!("{r:.3e}")),
        q.rank_correlation.map_or("–".into(), |r| format!("{r:.2}"))
    )
}

/// The ablation: one table per experiment and noise injection's standing.
pub(super) fn ablation(md: &mut String, found: &[Ablation]) -> Result<()> {
    let family: usize = found.iter().map(|a| a.against_noise.len()).sum();
    let with_noise = found.iter().filter(|a| a.noise.is_some()).count();
    let count = |f: fn(&NoiseStanding) -> bool| {
        found
            .iter()
            .filter(|a| a.noise.as_ref().is_some_and(f))
            .count()
    };
    writeln!(
        md,
        "## Which regularizer smooths a landscape best\n\n\
         Noise injection is best in {} of {} experiments, tied in {} and beaten in {} \
         (Holm over {family} comparisons).\n",
        count(|s| *s == NoiseStanding::Best),
        with_noise,
        count(|s| *s == NoiseStanding::Tied),
        count(|s| matches!(s, NoiseStanding::Beaten(_))),
    )?;
    for a in found {
        writeln!(
            md,
            "### {}\n\n| regularizer | setting | proxy-bfgs | proxy-multistart | argmin error | \
             roughness | rank correlation | proxy-bfgs against noise | proxy-multistart against \
             noise |\n|---|---|---|---|---|---|---|---|---|",
            a.experiment
        )?;
        for (kind, run) in &a.runs {
            let against = |method: usize| -> String {
                a.against_noise
                    .iter()
                    .filter(|(k, _)| k == kind)
                    .nth(method)
                    .map_or("–".into(), |(_, c)| verdict_cell(c))
            };
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                kind.name(),
                kind.strength(&run.config),
                rate(run.proxy_bfgs),
                rate(run.proxy_multistart),
                quality_cells(run),
                against(0),
                against(1)
            )?;
        }
        let standing = match &a.noise {
            None => "has no noise-injection proxy to compare with".to_string(),
            Some(NoiseStanding::Best) => "is **best**".into(),
            Some(NoiseStanding::Tied) if a.against_noise.is_empty() => {
                "is the only regularizer scored: nothing to compare".into()
            }
            Some(NoiseStanding::Tied) => {
                "is **tied**: no regularizer is significantly better, and it is not \
                 significantly better than all of them"
                    .into()
            }
            Some(NoiseStanding::Beaten(by)) => format!(
                "is **beaten** by {}",
                by.iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        };
        writeln!(md, "\nIn {}, noise injection {standing}.\n", a.experiment)?;
    }
    writeln!(
        md,
        "Verdict cells read \"the row's regularizer against noise injection\": better means \
         the row's regularizer solved significantly more targets.\n"
    )?;
    Ok(())
}

/// The profile's time on this machine: its own stages, and apart from them the stages it shares
/// with the profile whose `shared` timings are given (counted there, at the time they took).
pub(super) fn time(md: &mut String, timings: &str, shared: &str) -> Result<()> {
    let shared_stages: std::collections::BTreeSet<&str> = shared
        .lines()
        .filter_map(|l| l.rsplit_once(' ').map(|(stage, _)| stage))
        .collect();
    let (theirs, own): (Vec<&str>, Vec<&str>) = timings.lines().partition(|l| {
        l.rsplit_once(' ')
            .is_some_and(|(stage, _)| shared_stages.contains(stage))
    });
    let own = seconds_per_experiment(&own.join("\n"));
    let theirs = seconds_per_experiment(&theirs.join("\n"));
    if own.is_empty() && theirs.is_empty() {
        return Ok(());
    }
    let total = |m: &std::collections::BTreeMap<String, f64>| m.values().sum::<f64>();
    writeln!(
        md,
        "## Time\n\nThis profile's own stages took {} on this machine ({}); the stages it \
         shares with the paper profile (pools, and the checkpoints both train) took {} there and \
         are not counted again.\n",
        duration(total(&own)),
        own.iter()
            .map(|(e, s)| format!("{e} {}", duration(*s)))
            .collect::<Vec<_>>()
            .join(", "),
        duration(total(&theirs))
    )?;
    Ok(())
}
