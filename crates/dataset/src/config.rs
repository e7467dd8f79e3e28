//! Experiment configs: `datasets/<experiment>.toml`, parsed strictly.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default), every physics
//! setting is explicit, and values are checked against the rules of the discretization by
//! building the simulator.

use crate::error::{Error, Result};
use crate::plan::{AblationPlan, RefinePlan, ReproducePlan};
use proxyland_physics::{
    Billiards, BilliardsConfig, BilliardsVariant, Burgers, BurgersConfig, GramacyLee, KsConfig,
    KuramotoSivashinsky, Simulator,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The spec version of docs/spec.md these configs implement (v2: validation targets).
pub const SPEC_VERSION: u32 = 2;

/// The largest grid a PDE config may ask for: 64× the spec's largest (N = 128). Larger grids are
/// refused up front, before a solver spends minutes on one step.
pub const MAX_GRID_POINTS: usize = 8192;

/// The most values (frames × components) one trajectory may hold: 2²⁴, i.e. 128 MiB of f64.
/// The spec's largest is 41 × 128.
pub const MAX_TRAJECTORY_VALUES: usize = 1 << 24;

/// Validation targets per pool when a profile does not say (docs/spec.md v2).
pub const DEFAULT_VALIDATION_TARGETS: usize = 30;

fn default_validation_targets() -> usize {
    DEFAULT_VALIDATION_TARGETS
}

/// A parsed experiment config and where it came from.
#[derive(Debug, Clone)]
pub struct ExperimentConfig {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    /// The exact text, stored in every artifact for provenance.
    pub text: String,
    /// The experiment's name (`gramacy-lee`, `burgers`, `ks`, `billiards2d`, `billiards4d`).
    pub experiment: String,
    /// The spec version the file declares; always [`SPEC_VERSION`] once parsed.
    pub spec_version: u32,
    /// The base seed of the pool; targets use a stream derived from it.
    pub seed: u64,
    /// The `[physics]` section: which simulator, with what settings.
    pub physics: PhysicsConfig,
    /// The `[evaluation]` section: optimizer settings for held-out targets.
    pub evaluation: EvaluationSettings,
    /// The `[proxy]` section: network architecture and training settings.
    pub proxy: ProxySettings,
    /// The `[profile.<name>]` sections by name; `quick` and `paper` are always present.
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// The `[ablation]` section: the regularizer ablation on the paper profile's pool.
    pub ablation: Option<AblationPlan>,
    /// The `[refine]` section: the refine profile's studies on a scaling-family member.
    pub refine: Option<RefinePlan>,
}

/// The physics settings of one experiment.
#[derive(Debug, Clone, PartialEq)]
pub enum PhysicsConfig {
    /// The 1-D Gramacy–Lee test function (no settings).
    GramacyLee,
    /// Forced viscous Burgers' equation.
    Burgers(BurgersConfig),
    /// Kuramoto–Sivashinsky equation.
    Ks(KsConfig),
    /// Billiards, 2-D or 4-D (`billiards2d`/`billiards4d`).
    Billiards(BilliardsConfig),
}

/// How methods are evaluated on held-out targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSettings {
    /// BFGS iteration cap (docs/spec.md: 100).
    pub max_iters: u64,
    /// Gradient tolerance (docs/spec.md: 1e-8).
    pub grad_tolerance: f64,
}

/// Proxy network architecture and training settings (stored in every checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// Number m of Fourier features of u.
    pub fourier_features: usize,
    /// Standard deviation σ_B of the Fourier frequency matrix B.
    pub fourier_scale: f64,
    /// Hidden widths of the MLP head.
    pub hidden: Vec<usize>,
    /// How targets are embedded: one of [`ENCODERS`] (see proxyland-proxy's `EncoderKind`).
    #[serde(default = "default_encoder")]
    pub encoder: String,
    /// Channels of the encoder layers (widths for `mlp`; empty: no encoder).
    pub encoder_channels: Vec<usize>,
    /// Width of the trajectory embedding.
    pub embedding: usize,
    /// Initial Adam learning rate; the plateau schedule halves it, down to 1% of this value.
    pub learning_rate: f64,
    /// Training pairs per minibatch (capped at `pairs_per_epoch`).
    pub batch_size: usize,
    /// Fraction of targets held out for validation.
    pub validation_fraction: f64,
    /// Early stopping: epochs without improvement of the validation metric (the network's own
    /// argmin error on validation targets, then the regression loss).
    pub patience: usize,
    /// Share of each target's training candidates drawn from its nearest pool neighbours by
    /// trajectory distance (the low-loss region the network must get right); the rest are
    /// uniform over the pool.
    #[serde(default)]
    pub near_share: f64,
    /// How many nearest neighbours (the target itself included) those candidates come from.
    #[serde(default = "default_near_neighbours")]
    pub near_neighbours: usize,
}

/// Encoder names a config may give (proxyland-proxy's `EncoderKind`, kebab-case).
pub const ENCODERS: [&str; 4] = ["conv2d", "periodic-conv", "temporal", "mlp"];

fn default_encoder() -> String {
    "conv2d".into()
}

fn default_near_neighbours() -> usize {
    32
}

/// Sizes that differ between the quick and paper profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// Pool size K.
    pub samples: usize,
    /// Held-out test targets (docs/spec.md's protocol: 50).
    pub targets: usize,
    /// Validation targets, where every choice is made (spec v2: 30 by default).
    #[serde(default = "default_validation_targets")]
    pub validation_targets: usize,
    /// Training epochs (upper bound; early stopping may end sooner).
    pub epochs: usize,
    /// Training pairs drawn per epoch.
    pub pairs_per_epoch: usize,
    /// What `cargo xtask reproduce` runs on this profile's pool (`[profile.<name>.reproduce]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<ReproducePlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    experiment: String,
    spec_version: u32,
    seed: u64,
    physics: toml::Table,
    evaluation: EvaluationSettings,
    proxy: ProxySettings,
    profile: BTreeMap<String, ProfileSettings>,
    #[serde(default)]
    ablation: Option<AblationPlan>,
    #[serde(default)]
    refine: Option<RefinePlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBurgers {
    n: usize,
    viscosity: f64,
    forcing_amplitude: f64,
    forcing_width: f64,
    omega_range: [f64; 2],
    dt: f64,
    steps: usize,
    frame_every: usize,
    dealias: bool,
    /// Forcing sources K: present for the `burgers-k{K}` family, absent for E1.
    sources: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKs {
    n: usize,
    length: f64,
    dt: f64,
    steps: usize,
    frame_every: usize,
    amplitude_range: [f64; 2],
    /// Initial-condition modes M: present for the `ks-m{M}` family, absent for E2.
    modes: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBilliards {
    radius: f64,
    friction: f64,
    cue_start: [f64; 2],
    objects: Vec<[f64; 2]>,
    vx_range: [f64; 2],
    vy_range: [f64; 2],
    x0_range: Option<[f64; 2]>,
    y0_range: Option<[f64; 2]>,
    frame_dt: f64,
    frames: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNone {}

impl ExperimentConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: format!("cannot read config: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates config text; `path` only labels messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.spec_version != SPEC_VERSION {
            return Err(bad(format!(
                "spec_version = {} but this proxyland implements spec v{SPEC_VERSION}",
                raw.spec_version
            )));
        }
        let physics = parse_physics(&raw.experiment, raw.physics).map_err(&bad)?;
        check_sizes(&physics).map_err(&bad)?;
        let config = ExperimentConfig {
            path: path.to_path_buf(),
            text: text.to_string(),
            experiment: raw.experiment,
            spec_version: raw.spec_version,
            seed: raw.seed,
            physics,
            evaluation: raw.evaluation,
            proxy: raw.proxy,
            profiles: raw.profile,
            ablation: raw.ablation,
            refine: raw.refine,
        };
        config.validate().map_err(bad)?;
        // Building the simulator applies the physics' own rules (even N, dt > 0, lo < hi, ...).
        let sim = config.simulator()?;
        // The family member the settings make must be the one the file names: `burgers-k4`
        // with `sources = 2` would file a d = 4 study under d = 8.
        let named = config.experiment.as_str();
        if sim.name() != named {
            return Err(bad(format!(
                "experiment = \"{named}\" but its [physics] settings make `{}` \
                 (burgers-k{{K}} needs sources = K, ks-m{{M}} needs modes = M; E1 and E2 \
                 give neither)",
                sim.name()
            )));
        }
        Ok(config)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        for name in ["quick", "paper"] {
            let Some(p) = self.profiles.get(name) else {
                return Err(format!("missing section [profile.{name}]"));
            };
            if p.samples < 2 {
                return Err(format!(
                    "profile.{name}.samples = {}: needs at least 2",
                    p.samples
                ));
            }
            if p.epochs == 0 || p.pairs_per_epoch == 0 {
                return Err(format!(
                    "profile.{name}: epochs and pairs_per_epoch must be positive"
                ));
            }
        }
        for (name, p) in &self.profiles {
            if let Some(plan) = &p.reproduce {
                plan.check()
                    .map_err(|e| format!("profile.{name}.reproduce.{e}"))?;
            }
        }
        if let Some(plan) = &self.ablation {
            plan.check().map_err(|e| format!("ablation.{e}"))?;
        }
        if let Some(plan) = &self.refine {
            plan.check().map_err(|e| format!("refine.{e}"))?;
        }
        let e = &self.evaluation;
        if e.max_iters == 0 || e.grad_tolerance.is_nan() || e.grad_tolerance < 0.0 {
            return Err("evaluation: max_iters must be positive, grad_tolerance >= 0".into());
        }
        let p = &self.proxy;
        if p.fourier_features == 0 || !positive(p.fourier_scale) {
            return Err("proxy: fourier_features must be positive and fourier_scale > 0".into());
        }
        if p.hidden.is_empty() || p.hidden.contains(&0) || p.encoder_channels.contains(&0) {
            return Err("proxy: hidden needs at least one layer; widths must be positive".into());
        }
        if p.embedding == 0 || p.batch_size == 0 || !positive(p.learning_rate) {
            return Err("proxy: embedding, batch_size and learning_rate must be positive".into());
        }
        if !ENCODERS.contains(&p.encoder.as_str()) {
            return Err(format!(
                "proxy.encoder = \"{}\": expected one of {}",
                p.encoder,
                ENCODERS.join(", ")
            ));
        }
        if !(0.0..=1.0).contains(&p.near_share) || p.near_neighbours == 0 {
            return Err(format!(
                "proxy.near_share = {} must be in [0, 1] and near_neighbours = {} positive",
                p.near_share, p.near_neighbours
            ));
        }
        if !(p.validation_fraction > 0.0 && p.validation_fraction < 1.0) {
            return Err(format!(
                "proxy.validation_fraction = {}: must be in (0, 1)",
                p.validation_fraction
            ));
        }
        Ok(())
    }

    /// The text a pool stores and its provenance hashes: the file without its study plans
    /// (`[profile.<p>.reproduce]`, `[ablation]`, `[refine]`, each with the comment lines just
    /// above it),
    /// which say what xtask runs on a pool but not what is in it, so that editing a plan
    /// never makes a pool, or the checkpoints trained on it, stale. When the plans cannot be
    /// cut out line by line (dotted keys, inline tables), the whole text.
    pub fn data_text(&self) -> String {
        let is_plan = |header: &str| {
            header == "[ablation]"
                || header == "[refine]"
                || (header.starts_with("[profile.") && header.ends_with(".reproduce]"))
        };
        let mut kept: Vec<&str> = Vec::new();
        let mut in_plan = false;
        for line in self.text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                in_plan = is_plan(trimmed);
                if in_plan {
                    while kept.last().is_some_and(|l| l.trim_start().starts_with('#')) {
                        kept.pop();
                    }
                }
            }
            if !in_plan {
                kept.push(line);
            }
        }
        while kept.last().is_some_and(|l| l.trim().is_empty()) {
            kept.pop();
        }
        let cut = kept.join("\n") + "\n";
        // The cut must be exactly the file less its plans, or it is not used.
        let without_plans = |text: &str| -> Option<toml::Table> {
            let mut t: toml::Table = toml::from_str(text).ok()?;
            t.remove("ablation");
            t.remove("refine");
            if let Some(profiles) = t.get_mut("profile").and_then(|p| p.as_table_mut()) {
                for (_, p) in profiles.iter_mut() {
                    if let Some(p) = p.as_table_mut() {
                        p.remove("reproduce");
                    }
                }
            }
            Some(t)
        };
        match (
            without_plans(&self.text),
            toml::from_str::<toml::Table>(&cut),
        ) {
            (Some(full), Ok(short)) if full == short => cut,
            _ => self.text.clone(),
        }
    }

    /// The settings of a profile (`quick` or `paper`).
    pub fn profile(&self, name: &str) -> Result<&ProfileSettings> {
        self.profiles.get(name).ok_or_else(|| Error::Config {
            path: self.path.clone(),
            message: format!(
                "no [profile.{name}] (available: {})",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// The simulator these settings describe.
    pub fn simulator(&self) -> Result<Box<dyn Simulator>> {
        let on_path = |e: proxyland_physics::Error| Error::Config {
            path: self.path.clone(),
            message: format!("[physics] {e}"),
        };
        Ok(match &self.physics {
            PhysicsConfig::GramacyLee => Box::new(GramacyLee::new()),
            PhysicsConfig::Burgers(c) => Box::new(Burgers::new(c.clone()).map_err(on_path)?),
            PhysicsConfig::Ks(c) => Box::new(KuramotoSivashinsky::new(c.clone()).map_err(on_path)?),
            PhysicsConfig::Billiards(c) => Box::new(Billiards::new(c.clone()).map_err(on_path)?),
        })
    }
}

fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

/// Refuses grids and trajectories beyond the documented caps, saying how much they would need.
fn check_sizes(physics: &PhysicsConfig) -> std::result::Result<(), String> {
    let (n, steps, every) = match physics {
        PhysicsConfig::Burgers(c) => (c.n, c.steps, c.frame_every),
        PhysicsConfig::Ks(c) => (c.n, c.steps, c.frame_every),
        PhysicsConfig::Billiards(c) => {
            let values = c.frames.saturating_mul(2 * (1 + c.objects.len()));
            return within_cap("frames", c.frames, values);
        }
        PhysicsConfig::GramacyLee => return Ok(()),
    };
    if n > MAX_GRID_POINTS {
        return Err(format!(
            "n = {n}: at most {MAX_GRID_POINTS} grid points (each step would transform \
             {n}-point fields; the spec uses 64 and 128)"
        ));
    }
    let frames = steps / every.max(1) + 1;
    within_cap("steps / frame_every", frames, frames.saturating_mul(n))
}

fn within_cap(field: &str, frames: usize, values: usize) -> std::result::Result<(), String> {
    if values > MAX_TRAJECTORY_VALUES {
        let gib = values as f64 * 8.0 / (1u64 << 30) as f64;
        return Err(format!(
            "{field}: {frames} frames make trajectories of {values} values ({gib:.1} GiB each); \
             at most {MAX_TRAJECTORY_VALUES} values (128 MiB) per trajectory"
        ));
    }
    Ok(())
}

fn parse_physics(
    experiment: &str,
    table: toml::Table,
) -> std::result::Result<PhysicsConfig, String> {
    let section = |e: toml::de::Error| format!("[physics] {e}");
    let value = toml::Value::Table(table);
    let pair = |r: [f64; 2]| (r[0], r[1]);
    Ok(match experiment {
        "gramacy-lee" => {
            let _: RawNone = value.try_into().map_err(section)?;
            PhysicsConfig::GramacyLee
        }
        e if e == "burgers" || e.starts_with("burgers-k") => {
            let r: RawBurgers = value.try_into().map_err(section)?;
            PhysicsConfig::Burgers(BurgersConfig {
                n: r.n,
                viscosity: r.viscosity,
                forcing_amplitude: r.forcing_amplitude,
                forcing_width: r.forcing_width,
                omega_range: pair(r.omega_range),
                dt: r.dt,
                steps: r.steps,
                frame_every: r.frame_every,
                dealias: r.dealias,
                sources: r.sources,
                ..BurgersConfig::default()
            })
        }
        e if e == "ks" || e.starts_with("ks-m") => {
            let r: RawKs = value.try_into().map_err(section)?;
            PhysicsConfig::Ks(KsConfig {
                n: r.n,
                length: r.length,
                dt: r.dt,
                steps: r.steps,
                frame_every: r.frame_every,
                amplitude_range: pair(r.amplitude_range),
                modes: r.modes,
                ..KsConfig::default()
            })
        }
        "billiards2d" | "billiards4d" => {
            let r: RawBilliards = value.try_into().map_err(section)?;
            let four = experiment == "billiards4d";
            let base = if four {
                BilliardsConfig::four_d()
            } else {
                BilliardsConfig::two_d()
            };
            let need = |v: Option<[f64; 2]>, key: &str| {
                v.map(pair).ok_or_else(|| {
                    format!("[physics] missing field `{key}` (billiards4d moves the cue start)")
                })
            };
            let (x0_range, y0_range) = if four {
                (need(r.x0_range, "x0_range")?, need(r.y0_range, "y0_range")?)
            } else if r.x0_range.is_some() || r.y0_range.is_some() {
                return Err("[physics] `x0_range`/`y0_range` apply to billiards4d only".into());
            } else {
                (base.x0_range, base.y0_range)
            };
            PhysicsConfig::Billiards(BilliardsConfig {
                variant: if four {
                    BilliardsVariant::FourD
                } else {
                    BilliardsVariant::TwoD
                },
                radius: r.radius,
                friction: r.friction,
                cue_start: r.cue_start,
                objects: r.objects,
                vx_range: pair(r.vx_range),
                vy_range: pair(r.vy_range),
                x0_range,
                y0_range,
                frame_dt: r.frame_dt,
                frames: r.frames,
                ..base
            })
        }
        other => {
            return Err(format!(
                "experiment = \"{other}\" is not one of gramacy-lee, burgers, ks, billiards2d, \
                 billiards4d, burgers-k{{K}}, ks-m{{M}}"
            ));
        }
    })
}
