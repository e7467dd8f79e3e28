//! One experiment's section: its methods, its networks' quality and cost, its figures.

use super::Args;
use super::amortization::amortization;
use crate::figures::{TradeoffPoint, draw_success_vs_sigma, draw_tradeoff};
use anyhow::Result;
use proxyland_optim::{ARGMIN_NEAR, ARGMIN_STARTS, Family, MethodSummary, Results};
use std::fmt::Write as _;
use std::path::Path;

/// One method's row of the experiment's table.
fn table_row(s: &MethodSummary) -> String {
    format!(
        "| {}{} | {:.2} | {:.2}–{:.2} | {:.2e} | {:.2e} | {:.1} | {:.3} | {} |",
        s.label,
        if s.headline { " ★" } else { "" },
        s.success_rate,
        s.success_interval.0,
        s.success_interval.1,
        s.median_resim_loss,
        s.median_param_error,
        s.mean_sim_calls,
        s.wall_s,
        s.mean_rounds.map_or(String::new(), |r| format!("{r:.1}"))
    )
}

/// One experiment's section: every method, the proxies' own quality, amortization, figures.
pub(super) fn experiment_section(
    md: &mut String,
    args: &Args,
    e: &str,
    r: &Results,
    validation: &[Results],
) -> Result<()> {
    writeln!(md, "## {e}\n")?;
    let units: Vec<String> = r
        .budget_units
        .iter()
        .map(|u| format!("{} {:.1}", u.reference, u.calls_per_target))
        .collect();
    writeln!(
        md,
        "{} test targets, seed {}. Budget units (simulator calls per target): {}.",
        r.targets,
        r.seed,
        units.join(", ")
    )?;
    if let Some(s) = &r.selection {
        writeln!(
            md,
            "Chosen on {} validation targets: σ = {}, λ = {} (validation proxy-multistart success {:.2}, median argmin error of the network alone {:.3}). ★ marks its runs.\n",
            s.validation_targets,
            s.noise,
            s.penalty,
            s.validation_success,
            s.validation_argmin_error
        )?;
    } else {
        writeln!(md)?;
    }
    writeln!(
        md,
        "| method | success | 95% interval | median resim loss | median param error | sim calls / target | wall s / target | generations or runs |\n|---|---|---|---|---|---|---|---|"
    )?;
    for s in &r.methods {
        writeln!(md, "{}", table_row(s))?;
    }
    networks_tables(md, r, validation)?;
    let fig_dir = args.out.join(e);
    std::fs::create_dir_all(&fig_dir)?;
    amortization(md, e, r, &fig_dir)?;
    experiment_figures(md, e, r, &fig_dir)
}

/// The networks on their own: each proxy's quality (no simulator call) and each inverse
/// network's one-off cost beside the pool's.
fn networks_tables(md: &mut String, r: &Results, validation: &[Results]) -> Result<()> {
    if !r.surrogates.is_empty() {
        writeln!(
            md,
            "\nEach proxy on its own (no simulator call): the median worst-coordinate error of the network's argmin ({ARGMIN_STARTS} starts, BFGS on the network), the share of targets where it lies within {}% of the box of X*, and the mean Spearman rank correlation of predicted against true loss on the landscape slice through X* (first targets).\n",
            ARGMIN_NEAR * 100.0
        )?;
        writeln!(
            md,
            "| σ | λ | seed | validation: argmin error | test: argmin error | within 2% | rank correlation | training s |\n|---|---|---|---|---|---|---|---|"
        )?;
        for s in &r.surrogates {
            let val = validation
                .iter()
                .find_map(|v| v.surrogates.iter().find(|o| o.info.path == s.info.path))
                .map_or("–".into(), |o| {
                    format!("{:.3}", o.quality.median_argmin_error)
                });
            writeln!(
                md,
                "| {} | {} | {} | {val} | {:.3} | {:.2} | {} | {:.0} |",
                s.info.noise,
                s.info.penalty,
                s.info.seed,
                s.quality.median_argmin_error,
                s.quality.argmin_within_2pct,
                s.quality
                    .rank_correlation
                    .map_or("–".into(), |c| format!("{c:.2}")),
                s.info.training_seconds
            )?;
        }
    }
    if !r.inverse_networks.is_empty() {
        writeln!(
            md,
            "\nInverse networks (`inverse-net`: the prediction refined by BFGS), with their one-off cost beside the pool's:\n\n| variant | training s | training simulator calls | file |\n|---|---|---|---|"
        )?;
        for g in &r.inverse_networks {
            writeln!(
                md,
                "| {} | {:.0} | {} | {} |",
                g.variant,
                g.training_seconds,
                g.training_sim_calls,
                g.path
                    .file_name()
                    .map_or(String::new(), |f| f.to_string_lossy().into_owned())
            )?;
        }
    }
    Ok(())
}

/// The experiment's figures: success against calls, success against σ, and links to the
/// landscapes already in its figure folder.
fn experiment_figures(md: &mut String, e: &str, r: &Results, fig_dir: &Path) -> Result<()> {
    let points: Vec<TradeoffPoint> = r
        .methods
        .iter()
        .map(|s| TradeoffPoint {
            family: s.id.family.name().to_string(),
            budgeted: s.id.budget.is_some(),
            calls: s.mean_sim_calls,
            success: s.success_rate,
        })
        .collect();
    draw_tradeoff(
        &fig_dir.join("tradeoff.png"),
        &format!("{e}: success vs simulator calls per target"),
        &points,
    )?;
    writeln!(md, "\n![success vs calls]({e}/tradeoff.png)")?;
    // Success against σ for the seed-0, λ = 0 checkpoints, per proxy method.
    let series: Vec<(String, Vec<(f64, f64)>)> =
        [Family::Proxy, Family::ProxyBfgs, Family::ProxyMultistart]
            .iter()
            .map(|family| {
                let mut points: Vec<(f64, f64)> = r
                    .methods
                    .iter()
                    .filter(|s| s.id.family == *family)
                    .filter_map(|s| s.id.surrogate.map(|c| (c, s.success_rate)))
                    .filter(|(c, _)| c.penalty == 0.0 && c.seed == 0)
                    .map(|(c, rate)| (c.noise, rate))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (family.to_string(), points)
            })
            .filter(|(_, p)| p.len() > 1)
            .collect();
    if !series.is_empty() {
        draw_success_vs_sigma(
            &fig_dir.join("success-vs-sigma.png"),
            &format!("{e}: success vs σ (λ = 0, seed 0)"),
            &series,
            r.plain_run(Family::Bfgs).map(|s| s.success_rate),
        )?;
        writeln!(md, "![success vs sigma]({e}/success-vs-sigma.png)")?;
    }
    let mut landscapes: Vec<String> = std::fs::read_dir(fig_dir)
        .map(|d| {
            d.filter_map(|f| f.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("landscape-") && n.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    landscapes.sort_by_key(|n| (n != "landscape-true.png", n.clone()));
    for f in landscapes {
        write!(md, " ![{f}]({e}/{f})")?;
    }
    writeln!(md, "\n")?;
    Ok(())
}
