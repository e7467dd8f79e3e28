//! The goals of the high-d study (issue 24) as data, and the judgement against them: the
//! success each number of unknowns asks for, the spend the winning method may use, which of a
//! member's methods the goal is judged on, and the verdict. `scaling-report` and
//! `refine-report` only write them down.

use crate::MethodSummary;

/// The success goals by number of unknowns d: ≥ 0.95 at d = 8, ≥ 0.90 at d = 16.
pub const SUCCESS_GOALS: [(usize, f64); 2] = [(8, 0.95), (16, 0.90)];

/// The most simulator calls per target the goals allow the winning method (a mean over the
/// targets; single targets may spend more).
pub const GOAL_CALLS: f64 = 100.0;

/// The success goal at `d`, where the study sets one.
///
/// ```
/// use proxyland_optim::goals::success_goal;
/// assert_eq!(success_goal(16), Some(0.90));
/// assert_eq!(success_goal(4), None);
/// ```
pub fn success_goal(d: usize) -> Option<f64> {
    SUCCESS_GOALS.iter().find(|(g, _)| *g == d).map(|(_, s)| *s)
}

/// The success goals in words: `≥ 0.95 at d = 8 and ≥ 0.90 at d = 16`.
///
/// ```
/// assert_eq!(proxyland_optim::goals::in_words(), "≥ 0.95 at d = 8 and ≥ 0.90 at d = 16");
/// ```
pub fn in_words() -> String {
    SUCCESS_GOALS
        .iter()
        .map(|(d, s)| format!("≥ {s:.2} at d = {d}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The lower end of the 95% interval the reports print for `n` of `n` targets solved: why a
/// goal is judged on the point estimate (at n = 30 even a clean sweep bounds success only
/// from 0.89).
///
/// ```
/// let bound = proxyland_optim::goals::all_solved_lower_bound(30);
/// assert!(bound > 0.88 && bound < 0.89);
/// ```
pub fn all_solved_lower_bound(n: usize) -> f64 {
    crate::stats::wilson_interval(n, n, crate::stats::Z95).0
}

/// One method of a member as the goal sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// What the report calls it.
    pub name: &'a str,
    /// Its results on the member's targets.
    pub summary: &'a MethodSummary,
    /// Simulator calls it spent once before any target (a physics-trained network's training;
    /// 0 for most methods).
    pub one_off_calls: usize,
}

/// The method a member's goal is judged on: the highest success among those within
/// [`GOAL_CALLS`], then the fewest one-off calls (a method that needed no physics training
/// before one that did, however few per-target calls that training saved), then the fewest
/// calls per target; unless that one misses `goal` and a dearer one solves more. On a full tie
/// the candidate listed first is named. `None` without candidates.
///
/// ```
/// # use proxyland_optim::goals::{Candidate, judged_method};
/// # fn check(cheap: &proxyland_optim::MethodSummary, dear: &proxyland_optim::MethodSummary) {
/// let c = [
///     Candidate { name: "cheap", summary: cheap, one_off_calls: 0 },
///     Candidate { name: "dear", summary: dear, one_off_calls: 0 },
/// ];
/// let judged = judged_method(&c, 0.95);
/// # }
/// ```
pub fn judged_method<'a>(candidates: &[Candidate<'a>], goal: f64) -> Option<Candidate<'a>> {
    let most_solved = |within: bool| {
        candidates
            .iter()
            .copied()
            .filter(|c| !within || c.summary.mean_sim_calls <= GOAL_CALLS)
            .rev()
            .max_by(|a, b| {
                let (sa, sb) = (a.summary, b.summary);
                sa.success_rate
                    .total_cmp(&sb.success_rate)
                    .then(b.one_off_calls.cmp(&a.one_off_calls))
                    .then(sb.mean_sim_calls.total_cmp(&sa.mean_sim_calls))
            })
    };
    most_solved(true)
        .filter(|w| {
            w.summary.success_rate >= goal
                || most_solved(false)
                    .is_none_or(|o| o.summary.success_rate <= w.summary.success_rate)
        })
        .or_else(|| most_solved(false))
}

/// How a method fares against a member's goal, judged on the point estimate of success and
/// the mean calls per target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GoalVerdict {
    /// Success at the goal, within [`GOAL_CALLS`].
    Met,
    /// Success at the goal, at more calls per target than [`GOAL_CALLS`].
    SpendMissed {
        /// Mean simulator calls per target.
        calls: f64,
    },
    /// Success below the goal.
    SuccessMissed {
        /// How far below.
        short_by: f64,
    },
}

impl GoalVerdict {
    /// The verdict on `s` against the success goal `goal`.
    ///
    /// ```
    /// use proxyland_optim::goals::GoalVerdict;
    /// # fn check(s: &proxyland_optim::MethodSummary) {
    /// if (s.success_rate, s.mean_sim_calls) == (0.9, 130.0) {
    ///     assert_eq!(GoalVerdict::judge(s, 0.9), GoalVerdict::SpendMissed { calls: 130.0 });
    /// }
    /// # }
    /// ```
    pub fn judge(s: &MethodSummary, goal: f64) -> Self {
        match (s.success_rate >= goal, s.mean_sim_calls <= GOAL_CALLS) {
            (true, true) => GoalVerdict::Met,
            (true, false) => GoalVerdict::SpendMissed {
                calls: s.mean_sim_calls,
            },
            (false, _) => GoalVerdict::SuccessMissed {
                short_by: goal - s.success_rate,
            },
        }
    }
}

impl std::fmt::Display for GoalVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoalVerdict::Met => write!(f, "met"),
            GoalVerdict::SpendMissed { calls } => write!(
                f,
                "success met; {calls:.0} calls, {:.0} over the spend goal",
                calls - GOAL_CALLS
            ),
            GoalVerdict::SuccessMissed { short_by } => write!(f, "missed by {short_by:.2}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(success_rate: f64, mean_sim_calls: f64) -> MethodSummary {
        let mut s: MethodSummary = serde_json::from_value(serde_json::json!({
            "label": "m", "id": {"family": "bfgs"}, "n": 30, "successes": 0,
            "success_rate": 0.0, "success_interval": [0.0, 1.0],
            "median_resim_loss": 0.0, "median_param_error": 0.0,
            "mean_sim_calls": 0.0, "wall_s": 0.0, "failed_runs": 0, "headline": false
        }))
        .unwrap();
        s.success_rate = success_rate;
        s.mean_sim_calls = mean_sim_calls;
        s
    }

    fn named<'a>(name: &'a str, s: &'a MethodSummary, once: usize) -> Candidate<'a> {
        Candidate {
            name,
            summary: s,
            one_off_calls: once,
        }
    }

    #[test]
    fn the_goal_is_judged_on_the_best_within_spend_unless_a_dearer_one_solves_more() {
        let (cheap, dear, dearer_tie) =
            (summary(0.9, 40.0), summary(0.97, 300.0), summary(0.9, 20.0));
        let pick = |c: &[Candidate], goal| judged_method(c, goal).unwrap().name.to_string();
        // Within 100 calls and at the goal: the cheap one, though a dearer one solves more.
        let c = [named("cheap", &cheap, 0), named("dear", &dear, 0)];
        assert_eq!(pick(&c, 0.9), "cheap");
        // Within spend but under the goal, and a dearer one solves more: the dearer one.
        assert_eq!(pick(&c, 0.95), "dear");
        // Equal success within spend: the fewer calls.
        let c = [named("cheap", &cheap, 0), named("tie", &dearer_tie, 0)];
        assert_eq!(pick(&c, 0.95), "tie");
        // ... unless the one with fewer calls per target paid for them in training first.
        let c = [
            named("cheap", &cheap, 0),
            named("trained", &dearer_tie, 48_000),
        ];
        assert_eq!(pick(&c, 0.95), "cheap");
        // An exact tie names the candidate listed first.
        let twin = summary(0.9, 40.0);
        let c = [named("first", &cheap, 0), named("second", &twin, 0)];
        assert_eq!(pick(&c, 0.95), "first");
        // Nothing within spend: the best of the rest.
        assert_eq!(pick(&[named("dear", &dear, 0)], 0.9), "dear");
        assert!(judged_method(&[], 0.9).is_none());
    }

    #[test]
    fn a_verdict_names_the_goal_a_method_misses() {
        assert_eq!(
            GoalVerdict::judge(&summary(0.95, 100.0), 0.95),
            GoalVerdict::Met
        );
        let over = GoalVerdict::judge(&summary(0.97, 130.0), 0.90);
        assert_eq!(over, GoalVerdict::SpendMissed { calls: 130.0 });
        assert!(over.to_string().contains("30 over"), "{over}");
        // Success decides first: a cheap method under the goal misses it, whatever it spends.
        let short = GoalVerdict::judge(&summary(0.80, 10.0), 0.95);
        assert!(
            matches!(short, GoalVerdict::SuccessMissed { short_by } if (short_by - 0.15).abs() < 1e-12)
        );
        assert_eq!(short.to_string(), "missed by 0.15");
    }
}
