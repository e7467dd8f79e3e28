//! The amortization paragraph and figure: when the pool's one-off cost pays for itself.

use crate::figures::{AmortizationLine, draw_amortization};
use anyhow::Result;
use proxyland_optim::{Family, Results, crossover};
use std::fmt::Write as _;
use std::path::Path;

/// The amortization paragraph and figure: cumulative simulator calls (pool included) against
/// targets solved, for the headline proxy method, pool-bfgs and the strongest baseline.
pub(super) fn amortization(md: &mut String, e: &str, r: &Results, fig_dir: &Path) -> Result<()> {
    let Some(pool) = r.pool_simulations else {
        return Ok(());
    };
    let proxy = r.headline(Family::ProxyMultistart);
    let base = r.strongest_baseline();
    let pool_bfgs = r.plain_run(Family::PoolBfgs);
    let per_solved = |calls: f64, success: f64| {
        if success > 0.0 {
            calls / success
        } else {
            f64::INFINITY
        }
    };
    let mut lines = Vec::new();
    if let Some(h) = &proxy {
        lines.push(AmortizationLine {
            label: "proxy-multistart (chosen)".into(),
            one_off: pool,
            per_solved: per_solved(h.mean_calls, h.mean_success),
        });
    }
    if let Some(p) = pool_bfgs {
        lines.push(AmortizationLine {
            label: "pool-bfgs".into(),
            one_off: pool,
            per_solved: per_solved(p.mean_sim_calls, p.success_rate),
        });
    }
    if let Some(b) = base {
        lines.push(AmortizationLine {
            label: b.label.clone(),
            one_off: 0,
            per_solved: per_solved(b.mean_sim_calls, b.success_rate),
        });
    }
    if lines.len() < 2 {
        return Ok(());
    }
    writeln!(
        md,
        "\n**Amortization.** Cumulative simulator calls to solve n targets = one-off pool ({pool} simulations) + n × calls per target ÷ success rate. The proxy's training time is not a simulator call and is listed above."
    )?;
    let fmt_cross = |c: Option<f64>| match c {
        Some(0.0) => "from the first target".to_string(),
        Some(n) => format!("after {:.0} solved targets", n.ceil()),
        None => "never".to_string(),
    };
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            // Say it from the side that gets cheaper (if either does).
            let (first, second, when) =
                match crossover((a.one_off, a.per_solved), (b.one_off, b.per_solved)) {
                    Some(n) => (a, b, Some(n)),
                    None => (
                        b,
                        a,
                        crossover((b.one_off, b.per_solved), (a.one_off, a.per_solved)),
                    ),
                };
            let sentence = match when {
                Some(_) => format!(
                    "{} is cheaper than {} {}",
                    first.label,
                    second.label,
                    fmt_cross(when)
                ),
                None => format!("{} and {} cost the same", a.label, b.label),
            };
            writeln!(
                md,
                "- {sentence} ({:.0} vs {:.0} calls per solved target, {} vs {} one-off).",
                first.per_solved, second.per_solved, first.one_off, second.one_off
            )?;
        }
    }
    draw_amortization(
        &fig_dir.join("amortization.png"),
        &format!("{e}: simulator calls to solve n targets"),
        &lines,
    )?;
    writeln!(md, "\n![amortization]({e}/amortization.png)")?;
    Ok(())
}
