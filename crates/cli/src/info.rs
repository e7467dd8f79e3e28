//! `proxyland info FILE`: what a pool, trajectory or checkpoint file holds.

use anyhow::Result;
use proxyland_dataset::{Pool, TrajectoryFile};
use proxyland_proxy::Proxy;
use std::path::Path;

pub fn run(path: &Path) -> Result<()> {
    if !path.exists() {
        anyhow::bail!("{}: no such file", path.display());
    }
    if path.is_dir() {
        anyhow::bail!(
            "{}: is a folder; `proxyland info` describes a pool (.h5), trajectory (.h5) or \
             checkpoint (.safetensors) file",
            path.display()
        );
    }
    // A trajectory file says so in its `kind` attribute; everything else is tried as a pool.
    if let Ok(t) = TrajectoryFile::read(path) {
        say!(
            "{}: trajectory of {} at {} = {:?}\nshape: {} frames × {} components (t = {} .. {})",
            path.display(),
            t.experiment,
            t.param_names.join(", "),
            t.params,
            t.trajectory.nrows(),
            t.trajectory.ncols(),
            t.time.first().copied().unwrap_or(0.0),
            t.time.last().copied().unwrap_or(0.0),
        );
        return Ok(());
    }
    if path.extension().is_some_and(|e| e == "safetensors") {
        // An inverse network says so in its metadata; anything else must be a proxy.
        if let Ok(net) = proxyland_proxy::InverseModel::load(path) {
            let m = net.meta();
            let t = &m.training;
            say!(
                "{}: inverse network ({}) for {} ({} = box lo {:?}, hi {:?})\n\
                 architecture:   {:?}\n\
                 training:       {} supervised epochs, {} physics epochs ({} simulator calls \
                 with gradient, {} without); kept {}{} (median validation error {:.4}); \
                 {:.1} s on {}, seed {}\n\
                 data:           {} (hash {}, {} samples, seed {})\n\
                 written by:     proxyland {}{}",
                path.display(),
                m.variant.name(),
                m.experiment,
                m.param_names.join(", "),
                m.lo,
                m.hi,
                m.architecture,
                t.supervised.len(),
                t.physics.len().saturating_sub(1),
                t.physics_sim_calls,
                t.validation_sim_calls,
                t.chosen,
                t.selection
                    .map_or(String::new(), |s| format!(", chosen by {}", s.name())),
                t.validation_error,
                t.seconds,
                t.device,
                t.seed,
                m.dataset.path.display(),
                m.dataset.hash,
                m.dataset.samples,
                m.dataset.seed,
                m.proxyland_version,
                physics_curve(&t.physics)
            );
            return Ok(());
        }
        let proxy = Proxy::load(path)?;
        let m = proxy.meta();
        say!(
            "{}: proxy for {} ({} = box lo {:?}, hi {:?})\n\
             regularization: noise σ = {}, penalty λ = {}, other: {}\n\
             architecture:   {:?}\n\
             training:       {} epochs (best {}: validation loss {:.4e}, {}), {:.1} s on {}, seed {}\n\
             pairs:          {:.0}% from each target's {} nearest pool neighbours\n\
             data:           {} (hash {}, {} samples, seed {})\n\
             written by:     proxyland {}",
            path.display(),
            m.experiment,
            m.param_names.join(", "),
            m.lo,
            m.hi,
            m.noise,
            m.penalty,
            m.regularizers.describe(),
            m.architecture,
            m.training.epochs_run,
            m.training.best_epoch,
            m.training.best_validation,
            crate::cells::describe_argmin_error(m.training.best_validation_argmin_error),
            m.training.seconds,
            m.training.device,
            m.training.seed,
            100.0 * m.training.near_share,
            m.training.near_neighbours,
            m.dataset.path.display(),
            m.dataset.hash,
            m.dataset.samples,
            m.dataset.seed,
            m.proxyland_version
        );
        return Ok(());
    }
    let pool = Pool::open(path)?;
    say!("{}", pool.describe());
    Ok(())
}

/// The physics stage's learning curve, one line per epoch (empty for a supervised network).
fn physics_curve(epochs: &[proxyland_proxy::InverseEpoch]) -> String {
    if epochs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nphysics curve:  epoch, mean training loss, median validation physics loss, median \
         validation error",
    );
    let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3e}"));
    for (i, e) in epochs.iter().enumerate() {
        out.push_str(&format!(
            "\n  {i:>3}  {}  {}  {:.4}",
            cell(e.train_loss),
            cell(e.validation_loss),
            e.validation_error
        ));
    }
    out
}
