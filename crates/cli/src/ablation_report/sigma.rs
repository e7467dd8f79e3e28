//! The fine σ sweep's section: a table per experiment, its figure, and where too little noise
//! turns into too much, in words that follow from the numbers.

use super::sections::rate;
use crate::figures::{SigmaSweepPoint, draw_sigma_sweep};
use anyhow::Result;
use proxyland_optim::ablation::{ProxyRun, SigmaSweep};
use std::fmt::Write as _;
use std::path::Path;

/// The fine σ sweep: a table, a figure and where too little noise turns into too much.
pub(super) fn sigma(md: &mut String, sweeps: &[SigmaSweep], out: &Path) -> Result<()> {
    // How many seeds the best-covered σ had (the config's `fine_seeds`), read from the runs.
    let most = sweeps
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.runs.len()))
        .max()
        .unwrap_or(1);
    let extra = match most {
        1 => "no other seeds".to_string(),
        2 => "also with seed 1".to_string(),
        k => format!("also with seeds 1–{}", k - 1),
    };
    writeln!(
        md,
        "## How σ maps to smoothness and success\n\n\
         Noise injection alone (λ = 0) on a log grid of σ, seed 0; the validation choice and \
         its two neighbours {extra}. Success cells are seed 0's [Wilson interval], then the \
         mean over seeds where there are more; the argmin error (drift) and roughness are means \
         over seeds.\n"
    )?;
    for s in sweeps {
        writeln!(
            md,
            "### {}\n\n| σ | seeds | proxy-bfgs | proxy-multistart | argmin error | roughness | \
             rank correlation |\n|---|---|---|---|---|---|---|",
            s.experiment
        )?;
        let mut figure = Vec::new();
        for p in &s.points {
            let first = &p.runs[0];
            let seeds = p.runs.len();
            let over_seeds = |f: fn(&ProxyRun) -> f64| {
                if seeds > 1 {
                    format!("; mean {:.2}", p.mean(f))
                } else {
                    String::new()
                }
            };
            let roughness: Vec<f64> = p.runs.iter().filter_map(|r| r.quality.roughness).collect();
            let rough = if roughness.is_empty() {
                "–".to_string()
            } else {
                format!(
                    "{:.3e}",
                    roughness.iter().sum::<f64>() / roughness.len() as f64
                )
            };
            writeln!(
                md,
                "| {} | {seeds} | {}{} | {}{} | {:.3} | {rough} | {} |",
                p.sigma,
                rate(first.proxy_bfgs),
                over_seeds(|r| r.proxy_bfgs.success_rate),
                rate(first.proxy_multistart),
                over_seeds(|r| r.proxy_multistart.success_rate),
                p.mean(|r| r.quality.median_argmin_error),
                first
                    .quality
                    .rank_correlation
                    .map_or("–".into(), |r| format!("{r:.2}")),
            )?;
            for r in &p.runs {
                figure.push(SigmaSweepPoint {
                    sigma: p.sigma,
                    seed: r.config.seed,
                    proxy_bfgs: (r.proxy_bfgs.success_rate, r.proxy_bfgs.success_interval),
                    proxy_multistart: (
                        r.proxy_multistart.success_rate,
                        r.proxy_multistart.success_interval,
                    ),
                    argmin_error: r.quality.median_argmin_error,
                    roughness: r.quality.roughness,
                });
            }
        }
        let png = format!("sigma-{}.png", s.experiment);
        draw_sigma_sweep(&out.join(&png), &s.experiment, &figure)?;
        writeln!(md, "\n![σ sweep of {}]({png})\n", s.experiment)?;
        writeln!(md, "{}\n", turn_sentence(s))?;
    }
    Ok(())
}

/// Where too little noise turns into too much, in words that follow from the numbers.
fn turn_sentence(s: &SigmaSweep) -> String {
    let Some(t) = &s.turn else {
        return "No σ was scored.".into();
    };
    let rough = |r: Option<f64>| r.map_or("not measured".to_string(), |r| format!("{r:.3e}"));
    let mut words = format!(
        "The network's own argmin lies closest to X* at σ = {} (drift {:.3} of the box, \
         roughness {}).",
        t.sigma,
        t.drift,
        rough(t.roughness)
    );
    match t.at_zero {
        Some((drift0, rough0)) if t.sigma > 0.0 => {
            let rougher = matches!((rough0, t.roughness), (Some(r0), Some(rt)) if r0 > rt);
            words.push_str(&format!(
                " Without noise (σ = 0) the drift is {drift0:.3} and the roughness {}{}.",
                rough(rough0),
                if rougher {
                    ": too little noise leaves a rougher landscape, and its traps"
                } else {
                    ", no rougher than at the turn: what σ = 0 lacks here is not smoothness"
                }
            ));
        }
        Some(_) => words.push_str(
            " That is σ = 0: on this experiment no amount of noise brought the argmin closer.",
        ),
        None => {}
    }
    let (largest, drift_max, rough_max) = t.at_largest;
    // Success of the two-stage method at σ, mean over its seeds.
    let success = |sigma: f64| {
        s.points
            .iter()
            .find(|p| p.sigma == sigma)
            .map(|p| p.mean(|r| r.proxy_bfgs.success_rate))
    };
    if largest > t.sigma {
        if drift_max > t.drift {
            let cost = match (success(largest), success(t.sigma)) {
                (Some(at_max), Some(at_turn)) => format!(
                    " proxy-bfgs solves {at_max:.2} there against {at_turn:.2} at the turn{}",
                    if at_max >= at_turn {
                        ": the drift has not yet cost the two-stage method success."
                    } else {
                        "."
                    }
                ),
                _ => String::new(),
            };
            words.push_str(&format!(
                " Above it the minimum drifts: at σ = {largest} the drift is {drift_max:.3} \
                 (roughness {}): too much for the argmin.{cost}",
                rough(rough_max)
            ));
        } else {
            words.push_str(&format!(
                " At the largest σ = {largest} the drift is {drift_max:.3}, no worse: the grid \
                 does not reach \"too much\" here."
            ));
        }
    } else {
        words.push_str(
            " The turn is the grid's largest σ: the grid does not reach \"too much\" here.",
        );
    }
    words.push_str(
        " (The turn describes the test targets, it chooses nothing; σ with several seeds are \
         averaged, the others are one seed's, so a single seed's luck can move it.)",
    );
    words
}
