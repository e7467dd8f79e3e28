//! Generation throughput (samples/s) per experiment at 1 and 2 threads: the scaling ratio shows
//! whether simulations parallelize (they share nothing) or HDF5 writing serializes them.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proxyland_dataset::{ExperimentConfig, GenerateOptions, generate};
use std::path::Path;

fn generation(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for name in proxyland_physics::EXPERIMENTS {
        let config = ExperimentConfig::load(&repo.join(format!("datasets/{name}.toml"))).unwrap();
        let samples = if name.starts_with("billiards") || name == "gramacy-lee" {
            512
        } else {
            64
        };
        let mut group = c.benchmark_group(format!("generate/{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(samples as u64));
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
                        generate(
                            &config,
                            &out,
                            &GenerateOptions::new(samples, 1, 0),
                            &|_, _| {},
                        )
                        .unwrap()
                    });
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, generation);
criterion_main!(benches);
