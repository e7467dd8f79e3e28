//! The fine σ sweep's figure: success, drift and roughness against σ on a log axis.

use super::atomic_png;
use anyhow::Result;
use plotters::prelude::*;
use std::path::Path;

/// One trained proxy of the sweep.
pub struct SigmaSweepPoint {
    /// Its noise σ.
    pub sigma: f64,
    /// Its training seed (seed 0 is drawn solid, the others hollow).
    pub seed: u64,
    /// proxy-bfgs success and its 95% interval.
    pub proxy_bfgs: (f64, (f64, f64)),
    /// proxy-multistart success and its 95% interval.
    pub proxy_multistart: (f64, (f64, f64)),
    /// Median worst-coordinate error of the network's own argmin (the drift from X*).
    pub argmin_error: f64,
    /// Roughness of the predicted log-loss on the slice through X*.
    pub roughness: Option<f64>,
}

/// σ = 0 cannot sit on a log axis: it is drawn here, and the axis says so.
const ZERO_AT: f64 = 5e-4;

/// Three panels over a shared log σ axis: success of both proxy methods with their intervals
/// (seed 0 solid, other seeds hollow), the drift of the network's argmin, and the roughness.
pub fn draw_sigma_sweep(path: &Path, experiment: &str, points: &[SigmaSweepPoint]) -> Result<()> {
    let x_range = (ZERO_AT * 0.7)..(points.iter().map(|p| p.sigma).fold(0.1, f64::max) * 1.4);
    atomic_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (680, 900)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            &format!("{experiment}: noise σ against success, drift and roughness"),
            ("sans-serif", 18),
        )?;
        let panels = root.split_evenly((3, 1));
        success_panel(&panels[0], x_range.clone(), points)?;
        let drift = |p: &SigmaSweepPoint| Some(p.argmin_error);
        let rough = |p: &SigmaSweepPoint| p.roughness;
        log_panel(
            &panels[1],
            x_range.clone(),
            points,
            "argmin error (drift from X*)",
            &drift,
        )?;
        log_panel(
            &panels[2],
            x_range,
            points,
            "roughness of the log-loss",
            &rough,
        )?;
        root.present()?;
        Ok(())
    })
}

/// Where σ is drawn: σ = 0 at [`ZERO_AT`].
fn x(sigma: f64) -> f64 {
    if sigma > 0.0 { sigma } else { ZERO_AT }
}

fn x_desc() -> String {
    format!("noise σ (normalized units; σ = 0 drawn at {ZERO_AT})")
}

type Panel<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Success of both proxy methods against σ, seed 0 joined by a line with its interval.
fn success_panel(
    panel: &Panel<'_>,
    x_range: std::ops::Range<f64>,
    points: &[SigmaSweepPoint],
) -> Result<()> {
    let mut chart = ChartBuilder::on(panel)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x_range.log_scale(), 0.0f64..1.05)?;
    chart
        .configure_mesh()
        .x_desc(x_desc())
        .y_desc("success rate")
        .draw()?;
    for (i, name) in ["proxy-bfgs", "proxy-multistart"].into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let of = |p: &SigmaSweepPoint| {
            if i == 0 {
                p.proxy_bfgs
            } else {
                p.proxy_multistart
            }
        };
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.seed == 0)
            .map(|p| (x(p.sigma), of(p).0))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))?
            .label(name)
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 15, b)], color));
        for p in points {
            let (rate, (lo, hi)) = of(p);
            // The two methods sit slightly apart so that their bars do not overlap.
            let at = x(p.sigma) * if i == 0 { 0.93 } else { 1.07 };
            if p.seed == 0 {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(at, lo), (at, hi)],
                    color.stroke_width(1),
                )))?;
                chart.draw_series(std::iter::once(Circle::new((at, rate), 4, color.filled())))?;
            } else {
                chart.draw_series(std::iter::once(Circle::new((at, rate), 4, color)))?;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()?;
    Ok(())
}

/// One positive quantity against σ, log-log; seed 0 joined by a line.
fn log_panel(
    panel: &Panel<'_>,
    x_range: std::ops::Range<f64>,
    points: &[SigmaSweepPoint],
    desc: &str,
    value: &dyn Fn(&SigmaSweepPoint) -> Option<f64>,
) -> Result<()> {
    let values: Vec<f64> = points
        .iter()
        .filter_map(value)
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // Whole decades, at least two, so that the log axis carries labelled ticks.
    let range = if lo.is_finite() {
        let (a, b) = (lo.log10().floor(), hi.log10().ceil());
        10f64.powf(a)..10f64.powf(b.max(a + 1.0))
    } else {
        1e-3..1.0
    };
    let mut chart = ChartBuilder::on(panel)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.log_scale(), range.log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_desc())
        .y_desc(desc)
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.1e}"))
        .draw()?;
    let mut line: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.seed == 0)
        .filter_map(|p| value(p).filter(|v| *v > 0.0).map(|v| (x(p.sigma), v)))
        .collect();
    line.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart.draw_series(LineSeries::new(line, BLACK.stroke_width(2)))?;
    for p in points {
        if let Some(v) = value(p).filter(|v| *v > 0.0) {
            let style = if p.seed == 0 {
                BLACK.filled()
            } else {
                BLACK.into()
            };
            chart.draw_series(std::iter::once(Circle::new((x(p.sigma), v), 4, style)))?;
        }
    }
    Ok(())
}
