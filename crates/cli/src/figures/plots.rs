//! Results plots: success against calls, amortization (calls against solved), success against σ.

use super::atomic_png;
use anyhow::Result;
use plotters::prelude::*;
use proxyland_optim::{CostLine, cheaper_of};
use std::path::Path;

/// One method on the trade-off plot.
pub struct TradeoffPoint {
    /// Its family (one colour each).
    pub family: String,
    /// Whether it is a budget of a budgeted baseline (joined into a cost curve).
    pub budgeted: bool,
    /// Mean simulator calls per target.
    pub calls: f64,
    /// Success rate.
    pub success: f64,
}

/// Success rate against mean simulator calls per target. One colour per method family, named in
/// a legend: with ~20 methods, labels at the points overlapped into an unreadable cloud. A
/// baseline's budgets are joined into a cost curve; a proxy method's checkpoints stay loose
/// points, since they are different models, not more budget.
pub fn draw_tradeoff(path: &Path, title: &str, points: &[TradeoffPoint]) -> Result<()> {
    struct Family<'a> {
        name: &'a str,
        points: Vec<(f64, f64)>,
        budgets: bool,
    }
    let mut families: Vec<Family> = Vec::new();
    for p in points {
        // Zero calls (a proxy-only answer) cannot sit on a log axis: it is drawn at 0.6.
        let point = (p.calls.max(0.6), p.success);
        match families.iter_mut().find(|f| f.name == p.family) {
            Some(f) => {
                f.points.push(point);
                f.budgets &= p.budgeted;
            }
            None => families.push(Family {
                name: &p.family,
                points: vec![point],
                budgets: p.budgeted,
            }),
        }
    }
    for f in &mut families {
        f.points
            .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    }
    atomic_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (760, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        let max_calls = points.iter().map(|p| p.calls).fold(1.0_f64, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((0.5f64..max_calls * 2.0).log_scale(), 0.0f64..1.05)?;
        chart
            .configure_mesh()
            .x_desc("mean simulator calls per target (log scale; 0 calls drawn at 0.6)")
            .y_desc("success rate")
            .draw()?;
        for (i, f) in families.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let label = if f.points.len() > 1 {
                let kind = if f.budgets { "budgets" } else { "checkpoints" };
                format!("{} ({} {kind})", f.name, f.points.len())
            } else {
                f.name.to_string()
            };
            let curve = if f.budgets {
                f.points.clone()
            } else {
                Vec::new()
            };
            chart
                .draw_series(LineSeries::new(curve, color.stroke_width(1)))?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 7, y), 4, color.filled()));
            chart.draw_series(f.points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Cumulative simulator calls against targets solved, one line per method.
pub fn draw_amortization(path: &Path, title: &str, lines: &[CostLine]) -> Result<()> {
    // Far enough to show every crossover, at least 100 targets.
    let mut horizon: f64 = 100.0;
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            if let Some((_, _, n)) = cheaper_of(a, b).filter(|(_, _, n)| n.is_finite()) {
                horizon = horizon.max(1.5 * n);
            }
        }
    }
    let horizon = horizon.min(1e6);
    let top = lines
        .iter()
        .filter(|l| l.per_solved.is_finite())
        .map(|l| l.one_off as f64 + horizon * l.per_solved)
        .fold(1.0_f64, f64::max);
    atomic_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (700, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..horizon, 0.0..top * 1.05)?;
        chart
            .configure_mesh()
            .x_desc("targets solved")
            .y_desc("cumulative simulator calls (pool included)")
            .draw()?;
        for (i, l) in lines.iter().enumerate() {
            if !l.per_solved.is_finite() {
                continue;
            }
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    [0.0, horizon]
                        .into_iter()
                        .map(|n| (n, l.one_off as f64 + n * l.per_solved)),
                    color.stroke_width(2),
                ))?
                .label(l.label.clone())
                .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 15, b)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Success rate against the noise σ of the proxy, one line per proxy method, with single-start
/// BFGS as a horizontal reference.
pub fn draw_success_vs_sigma(
    path: &Path,
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
    bfgs: Option<f64>,
) -> Result<()> {
    atomic_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (640, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let max_sigma = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.0))
            .fold(0.1_f64, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..max_sigma * 1.05, 0.0f64..1.05)?;
        chart
            .configure_mesh()
            .x_desc("noise σ (normalized parameter units)")
            .y_desc("success rate")
            .draw()?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(name.clone())
                .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 15, b)], color));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        if let Some(level) = bfgs {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, level), (max_sigma * 1.05, level)],
                    BLACK.stroke_width(1),
                )))?
                .label("bfgs (no proxy)")
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 15, b)], BLACK));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE)
            .draw()?;
        root.present()?;
        Ok(())
    })
}
