//! The markdown of results/BENCH.md: one section per comparison, medians side by side and
//! ratios (reference time / proxyland time, so > 1 means proxyland is faster).

use crate::reference::ReferenceResult;
use crate::timing::pretty;
use std::fmt::Write;

/// One measured quantity: proxyland's median and each reference's.
#[derive(Debug, Clone)]
pub struct Row {
    pub what: String,
    pub ours: f64,
    pub references: Vec<Option<f64>>,
}

/// One comparison (a table plus the text around it).
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub title: String,
    pub intro: Vec<String>,
    pub reference_names: Vec<String>,
    pub rows: Vec<Row>,
    /// The references' own descriptions and their agreement checks.
    pub references: Vec<ReferenceResult>,
    pub notes: Vec<String>,
    /// Named values the targets table reads (e.g. a scaling factor).
    pub metrics: Vec<(String, f64)>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Self {
        Section {
            title: title.into(),
            ..Section::default()
        }
    }

    /// The row `what`'s ratio reference / ours for reference `r`.
    pub fn ratio(&self, what: &str, r: usize) -> Option<f64> {
        let row = self.rows.iter().find(|row| row.what == what)?;
        Some(row.references.get(r).copied().flatten()? / row.ours)
    }

    pub fn markdown(&self) -> String {
        let mut s = format!("## {}\n\n", self.title);
        for line in &self.intro {
            let _ = writeln!(s, "{line}");
        }
        if !self.intro.is_empty() {
            s.push('\n');
        }
        if !self.rows.is_empty() {
            s.push_str("| measurement | proxyland |");
            for name in &self.reference_names {
                let _ = write!(s, " {name} | ratio |");
            }
            s.push_str("\n|---|---:|");
            for _ in &self.reference_names {
                s.push_str("---:|---:|");
            }
            s.push('\n');
            for row in &self.rows {
                let _ = write!(s, "| {} | {} |", row.what, pretty(row.ours));
                for r in 0..self.reference_names.len() {
                    match row.references.get(r).copied().flatten() {
                        Some(t) => {
                            let _ = write!(s, " {} | {:.2}× |", pretty(t), t / row.ours);
                        }
                        None => s.push_str(" – | – |"),
                    }
                }
                s.push('\n');
            }
            s.push('\n');
        }
        for r in &self.references {
            let versions: Vec<String> =
                r.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(
                s,
                "- **{}** ({}; threads: {}). Checked before timing:",
                r.implementation,
                versions.join(", "),
                r.threads
            );
            for c in &r.checks {
                let _ = writeln!(
                    s,
                    "  - {}: max relative difference {:.1e} (tolerance {:.0e}) {}",
                    c.quantity,
                    c.max_rel_err,
                    c.tolerance,
                    if c.passed { "✓" } else { "✗" }
                );
            }
            if !r.notes.is_empty() {
                let _ = writeln!(s, "  - {}", r.notes);
            }
        }
        if !self.references.is_empty() {
            s.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(s, "{n}");
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_reference_over_ours_and_missing_cells_are_dashes() {
        let mut s = Section::new("E1");
        s.reference_names = vec!["NumPy".into(), "Exponax".into()];
        s.rows.push(Row {
            what: "forward".into(),
            ours: 0.002,
            references: vec![Some(0.05), None],
        });
        assert!((s.ratio("forward", 0).unwrap() - 25.0).abs() < 1e-12);
        assert_eq!(s.ratio("forward", 1), None);
        let md = s.markdown();
        assert!(
            md.contains("| forward | 2.00 ms | 50.00 ms | 25.00× | – | – |"),
            "{md}"
        );
    }
}
