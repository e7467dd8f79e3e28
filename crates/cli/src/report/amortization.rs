//! The amortization paragraph and figure: when the pool's one-off cost pays for itself.

use crate::figures::draw_amortization;
use anyhow::Result;
use proxyland_optim::{Results, amortization_lines, cheaper_of};
use std::fmt::Write as _;
use std::path::Path;

/// The amortization paragraph and figure: cumulative simulator calls (pool included) against
/// targets solved, for the headline proxy method, pool-bfgs and the strongest baseline.
pub(super) fn amortization(md: &mut String, e: &str, r: &Results, fig_dir: &Path) -> Result<()> {
    let (Some(pool), lines) = (r.pool_simulations, amortization_lines(r)) else {
        return Ok(());
    };
    if lines.len() < 2 {
        return Ok(());
    }
    writeln!(
        md,
        "\n**Amortization.** Cumulative simulator calls to solve n targets = one-off pool ({pool} simulations) + n × calls per target ÷ success rate. The proxy's training time is not a simulator call and is listed above."
    )?;
    let fmt_cross = |n: f64| match n {
        0.0 => "from the first target".to_string(),
        n => format!("after {:.0} solved targets", n.ceil()),
    };
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            // Said from the side that gets cheaper (if either does).
            let (first, second, sentence) = match cheaper_of(a, b) {
                Some((first, second, n)) => (
                    first,
                    second,
                    format!(
                        "{} is cheaper than {} {}",
                        first.label,
                        second.label,
                        fmt_cross(n)
                    ),
                ),
                None => (b, a, format!("{} and {} cost the same", a.label, b.label)),
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
