//! Global baselines on the true loss under a simulator-call budget: multi-start BFGS,
//! differential evolution and IPOP-CMA-ES, the last two at full strength (spec v2).
//!
//! - DE (Storn & Price 1997) as scipy's `differential_evolution` runs it: best/1/bin, dithered
//!   F ∈ [0.5, 1), CR = 0.7, Latin-hypercube initial population. The population is sized to the
//!   budget, so even a small budget runs at least [`DE_MIN_GENERATIONS`] generations.
//! - CMA-ES (Hansen's 2016 tutorial, (μ/μ_w, λ)) with IPOP restarts (Auger & Hansen 2005):
//!   each restart doubles λ and starts from a new uniform mean.
//! - Both end, as scipy's `polish=True` does, with a local polish from their best point on the
//!   budget they kept back ([`polish_reserve`]), by the refinement rule
//!   (`LocalSettings::refine`): BFGS by default as in the paper's protocol, LM in the scaling
//!   profile. Gradients are exact here, so a polish costs a few calls and
//!   turns "near the minimum" into "at the minimum".
//!
//! Why not the `cmaes` crate (0.2, which has IPOP/BIPOP): it brings nalgebra and statrs, a
//! second linear-algebra stack that every user of this crate would compile, draws from its own
//! RNG rather than our per-target streams, and checks its evaluation limit per generation, so it
//! can overrun an exact simulator budget. The algorithm itself is 150 lines here, tested below.

use crate::error::{Error, Result};
use crate::local::{LocalMethod, LocalSettings, StopReason, minimize};
use crate::objective::{Objective, TrueLoss};
use crate::refine::{Refinement, refine};
use ndarray::{Array1, Array2};
use ndarray_linalg::{Eigh, UPLO};
use proxyland_physics::rng::Stream;

/// The best point a global method found.
#[derive(Debug, Clone)]
pub struct GlobalResult {
    /// Where (normalized coordinates, not folded).
    pub u: Vec<f64>,
    /// Its true loss.
    pub value: f64,
    /// Local runs (multi-start) or generations (DE, CMA-ES, over all restarts) completed.
    pub rounds: usize,
    /// CMA-ES restarts begun after the first run (0 elsewhere).
    pub restarts: usize,
    /// Why the last phase stopped, if not by its own rule (normally the budget).
    pub stopped: Option<StopReason>,
    /// Where each completed local run ended, as (true loss, u): the distinct minima a
    /// multi-start search found, so a verdict can see a second answer as good as the first.
    pub local_minima: Vec<(f64, Vec<f64>)>,
    /// How the final polish ended (DE, CMA-ES).
    pub refinement: Option<Refinement>,
}

/// DE runs at least this many generations after its initial population.
pub const DE_MIN_GENERATIONS: usize = 5;

/// Simulator calls a global method keeps back for its final polish: a fifth of the budget, at
/// most 100 (a BFGS or LM polish with exact gradients converges in tens of calls).
pub fn polish_reserve(budget: usize) -> usize {
    (budget / 5).min(100)
}

fn best_of(objective: &TrueLoss, fallback: &[f64], rounds: usize) -> GlobalResult {
    let (value, u) = objective
        .best()
        .unwrap_or((f64::INFINITY, fallback.to_vec()));
    GlobalResult {
        u,
        value,
        rounds,
        restarts: 0,
        stopped: None,
        local_minima: Vec::new(),
        refinement: None,
    }
}

fn uniform_point(stream: &mut Stream, d: usize) -> Vec<f64> {
    (0..d).map(|_| stream.uniform()).collect()
}

/// The value of `u`, with a failed simulation scored +∞ (the point is bad, the search goes on);
/// `None` once the budget is spent.
fn score(objective: &TrueLoss, u: &[f64]) -> Option<f64> {
    match objective.value(u) {
        Ok(v) => Some(v),
        Err(Error::BudgetExhausted { .. }) => None,
        Err(_) => Some(f64::INFINITY),
    }
}

/// The budget of a global method: the calls its objective has left. Global methods run until
/// it is spent, so an unbounded objective is an error.
fn budget_of(objective: &TrueLoss) -> Result<usize> {
    match objective.remaining() {
        usize::MAX => Err(Error::invalid(
            "budget",
            "global methods run until a simulator budget is spent: give the objective one",
        )),
        left => Ok(left),
    }
}

/// The refinement rule (BFGS by default) from the best point seen (the method's start if the
/// budget allowed no search at all), on whatever budget is left. Never under horizon
/// continuation: the polish starts from the search's best point, already near a minimum, and
/// partial-horizon stages would spend the small reserve on values that cannot be the answer.
fn polish(objective: &TrueLoss, settings: LocalSettings, mut result: GlobalResult) -> GlobalResult {
    // Under a field-solve budget a gradient call may cost more than is left: no polish then.
    if objective.remaining() >= objective.gradient_call_cost() && !result.value.is_nan() {
        let settings = LocalSettings {
            continuation: false,
            ..settings
        };
        let (r, report) = refine(objective, &result.u, settings);
        result.stopped = r.stopped;
        result.refinement = Some(report);
    }
    let (value, u) = objective.best().unwrap_or((result.value, result.u.clone()));
    GlobalResult { u, value, ..result }
}

/// BFGS from uniform random starts until the objective's budget is spent.
pub fn multistart_bfgs(
    objective: &TrueLoss,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<GlobalResult> {
    budget_of(objective)?;
    let d = objective.dim();
    let mut rounds = 0;
    let first = uniform_point(stream, d);
    let mut start = first.clone();
    let mut stopped = None;
    let mut local_minima = Vec::new();
    while objective.remaining() > 0 {
        let r = minimize(LocalMethod::Bfgs, objective, &start, settings);
        rounds += 1;
        if r.stopped.as_ref().is_some_and(StopReason::is_budget) {
            stopped = r.stopped;
            break;
        }
        if r.value.is_finite() {
            local_minima.push((r.value, r.u));
        }
        start = uniform_point(stream, d);
    }
    Ok(GlobalResult {
        stopped,
        local_minima,
        ..best_of(objective, &first, rounds)
    })
}

/// Mirrors the reflecting coordinates of a point back into [0,1] and leaves periodic ones as they
/// are (the objective wraps them): a population keeps its geometry, and a search can cross a
/// periodic seam, which a mirror there would forbid.
fn reflect_inside(space: &proxyland_physics::ParamSpace, u: &mut [f64]) {
    for (j, v) in u.iter_mut().enumerate() {
        if !space.is_periodic(j) {
            let r = v.rem_euclid(2.0);
            *v = if r <= 1.0 { r } else { 2.0 - r };
        }
    }
}

/// The population size DE uses for a budget: enough for [`DE_MIN_GENERATIONS`] generations
/// first, then up to scipy's 15·d members, never fewer than 4 (best/1/bin needs the best and two
/// others distinct from i). Below 4 · (1 + 5) calls of search, 5 generations cannot fit; the
/// generations run are recorded with every answer.
pub fn de_population(budget: usize, d: usize) -> usize {
    population_for(budget.saturating_sub(polish_reserve(budget)), d)
}

fn population_for(search: usize, d: usize) -> usize {
    (search / (DE_MIN_GENERATIONS + 1)).clamp(4, (15 * d).max(4))
}

/// The polish reserve of an objective with `budget` left, in its budget's unit: under a
/// field-solve budget the reserve holds as many gradient calls as [`polish_reserve`] would
/// give a call budget of the same number of gradient calls.
fn reserve_of(objective: &TrueLoss, budget: usize) -> usize {
    let cost = objective.gradient_call_cost();
    polish_reserve(budget / cost) * cost
}

/// Differential evolution (best/1/bin) sized to the objective's budget, then a local polish by
/// the refinement rule.
pub fn differential_evolution(
    objective: &TrueLoss,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<GlobalResult> {
    let d = objective.dim();
    let space = objective.space();
    let budget = budget_of(objective)?;
    let reserve = reserve_of(objective, budget);
    let np = population_for(budget.saturating_sub(reserve), d);
    let cr = 0.7;
    // Latin hypercube: each coordinate's np strata are each hit once, in a random order.
    let mut pop: Vec<Vec<f64>> = vec![vec![0.0; d]; np];
    for j in 0..d {
        let mut strata: Vec<usize> = (0..np).collect();
        for i in (1..np).rev() {
            let k = (stream.uniform() * (i + 1) as f64) as usize % (i + 1);
            strata.swap(i, k);
        }
        for (member, s) in pop.iter_mut().zip(&strata) {
            member[j] = (*s as f64 + stream.uniform()) / np as f64;
        }
    }
    let first = pop[0].clone();
    let mut fit = Vec::with_capacity(np);
    for p in &pop {
        match score(objective, p) {
            Some(v) => fit.push(v),
            None => return Ok(best_of(objective, &first, 0)),
        }
    }
    let mut generations = 0;
    let mut best = (0..np)
        .min_by(|&a, &b| fit[a].total_cmp(&fit[b]))
        .unwrap_or(0);
    'search: while objective.remaining() > reserve {
        // scipy's dithering: one F per generation, uniform in [0.5, 1).
        let f = 0.5 + 0.5 * stream.uniform();
        for i in 0..np {
            if objective.remaining() <= reserve {
                break 'search;
            }
            let pick = |s: &mut Stream| (s.uniform() * np as f64) as usize % np;
            let (mut b, mut c) = (pick(stream), pick(stream));
            while b == i || b == best {
                b = pick(stream);
            }
            while c == i || c == best || c == b {
                c = pick(stream);
            }
            let forced = (stream.uniform() * d as f64) as usize % d;
            let mut trial = pop[i].clone();
            for j in 0..d {
                if j == forced || stream.uniform() < cr {
                    trial[j] = pop[best][j] + f * (pop[b][j] - pop[c][j]);
                }
            }
            let mut trial = space.fold_unit(&trial).0;
            match score(objective, &trial) {
                Some(v) if v <= fit[i] => {
                    pop[i] = std::mem::take(&mut trial);
                    fit[i] = v;
                    // scipy's `updating='immediate'`: a new best leads at once.
                    if v < fit[best] {
                        best = i;
                    }
                }
                Some(_) => {}
                None => break 'search,
            }
        }
        generations += 1;
    }
    Ok(polish(
        objective,
        settings,
        best_of(objective, &first, generations),
    ))
}

/// One CMA-ES run with population `lambda` from `mean`, until its own stopping rules fire or
/// fewer than `lambda` calls are left above `reserve`. Returns the generations it ran.
fn cma_es_run(
    objective: &TrueLoss,
    lambda: usize,
    mean: Vec<f64>,
    reserve: usize,
    stream: &mut Stream,
) -> usize {
    let d = objective.dim();
    let space = objective.space();
    let n = d as f64;
    let mu = lambda / 2;
    let raw: Vec<f64> = (0..mu)
        .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - ((i + 1) as f64).ln())
        .collect();
    let sum: f64 = raw.iter().sum();
    let w: Vec<f64> = raw.iter().map(|v| v / sum).collect();
    let mu_eff = 1.0 / w.iter().map(|v| v * v).sum::<f64>();
    let cc = (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n);
    let cs = (mu_eff + 2.0) / (n + mu_eff + 5.0);
    let c1 = 2.0 / ((n + 1.3).powi(2) + mu_eff);
    let cmu = (1.0 - c1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0).powi(2) + mu_eff));
    let damps = 1.0 + 2.0 * (0.0f64).max(((mu_eff - 1.0) / (n + 1.0)).sqrt() - 1.0) + cs;
    let chi_n = n.sqrt() * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
    // Hansen's restart rules: TolX, TolHistFun (best values flat over the recent history),
    // ConditionCov, and MaxIter = 100 + 50 (n + 3)² / √λ.
    let history_len = 10 + (30.0 * n / lambda as f64).ceil() as usize;
    let max_generations = 100 + (50.0 * (n + 3.0).powi(2) / (lambda as f64).sqrt()) as usize;

    let mut mean = Array1::from(mean);
    let mut sigma = 0.3;
    let mut c = Array2::<f64>::eye(d);
    let mut pc = Array1::<f64>::zeros(d);
    let mut ps = Array1::<f64>::zeros(d);
    let mut history: Vec<f64> = Vec::new();
    let mut generations = 0;
    loop {
        if objective.remaining() < reserve + lambda {
            break;
        }
        let Ok((eigvals, b)) = c.eigh(UPLO::Upper) else {
            break;
        };
        let dvec = eigvals.mapv(|e| e.max(1e-20).sqrt());
        let mut samples: Vec<(f64, Array1<f64>)> = Vec::with_capacity(lambda);
        for _ in 0..lambda {
            let z = Array1::from((0..d).map(|_| stream.normal()).collect::<Vec<_>>());
            let y = b.dot(&(&dvec * &z));
            let mut x = (&mean + &(&y * sigma)).to_vec();
            reflect_inside(space, &mut x);
            let x = Array1::from(x);
            let y = (&x - &mean) / sigma;
            match score(objective, &x.to_vec()) {
                Some(v) => samples.push((v, y)),
                None => return generations,
            }
        }
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        history.push(samples[0].0);
        let y_w = samples[..mu]
            .iter()
            .zip(&w)
            .fold(Array1::<f64>::zeros(d), |acc, ((_, y), wi)| {
                acc + &(y * *wi)
            });
        mean = &mean + &(&y_w * sigma);
        // C^{-1/2} y_w = B D^{-1} Bᵀ y_w
        let inv_sqrt = b.dot(&(&b.t().dot(&y_w) / &dvec));
        ps = &ps * (1.0 - cs) + &(&inv_sqrt * (cs * (2.0 - cs) * mu_eff).sqrt());
        let ps_norm = ps.dot(&ps).sqrt();
        let generation = (generations + 1) as f64;
        let hsig = ps_norm / (1.0 - (1.0 - cs).powf(2.0 * generation)).sqrt() / chi_n
            < 1.4 + 2.0 / (n + 1.0);
        let hs = if hsig { 1.0 } else { 0.0 };
        pc = &pc * (1.0 - cc) + &(&y_w * (hs * (cc * (2.0 - cc) * mu_eff).sqrt()));
        let mut rank_mu = Array2::<f64>::zeros((d, d));
        for ((_, y), wi) in samples[..mu].iter().zip(&w) {
            let yc = y.view().insert_axis(ndarray::Axis(1));
            rank_mu += &(yc.dot(&yc.t()) * *wi);
        }
        let pcc = pc.view().insert_axis(ndarray::Axis(1));
        let delta = (1.0 - hs) * cc * (2.0 - cc);
        c = &c * (1.0 - c1 - cmu + c1 * delta) + &(pcc.dot(&pcc.t()) * c1) + &(rank_mu * cmu);
        // Keep C exactly symmetric against rounding.
        c = (&c + &c.t()) * 0.5;
        sigma *= ((cs / damps) * (ps_norm / chi_n - 1.0)).exp();
        generations += 1;
        let max_sd = c.diag().iter().fold(0.0f64, |m, v| m.max(v.sqrt()));
        let condition = eigvals.iter().fold(0.0f64, |m, v| m.max(*v))
            / eigvals
                .iter()
                .fold(f64::INFINITY, |m, v| m.min(*v))
                .max(1e-300);
        let flat = history.len() >= history_len && {
            let recent = &history[history.len() - history_len..];
            let hi = recent.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
            let lo = recent.iter().fold(f64::INFINITY, |m, v| m.min(*v));
            hi - lo <= 1e-12 * lo.abs().max(1e-300)
        };
        if sigma * max_sd < 1e-10 || condition > 1e14 || flat || generations >= max_generations {
            break;
        }
    }
    generations
}

/// IPOP-CMA-ES from uniform random means with σ0 = 0.3 (in u), λ doubling at each restart,
/// until the budget (less the polish reserve) is spent; then a local polish by the refinement
/// rule.
pub fn cma_es(
    objective: &TrueLoss,
    settings: LocalSettings,
    stream: &mut Stream,
) -> Result<GlobalResult> {
    let d = objective.dim();
    let budget = budget_of(objective)?;
    let reserve = reserve_of(objective, budget);
    let lambda0 = 4 + (3.0 * (d as f64).ln()).floor() as usize;
    let first = uniform_point(stream, d);
    let mut mean = first.clone();
    let (mut generations, mut runs) = (0, 0);
    let mut lambda = lambda0;
    while objective.remaining() >= reserve + lambda {
        generations += cma_es_run(objective, lambda, mean, reserve, stream);
        runs += 1;
        lambda *= 2;
        mean = uniform_point(stream, d);
    }
    let result = GlobalResult {
        restarts: runs.max(1) - 1,
        ..best_of(objective, &first, generations)
    };
    Ok(polish(objective, settings, result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyland_physics::rng::Domain;
    use proxyland_physics::{GramacyLee, Simulator};

    #[test]
    fn the_polish_reserve_is_a_fifth_at_most_100() {
        assert_eq!(polish_reserve(60), 12);
        assert_eq!(polish_reserve(1000), 100);
        assert_eq!(polish_reserve(30), 6);
        assert_eq!(polish_reserve(4), 0);
    }

    #[test]
    fn de_runs_at_least_five_generations_once_the_budget_allows_a_population_of_four() {
        let (sim, y) = gramacy_lee_target();
        for budget in [30, 36, 60, 100, 500] {
            let truth = TrueLoss::new(&sim, &y).with_budget(budget);
            let r = differential_evolution(
                &truth,
                LocalSettings::default(),
                &mut Domain::Scratch.stream(1, 2),
            )
            .unwrap();
            assert!(
                r.rounds >= DE_MIN_GENERATIONS,
                "budget {budget}: {} generations",
                r.rounds
            );
        }
        for (budget, d) in [(60, 2), (100, 4), (2000, 4)] {
            assert!(de_population(budget, d) <= 15 * d);
        }
    }

    #[test]
    fn a_budget_too_small_for_any_generation_still_evaluates_and_polishes() {
        let (sim, y) = gramacy_lee_target();
        for budget in [3, 8] {
            let truth = TrueLoss::new(&sim, &y).with_budget(budget);
            let r = cma_es(
                &truth,
                LocalSettings::default(),
                &mut Domain::Scratch.stream(4, 0),
            )
            .unwrap();
            assert!(r.value.is_finite(), "budget {budget}: {r:?}");
            assert_eq!(truth.calls(), budget);
        }
    }

    #[test]
    fn populations_mirror_reflecting_coordinates_and_leave_periodic_ones_to_the_wrap() {
        let space = proxyland_physics::ParamSpace::new(
            ["phase", "speed"],
            ["-", "-"],
            [0.0, 0.0],
            [1.0, 1.0],
            [
                proxyland_physics::Boundary::Periodic,
                proxyland_physics::Boundary::Reflect,
            ],
        )
        .unwrap();
        let mut u = vec![1.02, 1.02];
        reflect_inside(&space, &mut u);
        // 1.02 in a periodic coordinate is the point 0.02 (the objective wraps it); mirrored to
        // 0.98 it would be a different point with a different loss.
        assert_eq!(u[0], 1.02);
        assert!((u[1] - 0.98).abs() < 1e-12);
    }

    #[test]
    fn searches_solve_a_problem_whose_minimum_sits_on_a_periodic_seam() {
        struct Seam(proxyland_physics::ParamSpace);
        impl Simulator for Seam {
            fn name(&self) -> &str {
                "seam"
            }
            fn param_space(&self) -> &proxyland_physics::ParamSpace {
                &self.0
            }
            fn trajectory_shape(&self) -> (usize, usize) {
                (1, 1)
            }
            fn frame_times(&self) -> Vec<f64> {
                vec![0.0]
            }
            fn state_axis(&self) -> Vec<f64> {
                vec![0.0]
            }
            fn simulate(&self, x: &[f64]) -> proxyland_physics::Result<ndarray::Array2<f64>> {
                let (x, _) = self.0.fold(x);
                let a = std::f64::consts::TAU * x[0];
                Ok(ndarray::Array2::from_elem((1, 1), 1.0 - a.cos()))
            }
            fn simulate_with_tangents(
                &self,
                x: &[f64],
            ) -> proxyland_physics::Result<proxyland_physics::Tangents> {
                let (x, _) = self.0.fold(x);
                let a = std::f64::consts::TAU * x[0];
                Ok(proxyland_physics::Tangents {
                    trajectory: ndarray::Array2::from_elem((1, 1), 1.0 - a.cos()),
                    tangents: vec![ndarray::Array2::from_elem(
                        (1, 1),
                        std::f64::consts::TAU * a.sin(),
                    )],
                })
            }
        }
        let sim = Seam(
            proxyland_physics::ParamSpace::new(
                ["phase"],
                ["-"],
                [0.0],
                [1.0],
                [proxyland_physics::Boundary::Periodic],
            )
            .unwrap(),
        );
        let y = ndarray::Array2::zeros((1, 1));
        for seed in 0..5 {
            for name in ["de", "cmaes"] {
                let truth = TrueLoss::new(&sim, &y).with_budget(200);
                let mut stream = Domain::Scratch.stream(seed, 1);
                let r = if name == "de" {
                    differential_evolution(&truth, LocalSettings::default(), &mut stream)
                } else {
                    cma_es(&truth, LocalSettings::default(), &mut stream)
                }
                .unwrap();
                let d = sim.param_space().normalized_distance(&r.u, &[0.0])[0];
                assert!(
                    d < 2e-3,
                    "{name} seed {seed}: ended {d} from the seam minimum"
                );
            }
        }
    }

    fn gramacy_lee_target() -> (GramacyLee, ndarray::Array2<f64>) {
        let sim = GramacyLee::new();
        let y = sim.simulate(&sim.fixed_target().unwrap()).unwrap();
        (sim, y)
    }

    #[test]
    fn every_baseline_spends_exactly_its_budget_and_polishes_to_a_minimum() {
        let (sim, y) = gramacy_lee_target();
        let settings = LocalSettings::default();
        for budget in [40, 200] {
            for name in ["de", "cmaes", "multistart"] {
                let truth = TrueLoss::new(&sim, &y).with_budget(budget);
                let mut stream = Domain::Scratch.stream(11, 3);
                let r = match name {
                    "de" => differential_evolution(&truth, settings, &mut stream),
                    "cmaes" => cma_es(&truth, settings, &mut stream),
                    _ => multistart_bfgs(&truth, settings, &mut stream),
                }
                .unwrap();
                assert!(
                    truth.calls() <= budget,
                    "{name}: {} > {budget}",
                    truth.calls()
                );
                // The polish ends at a stationary point: the gradient there is small (a
                // generation's best point without polish is not).
                let x = sim.param_space().from_unit(&r.u);
                let (_, g) = sim.loss_and_grad(&x, &y).unwrap();
                assert!(
                    g[0].abs() < 1e-3 || truth.remaining() == 0,
                    "{name} at budget {budget}: |g| = {} with {} calls left",
                    g[0].abs(),
                    truth.remaining()
                );
                assert_eq!(Some(r.value), truth.best().map(|b| b.0), "{name}");
            }
        }
    }

    #[test]
    fn de_and_ipop_cmaes_find_the_gramacy_lee_global_minimum_at_a_moderate_budget() {
        let (sim, y) = gramacy_lee_target();
        let x_star = sim.fixed_target().unwrap()[0];
        let settings = LocalSettings::default();
        for name in ["de", "cmaes"] {
            let mut hits = 0;
            for seed in 0..10 {
                let truth = TrueLoss::new(&sim, &y).with_budget(300);
                let mut stream = Domain::Scratch.stream(seed, 0);
                let r = if name == "de" {
                    differential_evolution(&truth, settings, &mut stream)
                } else {
                    cma_es(&truth, settings, &mut stream)
                }
                .unwrap();
                let (x, _) = sim.param_space().fold(&sim.param_space().from_unit(&r.u));
                if (x[0] - x_star).abs() <= 0.02 {
                    hits += 1;
                }
            }
            assert!(hits >= 8, "{name} found x* on {hits} of 10 seeds");
        }
    }

    #[test]
    fn ipop_restarts_with_a_larger_population_when_a_run_converges() {
        let (sim, y) = gramacy_lee_target();
        let truth = TrueLoss::new(&sim, &y).with_budget(3000);
        let r = cma_es(
            &truth,
            LocalSettings::default(),
            &mut Domain::Scratch.stream(5, 0),
        )
        .unwrap();
        assert!(r.restarts >= 1, "one run used all of 3000 calls: {r:?}");
    }
}
