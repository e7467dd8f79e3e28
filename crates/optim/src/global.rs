//! Global baselines on the true loss under a simulator-call budget: multi-start BFGS,
//! differential evolution and CMA-ES.
//!
//! DE and CMA-ES are small implementations of the textbook algorithms (Storn & Price 1997:
//! DE/rand/1/bin; Hansen's 2016 tutorial: (μ/μ_w, λ)-CMA-ES). No crate fitting our ndarray 0.16
//! stack offered both with a call budget and seeded streams; these are ~150 lines and tested.

use crate::local::{LocalMethod, LocalSettings, minimize};
use crate::objective::{Objective, TrueLoss};
use ndarray::{Array1, Array2};
use ndarray_linalg::{Eigh, UPLO};
use proxyland_physics::rng::Stream;

/// The best point a global method found.
#[derive(Debug, Clone)]
pub struct GlobalResult {
    pub u: Vec<f64>,
    pub value: f64,
    /// Local runs (multi-start) or generations (DE, CMA-ES) completed.
    pub rounds: usize,
}

fn best_of(objective: &TrueLoss, fallback: &[f64], rounds: usize) -> GlobalResult {
    let (value, u) = objective
        .best()
        .unwrap_or((f64::INFINITY, fallback.to_vec()));
    GlobalResult { u, value, rounds }
}

fn uniform_point(stream: &mut Stream, d: usize) -> Vec<f64> {
    (0..d).map(|_| stream.uniform()).collect()
}

/// BFGS from uniform random starts until the objective's budget is spent.
pub fn multistart_bfgs(
    objective: &TrueLoss,
    settings: LocalSettings,
    stream: &mut Stream,
) -> GlobalResult {
    let d = objective.dim();
    let mut rounds = 0;
    let first = uniform_point(stream, d);
    let mut start = first.clone();
    while objective.remaining() > 0 {
        let r = minimize(LocalMethod::Bfgs, objective, &start, settings);
        rounds += 1;
        if r.stopped.as_deref().is_some_and(|s| s.contains("budget")) {
            break;
        }
        start = uniform_point(stream, d);
    }
    best_of(objective, &first, rounds)
}

/// Folds a point back into [0,1]^d by reflection (the objective folds too; this keeps the
/// population's geometry sensible).
fn reflect_unit(u: &mut [f64]) {
    for v in u.iter_mut() {
        let r = v.rem_euclid(2.0);
        *v = if r <= 1.0 { r } else { 2.0 - r };
    }
}

/// DE/rand/1/bin with F = 0.7, CR = 0.9 and a population of 5d + 5.
pub fn differential_evolution(objective: &TrueLoss, stream: &mut Stream) -> GlobalResult {
    let d = objective.dim();
    let np = 5 * d + 5;
    let (f, cr) = (0.7, 0.9);
    let mut pop: Vec<Vec<f64>> = (0..np).map(|_| uniform_point(stream, d)).collect();
    let mut fit = Vec::with_capacity(np);
    for p in &pop {
        match objective.value(p) {
            Ok(v) => fit.push(v),
            Err(_) => return best_of(objective, &pop[0], 0),
        }
    }
    let mut generations = 0;
    'outer: loop {
        for i in 0..np {
            let pick = |s: &mut Stream| (s.uniform() * np as f64) as usize % np;
            let (mut a, mut b, mut c) = (pick(stream), pick(stream), pick(stream));
            while a == i {
                a = pick(stream);
            }
            while b == i || b == a {
                b = pick(stream);
            }
            while c == i || c == a || c == b {
                c = pick(stream);
            }
            let forced = (stream.uniform() * d as f64) as usize % d;
            let mut trial = pop[i].clone();
            for j in 0..d {
                if j == forced || stream.uniform() < cr {
                    trial[j] = pop[a][j] + f * (pop[b][j] - pop[c][j]);
                }
            }
            reflect_unit(&mut trial);
            match objective.value(&trial) {
                Ok(v) if v <= fit[i] => {
                    pop[i] = trial;
                    fit[i] = v;
                }
                Ok(_) => {}
                Err(_) => break 'outer,
            }
        }
        generations += 1;
    }
    best_of(objective, &pop[0], generations)
}

/// (μ/μ_w, λ)-CMA-ES from a uniform random mean with σ0 = 0.3 (in u units).
pub fn cma_es(objective: &TrueLoss, stream: &mut Stream) -> GlobalResult {
    let d = objective.dim();
    let n = d as f64;
    let lambda = 4 + (3.0 * n.ln()).floor() as usize;
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

    let mut mean = Array1::from(uniform_point(stream, d));
    let mut sigma = 0.3;
    let mut c = Array2::<f64>::eye(d);
    let mut pc = Array1::<f64>::zeros(d);
    let mut ps = Array1::<f64>::zeros(d);
    let mut generations = 0;
    let first = mean.to_vec();
    loop {
        let Ok((eigvals, b)) = c.eigh(UPLO::Upper) else {
            break;
        };
        let dvec = eigvals.mapv(|e| e.max(1e-20).sqrt());
        let mut samples: Vec<(f64, Array1<f64>, Array1<f64>)> = Vec::with_capacity(lambda);
        for _ in 0..lambda {
            let z = Array1::from((0..d).map(|_| stream.normal()).collect::<Vec<_>>());
            let y = b.dot(&(&dvec * &z));
            let mut x = (&mean + &(&y * sigma)).to_vec();
            reflect_unit(&mut x);
            let x = Array1::from(x);
            let y = (&x - &mean) / sigma;
            match objective.value(&x.to_vec()) {
                Ok(v) => samples.push((v, x, y)),
                Err(_) => return best_of(objective, &first, generations),
            }
        }
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let y_w = samples[..mu]
            .iter()
            .zip(&w)
            .fold(Array1::<f64>::zeros(d), |acc, ((_, _, y), wi)| {
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
        for ((_, _, y), wi) in samples[..mu].iter().zip(&w) {
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
        if sigma < 1e-12 || objective.remaining() == 0 || generations >= 10_000 {
            break;
        }
    }
    best_of(objective, &first, generations)
}
