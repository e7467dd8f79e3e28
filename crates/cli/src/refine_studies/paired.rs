//! Paired studies of `pool-bfgs`: continuation against one-shot LM, learned starts against it.

use super::{LEARNED, POOL, StudiedMember};
use crate::cells::{cell, verdict_cell};
use anyhow::{Result, bail};
use proxyland_optim::{LocalSettings, Pairing, Results, compare_pairings};
use std::fmt::Write as _;

/// Continuation against one-shot LM, Holm-corrected over the members that ran it.
pub fn continuation_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<&StudiedMember> = members
        .iter()
        .filter(|m| m.studies.continuation.is_some())
        .collect();
    if ran.is_empty() {
        return Ok(());
    }
    let pairings: Vec<Pairing> = ran
        .iter()
        .map(|m| {
            let c = m.studies.continuation.as_ref().expect("filtered");
            ((c, POOL), (m.lm, POOL))
        })
        .collect();
    let verdicts = compare_pairings(&pairings)?;
    writeln!(
        md,
        "\n## Horizon continuation\n\n`{POOL}` refined by LM fitting the first quarter of the \
         observed frames, then half, then all, each stage from where the last ended, against \
         the same LM fitting all frames at once. A stage on fewer frames still simulates the \
         whole trajectory, so it costs what a full call costs; each stage has LM's own cap of \
         {} iterations, so continuation may iterate up to three times as long. Verdicts: paired McNemar tests \
         on the same targets, Holm-corrected over the {} members.\n",
        ran[0]
            .lm
            .protocol
            .as_ref()
            .map_or(LocalSettings::default().max_iters, |p| p.max_iters),
        verdicts.len()
    )?;
    writeln!(
        md,
        "| member | d | lm, one shot | lm, continuation | continuation against one shot |\n\
         |---|---|---|---|---|"
    )?;
    for v in &verdicts {
        let Some(m) = ran.iter().find(|m| m.name == v.experiment) else {
            bail!(
                "a continuation results file holds {}, which is no member of this report",
                v.experiment
            );
        };
        writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            m.name,
            m.d,
            cell(&v.b),
            cell(&v.a),
            verdict_cell(v)
        )?;
    }
    Ok(())
}

/// Learned starts against the pool's lookup, all refined by LM and stopping at the first
/// start that fits, one-shot (`continuation` false) or under horizon continuation; Holm over
/// both columns of every member of the table.
pub fn learned_section(
    md: &mut String,
    members: &[StudiedMember],
    continuation: bool,
) -> Result<()> {
    fn runs_of<'a>(m: &StudiedMember<'a>, continuation: bool) -> Option<&'a Results> {
        if continuation {
            m.studies.learned_continuation.as_ref()
        } else {
            m.studies.learned.as_ref()
        }
    }
    let ran: Vec<&StudiedMember> = members
        .iter()
        .filter(|m| runs_of(m, continuation).is_some())
        .collect();
    if ran.is_empty() {
        return Ok(());
    }
    let mut pairings: Vec<Pairing> = Vec::new();
    for label in LEARNED {
        for m in &ran {
            let r = runs_of(m, continuation).expect("filtered");
            pairings.push(((r, label), (r, POOL)));
        }
    }
    let verdicts = compare_pairings(&pairings)?;
    if continuation {
        writeln!(
            md,
            "\n### Learned starts under horizon continuation\n\nThe same three methods, \
             every refinement by LM under horizon continuation. Verdicts against `{POOL}` \
             under continuation, Holm-corrected over the {} verdicts of this table.\n",
            verdicts.len()
        )?;
    } else {
        writeln!(
            md,
            "\n## Learned starts\n\nThe supervised inverse network's prediction refined by \
             LM (`inverse-net`); that prediction first and then the 3 nearest pool samples, \
             stopping at the first start that fits (`inverse-pool`); and the pool's lookup \
             alone (`{POOL}`, also stopping at the first fit). The network's one-off training \
             is listed apart. Verdicts against `{POOL}`: paired McNemar tests, Holm-corrected \
             over all {} verdicts of the table.\n",
            verdicts.len()
        )?;
    }
    writeln!(
        md,
        "| member | d | {POOL} | {} | {} | network training | {} against {POOL} | {} against \
         {POOL} |\n|---|---|---|---|---|---|---|---|",
        LEARNED[0], LEARNED[1], LEARNED[0], LEARNED[1]
    )?;
    for m in &ran {
        let r = runs_of(m, continuation).expect("filtered");
        let of = |label: &str| {
            verdicts
                .iter()
                .find(|v| v.experiment == r.experiment && v.a.label == label)
        };
        let summary = |label: &str| r.method(label).map_or("not run".to_string(), cell);
        let training = r.inverse_networks.first().map_or("?".to_string(), |n| {
            format!(
                "{:.0} s, {} simulator calls",
                n.training_seconds, n.training_sim_calls
            )
        });
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {training} | {} | {} |",
            m.name,
            m.d,
            summary(POOL),
            summary(LEARNED[0]),
            summary(LEARNED[1]),
            of(LEARNED[0]).map_or("not compared".to_string(), verdict_cell),
            of(LEARNED[1]).map_or("not compared".to_string(), verdict_cell),
        )?;
    }
    Ok(())
}
