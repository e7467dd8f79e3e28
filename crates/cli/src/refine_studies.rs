//! The studies of results/scaling/REFINE.md beyond the choice of refinement: horizon
//! continuation against one-shot fitting, learned starts against the pool's lookup, and what
//! limits each member (`proxyland limits`). Each reads its own file of a member's run folder
//! and is left out where the profile did not write it.

use crate::args::read_results;
use crate::cells::{cell, goal_for, verdict_cell};
use anyhow::{Context, Result, bail};
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
    /// The same three under horizon continuation (`eval-learned-continuation.json`).
    pub learned_continuation: Option<Results>,
    /// What limits the member (`limits.json`).
    pub limits: Option<MemberLimits>,
    /// The chosen variant and the lookup on fresh targets (`eval-confirm.json`).
    pub confirm: Option<Results>,
    /// The learned-start study under continuation on nested pools of other sizes
    /// (`pool-<n>/eval-learned-continuation.json`), smallest first.
    pub pool_sizes: Vec<Results>,
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

/// A results file that may not have been written (a study not run).
fn optional_results(path: &Path) -> Result<Option<Results>> {
    if path.exists() {
        Ok(Some(read_results(path)?))
    } else {
        Ok(None)
    }
}

/// Every `pool-<n>/eval-learned-continuation.json` under `dir`, by pool size.
fn read_pool_sizes(dir: &Path) -> Result<Vec<Results>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let sized = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("pool-"))
            .is_some_and(|n| n.parse::<usize>().is_ok());
        let file = path.join("eval-learned-continuation.json");
        if sized && file.exists() {
            found.push(read_results(&file)?);
        }
    }
    found.sort_by_key(|r| r.pool_simulations.unwrap_or(0));
    Ok(found)
}

impl Studies {
    /// Reads a member's run folder; a missing file is a study not run.
    pub fn read(dir: &Path) -> Result<Studies> {
        Ok(Studies {
            continuation: optional_results(&dir.join("eval-lm-continuation.json"))?,
            learned: optional_results(&dir.join("eval-learned.json"))?,
            learned_continuation: optional_results(&dir.join("eval-learned-continuation.json"))?,
            limits: read_optional(&dir.join("limits.json"))?,
            confirm: optional_results(&dir.join("eval-confirm.json"))?,
            pool_sizes: read_pool_sizes(dir)?,
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
         whole trajectory, so it costs what a full call costs; each stage has LM's own cap of \
         100 iterations, so continuation may iterate up to three times as long. Verdicts: paired McNemar tests \
         on the same targets, Holm-corrected over the {} members.\n",
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

/// What limits each member, and a reading of it.
pub fn limits_section(md: &mut String, members: &[StudiedMember]) -> Result<()> {
    let ran: Vec<(&StudiedMember, &MemberLimits)> = members
        .iter()
        .filter_map(|m| m.studies.limits.as_ref().map(|l| (m, l)))
        .collect();
    let Some((_, first)) = ran.first() else {
        return Ok(());
    };
    for (m, l) in &ran {
        if l.experiment != m.name {
            bail!(
                "{}/limits.json: holds {}, not {}",
                m.name,
                l.experiment,
                m.name
            );
        }
        if (l.trials, l.pool_size) != (first.trials, first.pool_size) {
            bail!(
                "{}/limits.json: {} probes per radius on a pool of {}, the others {} on {}; \
                 one table needs one protocol",
                m.name,
                l.trials,
                l.pool_size,
                first.trials,
                first.pool_size
            );
        }
    }
    let radii: Vec<String> = PROBE_RADII.iter().map(|r| format!("{r}")).collect();
    writeln!(
        md,
        "\n## What limits each member\n\nMeasured by `proxyland limits` on the same test \
         targets. κ(J): the condition number of the residual's Jacobian at the truth (ratio \
         of extreme singular values, box units), median [largest] over targets, and how many \
         targets' observations do not see some direction at all (κ = ∞). Basin: the share of \
         LM runs ({} per target and radius, random directions, at most 100 iterations) that \
         came back into the success region from max-norm distance {} of the box. Pool: the \
         median max-norm distance to the truth of the sample whose trajectory is nearest to \
         Y* (where `{POOL}` starts), and of the sample nearest in parameter space (how near \
         {} samples come at all). The reading crosses, target by target, where `{POOL}` \
         refined by one-shot LM failed with where its start lay.\n",
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
        let summary = l.summary();
        let shares = &summary.basin_shares;
        let fmt = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.2}"));
        let kappa = format!(
            "{} [{}]{}",
            summary
                .median_condition
                .map_or("?".to_string(), |k| format!("{k:.0}")),
            summary
                .largest_condition
                .map_or("?".to_string(), |k| format!("{k:.0}")),
            match summary.unseen {
                0 => String::new(),
                k => format!(", {k} ∞"),
            }
        );
        let successes = m.lm.successes(POOL);
        writeln!(
            md,
            "| {} | {} | {kappa} | {} | {} | {} | {} |",
            m.name,
            m.d,
            shares
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(" / "),
            fmt(summary.median_nearest_by_trajectory),
            fmt(summary.median_nearest_in_parameters),
            reading(l, shares, successes.as_deref())
        )?;
    }
    Ok(())
}

/// What the numbers of one member say, by a fixed rule: unseen directions on a tenth of the
/// targets first; then a basin that does not hold even at the smallest radius; then, target
/// by target, how many of those `pool-bfgs` missed started beyond the radius the basin holds
/// to, beside how many of those it solved started there too. "starts" only where most misses
/// started beyond and most solved targets did not.
fn reading(l: &MemberLimits, shares: &[f64], successes: Option<&[bool]>) -> String {
    let n = l.targets.len();
    let unseen = l.targets.iter().filter(|t| t.condition.is_none()).count();
    if unseen > 0 && 10 * unseen >= n {
        return format!(
            "identifiability: {unseen} of {n} targets' observations do not see some direction"
        );
    }
    let Some(held) = PROBE_RADII
        .iter()
        .zip(shares)
        .take_while(|(_, s)| **s >= BASIN_HOLDS)
        .last()
        .map(|(r, _)| *r)
    else {
        return format!(
            "basin: LM returns from {} in only {:.0}% of probes",
            PROBE_RADII[0],
            100.0 * shares[0]
        );
    };
    let Some(successes) = successes.filter(|s| s.len() == n) else {
        return format!("the basin holds to {held} of the box");
    };
    let beyond = |t: &proxyland_optim::limits::TargetLimits| {
        t.nearest_by_trajectory.is_some_and(|s| s > held)
    };
    let missed: Vec<_> = l
        .targets
        .iter()
        .zip(successes)
        .filter(|(_, s)| !**s)
        .collect();
    let solved_beyond = l
        .targets
        .iter()
        .zip(successes)
        .filter(|(t, s)| **s && beyond(t))
        .count();
    if missed.is_empty() {
        return format!(
            "solved from the pool: every target ({solved_beyond} of them from starts beyond \
             the {held} the basin holds to in the probes)"
        );
    }
    let missed_beyond = missed.iter().filter(|(t, _)| beyond(t)).count();
    let solved = n - missed.len();
    if solved == 0 {
        // Nothing solved: no contrast, so no cause can be read off the start distance.
        return format!(
            "every target missed, {missed_beyond} of {n} from starts beyond the {held} the basin \
             holds to in the probes"
        );
    }
    // The start distance explains the misses only where far starts mostly fail and the
    // solved targets mostly started near.
    let kind = if 2 * missed_beyond > missed.len() && 2 * solved_beyond < solved {
        "starts"
    } else {
        "the start distance does not separate solved from missed"
    };
    format!(
        "{kind}: of the {} targets `{POOL}` misses, {missed_beyond} start beyond the {held} the \
         basin holds to in the probes; of the {solved} it solves, {solved_beyond} did too",
        missed.len()
    )
}

/// The variant the study picked, on fresh targets.
pub const CHOSEN: &str = "inverse-pool[supervised]";

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
