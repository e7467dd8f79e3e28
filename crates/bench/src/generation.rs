//! Dataset generation throughput at 1 and all threads: how well `proxyland generate` scales.

use crate::Sizes;
use crate::report::Section;
use crate::timing::{self, pretty};
use anyhow::{Context, Result};
use proxyland_dataset::{ExperimentConfig, GenerateOptions, generate};
use std::fmt::Write;
use std::path::Path;

pub fn compare(work: &Path, sizes: &Sizes) -> Result<Section> {
    let dir = work.join("generation");
    std::fs::create_dir_all(&dir)?;
    let threads = rayon::current_num_threads();
    let mut section = Section::new("Dataset generation: scaling with threads");
    let mut table = format!(
        "| experiment | samples | 1 thread | {threads} threads | samples/s ({threads} threads) | scaling |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for (experiment, samples) in [
        ("burgers", sizes.generation_samples),
        ("ks", sizes.generation_samples),
        ("billiards2d", 20 * sizes.generation_samples),
    ] {
        let config =
            ExperimentConfig::load(&Path::new("datasets").join(format!("{experiment}.toml")))
                .with_context(|| "the generation comparison runs from the repository root")?;
        let out = dir.join(format!("{experiment}.h5"));
        let time_with = |n: usize| -> Result<f64> {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
            let t = pool.install(|| {
                timing::median(3, 1.0, || {
                    let _ = std::fs::remove_file(&out);
                    generate(
                        &config,
                        &out,
                        &GenerateOptions::new(samples, 2, config.seed),
                        &|_, _| {},
                    )
                    .expect("generation into the bench's work folder")
                })
            });
            Ok(t.median_s)
        };
        let one = time_with(1)?;
        let all = time_with(threads)?;
        let _ = writeln!(
            table,
            "| {experiment} | {samples} | {} | {} | {:.0} | {:.2}× |",
            pretty(one),
            pretty(all),
            samples as f64 / all,
            one / all
        );
        section
            .metrics
            .push((format!("scaling {experiment}"), one / all));
    }
    section.intro.push(
        "`generate` end to end in-process (simulate, compress, write the HDF5 pool and 2 \
         targets), median of warm runs:"
            .into(),
    );
    section.intro.push(String::new());
    section.intro.push(table);
    Ok(section)
}
