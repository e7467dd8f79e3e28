//! The paired studies: physics against supervised training, and network against lookup.

use super::{Member, NETWORKS, find};
use crate::cells::rate_cell;
use proxyland_optim::stats::Verdict;
use proxyland_optim::{Pairing, compare_pairings};
use std::fmt::Write as _;

/// Physics training against the supervised network it starts from: paired tests on the same
/// targets, Holm-corrected over the members, and the learning curve's ends, read from the
/// physics network's file where it is still on disk.
pub(super) fn physics_training(members: &[Member]) -> String {
    let mut md = String::from(
        "## Physics training against the supervised network\n\n\
         `inverse-net[physics]` against `inverse-net[supervised]` (the network it starts from) \
         on the same test targets: exact McNemar tests, Holm-corrected over the members (a \
         member where training kept the supervised weights counts as a tie, which only makes \
         the correction stricter). \
         Validation physics loss: the median over the validation targets of the loss of the \
         network's raw prediction, before refinement, at the supervised start and at the \
         epoch kept.\n\n\
         | member | d | supervised | physics | epochs run, kept | validation physics loss: start → kept | p (raw) | p (Holm) | verdict |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let pairings: Vec<Pairing> = members
        .iter()
        .map(|m| {
            (
                (&m.results, "inverse-net[physics]"),
                (&m.results, "inverse-net[supervised]"),
            )
        })
        .collect();
    let compared = match compare_pairings(&pairings) {
        Ok(c) => c,
        Err(e) => return format!("{md}**No comparison possible:** {e}\n\n"),
    };
    for c in &compared {
        let Some(m) = members
            .iter()
            .find(|m| m.results.experiment == c.experiment)
        else {
            continue;
        };
        let curve = m
            .results
            .inverse_networks
            .iter()
            .find(|g| g.variant == "physics")
            .and_then(|g| proxyland_proxy::InverseModel::load(&g.path).ok())
            .map(|net| net.meta().training.clone());
        let (epochs, losses) = match &curve {
            Some(t) if !t.physics.is_empty() => {
                let start = t.physics[0].validation_loss;
                let kept = t.kept_physics_epoch().and_then(|e| t.physics.get(e));
                let loss = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3e}"));
                (
                    format!("{}, {}", t.physics.len() - 1, t.chosen),
                    format!(
                        "{} → {}",
                        loss(start),
                        loss(kept.and_then(|e| e.validation_loss))
                    ),
                )
            }
            _ => ("–".to_string(), "– (network file not on disk)".to_string()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {epochs} | {losses} | {} | {} | {} |",
            m.name,
            m.d,
            rate_cell(&c.b),
            rate_cell(&c.a),
            proxyland_optim::stats::format_p(c.paired.p_value),
            proxyland_optim::stats::format_p(c.holm_p),
            c.verdict.word(),
        );
    }
    md.push('\n');
    md
}

/// "Where does a network beats the lookup?", from the paired tests alone, Holm-corrected over
/// every comparison of the report.
pub(super) fn verdict(members: &[Member]) -> String {
    let mut md = String::from(
        "## Where a network beats the lookup\n\n\
         Each network against `pool-bfgs` on the same test targets: exact McNemar test, its \
         p-value Holm-corrected over every comparison in this table (the family of questions \
         the report answers), verdict at p < 0.05 after correction. A difference without \
         significance is reported as none.\n\n\
         | member | d | pool-bfgs | network | its success | p (raw) | p (Holm) | verdict |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut same_network = Vec::new();
    let mut pairings: Vec<Pairing> = Vec::new();
    let mut member_of = std::collections::HashMap::new();
    for m in members {
        let r = &m.results;
        let Some(pool) = find(r, "pool-bfgs") else {
            continue;
        };
        // A network whose answers equal an earlier one's on every target (physics training
        // that kept the supervised weights; inverse-pool whose network start always fit) is
        // the same test again: it is listed once, not counted twice in the family.
        let mut listed: Vec<&str> = Vec::new();
        for net in NETWORKS {
            let Some(s) = find(r, net) else { continue };
            if let Some(earlier) = listed.iter().find(|l| r.same_answers(&s.label, l)) {
                same_network.push(format!("{} on {} (as {earlier})", s.label, m.name));
                continue;
            }
            listed.push(s.label.as_str());
            pairings.push(((r, s.label.as_str()), (r, pool.label.as_str())));
            member_of.insert(r.experiment.clone(), (m.name.clone(), m.d));
        }
    }
    let compared = match compare_pairings(&pairings) {
        Ok(c) => c,
        Err(e) => return format!("{md}**No comparison possible:** {e}\n\n"),
    };
    let (mut wins, mut losses) = (Vec::new(), 0);
    for c in &compared {
        let (name, d) = member_of
            .get(&c.experiment)
            .cloned()
            .unwrap_or((c.experiment.clone(), 0));
        let raw = proxyland_optim::stats::format_p(c.paired.p_value);
        let holm = proxyland_optim::stats::format_p(c.holm_p);
        match c.verdict {
            Verdict::Beats => wins.push(format!(
                "{} on {name} (d = {d}): {:.2} against {:.2}, {:+.0} simulator calls per target \
                 (Holm p = {holm})",
                c.a.label,
                c.a.success_rate,
                c.b.success_rate,
                c.a.mean_sim_calls - c.b.mean_sim_calls
            )),
            Verdict::LosesTo => losses += 1,
            Verdict::Ties | Verdict::NoSignificantDifference => {}
        }
        let words = c.verdict.word();
        let _ = writeln!(
            md,
            "| {name} | {d} | {} | {} | {} | {raw} | {holm} | {words} |",
            rate_cell(&c.b),
            c.a.label,
            rate_cell(&c.a)
        );
    }
    md.push('\n');
    if !same_network.is_empty() {
        let _ = writeln!(
            md,
            "Not compared, because each gave the same answer as the network named on every \
             target, so its test would be the same test again: {}.\n",
            same_network.join(", ")
        );
    }
    let largest = compared
        .iter()
        .filter_map(|c| member_of.get(&c.experiment).map(|(_, d)| *d))
        .max()
        .unwrap_or(0);
    let n = compared.len();
    let targets = {
        let (lo, hi) = compared.iter().fold((usize::MAX, 0), |(lo, hi), c| {
            (lo.min(c.a.n), hi.max(c.a.n))
        });
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        }
    };
    if n == 0 {
        md.push_str("**No comparison possible:** no member has both pool-bfgs and a network.\n");
    } else if wins.is_empty() {
        let _ = writeln!(
            md,
            "**Answer: no significant win for a network anywhere up to d = {largest}** (Holm over \
             {n} comparisons); significantly worse in {losses}. With {targets} targets a paired test \
             detects only large differences, so \"no significant win\" is not \"no \
             difference\".\n"
        );
    } else {
        let _ = writeln!(
            md,
            "**Answer: a network beats the lookup in {} of {n} comparisons after Holm \
             correction** (significantly worse in {losses}):\n",
            wins.len()
        );
        for w in &wins {
            let _ = writeln!(md, "- {w}");
        }
        md.push('\n');
    }
    md
}
