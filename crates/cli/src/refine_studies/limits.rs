//! What limits each member (`proxyland limits`): conditioning, basin and pool, and a reading.

use super::{POOL, StudiedMember};
use anyhow::{Result, bail};
use proxyland_optim::limits::{MemberLimits, PROBE_ITERATIONS, PROBE_RADII};
use std::fmt::Write as _;

/// A basin radius "holds" when LM comes back from this share of its probes.
const BASIN_HOLDS: f64 = 0.9;

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
         LM runs ({} per target and radius, random directions, at most {PROBE_ITERATIONS} iterations) that \
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
