//! PNG figures with plotters: landscape heat maps (and line plots for d = 1), and
//! success-versus-cost plots. Files are drawn under a temporary name and renamed into place.

mod landscape;
mod plots;
mod sigma_sweep;

pub use landscape::{Marker, draw_landscape};
pub use plots::{TradeoffPoint, draw_amortization, draw_success_vs_sigma, draw_tradeoff};
pub use sigma_sweep::{SigmaSweepPoint, draw_sigma_sweep};

use anyhow::{Context, Result};
use std::path::Path;

/// Draws into a temporary sibling of `path` and renames it into place.
fn atomic_png(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    // plotters picks the image format from the extension, so the temporary name keeps `.png`.
    crate::output::temp_sibling(path, ".png")?;
    proxyland_dataset::replace_via_temp(path, ".png", draw)
        .with_context(|| format!("writing the figure {}", path.display()))
}
