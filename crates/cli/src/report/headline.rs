//! The headline table: one row per experiment, and every profile's headline side by side.

use super::{Args, load, other_profiles};
use crate::cells::rate_cell;
use anyhow::Result;
use proxyland_optim::{Family, MethodSummary, Results};
use std::fmt::Write as _;

/// The headline of a surrogate family: mean and range of the per-seed rates over the chosen
/// configuration's seeds, then the first seed's rate (the checkpoint the paired tests use) with
/// its Wilson interval over the targets. Seeds are never pooled into one n (spec v3,
/// "Intervals"): runs of several seeds on the same targets are not independent trials.
fn seeds_cell(r: &Results, family: Family) -> String {
    match r.headline(family) {
        Some(h) if h.runs.len() > 1 => format!(
            "{:.2} (range {:.2}–{:.2} over {} seeds; first seed {})",
            h.mean_success,
            h.success_range.0,
            h.success_range.1,
            h.runs.len(),
            rate_cell(h.runs[0])
        ),
        Some(h) => format!("{} (1 seed)", rate_cell(h.runs[0])),
        None => "–".into(),
    }
}

/// Column names of [`headline_cells`], as a markdown header after `first` columns.
pub(super) fn headline_header(first: &[&str]) -> String {
    let names = [
        "chosen σ, λ",
        "bfgs",
        "proxy-bfgs (chosen, seeds)",
        "proxy-multistart (chosen, seeds)",
        "pool-bfgs (no network)",
        "inverse-net (supervised)",
        "inverse-net (physics)",
        "strongest baseline",
    ];
    let cols: Vec<&str> = first.iter().chain(&names).copied().collect();
    format!("| {} |\n|{}\n", cols.join(" | "), "---|".repeat(cols.len()))
}

/// The headline cells of one experiment's test results.
pub(super) fn headline_cells(r: &Results) -> String {
    let chosen = r.selection.as_ref().map_or("–".into(), |s| {
        format!("σ = {}, λ = {}", s.noise, s.penalty)
    });
    let cell = |s: Option<&MethodSummary>| s.map_or("–".into(), rate_cell);
    let strongest = r
        .strongest_baseline()
        .map_or("–".into(), |s| format!("{}: {}", s.label, rate_cell(s)));
    [
        chosen,
        cell(r.plain_run(Family::Bfgs)),
        seeds_cell(r, Family::ProxyBfgs),
        seeds_cell(r, Family::ProxyMultistart),
        cell(r.plain_run(Family::PoolBfgs)),
        cell(r.method("inverse-net[supervised]")),
        cell(r.method("inverse-net[physics]")),
        strongest,
    ]
    .join(" | ")
}

/// "Profiles side by side": the headline of every profile on record, where another profile's
/// runs are given and hold results.
pub(super) fn profiles_side_by_side(md: &mut String, args: &Args) -> Result<()> {
    let mut side_by_side = String::new();
    let mut other_found = false;
    for e in &args.experiments {
        let own = std::iter::once((&args.profile, load(&args.runs, e, "eval.json")?));
        let mut others = Vec::new();
        for (n, dir) in other_profiles(args) {
            let r = load(dir, e, "eval.json")?;
            other_found |= r.is_some();
            others.push((n, r));
        }
        for (name, results) in own.chain(others) {
            if let Some(r) = results {
                writeln!(side_by_side, "| {e} | {name} | {} |", headline_cells(&r))?;
            }
        }
    }
    if other_found {
        writeln!(
            md,
            "## Profiles side by side\n\nThe headline of every profile on record; the profiles differ in pool size, training length and number of targets (Setup):\n\n{}{side_by_side}",
            headline_header(&["experiment", "profile"])
        )?;
    }
    Ok(())
}
