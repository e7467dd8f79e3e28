//! The goals of issue 24: the best method per member against the success and spend goals,
//! as `optim::goals` judges them.

use super::{METHODS, Member, find, is_baseline};
use proxyland_optim::goals::{
    self, Candidate, GOAL_CALLS, GoalVerdict, judged_method, success_goal,
};
use std::fmt::Write as _;

/// The best method per member (baselines included) against the goals of issue 24.
pub(super) fn goals(members: &[Member]) -> String {
    let mut md = format!(
        "## The goals\n\n\
         Issue 24 asks for success {}, by a method that spends \
         ≤ {GOAL_CALLS:.0} simulator calls per target. Per member, the method with the highest \
         success among those within that spend (then the one with no physics training before \
         the one with it, then the fewest calls per target), or a dearer one where \
         none within it reaches the goal and a dearer one solves more; the best of several \
         methods on the same targets is an optimistic pick. Judged on the point estimate and the mean calls per target.\n\n\
         | member | d | best | success | calls | field solves | goal |\n|---|---|---|---|---|---|---|\n",
        goals::in_words()
    );
    for m in members {
        let Some(goal) = success_goal(m.d) else {
            continue;
        };
        let candidates: Vec<Candidate> = METHODS
            .iter()
            .filter_map(|k| {
                let summary = find(&m.results, k)?;
                Some(Candidate {
                    name: k,
                    summary,
                    one_off_calls: m.results.one_off_calls(summary),
                })
            })
            .collect();
        let Some(Candidate {
            name,
            summary: best,
            ..
        }) = judged_method(&candidates, goal)
        else {
            continue;
        };
        let name = if is_baseline(name) {
            format!("{} ({name})", best.label)
        } else {
            best.label.clone()
        };
        let verdict = GoalVerdict::judge(best, goal);
        let _ = writeln!(
            md,
            "| {} | {} | {name} | {:.2} [{:.2}–{:.2}] | {:.0} | {:.0} | ≥ {goal:.2}: {verdict} |",
            m.name,
            m.d,
            best.success_rate,
            best.success_interval.0,
            best.success_interval.1,
            best.mean_sim_calls,
            best.mean_field_solves
        );
    }
    md.push('\n');
    md
}
