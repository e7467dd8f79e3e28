//! Dataset generation throughput: against the bare solver on the same samples, from 1 to all
//! threads, and with each storage choice (plain f64, or byte-shuffle + deflate) on time and size.

use crate::Sizes;
use crate::report::Section;
use crate::timing::{self, pretty};
use anyhow::{Context, Result};
use proxyland_dataset::sizes::free_disk;
use proxyland_dataset::{ExperimentConfig, GenerateOptions, Storage, generate, sample_params};
use proxyland_physics::Simulator;
use rayon::prelude::*;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Reps of each measurement (after one warm-up rep).
const REPS: usize = 15;

/// A folder of the bench's pools, removed when the comparison ends, panics included, where it
/// holds memory rather than disk.
struct PoolFolder {
    path: PathBuf,
    in_memory: bool,
}

impl Drop for PoolFolder {
    fn drop(&mut self) {
        if self.in_memory {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One experiment of the comparison: its name, its pool size, its config and its simulator.
type Case = (&'static str, usize, ExperimentConfig, Box<dyn Simulator>);

pub fn compare(work: &Path, sizes: &Sizes) -> Result<Section> {
    let loaded = load_cases(sizes)?;
    let folder = pool_folder(work, &loaded);
    let dir = &folder.path;
    std::fs::create_dir_all(dir)?;
    let threads = rayon::current_num_threads();
    let mut section = Section::new("Dataset generation: against the solver, threads, storage");
    let mut table = format!(
        "| experiment | samples | solver only | generate, 1 thread | of solver | {threads} threads \
         | scaling | solver's scaling | compressed, 1 thread | size plain | size compressed |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for (experiment, samples, config, sim) in &loaded {
        let (experiment, samples) = (*experiment, *samples);
        let out = dir.join(format!("{experiment}.h5"));
        let ([solver, solver_all, one, all, compressed], plain_bytes, compressed_bytes) =
            measure(config, sim.as_ref(), samples, threads, &out)?;
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
        let _ = writeln!(
            table,
            "| {experiment} | {samples} | {} | {} | {:.0}% | {} | {:.2}× | {:.2}× | {} | {} | {} |",
            pretty(solver),
            pretty(one),
            100.0 * solver / one,
            pretty(all),
            one / all,
            solver / solver_all,
            pretty(compressed),
            mb(plain_bytes),
            mb(compressed_bytes),
        );
        section
            .metrics
            .push((format!("of solver {experiment}"), solver / one));
        section
            .metrics
            .push((format!("scaling {experiment}"), one / all));
    }
    section.intro.push(intro(folder.in_memory));
    section.intro.push(String::new());
    section.intro.push(table);
    Ok(section)
}

/// Burgers, KS (8× the samples) and billiards (200×), each with its config and simulator.
fn load_cases(sizes: &Sizes) -> Result<Vec<Case>> {
    let cases = [
        ("burgers", sizes.generation_samples),
        ("ks", 8 * sizes.generation_samples),
        ("billiards2d", 200 * sizes.generation_samples),
    ];
    let mut loaded = Vec::new();
    for (experiment, samples) in cases {
        let config =
            ExperimentConfig::load(&Path::new("datasets").join(format!("{experiment}.toml")))
                .with_context(|| "the generation comparison runs from the repository root")?;
        let sim = config.simulator()?;
        loaded.push((experiment, samples, config, sim));
    }
    Ok(loaded)
}

/// Where the pools of `loaded` go: /dev/shm when it has room, the work folder otherwise.
fn pool_folder(work: &Path, loaded: &[Case]) -> PoolFolder {
    // Pools go to a RAM-backed tmpfs where there is one with room for the largest pool twice
    // over (one file exists at a time; `free_disk` measures the folder holding its path): the numbers then measure generation's own cost
    // (simulation, copies, HDF5, the kernel taking the bytes), not the disk of the day.
    let largest = loaded
        .iter()
        .map(|(_, samples, _, sim)| {
            let (f, s) = sim.trajectory_shape();
            (samples * f * s * 8) as u64
        })
        .max()
        .unwrap_or(0);
    let shm = Path::new("/dev/shm");
    match free_disk(&shm.join("probe")) {
        Some(free) if shm.is_dir() && free >= 2 * largest => PoolFolder {
            path: shm.join(format!("proxyland-bench-{}", std::process::id())),
            in_memory: true,
        },
        _ => PoolFolder {
            path: work.join("generation"),
            in_memory: false,
        },
    }
}

/// The five measurements of one experiment's `samples`-sample pool, written to `out`: the
/// medians of the solver alone on 1 and `threads` threads, generation (plain) on 1 and `threads`
/// threads and generation compressed on 1 thread, in that order; then the pool's size plain and
/// compressed, in bytes.
fn measure(
    config: &ExperimentConfig,
    sim: &dyn Simulator,
    samples: usize,
    threads: usize,
    out: &Path,
) -> Result<([f64; 5], u64, u64)> {
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let all_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    // The floor: the same samples' parameters drawn and simulated into one scratch
    // trajectory per worker, nothing kept: the fastest the solver alone runs.
    let (f, s) = sim.trajectory_shape();
    let solve = |pool: &rayon::ThreadPool| {
        pool.install(|| {
            (0..samples as u64).into_par_iter().for_each_init(
                || vec![0.0; f * s],
                |scratch, i| {
                    let x = sample_params(sim, config.seed, i);
                    // A sample that fails (billiards' cue overlapping a ball) costs what it
                    // costs, as in `generate`.
                    let _ = sim.simulate_into(&x, scratch);
                    std::hint::black_box(&scratch);
                },
            )
        })
    };
    let write = |pool: &rayon::ThreadPool, storage: Storage| {
        // One test and one validation target: the file's layout is complete, at a small
        // fraction of the samples' cost.
        let opts = GenerateOptions {
            validation_targets: 1,
            storage,
            ..GenerateOptions::new(samples, 1, config.seed)
        };
        pool.install(|| generate(config, out, &opts, &|_, _| {}))
            .expect("generation into the bench's work folder");
        std::fs::metadata(out).map(|m| m.len()).unwrap_or(0)
    };
    // The five measurements take turns, rep after rep, so that a shared machine's slow spells
    // fall on all of them alike; each column is the median of its reps.
    let mut cases: [(Vec<f64>, u64); 5] = Default::default();
    for rep in 0..=REPS {
        for (k, (times, bytes)) in cases.iter_mut().enumerate() {
            // Untimed: the previous case's pool goes to disk and is deleted, so that no case
            // pays for another's writeback (a kernel thread taking a core from a 2-thread
            // run) or deletion.
            if let Ok(file) = std::fs::File::open(out) {
                let _ = file.sync_all();
            }
            let _ = std::fs::remove_file(out);
            let t0 = Instant::now();
            match k {
                0 => solve(&one_thread),
                1 => solve(&all_threads),
                2 => *bytes = write(&one_thread, Storage::Plain),
                3 => *bytes = write(&all_threads, Storage::Plain),
                _ => *bytes = write(&one_thread, Storage::Compressed),
            }
            // Rep 0 warms caches and the allocator up.
            if rep > 0 {
                times.push(t0.elapsed().as_secs_f64());
            }
        }
    }
    let medians = cases.each_ref().map(|(times, _)| timing::median_of(times));
    Ok((medians, cases[2].1, cases[4].1))
}

/// The section's introduction: where the pools went (`in_memory`: /dev/shm) and what each
/// column measures.
fn intro(in_memory: bool) -> String {
    let place = if in_memory {
        "into a RAM-backed tmpfs (/dev/shm), so that the numbers are generation's own cost and not \
         the disk of the day (on this project's virtual disks the same pool's write time varies \
         2× from run to run with the kernel's writeback)"
    } else {
        "into the work folder (no /dev/shm with room here: the page cache's intake is part of \
         these numbers; each pool's writeback to disk runs untimed between cases)"
    };
    format!(
        "`generate` end to end in-process (simulate, write the HDF5 pool with one test and one \
         validation target) {place}; medians of {REPS} warm runs taken in turns with the other \
         columns, beside the bare solver on the same samples (each simulated into one scratch \
         trajectory per thread, nothing kept). \"of solver\": generation's throughput as a share \
         of the solver's, both on 1 thread. \"solver's scaling\": the bare solver's own speed-up \
         on all threads, how much the machine's other cores gave in the same minutes, a guide \
         rather than a bound. \"compressed\" is `--compress` (byte-shuffle + deflate in the \
         worker threads); the default stores plain f64. Pools are sized so that no solver runs for less \
         than about 70 ms here (KS 8× and billiards 200× Burgers' sample count): shorter runs \
         measure the file's fixed costs and the scheduler's noise, not throughput."
    )
}
