//! Landscape heat maps of log10 L (a line plot for d = 1), with the target and markers.

use super::atomic_png;
use anyhow::Result;
use plotters::prelude::*;
use proxyland_optim::Landscape;
use std::path::Path;

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
