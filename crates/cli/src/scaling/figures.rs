//! The report's two figures: success and simulator calls against d, one panel per family.

use super::{METHODS, Member, find};
use anyhow::{Context, Result};
use plotters::prelude::*;
use proxyland_physics::registry::ScalingFamily;
use std::path::Path;

/// One line of a panel: palette index, method, (d, value) points.
type Series<'a> = (usize, &'a str, Vec<(f64, f64)>);

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Quantity {
    Success,
    Calls,
}

/// One panel per family: the quantity against d, one line per method.
pub(super) fn draw(path: &Path, members: &[Member], quantity: Quantity) -> Result<()> {
    crate::output::temp_sibling(path, ".png")?;
    proxyland_dataset::replace_via_temp(path, ".png", |tmp| {
        let root = BitMapBackend::new(tmp, (1100, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((1, 2));
        let max_calls = members
            .iter()
            .flat_map(|m| METHODS.iter().filter_map(|k| find(&m.results, k)))
            .map(|s| s.mean_sim_calls)
            .fold(10.0_f64, f64::max);
        for (panel, family) in panels
            .iter()
            .zip(ScalingFamily::ALL.map(ScalingFamily::pattern))
        {
            let rows: Vec<&Member> = members.iter().filter(|m| m.family == family).collect();
            let max_d = rows.iter().map(|m| m.d).max().unwrap_or(16).max(2) as f64;
            let title = match quantity {
                Quantity::Success => format!("{family}: success on the test targets"),
                Quantity::Calls => format!("{family}: simulator calls per target"),
            };
            let mut builder = ChartBuilder::on(panel);
            builder
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60);
            // Ticks at the members' own d (a log axis would otherwise label only 10).
            let ticks: Vec<f64> = rows.iter().map(|m| m.d as f64).collect();
            let x_range = (1.5f64..max_d * 1.15).log_scale().with_key_points(ticks);
            let series: Vec<Series> = METHODS
                .iter()
                .enumerate()
                .map(|(i, method)| {
                    let points = rows
                        .iter()
                        .filter_map(|m| {
                            let s = find(&m.results, method)?;
                            Some((
                                m.d as f64,
                                match quantity {
                                    Quantity::Success => s.success_rate,
                                    Quantity::Calls => s.mean_sim_calls.max(1.0),
                                },
                            ))
                        })
                        .collect();
                    (i, *method, points)
                })
                .collect();
            macro_rules! plot {
                ($chart:expr, $y_desc:expr) => {{
                    let mut chart = $chart;
                    chart
                        .configure_mesh()
                        .x_desc("d (unknowns)")
                        .x_label_formatter(&|d| format!("{d:.0}"))
                        .y_desc($y_desc)
                        .draw()?;
                    for (i, name, points) in &series {
                        let color = Palette99::pick(*i).to_rgba();
                        chart
                            .draw_series(LineSeries::new(
                                points.iter().copied(),
                                color.stroke_width(2),
                            ))?
                            .label(name.to_string())
                            .legend(move |(a, b)| {
                                PathElement::new(vec![(a, b), (a + 15, b)], color)
                            });
                        chart.draw_series(
                            points.iter().map(|&p| Circle::new(p, 4, color.filled())),
                        )?;
                    }
                    chart
                        .configure_series_labels()
                        .position(SeriesLabelPosition::LowerLeft)
                        .border_style(BLACK)
                        .background_style(WHITE.mix(0.85))
                        .draw()?;
                }};
            }
            match quantity {
                Quantity::Success => plot!(
                    builder.build_cartesian_2d(x_range, 0.0f64..1.05)?,
                    "success rate"
                ),
                Quantity::Calls => plot!(
                    builder.build_cartesian_2d(x_range, (1.0f64..max_calls * 2.0).log_scale())?,
                    "mean simulator calls per target"
                ),
            }
        }
        root.present()?;
        Ok::<(), anyhow::Error>(())
    })
    .with_context(|| format!("writing the figure {}", path.display()))
}
