//! The studies of results/scaling/REFINE.md beyond the choice of refinement: horizon
//! continuation against one-shot fitting, learned starts against the pool's lookup, and what
//! limits each member (`proxyland limits`). Each reads its own file of a member's run folder
//! and is left out where the profile did not write it.

use crate::refine_report::{cell, verdict_cell};
use anyhow::{Context, Result};
use proxyland_optim::limits::{MemberLimits, PROBE_RADII};
use proxyland_optim::{Pairing, Results, compare_pairings};
use std::fmt::Write as _;
use std::path::Path;

/// The pool lookup every study compares against.
const POOL: &str = "pool-bfgs";
/// The learned starts: the inverse network alone, and its start ahead of the pool's.
const LEARNED: [&str; 2] = ["inverse-net[supervised]", "inverse-pool[supervised]"];
/// A basin radius "holds" when LM comes back from this share of its probes.
const BASIN_HOLDS: f64 = 0.9;

/// One member's extra runs.
pub struct Studies {
    /// `pool-bfgs` refined by LM under horizon continuation (`eval-lm-continuation.json`).
    pub continuation: Option<Results>,
    /// `pool-bfgs`, `inverse-net` and `inverse-pool`, refined by LM, stopping at the first
    /// start that fits (`eval-learned.json`).
    pub learned: Option<Results>,
    /// What limits the member (`limits.json`).
    pub limits: Option<MemberLimits>,
}

fn read_optional<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{}: not a file proxyland wrote", path.display()))
}

impl Studies {
    /// Reads a member's run folder; a missing file is a study not run.
    pub fn read(dir: &Path) -> Result<Studies> {
        Ok(Studies {
            continuation: read_optional(&dir.join("eval-lm-continuation.json"))?,
            learned: read_optional(&dir.join("eval-learned.json"))?,
            limits: read_optional(&dir.join("limits.json"))?,
        })
    }
}

/// A member as the studies see it: name, d, its LM-refined `pool-bfgs` run, its studies.
pub struct StudiedMember<'a> {
    pub name: &'a str,
    pub d: usize,
    pub lm: &'a Results,
    pub studies: &'a Studies,
}

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
         whole trajectory, so it costs what a full call costs. Verdicts: paired McNemar tests \
         on the same targets, Holm-corrected over the {} members.\n",
        verdicts.len()
    )?;
    writeln!(
        md,
        "| member | d | lm, one shot | lm, continuation | continuation against one shot |\n\
         |---|---|---|---|---|"
    )?;
    for v in &verdicts {
        let m = ran
            .iter()
            .find(|m| m.name == v.experiment)
            .expect("a compared member ran");
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
/// start that fits; Holm over both columns of every member.
pub fn learned_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<&StudiedMember> = members
        .iter()
        .filter(|m| m.studies.learned.is_some())
        .collect();
    if ran.is_empty() {
        return Ok(());
    }
    let mut pairings: Vec<Pairing> = Vec::new();
    for label in LEARNED {
        for m in &ran {
            let r = m.studies.learned.as_ref().expect("filtered");
            pairings.push(((r, label), (r, POOL)));
        }
    }
    let verdicts = compare_pairings(&pairings)?;
    writeln!(
        md,
        "\n## Learned starts\n\nThe supervised inverse network's prediction refined by LM \
         (`inverse-net`); that prediction first and then the 3 nearest pool samples, stopping \
         at the first start that fits (`inverse-pool`); and the pool's lookup alone \
         (`{POOL}`, also stopping at the first fit). The network's one-off training is listed \
         apart. Verdicts against `{POOL}`: paired McNemar tests, Holm-corrected over all {} \
         verdicts of the table.\n",
        verdicts.len()
    )?;
    writeln!(
        md,
        "| member | d | {POOL} | {} | {} | network training | {} against {POOL} | {} against \
         {POOL} |\n|---|---|---|---|---|---|---|---|",
        LEARNED[0], LEARNED[1], LEARNED[0], LEARNED[1]
    )?;
    for m in &ran {
        let r = m.studies.learned.as_ref().expect("filtered");
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

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// What limits each member, and a reading of it.
pub fn limits_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<(&StudiedMember, &MemberLimits)> = members
        .iter()
        .filter_map(|m| m.studies.limits.as_ref().map(|l| (m, l)))
        .collect();
    let Some((_, first)) = ran.first() else {
        return Ok(());
    };
    let radii: Vec<String> = PROBE_RADII.iter().map(|r| format!("{r}")).collect();
    writeln!(
        md,
        "\n## What limits each member\n\nMeasured by `proxyland limits` on the same test \
         targets. κ(J): the condition number of the residual's Jacobian at the truth (box \
         units), median [largest] over targets; ∞ where a direction is not seen at all. \
         Basin: the share of LM runs ({} per target and radius, random directions) that came \
         back into the success region from max-norm distance {} of the box. Pool: the median \
         max-norm distance to the truth of the sample whose trajectory is nearest to Y* (where \
         `{POOL}` starts), and of the sample nearest in parameter space (how near {} samples \
         come at all).\n",
        first.trials,
        radii.join(", "),
        first.pool_size
    )?;
    writeln!(
        md,
        "| member | d | κ(J) | basin {} | pool: nearest by trajectory | pool: nearest in X | \
         reading |\n|---|---|---|---|---|---|---|",
        radii.join(" / ")
    )?;
    for (m, l) in ran {
        let kappas: Vec<f64> = l
            .targets
            .iter()
            .map(|t| t.condition.unwrap_or(f64::INFINITY))
            .collect();
        let largest = kappas.iter().cloned().fold(0.0, f64::max);
        let shares: Vec<f64> = (0..PROBE_RADII.len())
            .map(|i| {
                let (reached, trials) = l.targets.iter().fold((0, 0), |(a, b), t| {
                    (a + t.basin[i].reached, b + t.basin[i].trials)
                });
                reached as f64 / trials.max(1) as f64
            })
            .collect();
        let by_trajectory = median(
            l.targets
                .iter()
                .filter_map(|t| t.nearest_by_trajectory)
                .collect(),
        );
        let in_x = median(
            l.targets
                .iter()
                .filter_map(|t| t.nearest_in_parameters)
                .collect(),
        );
        let fmt = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.2}"));
        let fmt_kappa = |k: f64| {
            if k.is_finite() {
                format!("{k:.0}")
            } else {
                "∞".to_string()
            }
        };
        writeln!(
            md,
            "| {} | {} | {} [{}] | {} | {} | {} | {} |",
            m.name,
            m.d,
            median(kappas.clone()).map_or("?".to_string(), fmt_kappa),
            fmt_kappa(largest),
            shares
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(" / "),
            fmt(by_trajectory),
            fmt(in_x),
            reading(
                &shares,
                by_trajectory,
                largest,
                m.lm.method(POOL).map_or(0.0, |s| s.success_rate)
            )
        )?;
    }
    Ok(())
}

/// What the numbers of one member say, by a fixed rule: an unseen direction first, then a
/// basin narrower than the smallest radius, then (where LM-refined `pool-bfgs` solves under
/// 90%) starts outside the radius the basin holds to.
fn reading(
    shares: &[f64],
    by_trajectory: Option<f64>,
    largest_kappa: f64,
    pool_success: f64,
) -> String {
    if !largest_kappa.is_finite() {
        return "identifiability: some target's observation does not see a direction".into();
    }
    let held = PROBE_RADII
        .iter()
        .zip(shares)
        .take_while(|(_, s)| **s >= BASIN_HOLDS)
        .last()
        .map(|(r, _)| *r);
    match (held, by_trajectory) {
        (None, _) => format!(
            "basin: LM returns from {} in only {:.0}% of probes",
            PROBE_RADII[0],
            100.0 * shares[0]
        ),
        (Some(r), Some(start)) if start > r && pool_success < BASIN_HOLDS => format!(
            "starts: the basin holds to {r} of the box, the pool's start lies {start:.2} away"
        ),
        (Some(r), _) if pool_success >= BASIN_HOLDS => format!(
            "solved from the pool ({pool_success:.2}): the basin reaches further along the \
             directions that matter than the {r} it holds to in every direction"
        ),
        (Some(r), _) => format!(
            "not the basin nor the start distance: the basin holds to {r}, the pool's start \
             inside it, yet {POOL} solves {pool_success:.2}"
        ),
    }
}
