//! PNG figures with plotters: landscape heat maps (and line plots for d = 1), and
//! success-versus-cost plots. Files are drawn under a temporary name and renamed into place.

use anyhow::{Context, Result};
use plotters::prelude::*;
use proxyland_optim::Landscape;
use std::path::Path;

/// Draws into a temporary sibling of `path` and renames it into place.
fn atomic_png(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    // plotters picks the image format from the extension, so the temporary name keeps `.png`.
    crate::output::temp_sibling(path, ".png")?;
    proxyland_dataset::replace_via_temp(path, ".png", draw)
        .with_context(|| format!("writing the figure {}", path.display()))
}

/// Viridis, from five anchors.
fn viridis(t: f64) -> RGBColor {
    const ANCHORS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A marker on a figure: a label and a point X (all parameters).
pub struct Marker {
    pub label: String,
    pub x: Vec<f64>,
    pub color: RGBColor,
}

/// A heat map of log10 L (or a line for d = 1) with the target and markers.
pub fn draw_landscape(
    path: &Path,
    title: &str,
    land: &Landscape,
    names: &[String],
    units: &[String],
    markers: &[Marker],
) -> Result<()> {
    let label = |a: usize| format!("{} [{}]", names[a], units[a]);
    atomic_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (640, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let xs = &land.coords[0];
        let (x0, x1) = (xs[0], *xs.last().expect("grid"));
        let (lo, hi) = land
            .values
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if land.axes.len() == 1 {
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(x0..x1, lo..hi + 0.05 * (hi - lo).max(1e-9))?;
            chart
                .configure_mesh()
                .x_desc(label(land.axes[0]))
                .y_desc("log10 L")
                .draw()?;
            chart.draw_series(LineSeries::new(
                xs.iter().zip(&land.values).map(|(&x, v)| (x, v[0])),
                &BLUE,
            ))?;
            for m in markers {
                let x = m.x[land.axes[0]];
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, lo), (x, hi)],
                        m.color,
                    )))?
                    .label(m.label.clone())
                    .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 15, b)], m.color));
            }
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE)
                .draw()?;
        } else {
            let ys = &land.coords[1];
            let (y0, y1) = (ys[0], *ys.last().expect("grid"));
            let (dx, dy) = (
                (x1 - x0) / (xs.len() - 1) as f64,
                (y1 - y0) / (ys.len() - 1) as f64,
            );
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(x0 - dx / 2.0..x1 + dx / 2.0, y0 - dy / 2.0..y1 + dy / 2.0)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(label(land.axes[0]))
                .y_desc(label(land.axes[1]))
                .draw()?;
            let span = (hi - lo).max(1e-12);
            chart.draw_series(land.values.iter().enumerate().flat_map(|(i, row)| {
                row.iter().enumerate().map(move |(j, &v)| {
                    let (x, y) = (xs[i], ys[j]);
                    Rectangle::new(
                        [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                        viridis((v - lo) / span).filled(),
                    )
                })
            }))?;
            for m in markers {
                let p = (m.x[land.axes[0]], m.x[land.axes[1]]);
                let color = m.color;
                chart
                    .draw_series(std::iter::once(Cross::new(p, 7, color.stroke_width(3))))?
                    .label(m.label.clone())
                    .legend(move |(a, b)| Cross::new((a + 7, b), 5, color.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE)
                .draw()?;
            root.draw(&Text::new(
                format!("log10 L from {lo:.1} (dark) to {hi:.1} (light)"),
                (70, 520),
                ("sans-serif", 13),
            ))?;
        }
        root.present()?;
        Ok(())
    })
}

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

/// One method's cost line: `one_off + n × per_solved` simulator calls after n solved targets.
pub struct AmortizationLine {
    /// Legend entry.
    pub label: String,
    /// Simulations paid before the first target (the pool).
    pub one_off: usize,
    /// Simulator calls per solved target (∞ when it never succeeds).
    pub per_solved: f64,
}

/// Cumulative simulator calls against targets solved, one line per method.
pub fn draw_amortization(path: &Path, title: &str, lines: &[AmortizationLine]) -> Result<()> {
    // Far enough to show every crossover, at least 100 targets.
    let mut horizon: f64 = 100.0;
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            let c =
                proxyland_optim::crossover((a.one_off, a.per_solved), (b.one_off, b.per_solved))
                    .or_else(|| {
                        proxyland_optim::crossover(
                            (b.one_off, b.per_solved),
                            (a.one_off, a.per_solved),
                        )
                    });
            if let Some(n) = c.filter(|n| n.is_finite()) {
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
