//! Bring your own simulator: identify the damping γ and natural frequency ω0 of a driven
//! pendulum from a short observed window, through proxyland's library APIs alone.
//!
//! θ'' = −γ θ' − ω0² sin θ + A cos(Ω t), θ(0) = 0.2, θ'(0) = 0, A = 1.2, Ω = 2/3;
//! observed: (θ, θ') at 41 frames over t ∈ [0, 20]; X = (γ, ω0) ∈ [0.1, 1] × [0.5, 2].
//!
//! The steps are the pipeline's: simulate a pool → train a proxy on it → proxy-multistart (the
//! network proposes minima, BFGS on the true loss refines them) → Gauss–Newton standard errors
//! and a verdict. The simulator gives exact gradients (RK4 applied to the forward-sensitivity
//! system is the exact derivative of the RK4 scheme).
//!
//! ```text
//! cargo run --release -p proxyland-proxy --example pendulum          # about a minute
//! cargo run --release -p proxyland-proxy --example pendulum -- --tiny
//! ```

use openblas_src as _;
use proxyland_dataset::{GenerateOptions, ProxySettings, generate_in_memory};
use proxyland_optim::{
    LocalSettings, Method, Noise, Problem, SurrogateModel, is_success, judge, run,
};
use proxyland_physics::rng::Domain;
use proxyland_physics::{Boundary, ParamSpace, Simulator, Tangents, Trajectory};
use proxyland_proxy::{Proxy, TrainOptions, TrainSpec, train_with};

/// The driven, damped pendulum with exact parameter gradients.
pub struct Pendulum {
    space: ParamSpace,
}

const FRAMES: usize = 41;
const STEPS_PER_FRAME: usize = 50;
const DT: f64 = 0.01;
const A: f64 = 1.2;
const OMEGA: f64 = 2.0 / 3.0;

impl Pendulum {
    /// The pendulum on its parameter box.
    pub fn new() -> Self {
        Pendulum {
            space: ParamSpace::new(
                ["gamma", "omega0"],
                ["1/s", "rad/s"],
                [0.1, 0.5],
                [1.0, 2.0],
                [Boundary::Reflect, Boundary::Reflect],
            )
            .expect("a valid box"),
        }
    }

    /// The right-hand side for the state (θ, v) and its two sensitivities, all 6 components.
    fn rhs(z: &[f64; 6], t: f64, gamma: f64, w0: f64) -> [f64; 6] {
        let (th, v) = (z[0], z[1]);
        let (s, c) = th.sin_cos();
        let acc = -gamma * v - w0 * w0 * s + A * (OMEGA * t).cos();
        // d/dX (θ, v)' = J · (∂θ/∂X, ∂v/∂X) + ∂f/∂X, J = [[0, 1], [−ω0² cos θ, −γ]].
        let dgamma = [z[3], -w0 * w0 * c * z[2] - gamma * z[3] - v];
        let dw0 = [z[5], -w0 * w0 * c * z[4] - gamma * z[5] - 2.0 * w0 * s];
        [v, acc, dgamma[0], dgamma[1], dw0[0], dw0[1]]
    }

    fn integrate(&self, x: &[f64]) -> (Trajectory, [Trajectory; 2]) {
        let (gamma, w0) = (x[0], x[1]);
        let mut z = [0.2, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut y = Trajectory::zeros((FRAMES, 2));
        let mut dy = [
            Trajectory::zeros((FRAMES, 2)),
            Trajectory::zeros((FRAMES, 2)),
        ];
        let mut t = 0.0;
        for frame in 0..FRAMES {
            y[[frame, 0]] = z[0];
            y[[frame, 1]] = z[1];
            for (j, d) in dy.iter_mut().enumerate() {
                d[[frame, 0]] = z[2 + 2 * j];
                d[[frame, 1]] = z[3 + 2 * j];
            }
            if frame + 1 == FRAMES {
                break;
            }
            for _ in 0..STEPS_PER_FRAME {
                let add = |a: &[f64; 6], k: &[f64; 6], h: f64| {
                    let mut o = *a;
                    o.iter_mut().zip(k).for_each(|(o, k)| *o += h * k);
                    o
                };
                let k1 = Self::rhs(&z, t, gamma, w0);
                let k2 = Self::rhs(&add(&z, &k1, DT / 2.0), t + DT / 2.0, gamma, w0);
                let k3 = Self::rhs(&add(&z, &k2, DT / 2.0), t + DT / 2.0, gamma, w0);
                let k4 = Self::rhs(&add(&z, &k3, DT), t + DT, gamma, w0);
                for i in 0..6 {
                    z[i] += DT / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
                t += DT;
            }
        }
        (y, dy)
    }
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulator for Pendulum {
    fn name(&self) -> &str {
        "pendulum"
    }
    fn param_space(&self) -> &ParamSpace {
        &self.space
    }
    fn trajectory_shape(&self) -> (usize, usize) {
        (FRAMES, 2)
    }
    fn frame_times(&self) -> Vec<f64> {
        (0..FRAMES)
            .map(|f| f as f64 * STEPS_PER_FRAME as f64 * DT)
            .collect()
    }
    fn state_axis(&self) -> Vec<f64> {
        vec![0.0, 1.0]
    }
    fn simulate(&self, x: &[f64]) -> proxyland_physics::Result<Trajectory> {
        self.space.check(self.name(), x)?;
        Ok(self.integrate(&self.space.fold(x).0).0)
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> proxyland_physics::Result<Tangents> {
        self.space.check(self.name(), x)?;
        let (inside, sign) = self.space.fold(x);
        let (trajectory, [d0, d1]) = self.integrate(&inside);
        // Carried back through the fold: a mirrored coordinate flips its derivative's sign.
        Ok(Tangents {
            trajectory,
            tangents: vec![d0 * sign[0], d1 * sign[1]],
        })
    }
}

/// How big a run is.
pub struct Sizes {
    /// Pool samples.
    pub pool: usize,
    /// Training epochs and pairs per epoch.
    pub epochs: usize,
    /// Pairs per epoch.
    pub pairs: usize,
    /// Observations solved at the end.
    pub observations: usize,
}

/// What the run found: per observation, (success, answer, standard errors, verdict is ok).
pub fn run_pipeline(sizes: &Sizes, dir: &std::path::Path) -> Vec<(bool, Vec<f64>, Vec<f64>, bool)> {
    let sim = Pendulum::new();
    let seed = 7;
    // 1. A pool: samples drawn in the box and simulated in parallel, with held-out test and
    //    validation targets, exactly as `proxyland generate` draws them, but in memory.
    let pool = generate_in_memory(
        &sim,
        &GenerateOptions {
            validation_targets: 10,
            ..GenerateOptions::new(sizes.pool, sizes.observations, seed)
        },
    )
    .expect("the pendulum never blows up");

    // 2. A proxy trained on it.
    let settings = ProxySettings {
        fourier_features: 32,
        fourier_scale: 3.0,
        hidden: vec![64, 64],
        encoder: "mlp".into(),
        encoder_channels: vec![32],
        embedding: 16,
        learning_rate: 2e-3,
        batch_size: 256,
        validation_fraction: 0.1,
        patience: 10,
        near_share: 0.5,
        near_neighbours: 16,
    };
    let opts = TrainOptions {
        noise: 0.02,
        epochs: sizes.epochs,
        pairs_per_epoch: sizes.pairs,
        ..TrainOptions::new(1)
    };
    let out = dir.join("pendulum.safetensors");
    let spec = TrainSpec {
        experiment: "pendulum".into(),
        space: sim.param_space().clone(),
        settings,
    };
    train_with(&pool, &spec, &opts, &out, &|_, _, _| {}).expect("training");
    let proxy = Proxy::load(&out).expect("the checkpoint");

    // 3. Each observation: the proxy proposes, BFGS on the true loss refines, Gauss–Newton
    //    says how far to trust the answer.
    (0..sizes.observations)
        .map(|k| {
            let y_star = pool
                .target_trajectories
                .index_axis(ndarray::Axis(0), k)
                .to_owned();
            let x_star = pool.target_params.row(k).to_vec();
            let problem = Problem {
                sim: &sim,
                target: &y_star,
                u0: vec![0.5, 0.5],
                trace: None,
                library: None,
            };
            let method = Method::parse("proxy-multistart", 0).expect("a method");
            let answer = run(
                &method,
                &problem,
                Some(&proxy as &dyn SurrogateModel),
                LocalSettings::default(),
                &mut Domain::Scratch.stream(seed, k as u64),
            )
            .expect("a solve");
            // The verdict judges the answer by itself: exact fit, inside the box, unambiguous.
            let judged = judge(&sim, &answer, &y_star, &Noise::Estimate);
            let std_err = judged
                .fit
                .as_ref()
                .map_or(vec![f64::INFINITY; 2], |f| f.std_err.clone());
            let (success, _) = is_success(&sim, &answer.x_hat, &x_star);
            (success, answer.x_hat, std_err, judged.trust.is_ok())
        })
        .collect()
}

#[allow(dead_code)]
fn main() {
    let tiny = std::env::args().any(|a| a == "--tiny");
    let sizes = if tiny {
        Sizes {
            pool: 256,
            epochs: 8,
            pairs: 4096,
            observations: 3,
        }
    } else {
        Sizes {
            pool: 2048,
            epochs: 60,
            pairs: 16384,
            observations: 10,
        }
    };
    let dir = std::env::temp_dir().join(format!("proxyland-pendulum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let results = run_pipeline(&sizes, &dir);
    for (k, (success, x, se, ok)) in results.iter().enumerate() {
        println!(
            "observation {k}: γ = {:.4} ± {:.1e}, ω0 = {:.4} ± {:.1e}; success {success}, \
             verdict {}",
            x[0],
            se[0],
            x[1],
            se[1],
            if *ok { "ok" } else { "suspect" }
        );
    }
    let solved = results.iter().filter(|r| r.0).count();
    println!("{solved} of {} observations solved", results.len());
    let _ = std::fs::remove_dir_all(&dir);
}
