//! The paired claims of each experiment ("A beats B"), and their tallies over the experiments.

use super::headline::headline_run;
use anyhow::Result;
use proxyland_optim::stats::{PairedComparison, Verdict, VerdictTally, format_p};
use proxyland_optim::{Family, MethodSummary, Pairing, Results, compare_pairings};
use std::fmt::Write as _;

/// "A beats B (…)" for two summaries of the same results, from the exact paired test.
fn claim(r: &Results, a: &MethodSummary, b: &MethodSummary) -> Option<(PairedComparison, String)> {
    let c = r.compare(&a.label, &b.label)?;
    let sentence = format!(
        "{} ({:.2}) {} ({:.2})",
        a.label,
        a.success_rate,
        c.phrase(&b.label),
        b.success_rate
    );
    Some((c, sentence))
}

/// A tally in the report's words.
fn tally_words(t: &VerdictTally) -> String {
    format!(
        "significantly better on {}, significantly worse on {}, no significant difference on {} (of {})",
        t.better,
        t.worse,
        t.same,
        t.total()
    )
}

/// The paired claims against the chosen configuration's first seed, tallied over the
/// experiments, and each experiment's claims in words.
#[derive(Default)]
pub(super) struct Claims {
    vs_bfgs: VerdictTally,
    vs_pool: VerdictTally,
    vs_base1: VerdictTally,
    vs_base10: VerdictTally,
    two_stage: VerdictTally,
    /// The direct inverse against the lookup, per variant (supervised, physics).
    inverse_vs_pool: [VerdictTally; 2],
    /// Per experiment, its claims as a markdown list.
    verdicts: String,
}

impl Claims {
    /// Tallies the paired claims of one experiment, against the chosen configuration's first
    /// seed, and lists them under its name.
    pub(super) fn add_experiment(&mut self, e: &str, r: &Results) -> Result<()> {
        let mut lines = Vec::new();
        let pm = headline_run(r, Family::ProxyMultistart);
        let pb = headline_run(r, Family::ProxyBfgs);
        let bfgs = r.plain_run(Family::Bfgs);
        let pool = r.plain_run(Family::PoolBfgs);
        if let Some(pm) = pm {
            for (other, tally) in [(bfgs, &mut self.vs_bfgs), (pool, &mut self.vs_pool)] {
                if let Some((c, s)) = other.and_then(|b| claim(r, pm, b)) {
                    tally.add(c.verdict);
                    lines.push(s);
                }
            }
            for (k, tally) in [(1, &mut self.vs_base1), (10, &mut self.vs_base10)] {
                if let Some((c, s)) = r
                    .strongest_at(k, Family::ProxyMultistart, false)
                    .and_then(|b| claim(r, pm, b))
                {
                    tally.add(c.verdict);
                    lines.push(s);
                }
            }
        }
        if let (Some(pb), Some(b)) = (pb, bfgs) {
            if let Some((c, s)) = claim(r, pb, b) {
                self.two_stage.add(c.verdict);
                lines.push(s);
            }
        }
        for (variant, tally) in ["supervised", "physics"]
            .iter()
            .zip(&mut self.inverse_vs_pool)
        {
            let net = r.method(&format!("inverse-net[{variant}]"));
            if let Some((c, s)) = net.zip(pool).and_then(|(a, b)| claim(r, a, b)) {
                tally.add(c.verdict);
                lines.push(s);
            }
        }
        if !lines.is_empty() {
            writeln!(self.verdicts, "- **{e}** (n = {} test targets):", r.targets)?;
            for l in lines {
                writeln!(self.verdicts, "  - {l}.")?;
            }
        }
        Ok(())
    }

    /// "What the numbers say": the tallies over the experiments, the network-against-lookup
    /// family under Holm (over `results`, every experiment's), then each experiment's claims.
    pub(super) fn write_summary(&self, md: &mut String, results: &[Results]) -> Result<()> {
        writeln!(md, "## What the numbers say\n")?;
        if self.vs_bfgs.total() > 0 {
            writeln!(
                md,
                "Paired tests of the chosen `proxy-multistart` checkpoint on the same test targets, over the experiments:\n"
            )?;
            writeln!(
                md,
                "- against single-start `bfgs`: {};",
                tally_words(&self.vs_bfgs)
            )?;
            if self.vs_pool.total() > 0 {
                writeln!(
                    md,
                    "- against `pool-bfgs` (the same pool, no network): {};",
                    tally_words(&self.vs_pool)
                )?;
            }
            writeln!(
                md,
                "- against the strongest baseline at its own spend (1×): {};",
                tally_words(&self.vs_base1)
            )?;
            writeln!(
                md,
                "- against the strongest baseline at 10× its spend: {}.",
                tally_words(&self.vs_base10)
            )?;
            if self.two_stage.total() > 0 {
                writeln!(
                    md,
                    "\nThe paper's two-stage `proxy-bfgs` against single-start `bfgs`: {}.",
                    tally_words(&self.two_stage)
                )?;
            }
            for (variant, tally) in ["supervised", "physics"].iter().zip(&self.inverse_vs_pool) {
                if tally.total() > 0 {
                    writeln!(
                        md,
                        "\nThe direct inverse `inverse-net[{variant}]` against `pool-bfgs`: {}.",
                        tally_words(tally)
                    )?;
                }
            }
            write_network_family(md, results)?;
            let verdicts = &self.verdicts;
            writeln!(md, "\nPer experiment:\n\n{verdicts}")?;
        }
        Ok(())
    }
}

/// "Does a network beat the lookup?" over every experiment at once: the per-experiment tests
/// are uncorrected, so the family (every network method against `pool-bfgs`, every
/// experiment) is given again under Holm, by optim's `compare_pairings`.
fn write_network_family(md: &mut String, results: &[Results]) -> Result<()> {
    let mut pairings: Vec<Pairing> = Vec::new();
    for r in results {
        let Some(pool) = r.plain_run(Family::PoolBfgs) else {
            continue;
        };
        let networks = headline_run(r, Family::ProxyMultistart).into_iter().chain(
            ["supervised", "physics"]
                .iter()
                .filter_map(|v| r.method(&format!("inverse-net[{v}]"))),
        );
        for net in networks {
            pairings.push(((r, net.label.as_str()), (r, pool.label.as_str())));
        }
    }
    let family = compare_pairings(&pairings)?;
    if family.is_empty() {
        return Ok(());
    }
    let (mut better, mut worse) = (Vec::new(), Vec::new());
    for c in &family {
        let line = format!(
            "{} on {} ({:.2} against {:.2}, Holm p = {})",
            c.a.label,
            c.experiment,
            c.a.success_rate,
            c.b.success_rate,
            format_p(c.holm_p)
        );
        match c.verdict {
            Verdict::Beats => better.push(line),
            Verdict::LosesTo => worse.push(line),
            Verdict::Ties | Verdict::NoSignificantDifference => {}
        }
    }
    let list = |v: &[String]| match v.is_empty() {
        true => "none".to_string(),
        false => v.join("; "),
    };
    writeln!(
        md,
        "\nDoes a network beat the lookup? Every network method (`proxy-multistart`, \
         `inverse-net`) against `pool-bfgs`, Holm-corrected over the family of {} comparisons \
         (every experiment and network): significantly better: {}; significantly worse: {}.",
        family.len(),
        list(&better),
        list(&worse)
    )?;
    Ok(())
}
