//! Generation throughput (samples/s) per experiment: the bare solver on the same samples, then
//! `generate` at 1 and 2 threads. "solver only" against "1 thread" is what writing a pool costs
//! on top of simulating it; "1 thread" against "2 threads" shows whether simulations parallelize
//! (they share nothing) or the writing serializes them. ISSUE targets: generation ≥ 80% of the
//! solver's throughput on the PDEs, ≥ 50% on billiards; 1 → 2 threads ≥ 1.8×.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proxyland_dataset::{ExperimentConfig, GenerateOptions, generate, sample_params};
use std::hint::black_box;
use std::path::Path;

fn generation(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for name in proxyland_physics::EXPERIMENTS {
        let config = ExperimentConfig::load(&repo.join(format!("datasets/{name}.toml"))).unwrap();
        let sim = config.simulator().unwrap();
        let samples = if name.starts_with("billiards") || name == "gramacy-lee" {
            4096
        } else {
            256
        };
        let mut group = c.benchmark_group(format!("generate/{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(samples as u64));
        // The floor: the same samples' parameters drawn and simulated, nothing kept.
        group.bench_function("solver only", |b| {
            b.iter(|| {
                for i in 0..samples as u64 {
                    let x = sample_params(sim.as_ref(), 0, i);
                    let _ = black_box(sim.simulate(&x));
                }
            })
        });
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            group.bench_function(format!("{threads} threads"), |b| {
                b.iter(|| {
                    let dir = tempfile::tempdir().unwrap();
                    let out = dir.path().join("pool.h5");
                    pool.install(|| {
                        // One test and one validation target: the file's layout is complete,
                        // at 1% of the samples' cost.
                        let mut opts = GenerateOptions::new(samples, 1, 0);
                        opts.validation_targets = 1;
                        generate(&config, &out, &opts, &|_, _| {}).unwrap()
                    });
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, generation);
criterion_main!(benches);
