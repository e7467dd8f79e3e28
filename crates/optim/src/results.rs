//! The results file (DESIGN.md's format, spec v3): what an evaluation writes and every reader
//! reads. Method identity is typed ([`MethodId`]); labels are for display and are never parsed.
//! Readers go through [`Results::from_json`], which refuses newer layouts and garbled files with
//! the path.

use crate::error::{Error, Result};
use crate::local::{LocalSettings, StopReason};
use crate::methods::{Answer, Family, SimBudget};
use crate::objective::SurrogateInfo;
use crate::stats::PairedComparison;
use serde::{Deserialize, Serialize};

/// Which held-out targets: validation (where every choice is made) or test (scored once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetSplit {
    /// Targets for choices: checkpoints, σ and λ.
    Validation,
    /// Targets for the reported numbers.
    Test,
}

impl TargetSplit {
    /// The split's name in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            TargetSplit::Validation => "validation",
            TargetSplit::Test => "test",
        }
    }
}

/// Dropout, weight decay and the spectral-norm bound; all off by default. A checkpoint records
/// them, and resuming an interrupted run with others is refused.
///
/// ```
/// use proxyland_optim::Regularizers;
/// let r = Regularizers { dropout: 0.2, ..Regularizers::default() };
/// assert!(r.check(1e-3).is_ok());
/// assert!(Regularizers { dropout: 1.0, ..r }.check(1e-3).is_err());
/// assert_eq!(r.describe(), "dropout 0.2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Regularizers {
    /// Dropout probability on the head's hidden activations during training (0: off).
    #[serde(default)]
    pub dropout: f64,
    /// Decoupled weight decay W (0: off).
    #[serde(default)]
    pub weight_decay: f64,
    /// Bound every head layer's spectral norm by 1.
    #[serde(default)]
    pub spectral_norm: bool,
}

impl Regularizers {
    /// Refuses values training cannot use, naming the flag: dropout must lie in [0, 1), and
    /// weight decay must be finite, ≥ 0, and small enough that `learning_rate`·W < 1 (else a
    /// step would flip or zero the weights).
    pub fn check(&self, learning_rate: f64) -> Result<()> {
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid(
                "regularizers",
                format!(
                    "--dropout {}: expected a probability in [0, 1)",
                    self.dropout
                ),
            ));
        }
        let w = self.weight_decay;
        if !(w >= 0.0 && w.is_finite() && learning_rate * w < 1.0) {
            return Err(Error::invalid(
                "regularizers",
                format!(
                    "--weight-decay {w}: expected a finite value >= 0 with learning rate × decay \
                     < 1 (learning rate {learning_rate})"
                ),
            ));
        }
        Ok(())
    }

    /// Whether all three are off.
    pub fn is_off(&self) -> bool {
        *self == Regularizers::default()
    }

    /// The regularizers in use, as a file or report would name them ("none" when off).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.dropout > 0.0 {
            parts.push(format!("dropout {}", self.dropout));
        }
        if self.weight_decay > 0.0 {
            parts.push(format!("weight decay {}", self.weight_decay));
        }
        if self.spectral_norm {
            parts.push("spectral norm".to_string());
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// The label fragment (`dropout=0.2,wd=0.001,sn`); empty when all are off.
    fn label_fragment(&self) -> String {
        let mut parts = Vec::new();
        if self.dropout > 0.0 {
            parts.push(format!("dropout={}", self.dropout));
        }
        if self.weight_decay > 0.0 {
            parts.push(format!("wd={}", self.weight_decay));
        }
        if self.spectral_norm {
            parts.push("sn".to_string());
        }
        parts.join(",")
    }
}

/// A trained surrogate's setting: the regularization it was trained with and its seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurrogateConfig {
    /// Noise-injection σ.
    pub noise: f64,
    /// Gradient-penalty λ.
    pub penalty: f64,
    /// Dropout, weight decay, spectral norm (all off in files from before they existed).
    #[serde(default)]
    pub regularizers: Regularizers,
    /// Training seed.
    pub seed: u64,
}

impl SurrogateConfig {
    /// The configuration of a loaded surrogate.
    pub fn of(info: &SurrogateInfo) -> Self {
        SurrogateConfig {
            noise: info.noise,
            penalty: info.penalty,
            regularizers: info.regularizers,
            seed: info.seed,
        }
    }

    /// Whether a surrogate has the setting a selection names: σ, λ and the other regularizers
    /// (seeds may differ).
    pub fn is_setting_of(&self, selection: &Selection) -> bool {
        self.noise == selection.noise
            && self.penalty == selection.penalty
            && self.regularizers == selection.regularizers
    }
}

/// A budgeted baseline's budget: `multiple` × what `reference` spent per target, in simulator
/// calls or in field solves (exactly one of the two is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The multiple (1, 10, ...).
    pub multiple: usize,
    /// The method family whose spend is the unit (`proxy-multistart`, `proxy-bfgs`, or `bfgs`
    /// when no surrogate ran).
    pub reference: Family,
    /// Simulator calls per target, for a budget in calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<usize>,
    /// Field solves per target, for a budget in field solves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_solves: Option<usize>,
}

impl Budget {
    /// The spend it allows per target.
    pub fn spend(&self) -> SimBudget {
        match (self.calls, self.field_solves) {
            (_, Some(n)) => SimBudget::FieldSolves(n),
            (Some(n), None) => SimBudget::Calls(n),
            (None, None) => SimBudget::Calls(0),
        }
    }

    /// Whether it is counted in field solves.
    pub fn in_field_solves(&self) -> bool {
        self.field_solves.is_some()
    }
}

/// Which method a summary or a row belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodId {
    /// The method family (`bfgs`, `proxy-multistart`, `de`, ...).
    pub family: Family,
    /// Surrogate methods: which trained surrogate.
    pub surrogate: Option<SurrogateConfig>,
    /// Budgeted baselines: the budget.
    pub budget: Option<Budget>,
    /// Inverse networks: which variant (`supervised`, `physics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl MethodId {
    /// A method without surrogate or budget.
    pub fn plain(family: Family) -> Self {
        MethodId {
            family,
            surrogate: None,
            budget: None,
            variant: None,
        }
    }

    /// A display label: `proxy-multistart[s=0.05,l=0,seed=0]`, `de@10x(proxy-multistart)`
    /// (a budget in calls), `de@10x-solves(proxy-multistart)` (in field solves),
    /// `inverse-net[physics]`.
    pub fn label(&self) -> String {
        let mut label = self.family.name().to_string();
        if let Some(v) = &self.variant {
            label.push_str(&format!("[{v}]"));
        }
        if let Some(c) = &self.surrogate {
            let other = c.regularizers.label_fragment();
            let other = if other.is_empty() {
                other
            } else {
                format!("{other},")
            };
            label.push_str(&format!(
                "[s={},l={},{other}seed={}]",
                c.noise, c.penalty, c.seed
            ));
        }
        if let Some(b) = &self.budget {
            let unit = if b.in_field_solves() { "-solves" } else { "" };
            label.push_str(&format!("@{}x{unit}({})", b.multiple, b.reference));
        }
        label
    }
}

/// The headline surrogate configuration and how it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// The chosen σ.
    pub noise: f64,
    /// The chosen λ.
    pub penalty: f64,
    /// The chosen dropout, weight decay and spectral norm (off, and absent from the file, in
    /// the σ and λ sweeps).
    #[serde(default, skip_serializing_if = "Regularizers::is_off")]
    pub regularizers: Regularizers,
    /// The rule, in words.
    pub rule: String,
    /// Validation targets it was chosen on.
    pub validation_targets: usize,
    /// Its proxy-multistart success on them.
    pub validation_success: f64,
    /// Its surrogate's median argmin error on them.
    pub validation_argmin_error: f64,
    /// Every (σ, λ) it was chosen among, with its mean validation success (empty in files
    /// from before candidates were recorded).
    #[serde(default)]
    pub candidates: Vec<Candidate>,
}

/// One configuration a [`Selection`] was chosen among.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// σ.
    pub noise: f64,
    /// λ.
    pub penalty: f64,
    /// Dropout, weight decay, spectral norm.
    #[serde(default, skip_serializing_if = "Regularizers::is_off")]
    pub regularizers: Regularizers,
    /// Mean proxy-multistart success on the validation targets over its seeds.
    pub validation_success: f64,
}

/// What one trained inverse network predicted for every target of an evaluation, and what it
/// cost to make (the method's one-off cost, reported beside its per-target spend).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InverseGuesses {
    /// Which variant (`supervised`, `physics`): the method label's suffix.
    pub variant: String,
    /// The checkpoint it came from.
    pub path: std::path::PathBuf,
    /// One prediction per target, in normalized coordinates u ∈ [0, 1]^d.
    #[serde(skip)]
    pub u: Vec<Vec<f64>>,
    /// Simulator calls spent in training (physics training and its validation scoring); the
    /// pool's are not counted here.
    pub training_sim_calls: usize,
    /// Those calls in field solves (a call with gradient costs 1 + d).
    #[serde(default)]
    pub training_field_solves: usize,
    /// Test-time training: simulator calls with gradient spent on each target before its
    /// prediction is refined (0 without it), added to every row started from this network.
    #[serde(default)]
    pub adaptation_calls: usize,
    /// Test-time training's wall-clock seconds per target, added likewise.
    #[serde(default)]
    pub adaptation_seconds: f64,
    /// Wall-clock seconds of training.
    pub training_seconds: f64,
}

/// One method on one target, scored against the truth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// Which method: rows are joined to their summaries on this, never on the label.
    pub id: MethodId,
    /// The method's display label (its [`MethodId::label`]).
    pub method: String,
    /// The target's index in its split.
    pub target: usize,
    /// What the method answered.
    #[serde(flatten)]
    pub answer: Answer,
    /// Every coordinate within 1% of the box of X*.
    pub success: bool,
    /// max_j |X̂_j − X*_j| / (hi_j − lo_j), periodic distance where periodic.
    #[serde(with = "crate::nonfinite")]
    pub param_error: f64,
}

/// One method (one surrogate, one budget) summarized over all targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodSummary {
    /// Which method.
    pub id: MethodId,
    /// Its display label.
    pub label: String,
    /// Targets.
    pub n: usize,
    /// Targets solved.
    pub successes: usize,
    /// successes / n.
    pub success_rate: f64,
    /// The 95% Wilson interval of the success rate.
    pub success_interval: (f64, f64),
    /// Median L(Y*, X̂).
    #[serde(with = "crate::nonfinite")]
    pub median_resim_loss: f64,
    /// Median worst normalized parameter error.
    #[serde(with = "crate::nonfinite")]
    pub median_param_error: f64,
    /// Mean simulator calls per target.
    pub mean_sim_calls: f64,
    /// Mean field solves per target (a value call 1, a call with gradient or Jacobian 1 + d).
    #[serde(default)]
    pub mean_field_solves: f64,
    /// Runs whose refinement ended at its iteration cap (not by a convergence test).
    #[serde(default)]
    pub refinements_capped: usize,
    /// Mean wall-clock seconds per target.
    pub wall_s: f64,
    /// Runs whose answer rests on a failed evaluation (blow-up, non-finite value).
    pub failed_runs: usize,
    /// Global methods: mean generations (DE, CMA-ES) or local runs (multi-start) per target.
    pub mean_rounds: Option<f64>,
    /// Whether this is a run of the headline surrogate configuration.
    pub headline: bool,
}

/// How good a surrogate is on its own, before any simulator call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SurrogateQuality {
    /// Per target: the worst normalized error of the surrogate's own argmin (256 starts, BFGS on
    /// the surrogate from the best 4), against X*.
    pub argmin_errors: Vec<f64>,
    /// Their median.
    #[serde(with = "crate::nonfinite")]
    pub median_argmin_error: f64,
    /// Share of targets whose surrogate argmin is within 2% of the box of X*.
    pub argmin_within_2pct: f64,
    /// Mean Spearman rank correlation of predicted against true loss on a grid through X*
    /// (the landscape slice), over the first targets; None when not measured.
    pub rank_correlation: Option<f64>,
    /// Mean roughness of the predicted log-loss on a slice through X* (101 points per axis, 1001
    /// when d = 1; the curvature
    /// energy ∫ (∂²z/∂u²)² du per line, docs/proxy.md), over the same targets; None when not
    /// measured or in files from before format 5.
    #[serde(default)]
    pub roughness: Option<f64>,
}

/// A surrogate that took part, with its quality on these targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SurrogateReport {
    /// What it is (path, regularization, one-off cost).
    pub info: SurrogateInfo,
    /// How good it is alone.
    pub quality: SurrogateQuality,
}

/// How the refining methods of an evaluation refined: what a report needs to describe the
/// numbers without being told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// The refinement rule (`bfgs`, `lm`, `bfgs+lm`).
    pub refine: String,
    /// Whether refinements fitted a quarter, then half, then all of the frames.
    pub continuation: bool,
    /// Whether multi-start refinements stopped at the first start that fits.
    pub stop_at_fit: bool,
    /// Local-solver iteration cap.
    pub max_iters: u64,
}

impl Protocol {
    /// The protocol of these settings.
    pub fn of(settings: &LocalSettings) -> Self {
        Protocol {
            refine: settings.refine.name().to_string(),
            continuation: settings.continuation,
            stop_at_fit: settings.stop_at_fit,
            max_iters: settings.max_iters,
        }
    }

    /// In words: "LM refinement, horizon continuation, multi-starts stop at a fit".
    pub fn describe(&self) -> String {
        let mut words = vec![format!("{} refinement", self.refine.to_uppercase())];
        words.push(if self.continuation {
            "horizon continuation (¼, ½, all frames)".into()
        } else {
            "every frame from the start".into()
        });
        if self.stop_at_fit {
            words.push("multi-starts stop at the first start that fits".into());
        }
        words.join(", ")
    }
}

/// The budget unit one surrogate method set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetUnit {
    /// The method family whose spend it is.
    pub reference: Family,
    /// Its mean simulator calls per target (over the headline configuration's surrogates).
    pub calls_per_target: f64,
    /// Its mean field solves per target (0 in files from before field solves were counted).
    #[serde(default)]
    pub field_solves_per_target: f64,
}

/// Where and how an evaluation ran (filled by the caller that knows: threads, libtorch).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model and core count.
    pub machine: String,
    /// Worker threads of the evaluation (rayon).
    pub threads: usize,
    /// Anything else that can change results across machines (libtorch build, its threads).
    pub notes: Vec<String>,
}

/// The results file (DESIGN.md's format, spec v2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// The layout of this file ([`RESULTS_FORMAT_VERSION`] when written by this build; files
    /// from before the field existed read as 1).
    #[serde(default = "format_one")]
    pub format_version: u32,
    /// The experiment.
    pub experiment: String,
    /// The spec version of the experiment's config.
    pub spec_version: u32,
    /// Which targets.
    pub split: TargetSplit,
    /// The seed of starts and method streams.
    pub seed: u64,
    /// Number of targets.
    pub targets: usize,
    /// The proxyland version that wrote it.
    pub proxyland_version: String,
    /// Machine and threads.
    pub environment: Environment,
    /// Simulations that made the pool, if one was used.
    pub pool_simulations: Option<usize>,
    /// The headline configuration, if one was chosen on validation targets.
    pub selection: Option<Selection>,
    /// The units of the baselines' budgets.
    pub budget_units: Vec<BudgetUnit>,
    /// The baselines that ran at multiples above 1 where not all did
    /// (`EvaluateOptions::large_budget_families`); absent: every one ran at every multiple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_budget_baselines: Option<Vec<Family>>,
    /// How refining methods refined (absent in files from before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// One summary per method, surrogate and budget.
    pub methods: Vec<MethodSummary>,
    /// Every surrogate that took part.
    pub surrogates: Vec<SurrogateReport>,
    /// Every inverse network that took part (`inverse-net`), with its one-off cost.
    #[serde(default)]
    pub inverse_networks: Vec<InverseGuesses>,
    /// One row per method and target.
    pub rows: Vec<Outcome>,
}

/// The results layout this build writes. 6: rows carry their method's `id` (older files get
/// it from the summary with the row's label when read). 5: surrogate quality carries `roughness`; a
/// selection may carry `regularizers`. 4: a stop may be `solve-budget` (a field-solve budget
/// spent); surrogates carry their `regularizers`; inverse networks carry
/// `training_field_solves` and the test-time `adaptation_calls`/`adaptation_seconds`. 3: budgets may be in field solves (a budget holds
/// `calls` or `field_solves`), units carry field solves per target. 2: rows carry field solves, local runs, minima and
/// the refinement (with its horizons); summaries carry mean field solves and capped
/// refinements. 1: everything before (read with those fields empty).
pub const RESULTS_FORMAT_VERSION: u32 = 6;

/// Gives each row of a file from before format 6 the id of the summary with its label: labels
/// were unique within a file, so the join is exact. A row whose label no summary has is an
/// error (the file is not what it claims).
fn ids_from_summaries(value: &mut serde_json::Value) -> std::result::Result<(), String> {
    let mut ids = std::collections::HashMap::new();
    let summaries = value.get("methods").and_then(|m| m.as_array());
    for s in summaries.into_iter().flatten() {
        let (Some(label), Some(id)) = (s.get("label").and_then(|l| l.as_str()), s.get("id")) else {
            continue;
        };
        if ids.insert(label.to_string(), id.clone()).is_some() {
            return Err(format!(
                "two summaries are labelled `{label}`: its rows are ambiguous"
            ));
        }
    }
    let Some(rows) = value.get_mut("rows").and_then(|r| r.as_array_mut()) else {
        return Ok(());
    };
    for row in rows {
        let label = row.get("method").and_then(|m| m.as_str()).unwrap_or("");
        let id = ids
            .get(label)
            .ok_or_else(|| format!("a row of method `{label}`, which no summary describes"))?
            .clone();
        if let Some(r) = row.as_object_mut() {
            r.insert("id".into(), id);
        }
    }
    Ok(())
}

fn format_one() -> u32 {
    1
}

/// The headline of one surrogate method: its runs with the chosen configuration, one per seed.
#[derive(Debug, Clone)]
pub struct Headline<'a> {
    /// The runs, one per training seed, in seed order.
    pub runs: Vec<&'a MethodSummary>,
    /// Mean success over seeds.
    pub mean_success: f64,
    /// Lowest and highest success over seeds.
    pub success_range: (f64, f64),
    /// Mean simulator calls per target over seeds.
    pub mean_calls: f64,
}

impl Results {
    /// Reads a results file's `text` (from `path`, which errors name): refuses a layout newer
    /// than this build's and anything that is not a results file.
    ///
    /// ```
    /// use proxyland_optim::Results;
    /// let path = std::path::Path::new("eval.json");
    /// let newer = r#"{"format_version": 99}"#;
    /// assert!(Results::from_json(path, newer).unwrap_err().to_string().contains("eval.json"));
    /// assert!(Results::from_json(path, "[1, 2]").is_err());
    /// ```
    pub fn from_json(path: &std::path::Path, text: &str) -> Result<Results> {
        let invalid = |what: String| Error::invalid(&path.display().to_string(), what);
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not a proxyland results file: not JSON ({e})")))?;
        let version = match value.get("format_version") {
            None => 1,
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| invalid(format!("format_version {v} is not a version number")))?,
        };
        if version > RESULTS_FORMAT_VERSION {
            return Err(invalid(format!(
                "results format {version}, written by a newer proxyland; this build reads up \
                 to {RESULTS_FORMAT_VERSION}"
            )));
        }
        let mut value = value;
        if version < 6 {
            ids_from_summaries(&mut value).map_err(invalid)?;
        }
        serde_json::from_value(value)
            .map_err(|e| invalid(format!("not a proxyland results file ({e})")))
    }

    /// The rows of the summary labelled `label`, joined on its id.
    fn rows_of(&self, label: &str) -> Vec<&Outcome> {
        match self.method(label) {
            Some(s) => self.rows.iter().filter(|o| o.id == s.id).collect(),
            None => Vec::new(),
        }
    }

    /// The summary with this label.
    pub fn method(&self, label: &str) -> Option<&MethodSummary> {
        self.methods.iter().find(|s| s.label == label)
    }

    /// Success of `label` on each target, in target order.
    pub fn successes(&self, label: &str) -> Option<Vec<bool>> {
        let mut rows = self.rows_of(label);
        if rows.is_empty() {
            return None;
        }
        rows.sort_by_key(|o| o.target);
        Some(rows.iter().map(|o| o.success).collect())
    }

    /// Whether `a` and `b` answered exactly alike on every target (and ran at all): two
    /// labels for one network, such as a physics variant whose training kept the supervised
    /// weights, are one method, not two to compare.
    pub fn same_answers(&self, a: &str, b: &str) -> bool {
        let answers = |label: &str| -> Vec<(usize, &[f64])> {
            let mut v: Vec<(usize, &[f64])> = self
                .rows_of(label)
                .into_iter()
                .map(|o| (o.target, o.answer.x_hat.as_slice()))
                .collect();
            v.sort_by_key(|(t, _)| *t);
            v
        };
        let (x, y) = (answers(a), answers(b));
        !x.is_empty() && x == y
    }

    /// The exact paired test of `a` against `b` on the same targets.
    pub fn compare(&self, a: &str, b: &str) -> Option<PairedComparison> {
        let (sa, sb) = (self.successes(a)?, self.successes(b)?);
        (sa.len() == sb.len()).then(|| PairedComparison::new(&sa, &sb))
    }

    /// The headline runs of a surrogate method family (the chosen configuration, every seed).
    pub fn headline(&self, family: Family) -> Option<Headline<'_>> {
        let mut runs: Vec<&MethodSummary> = self
            .methods
            .iter()
            .filter(|s| s.headline && s.id.family == family)
            .collect();
        if runs.is_empty() {
            return None;
        }
        runs.sort_by_key(|s| s.id.surrogate.map_or(0, |c| c.seed));
        let rates: Vec<f64> = runs.iter().map(|s| s.success_rate).collect();
        let n = rates.len() as f64;
        Some(Headline {
            mean_success: rates.iter().sum::<f64>() / n,
            success_range: (
                rates.iter().cloned().fold(f64::INFINITY, f64::min),
                rates.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            ),
            mean_calls: runs.iter().map(|s| s.mean_sim_calls).sum::<f64>() / n,
            runs,
        })
    }

    /// The budgeted baseline with the highest success (then the fewest calls).
    pub fn strongest_baseline(&self) -> Option<&MethodSummary> {
        self.methods
            .iter()
            .filter(|s| s.id.budget.is_some())
            .max_by(|a, b| stronger(a, b))
    }

    /// The strongest budgeted baseline at `multiple` × `reference`'s mean spend per target,
    /// counted in field solves when `in_field_solves`, else in calls: the highest success, then
    /// the fewest calls. Picking the best on the same targets favours the baselines.
    ///
    /// ```
    /// # use proxyland_optim::{Family, Results};
    /// # fn strongest(r: &Results) {
    /// if let Some(b) = r.strongest_at(10, Family::ProxyMultistart, true) {
    ///     println!("{}: {:.2}", b.label, b.success_rate);
    /// }
    /// # }
    /// ```
    pub fn strongest_at(
        &self,
        multiple: usize,
        reference: Family,
        in_field_solves: bool,
    ) -> Option<&MethodSummary> {
        self.methods
            .iter()
            .filter(|s| {
                s.id.budget.as_ref().is_some_and(|b| {
                    b.multiple == multiple
                        && b.reference == reference
                        && b.in_field_solves() == in_field_solves
                })
            })
            .max_by(|a, b| stronger(a, b))
    }

    /// The simulator calls method `s` spent once before any target: the training of the inverse
    /// network it starts from (its physics training and validation scoring; the pool's
    /// simulations are not counted), 0 for a method that starts from no network.
    pub fn one_off_calls(&self, s: &MethodSummary) -> usize {
        match &s.id.variant {
            Some(v) => self
                .inverse_networks
                .iter()
                .find(|g| &g.variant == v)
                .map_or(0, |g| g.training_sim_calls),
            None => 0,
        }
    }

    /// The family's plain run (`bfgs`, `pool-bfgs`, ...): no surrogate, budget or variant.
    pub fn plain_run(&self, family: Family) -> Option<&MethodSummary> {
        self.methods.iter().find(|s| {
            s.id.family == family
                && s.id.surrogate.is_none()
                && s.id.budget.is_none()
                && s.id.variant.is_none()
        })
    }

    /// Why a run ended, for each failed row (blow-ups, non-finite values).
    pub fn failures(&self) -> impl Iterator<Item = (&Outcome, &StopReason)> {
        self.rows
            .iter()
            .filter_map(|o| Some((o, o.answer.stopped.as_ref().filter(|s| s.is_failure())?)))
    }
}

/// The order of "strongest": higher success, then fewer simulator calls per target.
fn stronger(a: &MethodSummary, b: &MethodSummary) -> std::cmp::Ordering {
    a.success_rate
        .total_cmp(&b.success_rate)
        .then(b.mean_sim_calls.total_cmp(&a.mean_sim_calls))
}

#[cfg(test)]
mod regularizer_tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_with_their_flag() {
        let r = Regularizers::default();
        assert_eq!(r.describe(), "none");
        for bad in [-0.1, 1.0, f64::NAN] {
            let e = Regularizers { dropout: bad, ..r }.check(1e-3).unwrap_err();
            assert!(e.to_string().contains("--dropout"), "{e}");
        }
        for bad in [-1.0, f64::INFINITY, 2000.0] {
            let e = Regularizers {
                weight_decay: bad,
                ..r
            }
            .check(1e-3)
            .unwrap_err();
            assert!(e.to_string().contains("--weight-decay"), "{e}");
        }
        let all = Regularizers {
            dropout: 0.1,
            weight_decay: 1e-4,
            spectral_norm: true,
        };
        assert_eq!(
            all.describe(),
            "dropout 0.1, weight decay 0.0001, spectral norm"
        );
    }

    #[test]
    fn a_regularized_surrogate_is_labelled_apart_and_never_mistaken_for_a_selection() {
        let plain = SurrogateConfig {
            noise: 0.05,
            penalty: 0.0,
            regularizers: Regularizers::default(),
            seed: 0,
        };
        let dropout = SurrogateConfig {
            regularizers: Regularizers {
                dropout: 0.2,
                ..Regularizers::default()
            },
            ..plain
        };
        let label = |c: SurrogateConfig| {
            MethodId {
                family: Family::ProxyBfgs,
                surrogate: Some(c),
                budget: None,
                variant: None,
            }
            .label()
        };
        assert_eq!(label(plain), "proxy-bfgs[s=0.05,l=0,seed=0]");
        assert_eq!(label(dropout), "proxy-bfgs[s=0.05,l=0,dropout=0.2,seed=0]");
        let chosen = Selection {
            noise: 0.05,
            penalty: 0.0,
            regularizers: Regularizers::default(),
            rule: String::new(),
            validation_targets: 1,
            validation_success: 1.0,
            validation_argmin_error: 0.0,
            candidates: Vec::new(),
        };
        assert!(plain.is_setting_of(&chosen));
        assert!(!dropout.is_setting_of(&chosen));
        assert!(dropout.is_setting_of(&Selection {
            regularizers: dropout.regularizers,
            ..chosen.clone()
        }));
        // A sweep's selection file, written before regularizers existed, reads as "none".
        let json = serde_json::to_string(&chosen).unwrap();
        assert!(!json.contains("regularizers"), "{json}");
        let back: Selection = serde_json::from_str(&json).unwrap();
        assert_eq!(back, chosen);
        assert_ne!(plain, dropout);
    }
}
