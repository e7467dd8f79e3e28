//! LM against BFGS for every method that refines: each member's two evaluations paired row by
//! row, Holm-corrected over the table, and tallied per d.

use super::{Member, NETWORKS, find};
use crate::cells::{cell, verdict_cell};
use proxyland_optim::stats::VerdictTally;
use proxyland_optim::{Family, Pairing, Results, compare_pairings};
use std::fmt::Write as _;

/// The labels of one member's methods that refine, and that both evaluations ran: the pool
/// and learned starts, the headline proxy, and DE and CMA-ES (whose polish refines) at 1×
/// proxy-multistart's calls. Single-start `bfgs` and `multistart-bfgs` are left out: they are
/// BFGS whatever the refinement rule, so their two runs are the same run.
fn refined_labels(lm: &Results, bfgs: &Results) -> Vec<String> {
    let mut labels: Vec<String> = ["pool-bfgs", "proxy-multistart"]
        .into_iter()
        .chain(NETWORKS.into_iter().skip(1))
        .filter_map(|m| find(bfgs, m).map(|s| s.label.clone()))
        .collect();
    labels.extend(
        bfgs.methods
            .iter()
            .filter(|s| matches!(s.id.family, Family::De | Family::Cmaes))
            .filter(|s| {
                s.id.budget.as_ref().is_some_and(|b| {
                    b.multiple == 1
                        && b.reference == Family::ProxyMultistart
                        && !b.in_field_solves()
                })
            })
            .map(|s| s.label.clone()),
    );
    labels.retain(|l| lm.method(l).is_some());
    labels
}

/// "Which refinement is better, at each d?": every method refined by LM (the profile's rule)
/// against the same method refined by BFGS, all else equal, paired on the same targets and
/// Holm-corrected over the table.
pub(super) fn refinement(members: &[Member]) -> String {
    let ran: Vec<(&Member, &Results)> = members
        .iter()
        .filter_map(|m| Some((m, m.bfgs.as_ref()?)))
        .collect();
    if ran.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "## Refinement: Levenberg–Marquardt against BFGS, every method\n\n\
         Each method of the study that refines, run twice on the same test targets: refined by \
         LM (the profile's rule, as in the tables above) and by BFGS, with horizon continuation \
         and stop-at-fit in both. DE and CMA-ES run at 1× proxy-multistart's calls in both, at \
         the LM run's budget, so only their final polish differs; single-start `bfgs` and \
         `multistart-bfgs` are BFGS under either rule and are not listed. Exact McNemar tests, Holm-corrected \
         over every row of this table.\n\n\
         | member | d | method | lm | bfgs | lm against bfgs |\n|---|---|---|---|---|---|\n",
    );
    let labels: Vec<Vec<String>> = ran
        .iter()
        .map(|(m, bfgs)| refined_labels(&m.results, bfgs))
        .collect();
    // A method whose answers equal an earlier one's on every target under both rules is the
    // same pair of runs again: listed once.
    let mut pairings: Vec<Pairing> = Vec::new();
    let mut repeats = Vec::new();
    for ((m, bfgs), labels) in ran.iter().zip(&labels) {
        let mut listed: Vec<&str> = Vec::new();
        for l in labels {
            let same = |e: &&&str| m.results.same_answers(l, e) && bfgs.same_answers(l, e);
            if let Some(earlier) = listed.iter().find(same) {
                repeats.push(format!("{l} on {} (as {earlier})", m.name));
                continue;
            }
            listed.push(l.as_str());
            pairings.push(((&m.results, l.as_str()), (*bfgs, l.as_str())));
        }
    }
    let compared = match compare_pairings(&pairings) {
        Ok(c) => c,
        Err(e) => return format!("{md}**No comparison possible:** {e}\n\n"),
    };
    // Per d: the verdicts, and in how many pairs each rule spent fewer calls per target.
    let mut per_d: std::collections::BTreeMap<usize, (VerdictTally, usize, usize)> =
        Default::default();
    for c in &compared {
        let Some((m, _)) = ran
            .iter()
            .find(|(m, _)| m.results.experiment == c.experiment)
        else {
            continue;
        };
        let entry = per_d.entry(m.d).or_default();
        entry.0.add(c.verdict);
        // Baselines run at equal budgets under both rules: their spend is not the rule's.
        if c.a.id.budget.is_none() {
            entry.1 += usize::from(c.a.mean_sim_calls < c.b.mean_sim_calls);
            entry.2 += usize::from(c.b.mean_sim_calls < c.a.mean_sim_calls);
        }
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            m.name,
            m.d,
            c.a.label,
            cell(&c.a),
            cell(&c.b),
            verdict_cell(c)
        );
    }
    if !repeats.is_empty() {
        let _ = writeln!(
            md,
            "\nNot listed, because each gave the same answers as the method named on every target \
             under both rules: {}.",
            repeats.join(", ")
        );
    }
    md.push_str("\nPer d, over the members that ran both:\n\n");
    for (d, (t, lm_cheaper, bfgs_cheaper)) in &per_d {
        let _ = writeln!(
            md,
            "- d = {d}: LM better for {}, BFGS better for {}, no significant difference for {} \
             (of {} methods × members); of the starts that refine (the baselines run at equal \
             budgets), fewer mean simulator calls per target with LM for {lm_cheaper}, with BFGS \
             for {bfgs_cheaper}.",
            t.better,
            t.worse,
            t.same,
            t.total()
        );
    }
    md.push('\n');
    md
}
