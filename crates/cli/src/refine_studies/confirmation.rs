//! The chosen variant against the lookup on fresh targets, and the pool size it needs.

use super::{CHOSEN, POOL, StudiedMember};
use crate::cells::{cell, goal_for, verdict_cell};
use anyhow::Result;
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

/// The share of targets the data-requirement study asks of a pool: the member's goal in
/// issue 24 (0.95 at d = 8, 0.90 at d = 16), 0.90 elsewhere.
fn data_goal(d: usize) -> f64 {
    goal_for(d).unwrap_or(0.9)
}

/// Success against pool size: the learned-start study under continuation on nested pools.
pub fn data_requirement_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<(&StudiedMember, Vec<&Results>)> = members
        .iter()
        .filter(|m| !m.studies.pool_sizes.is_empty())
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
         the same test targets), each with its own supervised network trained on it. Cells: \
         success [95% Wilson interval] and mean simulator calls per target; the network's \
         training time. Below the table: the smallest pool measured at which `{CHOSEN}` \
         reaches the member's goal (0.95 at d = 8, 0.90 at d = 16).\n"
    )?;
    writeln!(
        md,
        "| member | d | pool | {POOL} | {CHOSEN} | network training |\n|---|---|---|---|---|---|"
    )?;
    let mut readings = Vec::new();
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
        let goal = data_goal(m.d);
        let enough = runs
            .iter()
            .find(|r| r.method(CHOSEN).is_some_and(|s| s.success_rate >= goal));
        readings.push(format!(
            "- {}: {}",
            m.name,
            match enough {
                Some(r) => format!(
                    "{} samples are enough for {goal:.2} (the smallest pool measured that \
                     reaches it)",
                    r.pool_simulations.unwrap_or(0)
                ),
                None => format!("no pool measured reaches {goal:.2}"),
            }
        ));
    }
    writeln!(md, "\n{}", readings.join("\n"))?;
    Ok(())
}
