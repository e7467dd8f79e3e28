//! Forward solves, exact gradients and batches of every simulator (`cargo xtask bench`).
//! The ratio gradient/forward is the number to watch: the tangent-linear method costs at most
//! (1 + d) forward solves.

use criterion::{Criterion, criterion_group, criterion_main};
use proxyland_physics::{Simulator, experiment, simulate_batch};
use std::hint::black_box;

fn points(sim: &dyn Simulator, n: usize) -> Vec<Vec<f64>> {
    let space = sim.param_space();
    (0..n)
        .map(|i| {
            let u: Vec<f64> = (0..space.dim())
                .map(|j| ((i * 7 + j * 3) % 97) as f64 / 97.0)
                .collect();
            space.from_unit(&u)
        })
        .collect()
}

fn spectral(c: &mut Criterion) {
    for name in ["burgers", "ks"] {
        let sim = experiment(name).unwrap();
        let xs = points(sim.as_ref(), 64);
        let target = sim.simulate(&xs[1]).unwrap();
        c.bench_function(&format!("{name}/forward"), |b| {
            b.iter(|| sim.simulate(black_box(&xs[0])).unwrap())
        });
        c.bench_function(&format!("{name}/loss_and_grad"), |b| {
            b.iter(|| sim.loss_and_grad(black_box(&xs[0]), &target).unwrap())
        });
        let mut g = c.benchmark_group(format!("{name}/batch64"));
        g.sample_size(10);
        g.bench_function("all cores", |b| {
            b.iter(|| simulate_batch(sim.as_ref(), black_box(&xs)))
        });
        g.finish();
    }
}

fn billiards(c: &mut Criterion) {
    for name in ["billiards2d", "billiards4d"] {
        let sim = experiment(name).unwrap();
        let xs = points(sim.as_ref(), 10_000);
        let target = sim.simulate(&xs[1]).unwrap();
        c.bench_function(&format!("{name}/forward"), |b| {
            b.iter(|| sim.simulate(black_box(&xs[0])).unwrap())
        });
        c.bench_function(&format!("{name}/loss_and_grad"), |b| {
            b.iter(|| sim.loss_and_grad(black_box(&xs[0]), &target).unwrap())
        });
        let mut g = c.benchmark_group(format!("{name}/batch10000"));
        g.sample_size(10);
        g.bench_function("all cores", |b| {
            b.iter(|| simulate_batch(sim.as_ref(), black_box(&xs)))
        });
        g.finish();
    }
}

criterion_group!(benches, spectral, billiards);
criterion_main!(benches);
