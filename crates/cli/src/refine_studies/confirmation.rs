//! The chosen variant against the lookup on fresh targets, and the pool size it needs.

use super::{CHOSEN, POOL, StudiedMember};
use crate::cells::{cell, verdict_cell};
use anyhow::Result;
use proxyland_optim::goals::success_goal;
use proxyland_optim::{Pairing, Results, compare_pairings};
use std::fmt::Write as _;

/// The chosen variant against the lookup on fresh targets (both LM under continuation,
/// stopping at the first fit), Holm over the members.
pub fn confirmation_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<(&StudiedMember, &Results)> = members
        .iter()
        .filter_map(|m| m.studies.confirm.as_ref().map(|r| (m, r)))
        .collect();
    let Some((_, first)) = ran.first() else {
        return Ok(());
    };
    let pairings: Vec<Pairing> = ran
        .iter()
        .map(|(_, r)| ((*r, CHOSEN), (*r, POOL)))
        .collect();
    let verdicts = compare_pairings(&pairings)?;
    writeln!(
        md,
        "\n## Confirmation on fresh targets\n\n`{CHOSEN}` refined by LM under horizon \
         continuation, stopping at the first fit: the variant picked after seeing the tables \
         above, so their targets cannot judge it. Here it runs on {} fresh targets (seed {}) \
         beside the lookup under the same refinement. Verdicts: paired McNemar tests, \
         Holm-corrected over the {} members.\n",
        first.targets,
        first.seed,
        verdicts.len()
    )?;
    writeln!(
        md,
        "| member | d | {POOL} | {CHOSEN} | {CHOSEN} against {POOL} |\n|---|---|---|---|---|"
    )?;
    for (m, r) in &ran {
        let summary = |label: &str| r.method(label).map_or("not run".to_string(), cell);
        let verdict = verdicts
            .iter()
            .find(|v| v.experiment == r.experiment)
            .map_or("not compared".to_string(), verdict_cell);
        writeln!(
            md,
            "| {} | {} | {} | {} | {verdict} |",
            m.name,
            m.d,
            summary(POOL),
            summary(CHOSEN)
        )?;
    }
    Ok(())
}

/// The share of targets the data-requirement study asks of a pool (issue 24: "how large a pool
/// each d needs for 90%"). A member whose own goal is stricter (0.95 at d = 8) is also read
/// against that.
const DATA_GOAL: f64 = 0.9;

/// The smallest pool among `runs` (sorted by size) at which `CHOSEN` solves at least `goal`.
fn smallest_pool_reaching(runs: &[&Results], goal: f64) -> Option<usize> {
    runs.iter()
        .find(|r| r.method(CHOSEN).is_some_and(|s| s.success_rate >= goal))
        .map(|r| r.pool_simulations.unwrap_or(0))
}

/// "4096 samples are enough for 0.90 (…)" or "no pool measured reaches 0.90".
fn reading(pool: Option<usize>, goal: f64) -> String {
    match pool {
        Some(n) => format!(
            "{n} samples are enough for {goal:.2} (the smallest pool measured that reaches it)"
        ),
        None => format!("no pool measured reaches {goal:.2}"),
    }
}

/// Success against pool size: the learned-start study under continuation on nested pools.
pub fn data_requirement_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<(&StudiedMember, Vec<&Results>)> = members
        .iter()
        // A member measured at its scaling pool alone still answers for its d (d = 16).
        .filter(|m| !m.studies.pool_sizes.is_empty() || m.studies.learned_continuation.is_some())
        .map(|m| {
            let mut runs: Vec<&Results> = m.studies.pool_sizes.iter().collect();
            runs.extend(m.studies.learned_continuation.as_ref());
            runs.sort_by_key(|r| r.pool_simulations.unwrap_or(0));
            (m, runs)
        })
        .collect();
    if ran.is_empty() {
        return Ok(());
    }
    writeln!(
        md,
        "\n## Data requirement\n\n`{CHOSEN}` and `{POOL}` as in the learned-start study under \
         continuation, on nested pools of the member (the first n samples of the same stream; \
         the same test targets), each with its own supervised network trained on it; members \
         measured at the scaling pool alone have one row. Cells: \
         success [95% Wilson interval] and mean simulator calls per target; the network's \
         training time. Below the table: the smallest pool measured at which `{CHOSEN}` \
         solves {DATA_GOAL:.2} of the targets, per member (and at the member's own goal where \
         that is stricter) and per d (the largest over the d's members).\n"
    )?;
    writeln!(
        md,
        "| member | d | pool | {POOL} | {CHOSEN} | network training |\n|---|---|---|---|---|---|"
    )?;
    let mut readings = Vec::new();
    let mut per_d: Vec<(usize, Option<usize>)> = Vec::new();
    for (m, runs) in &ran {
        for r in runs {
            let short = |label: &str| {
                r.method(label).map_or("not run".to_string(), |s| {
                    format!(
                        "{:.2} [{:.2}–{:.2}], {:.0} calls",
                        s.success_rate,
                        s.success_interval.0,
                        s.success_interval.1,
                        s.mean_sim_calls
                    )
                })
            };
            let training = r
                .inverse_networks
                .first()
                .map_or("?".to_string(), |n| format!("{:.0} s", n.training_seconds));
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {training} |",
                m.name,
                m.d,
                r.pool_simulations.unwrap_or(0),
                short(POOL),
                short(CHOSEN)
            )?;
        }
        let needed = smallest_pool_reaching(runs, DATA_GOAL);
        let mut line = format!("- {}: {}", m.name, reading(needed, DATA_GOAL));
        if let Some(own) = success_goal(m.d).filter(|g| *g > DATA_GOAL) {
            let _ = write!(
                line,
                "; for its goal, {}",
                reading(smallest_pool_reaching(runs, own), own)
            );
        }
        readings.push(line);
        per_d.push((m.d, needed));
    }
    writeln!(md, "\n{}", readings.join("\n"))?;
    // One line per d: the largest requirement over its members, none if one never got there.
    let mut by_d: std::collections::BTreeMap<usize, Option<usize>> = Default::default();
    for (d, needed) in per_d {
        by_d.entry(d)
            .and_modify(|worst| *worst = worst.zip(needed).map(|(a, b)| a.max(b)))
            .or_insert(needed);
    }
    for (d, needed) in by_d {
        writeln!(md, "- d = {d}: {}", reading(needed, DATA_GOAL))?;
    }
    Ok(())
}
