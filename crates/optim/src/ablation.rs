//! The paper's two open questions about regularization (issue 26), answered from evaluations on
//! the test targets: which regularizer smooths a proxy's landscape best (the ablation), and how
//! the noise scale σ maps to smoothness and success (the fine σ sweep).
//!
//! Both read results files in which every surrogate was chosen beforehand on the validation
//! targets; nothing here chooses on the test split.

use crate::comparison::{FamilyComparison, Pairing, compare_pairings};
use crate::methods::Family;
use crate::results::{MethodId, MethodSummary, Results, SurrogateConfig, SurrogateQuality};
use crate::stats::Verdict;

/// The regularizer a proxy was trained with, on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regularizer {
    /// Nothing: σ = 0, λ = 0.
    None,
    /// Noise injection on X (σ > 0): the paper's.
    Noise,
    /// The gradient penalty (λ > 0).
    Penalty,
    /// Dropout on the head's hidden activations.
    Dropout,
    /// Decoupled weight decay.
    WeightDecay,
    /// Every head layer's spectral norm bounded by 1.
    SpectralNorm,
}

impl Regularizer {
    /// Every regularizer, in the order reports list them.
    pub const ALL: [Regularizer; 6] = [
        Regularizer::None,
        Regularizer::Noise,
        Regularizer::Penalty,
        Regularizer::Dropout,
        Regularizer::WeightDecay,
        Regularizer::SpectralNorm,
    ];

    /// Which one regularizer `c` was trained with; `None` (the Option) when it combines several.
    ///
    /// ```
    /// use proxyland_optim::{Regularizers, SurrogateConfig, ablation::Regularizer};
    /// let c = SurrogateConfig { noise: 0.02, penalty: 0.0, regularizers: Regularizers::default(), seed: 0 };
    /// assert_eq!(Regularizer::of(&c), Some(Regularizer::Noise));
    /// assert_eq!(Regularizer::of(&SurrogateConfig { penalty: 1e-3, ..c }), None);
    /// ```
    pub fn of(c: &SurrogateConfig) -> Option<Regularizer> {
        let r = &c.regularizers;
        let on = [
            (c.noise > 0.0, Regularizer::Noise),
            (c.penalty > 0.0, Regularizer::Penalty),
            (r.dropout > 0.0, Regularizer::Dropout),
            (r.weight_decay > 0.0, Regularizer::WeightDecay),
            (r.spectral_norm, Regularizer::SpectralNorm),
        ];
        let mut active = on.iter().filter(|(is_on, _)| *is_on).map(|(_, k)| *k);
        match (active.next(), active.next()) {
            (None, _) => Some(Regularizer::None),
            (Some(k), None) => Some(k),
            _ => None,
        }
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Regularizer::None => "none",
            Regularizer::Noise => "noise injection",
            Regularizer::Penalty => "gradient penalty",
            Regularizer::Dropout => "dropout",
            Regularizer::WeightDecay => "weight decay",
            Regularizer::SpectralNorm => "spectral norm",
        }
    }

    /// Its strength in `c` ("σ = 0.02", "p = 0.1", "on").
    pub fn strength(self, c: &SurrogateConfig) -> String {
        match self {
            Regularizer::None => "–".into(),
            Regularizer::Noise => format!("σ = {}", c.noise),
            Regularizer::Penalty => format!("λ = {}", c.penalty),
            Regularizer::Dropout => format!("p = {}", c.regularizers.dropout),
            Regularizer::WeightDecay => format!("W = {}", c.regularizers.weight_decay),
            Regularizer::SpectralNorm => "on".into(),
        }
    }
}

/// One surrogate of an evaluation: its setting, its quality alone and the two proxy methods
/// built on it.
#[derive(Debug, Clone)]
pub struct ProxyRun<'a> {
    /// Its setting.
    pub config: SurrogateConfig,
    /// Its quality alone: argmin error, rank correlation, roughness.
    pub quality: &'a SurrogateQuality,
    /// `proxy-bfgs` on it.
    pub proxy_bfgs: &'a MethodSummary,
    /// `proxy-multistart` on it.
    pub proxy_multistart: &'a MethodSummary,
}

/// Every surrogate of `results` that both proxy methods ran on, in the file's order.
pub fn proxy_runs(results: &Results) -> Vec<ProxyRun<'_>> {
    results
        .surrogates
        .iter()
        .filter_map(|s| {
            let config = SurrogateConfig::of(&s.info);
            let method = |family| {
                let label = MethodId {
                    family,
                    surrogate: Some(config),
                    budget: None,
                    variant: None,
                }
                .label();
                results.method(&label)
            };
            Some(ProxyRun {
                config,
                quality: &s.quality,
                proxy_bfgs: method(Family::ProxyBfgs)?,
                proxy_multistart: method(Family::ProxyMultistart)?,
            })
        })
        .collect()
}

/// How noise injection fared in one experiment's ablation.
#[derive(Debug, Clone, PartialEq)]
pub enum NoiseStanding {
    /// Significantly better than every other regularizer with one proxy method or the other,
    /// and never significantly worse.
    Best,
    /// Neither beaten nor best: no significant difference from at least one other.
    Tied,
    /// Some regularizers are significantly better with one proxy method or both.
    Beaten(Vec<Regularizer>),
}

/// One experiment's ablation: one surrogate per regularizer (each chosen on the validation
/// targets) and each one's paired tests against noise injection.
#[derive(Debug, Clone)]
pub struct Ablation<'a> {
    /// The experiment.
    pub experiment: String,
    /// The surrogates, in [`Regularizer::ALL`]'s order.
    pub runs: Vec<(Regularizer, ProxyRun<'a>)>,
    /// Each other regularizer against noise injection, proxy-bfgs then proxy-multistart:
    /// A is the other regularizer, B noise injection. Holm-corrected over every experiment.
    pub against_noise: Vec<(Regularizer, FamilyComparison)>,
    /// How noise injection fared; None when the experiment has no noise-injection surrogate.
    pub noise: Option<NoiseStanding>,
}

/// The ablation of each experiment's evaluation (one surrogate per regularizer, seed 0), with
/// every comparison against noise injection Holm-corrected over the whole family: all
/// experiments, regularizers and both proxy methods.
///
/// ```
/// use proxyland_optim::ablation::ablation;
/// assert!(ablation(&[]).unwrap().is_empty());
/// ```
pub fn ablation<'a>(evaluations: &[&'a Results]) -> crate::Result<Vec<Ablation<'a>>> {
    let mut per_experiment = Vec::new();
    let mut pairings: Vec<Pairing> = Vec::new();
    let mut asked: Vec<(usize, Regularizer)> = Vec::new();
    let mut labels: Vec<(String, String)> = Vec::new();
    for (i, r) in evaluations.iter().enumerate() {
        let mut runs: Vec<(Regularizer, ProxyRun)> = Vec::new();
        for run in proxy_runs(r) {
            let Some(kind) = Regularizer::of(&run.config) else {
                continue;
            };
            if let Some(twin) = runs.iter().find(|(k, _)| *k == kind) {
                return Err(crate::Error::invalid(
                    "results",
                    format!(
                        "{}: two {} surrogates ({} and {}); an ablation holds the one chosen on \
                         validation",
                        r.experiment,
                        kind.name(),
                        twin.1.proxy_bfgs.label,
                        run.proxy_bfgs.label
                    ),
                ));
            }
            runs.push((kind, run));
        }
        runs.sort_by_key(|(k, _)| Regularizer::ALL.iter().position(|a| a == k));
        if let Some((_, noise)) = runs.iter().find(|(k, _)| *k == Regularizer::Noise) {
            for (kind, run) in runs.iter().filter(|(k, _)| *k != Regularizer::Noise) {
                for (a, b) in [
                    (&run.proxy_bfgs.label, &noise.proxy_bfgs.label),
                    (&run.proxy_multistart.label, &noise.proxy_multistart.label),
                ] {
                    labels.push((a.clone(), b.clone()));
                    asked.push((i, *kind));
                }
            }
        }
        per_experiment.push(runs);
    }
    for ((i, _), (a, b)) in asked.iter().zip(&labels) {
        pairings.push(((evaluations[*i], a.as_str()), (evaluations[*i], b.as_str())));
    }
    let compared = compare_pairings(&pairings)?;
    // compare_pairings skips a pairing whose per-target rows are missing (a summary without
    // rows): answers would then pair with the wrong question, so that is an error.
    if compared.len() != asked.len() {
        return Err(crate::Error::invalid(
            "results",
            format!(
                "{} of {} comparisons against noise injection lack per-target rows; the \
                 ablation needs every row of both proxy methods",
                asked.len() - compared.len(),
                asked.len()
            ),
        ));
    }
    let answers: Vec<((usize, Regularizer), FamilyComparison)> =
        asked.into_iter().zip(compared).collect();
    Ok(evaluations
        .iter()
        .zip(per_experiment)
        .enumerate()
        .map(|(i, (r, runs))| {
            let against_noise: Vec<(Regularizer, FamilyComparison)> = answers
                .iter()
                .filter(|((j, _), _)| *j == i)
                .map(|((_, kind), c)| (*kind, c.clone()))
                .collect();
            let has_noise = runs.iter().any(|(k, _)| *k == Regularizer::Noise);
            let noise = has_noise.then(|| standing(&against_noise));
            Ablation {
                experiment: r.experiment.clone(),
                runs,
                against_noise,
                noise,
            }
        })
        .collect())
}

/// Noise injection's standing from the other regularizers' comparisons against it.
fn standing(against_noise: &[(Regularizer, FamilyComparison)]) -> NoiseStanding {
    let mut beaten_by: Vec<Regularizer> = Vec::new();
    for (kind, c) in against_noise {
        if c.verdict == Verdict::Beats && !beaten_by.contains(kind) {
            beaten_by.push(*kind);
        }
    }
    if !beaten_by.is_empty() {
        return NoiseStanding::Beaten(beaten_by);
    }
    let others: Vec<Regularizer> = against_noise.iter().map(|(k, _)| *k).collect();
    let all_beaten = !others.is_empty()
        && others.iter().all(|k| {
            against_noise
                .iter()
                .any(|(j, c)| j == k && c.verdict == Verdict::LosesTo)
        });
    if all_beaten {
        NoiseStanding::Best
    } else {
        NoiseStanding::Tied
    }
}

/// One σ of the fine sweep: its runs, one per training seed, in seed order.
#[derive(Debug, Clone)]
pub struct SigmaPoint<'a> {
    /// Noise-injection σ (λ = 0, no other regularizer).
    pub sigma: f64,
    /// Its runs, seed order.
    pub runs: Vec<ProxyRun<'a>>,
}

impl SigmaPoint<'_> {
    /// The mean over seeds of `f`.
    pub fn mean(&self, f: impl Fn(&ProxyRun) -> f64) -> f64 {
        self.runs.iter().map(f).sum::<f64>() / self.runs.len() as f64
    }
}

/// Where too little noise (traps kept) turns into too much (the minimum drifts off X*): the σ
/// whose networks' own argmin lies closest to X*, and the drift and roughness on either side.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The σ of the lowest mean median argmin error (ties: the smaller σ).
    pub sigma: f64,
    /// That error (the drift from X*, worst coordinate, fraction of the box).
    pub drift: f64,
    /// The drift at σ = 0, and the roughness there (the traps left without noise).
    pub at_zero: Option<(f64, Option<f64>)>,
    /// The roughness at the turn.
    pub roughness: Option<f64>,
    /// The largest σ of the sweep, its drift and its roughness.
    pub at_largest: (f64, f64, Option<f64>),
}

/// An experiment's fine σ sweep.
#[derive(Debug, Clone)]
pub struct SigmaSweep<'a> {
    /// The experiment.
    pub experiment: String,
    /// Its σ values, ascending.
    pub points: Vec<SigmaPoint<'a>>,
    /// Where too little turns into too much; None without points.
    pub turn: Option<Turn>,
}

/// The fine σ sweep of one evaluation on the test targets: every surrogate trained with noise
/// injection alone (σ ≥ 0, λ = 0, no other regularizer), grouped by σ.
///
/// ```no_run
/// # let results: proxyland_optim::Results = unimplemented!();
/// let sweep = proxyland_optim::ablation::sigma_sweep(&results);
/// if let Some(turn) = &sweep.turn {
///     println!("the argmin is closest to X* at σ = {} ({:.3})", turn.sigma, turn.drift);
/// }
/// ```
pub fn sigma_sweep(results: &Results) -> SigmaSweep<'_> {
    let mut points: Vec<SigmaPoint> = Vec::new();
    for run in proxy_runs(results) {
        if !matches!(
            Regularizer::of(&run.config),
            Some(Regularizer::None | Regularizer::Noise)
        ) {
            continue;
        }
        match points.iter_mut().find(|p| p.sigma == run.config.noise) {
            Some(p) => p.runs.push(run),
            None => points.push(SigmaPoint {
                sigma: run.config.noise,
                runs: vec![run],
            }),
        }
    }
    points.sort_by(|a, b| a.sigma.total_cmp(&b.sigma));
    for p in &mut points {
        p.runs.sort_by_key(|r| r.config.seed);
    }
    let drift = |p: &SigmaPoint| p.mean(|r| r.quality.median_argmin_error);
    let roughness = |p: &SigmaPoint| {
        let known: Vec<f64> = p.runs.iter().filter_map(|r| r.quality.roughness).collect();
        (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
    };
    let turn = points
        .iter()
        .min_by(|a, b| drift(a).total_cmp(&drift(b)))
        .map(|best| {
            let largest = points.last().expect("a minimum implies points");
            Turn {
                sigma: best.sigma,
                drift: drift(best),
                at_zero: points
                    .first()
                    .filter(|p| p.sigma == 0.0)
                    .map(|p| (drift(p), roughness(p))),
                roughness: roughness(best),
                at_largest: (largest.sigma, drift(largest), roughness(largest)),
            }
        });
    SigmaSweep {
        experiment: results.experiment.clone(),
        points,
        turn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Regularizers;
    use serde_json::json;

    /// A surrogate of an evaluation: its setting, the per-target successes of proxy-bfgs and
    /// proxy-multistart on it, and its median argmin error and roughness.
    struct Fake {
        config: SurrogateConfig,
        bfgs: Vec<bool>,
        multistart: Vec<bool>,
        argmin: f64,
        roughness: f64,
    }

    fn config(noise: f64, penalty: f64, regularizers: Regularizers, seed: u64) -> SurrogateConfig {
        SurrogateConfig {
            noise,
            penalty,
            regularizers,
            seed,
        }
    }

    fn fake(c: SurrogateConfig, bfgs: usize, multistart: usize, n: usize) -> Fake {
        Fake {
            config: c,
            bfgs: (0..n).map(|t| t < bfgs).collect(),
            multistart: (0..n).map(|t| t < multistart).collect(),
            argmin: 0.1,
            roughness: 1.0,
        }
    }

    /// A results file of `experiment` holding exactly these surrogates and their two methods.
    fn evaluation(experiment: &str, fakes: &[Fake]) -> Results {
        let n = fakes[0].bfgs.len();
        let mut methods = Vec::new();
        let mut rows = Vec::new();
        let mut surrogates = Vec::new();
        for f in fakes {
            surrogates.push(json!({
                "info": {"path": "m.safetensors", "experiment": experiment, "dim": 2,
                         "trajectory_shape": [4, 8], "noise": f.config.noise,
                         "penalty": f.config.penalty, "regularizers": f.config.regularizers,
                         "seed": f.config.seed, "dataset_simulations": 100,
                         "training_seconds": 1.0},
                "quality": {"argmin_errors": [f.argmin], "median_argmin_error": f.argmin,
                            "argmin_within_2pct": 0.0, "rank_correlation": 0.5,
                            "roughness": f.roughness}
            }));
            for (family, successes) in [
                (Family::ProxyBfgs, &f.bfgs),
                (Family::ProxyMultistart, &f.multistart),
            ] {
                let id = MethodId {
                    family,
                    surrogate: Some(f.config),
                    budget: None,
                    variant: None,
                };
                let label = id.label();
                let k = successes.iter().filter(|s| **s).count();
                methods.push(json!({
                    "id": id, "label": label, "n": n, "successes": k,
                    "success_rate": k as f64 / n as f64, "success_interval": [0.0, 1.0],
                    "median_resim_loss": 0.0, "median_param_error": 0.0,
                    "mean_sim_calls": 10.0, "wall_s": 0.0, "failed_runs": 0,
                    "mean_rounds": null, "headline": false
                }));
                for (t, s) in successes.iter().enumerate() {
                    rows.push(json!({
                        "id": id, "method": label, "target": t, "x_hat": [0.5, 0.5], "resim_loss": 0.0,
                        "sim_calls": 10, "surrogate_evals": 0, "wall_s": 0.0,
                        "stopped": null, "rounds": null, "success": s, "param_error": 0.0
                    }));
                }
            }
        }
        serde_json::from_value(json!({
            "experiment": experiment, "spec_version": 3, "split": "test", "seed": 0,
            "targets": n, "proxyland_version": "test",
            "environment": {"machine": "", "threads": 1, "notes": []},
            "pool_simulations": null, "selection": null, "budget_units": [],
            "methods": methods, "surrogates": surrogates, "rows": rows
        }))
        .unwrap()
    }

    fn off() -> Regularizers {
        Regularizers::default()
    }

    fn dropout(p: f64) -> Regularizers {
        Regularizers {
            dropout: p,
            ..off()
        }
    }

    #[test]
    fn every_regularizer_is_tested_against_noise_and_holm_spans_all_experiments() {
        let n = 40;
        // Noise solves 10 targets; dropout all 40 (p ≈ 4e-9 per method): noise is beaten.
        let a = evaluation(
            "burgers",
            &[
                fake(config(0.0, 0.0, off(), 0), 10, 10, n),
                fake(config(0.02, 0.0, off(), 0), 10, 10, n),
                fake(config(0.0, 0.0, dropout(0.2), 0), 40, 40, n),
            ],
        );
        // Noise solves 30, the spectral norm 26: no difference, noise tied.
        let sn = Regularizers {
            spectral_norm: true,
            ..off()
        };
        let b = evaluation(
            "ks",
            &[
                fake(config(0.05, 0.0, off(), 0), 30, 30, n),
                fake(config(0.0, 0.0, sn, 0), 26, 26, n),
            ],
        );
        let found = ablation(&[&a, &b]).unwrap();
        assert_eq!(found.len(), 2);
        let kinds: Vec<Regularizer> = found[0].runs.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [Regularizer::None, Regularizer::Noise, Regularizer::Dropout]
        );
        // Two others × two methods, and one × two: six questions in one family.
        assert_eq!(found[0].against_noise.len(), 4);
        assert_eq!(found[1].against_noise.len(), 2);
        let raw: Vec<f64> = found
            .iter()
            .flat_map(|a| a.against_noise.iter().map(|(_, c)| c.paired.p_value))
            .collect();
        let adjusted = crate::stats::holm(&raw);
        let reported: Vec<f64> = found
            .iter()
            .flat_map(|a| a.against_noise.iter().map(|(_, c)| c.holm_p))
            .collect();
        assert_eq!(reported, adjusted);
        assert_eq!(
            found[0].noise,
            Some(NoiseStanding::Beaten(vec![Regularizer::Dropout]))
        );
        assert_eq!(found[1].noise, Some(NoiseStanding::Tied));
        // "none" and noise solve the same targets with both methods (0 vs 0 discordant: a
        // tie): noise is not beaten by "none", and could not have been best in burgers.
        let none_vs_noise = &found[0].against_noise[0];
        assert_eq!(none_vs_noise.0, Regularizer::None);
        assert_eq!(none_vs_noise.1.verdict, Verdict::Ties);
    }

    #[test]
    fn noise_is_best_only_when_it_beats_every_other_regularizer() {
        let n = 40;
        let others = |extra: usize| {
            vec![
                fake(config(0.02, 0.0, off(), 0), 40, 40, n),
                fake(config(0.0, 0.0, off(), 0), 0, 0, n),
                fake(config(0.0, 1e-3, off(), 0), 5, extra, n),
            ]
        };
        let best = evaluation("burgers", &others(5));
        assert_eq!(
            ablation(&[&best]).unwrap()[0].noise,
            Some(NoiseStanding::Best)
        );
        // The penalty matches noise with multi-start: noise beats it with proxy-bfgs only,
        // which still makes it significantly better than the penalty with one method.
        let one_method = evaluation("burgers", &others(40));
        assert_eq!(
            ablation(&[&one_method]).unwrap()[0].noise,
            Some(NoiseStanding::Best)
        );
        // Two dropout surrogates in one ablation: the file was not made by the ablation.
        let twice = evaluation(
            "burgers",
            &[
                fake(config(0.0, 0.0, dropout(0.1), 0), 1, 1, n),
                fake(config(0.0, 0.0, dropout(0.2), 0), 1, 1, n),
            ],
        );
        let err = ablation(&[&twice]).unwrap_err().to_string();
        assert!(err.contains("two dropout"), "{err}");
    }

    #[test]
    fn the_sigma_sweep_turns_where_the_argmin_is_closest_to_the_truth() {
        let n = 10;
        let point = |sigma: f64, seed: u64, argmin: f64, roughness: f64| Fake {
            argmin,
            roughness,
            ..fake(config(sigma, 0.0, off(), seed), 5, 5, n)
        };
        let r = evaluation(
            "burgers",
            &[
                point(0.1, 0, 0.30, 0.1),
                point(0.0, 0, 0.20, 50.0),
                point(0.01, 0, 0.0625, 5.0),
                point(0.01, 1, 0.1875, 7.0),
                point(0.02, 0, 0.125, 2.0),
                // Another regularizer is not part of the sweep.
                fake(config(0.0, 0.0, dropout(0.1), 0), 5, 5, n),
            ],
        );
        let sweep = sigma_sweep(&r);
        let sigmas: Vec<f64> = sweep.points.iter().map(|p| p.sigma).collect();
        assert_eq!(sigmas, [0.0, 0.01, 0.02, 0.1]);
        assert_eq!(sweep.points[1].runs.len(), 2);
        let turn = sweep.turn.unwrap();
        // σ = 0.01 averages 0.125 over its seeds, tying σ = 0.02: the smaller σ is the turn.
        assert_eq!(turn.sigma, 0.01);
        assert_eq!(turn.drift, 0.125);
        assert_eq!(turn.at_zero, Some((0.20, Some(50.0))));
        assert_eq!(turn.roughness, Some(6.0));
        assert_eq!(turn.at_largest, (0.1, 0.30, Some(0.1)));
    }
}
