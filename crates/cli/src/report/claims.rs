//! The paired claims of each experiment ("A beats B"), and their tallies over the experiments.

use super::headline::headline_run;
use anyhow::Result;
use proxyland_optim::stats::{ALPHA, PairedComparison, VerdictTally, format_p, holm};
use proxyland_optim::{Family, MethodSummary, Results};
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
    /// The family "does a network beat the lookup?": every network method against `pool-bfgs`
    /// on every experiment, as (experiment, network, its rate, the lookup's, the test), to be
    /// Holm-corrected together.
    network_vs_lookup: Vec<(String, String, f64, f64, PairedComparison)>,
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
            if let Some((c, _)) = pool.and_then(|b| claim(r, pm, b)) {
                let rates = (pm.success_rate, pool.map_or(0.0, |p| p.success_rate));
                self.network_vs_lookup
                    .push((e.to_string(), pm.label.clone(), rates.0, rates.1, c));
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
                let (a, b) = net.zip(pool).expect("compared above");
                self.network_vs_lookup.push((
                    e.to_string(),
                    a.label.clone(),
                    a.success_rate,
                    b.success_rate,
                    c,
                ));
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

    /// "What the numbers say": the tallies over the experiments, then each experiment's claims.
    pub(super) fn write_summary(&self, md: &mut String) -> Result<()> {
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
            self.write_network_family(md)?;
            let verdicts = &self.verdicts;
            writeln!(md, "\nPer experiment:\n\n{verdicts}")?;
        }
        Ok(())
    }

    /// "Does a network beat the lookup?" over every experiment at once: the per-experiment
    /// tests above are uncorrected, so the family's verdicts are given again under Holm.
    fn write_network_family(&self, md: &mut String) -> Result<()> {
        let family = &self.network_vs_lookup;
        if family.is_empty() {
            return Ok(());
        }
        let raw: Vec<f64> = family.iter().map(|(.., c)| c.p_value).collect();
        let adjusted = holm(&raw);
        let mut better = Vec::new();
        let mut worse = Vec::new();
        for ((e, label, a, b, c), p) in family.iter().zip(&adjusted) {
            if *p >= ALPHA || c.only_a == c.only_b {
                continue;
            }
            let line = format!(
                "{label} on {e} ({a:.2} against {b:.2}, Holm p = {})",
                format_p(*p)
            );
            if c.only_a > c.only_b {
                better.push(line);
            } else {
                worse.push(line);
            }
        }
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join("; ")
            }
        };
        writeln!(
            md,
            "\nDoes a network beat the lookup? Every network method (`proxy-multistart`, \
             `inverse-net`) against `pool-bfgs`, Holm-corrected over the family of {} \
             comparisons (every experiment and network): significantly better: {}; \
             significantly worse: {}.",
            family.len(),
            list(&better),
            list(&worse)
        )?;
        Ok(())
    }
}
