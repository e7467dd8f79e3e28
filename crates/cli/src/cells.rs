//! Table cells and settings shared by the report subcommands (`report`, `scaling-report`,
//! `refine-report`): how a rate, a verdict or a duration is written, in one place.

use proxyland_optim::stats::format_p;
use proxyland_optim::{FamilyComparison, MethodSummary};

/// Seconds per experiment from a `stage seconds` timings file (stage labels are `<experiment>/…`).
/// A stage run again (its inputs changed) counts once, by its last time: the total is what the
/// outputs on record cost, not every attempt.
pub(crate) fn seconds_per_experiment(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut last: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some((stage, secs)) = line.rsplit_once(' ') else {
            continue;
        };
        if let Ok(secs) = secs.parse::<f64>() {
            last.insert(stage, secs);
        }
    }
    let mut out = std::collections::BTreeMap::new();
    for (stage, secs) in last {
        if let Some((experiment, _)) = stage.split_once('/') {
            *out.entry(experiment.to_string()).or_insert(0.0) += secs;
        }
    }
    out
}

/// A wall time as seconds below two minutes, else minutes.
pub(crate) fn duration(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.0} min", s / 60.0)
    }
}

/// `0.85 [0.64–0.95], 102 calls`.
pub(crate) fn rate_cell(s: &MethodSummary) -> String {
    format!(
        "{:.2} [{:.2}–{:.2}], {:.0} calls",
        s.success_rate, s.success_interval.0, s.success_interval.1, s.mean_sim_calls
    )
}

/// A full cell: success [interval], calls, field solves, wall seconds per target and capped runs.
pub(crate) fn cell(s: &MethodSummary) -> String {
    format!(
        "{:.2} [{:.2}–{:.2}], {:.0} calls, {:.0} solves, {:.2} s{}",
        s.success_rate,
        s.success_interval.0,
        s.success_interval.1,
        s.mean_sim_calls,
        s.mean_field_solves,
        s.wall_s,
        match s.refinements_capped {
            0 => String::new(),
            k => format!(", {k} capped"),
        }
    )
}

/// A paired verdict with its counts, raw p and Holm-adjusted p.
pub(crate) fn verdict_cell(c: &FamilyComparison) -> String {
    let word = c.verdict.word();
    format!(
        "{word} ({} vs {} targets alone; p = {}, Holm {})",
        c.paired.only_a,
        c.paired.only_b,
        format_p(c.paired.p_value),
        format_p(c.holm_p)
    )
}

/// A checkpoint's argmin error in words: the number, or that there was nothing to measure it on.
pub(crate) fn describe_argmin_error(error: Option<f64>) -> String {
    match error {
        Some(e) => format!("argmin error {e:.4}"),
        None => "no validation targets: argmin error not measured".to_string(),
    }
}
