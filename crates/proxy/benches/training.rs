//! Training throughput (pairs/s) on the CPU for the E1 (Burgers) and E2 (KS) model sizes.

use openblas_src as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proxyland_dataset::{ExperimentConfig, GenerateOptions, Pool, generate};
use proxyland_proxy::{TrainOptions, train};
use std::path::Path;

fn training(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    for name in ["burgers", "ks"] {
        let config = ExperimentConfig::load(&repo.join(format!("datasets/{name}.toml"))).unwrap();
        let data = dir.path().join(format!("{name}.h5"));
        generate(&config, &data, &GenerateOptions::new(64, 1, 0), &|_, _| {}).unwrap();
        let pool = Pool::open(&data).unwrap();
        let pairs = 2048;
        let opts = TrainOptions {
            epochs: 1,
            pairs_per_epoch: pairs,
            validation_pairs: 256,
            ..TrainOptions::from_profile(&config, "quick", 0).unwrap()
        };
        let mut group = c.benchmark_group(format!("train/{name}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(pairs as u64));
        group.bench_function("one epoch, cpu", |b| {
            b.iter(|| {
                let out = dir.path().join(format!("{name}.safetensors"));
                train(&pool, &config, &opts, &out, &|_, _, _| {}).unwrap();
            })
        });
        group.finish();
    }
}

criterion_group!(benches, training);
criterion_main!(benches);
