//! Generating a pool: seeded samples simulated in parallel, written in flushed batches to
//! `<out>.partial`, renamed to `<out>` when complete; `resume` finishes an interrupted file.

use crate::config::{ExperimentConfig, SPEC_VERSION};
use crate::error::{Error, Result};
use crate::format::{self, NewPool, Pool, PoolHeader, SCHEMA_VERSION, Storage, status};
use ndarray::{Array2, Array3, Axis};
use proxyland_physics::rng::{Domain, STREAMS_VERSION};
use proxyland_physics::{Simulator, sample_target};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Pool size K (all shards together).
    pub samples: usize,
    /// Held-out test targets written with the pool.
    pub targets: usize,
    /// Validation targets written with the pool (spec v2: 30 by default).
    pub validation_targets: usize,
    /// The pool seed; test and validation target seeds are derived from it.
    pub seed: u64,
    /// `Some((i, n))`: only the i-th (0-based) of n disjoint index ranges.
    pub shard: Option<(usize, usize)>,
    /// Finish `<out>.partial` left by an interrupted run instead of refusing to touch it.
    pub resume: bool,
    /// Samples simulated between two flushes to disk; `None` sizes batches to about
    /// [`FLUSH_SECONDS`] of simulation each (see [`GenerateOptions::new`]), so cheap experiments
    /// are not slowed by flushes. A kill loses the batch being written and the one being
    /// simulated; everything flushed before stays.
    pub batch: Option<usize>,
    /// Testing hook: stop with [`Error::Interrupted`] once this many samples are on disk.
    pub stop_after: Option<usize>,
    /// Replace an existing output file (it is replaced only once the new pool is complete).
    pub overwrite: bool,
    /// How trajectories are stored; a resumed file keeps the storage it was started with.
    pub storage: Storage,
}

impl GenerateOptions {
    /// K samples, T test and 30 validation targets from `seed`, the whole pool, plain storage,
    /// batches sized by time: about [`FLUSH_SECONDS`] of simulation, at least 4 samples per
    /// thread; where HDF5 writes the trajectories (compressed files, and plain files from before
    /// allocation at creation), also within 32 MiB of them and an eighth of the run.
    pub fn new(samples: usize, targets: usize, seed: u64) -> Self {
        GenerateOptions {
            samples,
            targets,
            validation_targets: crate::config::DEFAULT_VALIDATION_TARGETS,
            seed,
            shard: None,
            resume: false,
            batch: None,
            stop_after: None,
            overwrite: false,
            storage: Storage::default(),
        }
    }
}

/// Seconds of simulation between two flushes when [`GenerateOptions::batch`] is `None`.
pub const FLUSH_SECONDS: f64 = 0.5;

/// The next batch size when batches are sized by time: `per_sample` wall-clock seconds each as
/// last measured (`None` before the first batch: 64 samples per thread), at least 4 per thread
/// so that uneven samples still keep every thread busy, and within 32 MiB of the values a batch
/// holds in memory until HDF5 writes it (`held_per_sample`; two such batches exist at once, one
/// written while the next is simulated), which wins over that floor down to one sample per
/// thread. Workers that write their own rows hold nothing (0): no memory bound.
fn timed_batch(per_sample: Option<f64>, threads: usize, held_per_sample: usize) -> usize {
    let threads = threads.max(1);
    let by_memory = match held_per_sample {
        0 => usize::MAX,
        values => (32usize << 20) / values.saturating_mul(8),
    };
    let by_time = match per_sample {
        Some(t) if t > 0.0 && t.is_finite() => (FLUSH_SECONDS / t) as usize,
        _ => 64 * threads,
    };
    by_time.max(4 * threads).min(by_memory).max(threads)
}

/// One batch of samples simulated by the workers, waiting to be written.
struct Simulated {
    /// The samples' indices in the file, ascending.
    rows: Vec<usize>,
    /// Whether each simulated.
    ok: Vec<bool>,
    data: SimulatedData,
    /// Wall-clock seconds the batch took to simulate.
    seconds: f64,
}

enum SimulatedData {
    /// Row k holds sample `rows[k]` (the block may have more rows: it is reused).
    Plain(Array3<f64>),
    /// The on-disk chunk of each sample.
    Compressed(Vec<Option<Vec<u8>>>),
    /// Already in the file (written by the workers).
    Written,
}

impl SimulatedData {
    fn as_batch(&self) -> format::Batch<'_> {
        match self {
            SimulatedData::Plain(block) => format::Batch::Plain(block.view()),
            SimulatedData::Compressed(chunks) => format::Batch::Compressed(chunks.as_slice()),
            SimulatedData::Written => format::Batch::Written,
        }
    }
}

/// What a generation run did.
#[derive(Debug, Clone)]
pub struct GenerateReport {
    /// The finished pool file.
    pub path: PathBuf,
    /// Samples in the file (this shard's index range).
    pub samples: usize,
    /// Samples simulated by this run (resumed runs skip those already on disk).
    pub simulated: usize,
    /// Samples whose simulation blew up, earlier runs' included.
    pub failed: usize,
    /// Wall-clock seconds this run took.
    pub seconds: f64,
}

/// The file an unfinished generation writes to.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The seed of the held-out targets' streams, derived from the pool seed so that one seed per
/// command fixes everything, yet targets never coincide with pool samples' streams.
pub fn target_seed(seed: u64) -> u64 {
    Domain::TargetSeeds.stream(seed, 0).next_u64()
}

/// The seed of the validation targets' streams: distinct from the test targets' and the
/// samples' (docs/spec.md v2: "own seed stream, disjoint from training samples and test
/// targets").
pub fn validation_seed(seed: u64) -> u64 {
    Domain::TargetSeeds.stream(seed, 1).next_u64()
}

/// X of global sample `index` of the pool seeded with `seed`.
pub fn sample_params(sim: &dyn Simulator, seed: u64, index: u64) -> Vec<f64> {
    let mut stream = Domain::PoolSample.stream(seed, index);
    let u: Vec<f64> = (0..sim.param_space().dim())
        .map(|_| stream.uniform())
        .collect();
    sim.param_space().from_unit(&u)
}

/// The index range of shard i of n over K samples. Computed in 128 bits, so no K or n wraps
/// around: each bound is at most K.
pub fn shard_range(samples: usize, shard: Option<(usize, usize)>) -> Result<(usize, usize)> {
    // (i · K) / n ≤ K for i ≤ n: the quotient always fits back into a usize.
    let bound = |i: usize, n: usize| {
        usize::try_from(i as u128 * samples as u128 / n as u128).expect("at most `samples`")
    };
    match shard {
        None => Ok((0, samples)),
        Some((i, n)) if n > 0 && i < n => Ok((bound(i, n), bound(i + 1, n))),
        Some((i, n)) => Err(Error::Config {
            path: PathBuf::from("--shard"),
            message: format!("shard {i}/{n}: need 0 <= i < n"),
        }),
    }
}

/// Simulates the pool and the held-out targets of `config` into `out`.
///
/// `progress(done, total)` is called after every flushed batch.
pub fn generate(
    config: &ExperimentConfig,
    out: &Path,
    opts: &GenerateOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<GenerateReport> {
    let started = Instant::now();
    let sim = config.simulator()?;
    let ((start, end), (f, s)) = check_request(config, sim.as_ref(), out, opts)?;
    let partial = partial_path(out);
    let header = run_header(config, sim.as_ref(), opts, (start, end));
    let params = draw_params(sim.as_ref(), opts.seed, (start, end));
    let file = if partial.exists() {
        reopen_partial(&partial, opts, &header, (start, end), (f, s))?
    } else {
        create_partial(sim.as_ref(), out, &partial, opts, &header, &params)?
    };
    let storage = opened_storage(&file, &partial, opts, end - start, (f, s))?;

    // Plain files the workers write themselves; HDF5 writes the rest (compressed chunks, and
    // plain files from before /trajectories was allocated at creation).
    let row_writer = match storage {
        Storage::Plain => format::RowWriter::open(&file, &partial)?,
        Storage::Compressed => None,
    };

    let done_before = format::read_status(&file, &partial)?;
    let pending: Vec<usize> = (0..end - start)
        .filter(|&i| done_before[i] == status::PENDING)
        .collect();
    let total = end - start;
    let mut tally = Tally {
        total,
        done: total - pending.len(),
        simulated: 0,
        failed: done_before.iter().filter(|&&s| s == status::FAILED).count(),
    };
    tracing::info!(
        experiment = %config.experiment,
        samples = total,
        already_done = tally.done,
        threads = rayon::current_num_threads(),
        "generating"
    );
    progress(tally.done, total);
    let workers = Workers {
        sim: sim.as_ref(),
        params: &params,
        start,
        storage,
        row_writer: row_writer.as_ref(),
        shape: (f, s),
    };
    simulate_pending(
        &file, &partial, &workers, &pending, opts, progress, &mut tally,
    )?;
    move_into_place(file, &partial, out)?;
    Ok(GenerateReport {
        path: out.to_path_buf(),
        samples: total,
        simulated: tally.simulated,
        failed: tally.failed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Every check of a generation request that needs no file of its own: the counts, the shard,
/// the output path, the trajectory shape and the room on disk. Separate from [`generate`] so
/// that all of them visibly run before anything is drawn, simulated or created. Returns the
/// shard's index range and the simulator's (frames, components).
fn check_request(
    config: &ExperimentConfig,
    sim: &dyn Simulator,
    out: &Path,
    opts: &GenerateOptions,
) -> Result<((usize, usize), (usize, usize))> {
    if opts.samples < 2 {
        return Err(Error::Config {
            path: config.path.clone(),
            message: format!("samples = {}: a pool needs at least 2", opts.samples),
        });
    }
    // Absurd counts are refused before anything is drawn, simulated or created.
    crate::sizes::check_count(&config.path, "samples", opts.samples)?;
    let (start, end) = shard_range(opts.samples, opts.shard)?;
    if out.exists() && !opts.overwrite {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "already exists; remove it or choose another output (nothing was changed)"
                .into(),
        });
    }
    let (f, s) = sim.trajectory_shape();
    if f == 0 || s == 0 {
        return Err(Error::Config {
            path: config.path.clone(),
            message: format!("the simulator's trajectories are {f} × {s}: nothing to store"),
        });
    }
    let size = crate::sizes::pool_size(
        &config.path,
        &[
            ("samples", end - start),
            ("targets", opts.targets),
            ("validation_targets", opts.validation_targets),
        ],
        f,
        s,
    )?;
    crate::sizes::check_room(&config.path, "samples", end - start, size.bytes, out)?;
    Ok(((start, end), (f, s)))
}

/// The header of this run's file, created now. Separate from [`generate`]: it is the one place
/// that says what a file of `config`, `opts` and the index range `start..end` records.
fn run_header(
    config: &ExperimentConfig,
    sim: &dyn Simulator,
    opts: &GenerateOptions,
    (start, end): (usize, usize),
) -> PoolHeader {
    PoolHeader {
        schema_version: SCHEMA_VERSION,
        experiment: config.experiment.clone(),
        spec_version: SPEC_VERSION,
        config_text: config.data_text(),
        seed: opts.seed,
        target_seed: target_seed(opts.seed),
        validation_seed: validation_seed(opts.seed),
        streams: STREAMS_VERSION,
        samples_total: opts.samples,
        index_start: start,
        index_end: end,
        param_names: sim.param_space().names.clone(),
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
        created: utc_now_rfc3339(),
    }
}

/// X of every sample of the index range `start..end`, one row each. Separate from [`generate`]:
/// a resumed and a fresh run draw the very same rows.
fn draw_params(sim: &dyn Simulator, seed: u64, (start, end): (usize, usize)) -> Array2<f64> {
    // Every sample's X, drawn once and in parallel: for a microsecond-scale simulation, drawing
    // them on one thread, or again for each simulation, is a visible share of the run.
    let d = sim.param_space().dim();
    let drawn: Vec<f64> = (start..end)
        .into_par_iter()
        .flat_map_iter(|i| sample_params(sim, seed, i as u64))
        .collect();
    Array2::from_shape_vec((end - start, d), drawn).expect("d parameters per sample")
}

/// `partial`, left by an interrupted run, opened for writing once `--resume` asks for it and
/// [`check_resumable`] accepts it. Separate from [`create_partial`]: an existing file is only
/// ever reopened, never laid out again.
fn reopen_partial(
    partial: &Path,
    opts: &GenerateOptions,
    header: &PoolHeader,
    (start, end): (usize, usize),
    (f, s): (usize, usize),
) -> Result<hdf5::File> {
    if !opts.resume {
        return Err(Error::Io {
            path: partial.to_path_buf(),
            message: "an interrupted run left this file; pass --resume to finish it, or delete it"
                .into(),
        });
    }
    // Every check on a read-only handle: a refused resume leaves the file byte for byte as
    // it was (opening HDF5 for writing alone rewrites its superblock).
    check_resumable(partial, header, (start, end), (f, s))?;
    tracing::info!(path = %partial.display(), "resuming");
    format::open_file_rw(partial)
}

/// A new `partial` for this run: the sample parameters, the box, the axes and the simulated test
/// and validation targets, every sample pending. Separate from [`generate`]: only a fresh run
/// simulates targets, and it checks first that `out`'s folder exists.
fn create_partial(
    sim: &dyn Simulator,
    out: &Path,
    partial: &Path,
    opts: &GenerateOptions,
    header: &PoolHeader,
    params: &Array2<f64>,
) -> Result<hdf5::File> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Io {
                path: out.to_path_buf(),
                message: format!("folder {} does not exist", dir.display()),
            });
        }
    }
    let space = sim.param_space();
    let d = space.dim();
    let param_box = Array2::from_shape_fn(
        (2, d),
        |(r, j)| {
            if r == 0 { space.lo[j] } else { space.hi[j] }
        },
    );
    let (test, validation) = rayon::join(
        || simulate_targets(sim, header.target_seed, opts.targets),
        || simulate_targets(sim, header.validation_seed, opts.validation_targets),
    );
    let ((targets_x, targets_y), (validation_x, validation_y)) = (test?, validation?);
    format::create(
        partial,
        &NewPool {
            header,
            params,
            param_box: &param_box,
            time: &sim.frame_times(),
            state_axis: &sim.state_axis(),
            target_params: &targets_x,
            target_trajectories: &targets_y,
            validation_params: &validation_x,
            validation_trajectories: &validation_y,
            storage: opts.storage,
        },
    )
}

/// The storage of the opened `partial`, once its `/trajectories` is known to hold `n` samples of
/// `f` × `s`; a resumed file whose storage differs from the one asked for is warned about.
/// Separate from [`generate`]: it checks the file as opened, whether resumed or new.
fn opened_storage(
    file: &hdf5::File,
    partial: &Path,
    opts: &GenerateOptions,
    n: usize,
    (f, s): (usize, usize),
) -> Result<Storage> {
    let on_disk = file
        .dataset("trajectories")
        .map_err(|e| Error::Format {
            path: partial.to_path_buf(),
            field: "trajectories".into(),
            message: e.to_string(),
        })?
        .shape();
    if on_disk != [n, f, s] {
        return Err(Error::Format {
            path: partial.to_path_buf(),
            field: "trajectories".into(),
            message: format!(
                "is {on_disk:?}, where this run needs {n} samples × {f} frames × {s} components"
            ),
        });
    }
    let storage = Storage::of(file, partial)?;
    if storage != opts.storage {
        tracing::warn!(
            path = %partial.display(),
            file = ?storage,
            asked = ?opts.storage,
            "a resumed file keeps the storage it was started with"
        );
    }
    Ok(storage)
}

/// Samples counted as their batches reach the disk.
struct Tally {
    /// Samples in the file.
    total: usize,
    /// Samples on disk, earlier runs' included.
    done: usize,
    /// Samples simulated by this run.
    simulated: usize,
    /// Samples whose simulation blew up, earlier runs' included.
    failed: usize,
}

/// What the worker threads need to simulate a batch: the state every sample's simulation
/// shares. A struct rather than closures in [`generate`], so that the batch simulation reads as
/// its own step.
struct Workers<'a> {
    sim: &'a dyn Simulator,
    /// X of every sample of the file, row i for sample `start + i`.
    params: &'a Array2<f64>,
    /// The file's first global sample index.
    start: usize,
    /// The file's storage.
    storage: Storage,
    /// Where the workers write plain rows themselves (`None`: HDF5 writes).
    row_writer: Option<&'a format::RowWriter>,
    /// (frames, components) of each trajectory.
    shape: (usize, usize),
}

impl Workers<'_> {
    /// Simulates sample i straight into its row of a block (no trajectory allocated per
    /// sample: for billiards that costs as much as the physics). A failed sample leaves zeros.
    fn solve_into(&self, i: usize, row: &mut [f64]) -> bool {
        let x = self.params.row(i);
        let x = x.as_slice().expect("a standard-layout row");
        let reason = match self.sim.simulate_into(x, row) {
            Ok(()) if row.iter().all(|v| v.is_finite()) => return true,
            Ok(()) => "simulation returned NaN or infinite values".to_string(),
            Err(e) => format!("simulation failed: {e}"),
        };
        tracing::warn!(sample = self.start + i, "{reason}");
        row.fill(0.0);
        false
    }

    /// Simulates `rows` and stores each sample's trajectory: written straight to the file by the
    /// workers (plain storage, `row_writer`), or into `block` for HDF5 to write (the block is
    /// reused batch after batch, since fresh pages for every batch cost more than simulating
    /// billiards), or as compressed chunks.
    fn simulate_batch(&self, rows: &[usize], mut block: Array3<f64>) -> Result<Simulated> {
        let started = Instant::now();
        let (f, s) = self.shape;
        let (ok, data) = match (self.storage, self.row_writer) {
            (Storage::Plain, Some(writer)) => (
                self.simulate_and_write(writer, rows)?,
                SimulatedData::Written,
            ),
            (Storage::Plain, None) => {
                if block.len_of(Axis(0)) < rows.len() {
                    block = Array3::zeros((rows.len(), f, s));
                }
                let values = block.as_slice_mut().expect("a standard-layout block");
                let ok = values[..rows.len() * f * s]
                    .par_chunks_mut(f * s)
                    .zip(rows.par_iter())
                    .map(|(row, &i)| self.solve_into(i, row))
                    .collect();
                (ok, SimulatedData::Plain(block))
            }
            (Storage::Compressed, _) => {
                let chunks: Vec<Option<Vec<u8>>> = rows
                    .par_iter()
                    .map_init(
                        || Array2::zeros((f, s)),
                        |y, &i| {
                            let row = y.as_slice_mut().expect("a standard-layout trajectory");
                            self.solve_into(i, row)
                                .then(|| format::encode_chunk(y.view()))
                        },
                    )
                    .collect();
                let ok = chunks.iter().map(Option::is_some).collect();
                (ok, SimulatedData::Compressed(chunks))
            }
        };
        Ok(Simulated {
            rows: rows.to_vec(),
            ok,
            data,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Simulates `rows` and writes their trajectories through `writer` from the worker threads;
    /// returns whether each simulated. Separate from [`Workers::simulate_batch`]: only plain
    /// files with a fixed place for every row are written this way.
    fn simulate_and_write(&self, writer: &format::RowWriter, rows: &[usize]) -> Result<Vec<bool>> {
        // Runs of consecutive rows, each simulated into a worker's scratch block and
        // written in one call: up to 256 KiB, so that a microsecond-scale simulation does
        // not pay a system call per row, and at least 16 per thread, so that the threads
        // run out of work together (the batch ends when its last run is written).
        let per_row = writer.row_values();
        let by_size = ((256 << 10) / (8 * per_row.max(1))).max(1);
        let even = rows.len().div_ceil(16 * rayon::current_num_threads());
        let ok: Vec<Vec<bool>> = rows
            .par_chunks(by_size.min(even).max(1))
            .map_init(Vec::new, |scratch: &mut Vec<f64>, chunk| {
                scratch.resize(chunk.len() * per_row, 0.0);
                let ok: Vec<bool> = chunk
                    .iter()
                    .zip(scratch.chunks_mut(per_row))
                    .map(|(&i, row)| self.solve_into(i, row))
                    .collect();
                for run in format::consecutive_runs(chunk) {
                    let values = &scratch[run.start * per_row..run.end * per_row];
                    writer.write_rows(chunk[run.start], values)?;
                }
                Ok(ok)
            })
            .collect::<Result<_>>()?;
        Ok(ok.concat())
    }
}

/// Simulates the `pending` samples in batches and writes each to `file`, counting them in
/// `tally` and reporting `progress` after every flushed batch; batches are `opts.batch` samples,
/// or sized by time. Separate from [`generate`]: the pipeline and its batch sizing are one
/// concern, the file's checks and creation another.
fn simulate_pending(
    file: &hdf5::File,
    partial: &Path,
    workers: &Workers<'_>,
    pending: &[usize],
    opts: &GenerateOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
    tally: &mut Tally,
) -> Result<()> {
    let (f, s) = workers.shape;
    // Values a batch holds in memory until HDF5 writes it.
    let held_per_sample = if workers.row_writer.is_some() {
        0
    } else {
        f * s
    };
    let threads = rayon::current_num_threads();
    let mut size = opts
        .batch
        .unwrap_or_else(|| timed_batch(None, threads, held_per_sample))
        .max(1);
    // A pipeline: batch k is written while batch k + 1 is simulated, so the single writing
    // thread never holds the simulating ones up.
    let mut spare = Array3::<f64>::zeros((0, f, s));
    let mut in_flight: Option<Simulated> = None;
    let mut rest = pending;
    loop {
        let (next, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        let block = std::mem::replace(&mut spare, Array3::zeros((0, f, s)));
        let (written, simulated_next) = rayon::join(
            || match &in_flight {
                Some(batch) => format::write_batch(
                    file,
                    partial,
                    &batch.rows,
                    &batch.ok,
                    &batch.data.as_batch(),
                ),
                None => Ok(()),
            },
            || (!next.is_empty()).then(|| workers.simulate_batch(next, block)),
        );
        written?;
        if let Some(batch) = in_flight.take() {
            tally.failed += batch.ok.iter().filter(|&&ok| !ok).count();
            tally.done += batch.rows.len();
            tally.simulated += batch.rows.len();
            progress(tally.done, tally.total);
            if opts.stop_after.is_some_and(|n| tally.done >= n) && tally.done < tally.total {
                return Err(Error::Interrupted {
                    path: partial.to_path_buf(),
                    done: tally.done,
                    total: tally.total,
                });
            }
            if let SimulatedData::Plain(block) = batch.data {
                spare = block;
            }
        }
        let Some(batch) = simulated_next.transpose()? else {
            break;
        };
        if opts.batch.is_none() {
            // Wall-clock seconds per sample at this thread count, as this batch ran.
            let per_sample = batch.seconds / batch.rows.len() as f64;
            size = timed_batch(Some(per_sample), threads, held_per_sample);
            if workers.row_writer.is_none() {
                // At most an eighth of the run per batch: the last batch's write through HDF5
                // is the one thing the pipeline cannot overlap. (Workers that write their own
                // rows leave nothing to overlap, and every batch ends with all threads waiting
                // for its last row, so there batches are as long as the flush interval allows.)
                size = size.min(pending.len().div_ceil(8).max(threads));
            }
        }
        in_flight = Some(batch);
    }
    Ok(())
}

/// Closes the finished `partial` and renames it to `out`: a file under the final name is always
/// complete. Shared by [`generate`] and [`merge`].
fn move_into_place(file: hdf5::File, partial: &Path, out: &Path) -> Result<()> {
    drop(file);
    std::fs::rename(partial, out).map_err(|e| Error::Io {
        path: out.to_path_buf(),
        message: format!("cannot move {} into place: {e}", partial.display()),
    })
}

/// Whether `partial` can be finished by this run (the same run's header and index range, and
/// `/trajectories` and `/status` of the run's shape), checked through a read-only handle that is
/// closed again before the caller opens the file for writing.
fn check_resumable(
    partial: &Path,
    header: &PoolHeader,
    (start, end): (usize, usize),
    (f, s): (usize, usize),
) -> Result<()> {
    let file = format::open_file(partial)?;
    let on_disk = format::read_header(partial, &file)?;
    if !on_disk.same_run(header) || (on_disk.index_start, on_disk.index_end) != (start, end) {
        return Err(Error::Format {
            path: partial.to_path_buf(),
            field: "config/seed/samples".into(),
            message: "belongs to a different run (config, seed, sample count or shard differ); \
                      delete it or rerun with the original settings"
                .into(),
        });
    }
    let shape = file
        .dataset("trajectories")
        .map_err(|e| Error::Format {
            path: partial.to_path_buf(),
            field: "trajectories".into(),
            message: e.to_string(),
        })?
        .shape();
    if shape != [end - start, f, s] {
        return Err(Error::Format {
            path: partial.to_path_buf(),
            field: "trajectories".into(),
            message: format!(
                "is {shape:?}, where this run needs {} samples × {f} frames × {s} components",
                end - start
            ),
        });
    }
    let status = format::read_status(&file, partial)?;
    if status.len() != end - start {
        return Err(Error::Format {
            path: partial.to_path_buf(),
            field: "status".into(),
            message: format!(
                "holds {} entries, where this run has {} samples",
                status.len(),
                end - start
            ),
        });
    }
    Ok(())
}

fn simulate_targets(
    sim: &dyn Simulator,
    seed: u64,
    t: usize,
) -> Result<(Array2<f64>, Array3<f64>)> {
    let drawn: Vec<_> = (0..t as u64)
        .into_par_iter()
        .map(|j| sample_target(sim, seed, j))
        .collect::<std::result::Result<_, _>>()?;
    let d = sim.param_space().dim();
    let (f, s) = sim.trajectory_shape();
    let xs = Array2::from_shape_fn((t, d), |(i, j)| drawn[i].0[j]);
    let ys = Array3::from_shape_fn((t, f, s), |(i, a, b)| drawn[i].1[[a, b]]);
    Ok((xs, ys))
}

/// A pool of any [`Simulator`] built in memory, with the same sampling rule, random streams,
/// and test and validation targets as [`generate`] writes to a file: the way to train a proxy
/// for a simulator of your own without a config or an HDF5 file. `opts.shard`, `resume`,
/// `batch`, `stop_after`, `overwrite` and `storage` do not apply. A sample whose simulation fails is kept
/// with status [`status::FAILED`] and skipped by training, as in a file.
///
/// ```
/// use proxyland_dataset::{GenerateOptions, generate_in_memory};
/// let sim = proxyland_physics::experiment("gramacy-lee")?;
/// let pool = generate_in_memory(sim.as_ref(), &GenerateOptions::new(64, 4, 1))?;
/// assert_eq!((pool.valid().len(), pool.target_params.nrows()), (64, 4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate_in_memory(sim: &dyn Simulator, opts: &GenerateOptions) -> Result<Pool> {
    let name = sim.name().to_string();
    let path = PathBuf::from(format!("(in-memory pool of {name})"));
    if opts.samples < 2 {
        return Err(Error::Config {
            path,
            message: format!("samples = {}: a pool needs at least 2", opts.samples),
        });
    }
    let space = sim.param_space();
    let (d, (f, s)) = (space.dim(), sim.trajectory_shape());
    let k = opts.samples;
    let needed = crate::sizes::pool_size(
        &path,
        &[
            ("samples", k),
            ("targets", opts.targets),
            ("validation_targets", opts.validation_targets),
        ],
        f,
        s,
    )?
    .bytes;
    if let Some(mem) = crate::sizes::available_memory() {
        if needed > mem {
            return Err(Error::Config {
                path,
                message: format!(
                    "samples = {k}: the pool needs {} of memory, but only {} is available",
                    crate::sizes::bytes(needed),
                    crate::sizes::bytes(mem)
                ),
            });
        }
    }
    let xs: Vec<Vec<f64>> = (0..k as u64)
        .map(|i| sample_params(sim, opts.seed, i))
        .collect();
    let ys: Vec<Option<proxyland_physics::Trajectory>> = xs
        .par_iter()
        .enumerate()
        .map(|(i, x)| match sim.simulate(x) {
            Ok(y) if y.dim() == (f, s) => Some(y),
            Ok(y) => {
                tracing::warn!(sample = i, shape = ?y.dim(), "trajectory of the wrong shape");
                None
            }
            Err(e) => {
                tracing::warn!(sample = i, "simulation failed: {e}");
                None
            }
        })
        .collect();
    let mut trajectories = Array3::zeros((k, f, s));
    let mut sample_status = ndarray::Array1::from_elem(k, status::DONE);
    for (i, y) in ys.iter().enumerate() {
        match y.as_ref().filter(|y| y.iter().all(|v| v.is_finite())) {
            Some(y) => trajectories.index_axis_mut(ndarray::Axis(0), i).assign(y),
            None => sample_status[i] = status::FAILED,
        }
    }
    // No config file describes this simulator: what stands in for it in the provenance hash is
    // its box, its frames and a fingerprint of the simulated data, so two different simulators
    // (or a changed one) never look like the same pool.
    let mut fingerprint: u64 = 0xcbf2_9ce4_8422_2325;
    for v in trajectories.iter() {
        for b in v.to_le_bytes() {
            fingerprint ^= u64::from(b);
            fingerprint = fingerprint.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let config_text = format!(
        "# in-memory pool of {name}\nparameters = {:?}\nlo = {:?}\nhi = {:?}\n\
         frame_times = {:?}\ntrajectories_fnv1a = \"{fingerprint:016x}\"\n",
        space.names,
        space.lo,
        space.hi,
        sim.frame_times()
    );
    let header = PoolHeader {
        schema_version: SCHEMA_VERSION,
        experiment: name,
        spec_version: SPEC_VERSION,
        config_text,
        seed: opts.seed,
        target_seed: target_seed(opts.seed),
        validation_seed: validation_seed(opts.seed),
        streams: STREAMS_VERSION,
        samples_total: k,
        index_start: 0,
        index_end: k,
        param_names: space.names.clone(),
        proxyland_version: env!("CARGO_PKG_VERSION").to_string(),
        created: utc_now_rfc3339(),
    };
    let (target_params, target_trajectories) =
        simulate_targets(sim, header.target_seed, opts.targets)?;
    let (validation_params, validation_trajectories) =
        simulate_targets(sim, header.validation_seed, opts.validation_targets)?;
    Ok(Pool {
        path,
        header,
        params: Array2::from_shape_fn((k, d), |(i, j)| xs[i][j]),
        trajectories,
        status: sample_status,
        param_box: Array2::from_shape_fn(
            (2, d),
            |(r, j)| {
                if r == 0 { space.lo[j] } else { space.hi[j] }
            },
        ),
        time: sim.frame_times().into(),
        state_axis: sim.state_axis().into(),
        target_params,
        target_trajectories,
        validation_params,
        validation_trajectories,
        fixed_target: sim.fixed_target().is_some(),
    })
}

/// Merges complete shards of one run into a single pool file.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<PoolHeader> {
    if inputs.is_empty() {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "merge needs at least one input file".into(),
        });
    }
    if out.exists() {
        return Err(Error::Io {
            path: out.to_path_buf(),
            message: "already exists; remove it or choose another --out".into(),
        });
    }
    let mut pools: Vec<Pool> = inputs
        .iter()
        .map(|p| Pool::open(p))
        .collect::<Result<_>>()?;
    pools.sort_by_key(|p| p.header.index_start);
    check_shards(&pools)?;
    let first = pools[0].header.clone();
    let header = PoolHeader {
        index_start: 0,
        index_end: first.samples_total,
        created: utc_now_rfc3339(),
        ..first
    };
    let views: Vec<_> = pools.iter().map(|p| p.params.view()).collect();
    let params = ndarray::concatenate(ndarray::Axis(0), &views).expect("same width");
    let partial = partial_path(out);
    let p0 = &pools[0];
    // The merged file is stored as the first shard was (every shard's data is in memory by now,
    // so mixed shards merge all the same).
    let storage = Storage::of(&format::open_file(&p0.path)?, &p0.path)?;
    let file = format::create(
        &partial,
        &NewPool {
            header: &header,
            params: &params,
            param_box: &p0.param_box,
            time: p0.time.as_slice().expect("contiguous"),
            state_axis: p0.state_axis.as_slice().expect("contiguous"),
            target_params: &p0.target_params,
            target_trajectories: &p0.target_trajectories,
            validation_params: &p0.validation_params,
            validation_trajectories: &p0.validation_trajectories,
            storage,
        },
    )?;
    write_shards(&file, &partial, &pools, storage)?;
    move_into_place(file, &partial, out)?;
    Ok(header)
}

/// Whether `pools` (sorted by their first index) are the complete shards of one run, with the
/// same targets, covering its whole index range without gap or overlap. Separate from [`merge`]
/// so that every shard is checked before the merged file is created.
fn check_shards(pools: &[Pool]) -> Result<()> {
    let first = &pools[0].header;
    let mut next = 0;
    for p in pools {
        let mismatch = |field: &str, message: String| Error::Format {
            path: p.path.clone(),
            field: field.into(),
            message,
        };
        if !p.header.same_run(first) {
            return Err(mismatch(
                "config/seed/samples_total",
                format!(
                    "does not belong to the same run as {}",
                    pools[0].path.display()
                ),
            ));
        }
        if !p.is_complete() {
            return Err(mismatch(
                "status",
                "shard is not complete; finish it with --resume".into(),
            ));
        }
        if p.header.index_start != next {
            return Err(mismatch(
                "index_start",
                format!(
                    "covers {}..{}, but the shards so far end at {next} (gap or overlap)",
                    p.header.index_start, p.header.index_end
                ),
            ));
        }
        if p.target_params != pools[0].target_params {
            return Err(mismatch(
                "targets/params",
                "targets differ between shards".into(),
            ));
        }
        if p.validation_params != pools[0].validation_params {
            return Err(mismatch(
                "validation/params",
                "validation targets differ between shards".into(),
            ));
        }
        next = p.header.index_end;
    }
    if next != first.samples_total {
        return Err(Error::Format {
            path: pools.last().expect("non-empty").path.clone(),
            field: "index_end".into(),
            message: format!("shards cover 0..{next} of {} samples", first.samples_total),
        });
    }
    Ok(())
}

/// Writes every shard's samples, in order, into the merged `file` (stored as `storage`).
/// Separate from [`merge`]: each shard is one batch, made ready for the file's storage here.
fn write_shards(file: &hdf5::File, partial: &Path, pools: &[Pool], storage: Storage) -> Result<()> {
    for p in pools {
        let rows: Vec<usize> = (p.header.index_start..p.header.index_end).collect();
        let ok: Vec<bool> = p.status.iter().map(|&c| c == status::DONE).collect();
        let chunks: Vec<Option<Vec<u8>>> = match storage {
            Storage::Plain => Vec::new(),
            Storage::Compressed => (0..p.header.len())
                .into_par_iter()
                .map(|i| ok[i].then(|| format::encode_chunk(p.trajectories.index_axis(Axis(0), i))))
                .collect(),
        };
        let batch = match storage {
            // A failed sample's row reads back as zeros, so the block is the file as it is.
            Storage::Plain => format::Batch::Plain(p.trajectories.view()),
            Storage::Compressed => format::Batch::Compressed(&chunks),
        };
        format::write_batch(file, partial, &rows, &ok, &batch)?;
    }
    Ok(())
}

/// The current UTC time as RFC 3339, without a time-zone database.
fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_from_before_allocation_at_creation_resumes_to_the_same_pool() {
        let dir = tempfile::tempdir().unwrap();
        let text = crate::testing::shrunk_config_text("burgers", &crate::testing::TINY_BURGERS);
        let path = dir.path().join("tiny.toml");
        std::fs::write(&path, text).unwrap();
        let config = ExperimentConfig::load(&path).unwrap();
        let opts = GenerateOptions {
            batch: Some(4),
            ..GenerateOptions::new(24, 3, 42)
        };
        let quiet = |_: usize, _: usize| {};
        let fresh = dir.path().join("fresh.h5");
        generate(&config, &fresh, &opts, &quiet).unwrap();

        // A file laid out as before: /trajectories gets its place in the file only when HDF5
        // first writes to it, so the interrupted run writes through HDF5 ...
        let old = dir.path().join("old.h5");
        format::LATE_ALLOCATION.with(|late| late.set(true));
        let stop = GenerateOptions {
            stop_after: Some(8),
            ..opts.clone()
        };
        let interrupted = generate(&config, &old, &stop, &quiet);
        format::LATE_ALLOCATION.with(|late| late.set(false));
        assert!(matches!(interrupted, Err(Error::Interrupted { .. })));
        let partial = format::open_file(&partial_path(&old)).unwrap();
        let traj = partial.dataset("trajectories").unwrap();
        assert_eq!(
            traj.dcpl().unwrap().alloc_time(),
            hdf5::dataset::AllocTime::Late
        );
        // ... and the resumed run writes straight into the place HDF5 gave it.
        let writer = format::RowWriter::open(&partial, &partial_path(&old)).unwrap();
        assert!(writer.is_some());
        drop((writer, traj, partial));
        let resume = GenerateOptions {
            resume: true,
            ..opts
        };
        generate(&config, &old, &resume, &quiet).unwrap();
        let (a, b) = (Pool::open(&old).unwrap(), Pool::open(&fresh).unwrap());
        assert_eq!(a.status, b.status);
        assert_eq!(a.params, b.params);
        assert_eq!(a.trajectories, b.trajectories);
    }

    /// A temporary folder, the Gramacy–Lee config, `pool.h5` in the folder, and options that
    /// stop a 24-sample run after its first batch of 4 (an interrupted run's `.partial`).
    fn gramacy_lee_stopped_early() -> (
        tempfile::TempDir,
        ExperimentConfig,
        std::path::PathBuf,
        GenerateOptions,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = ExperimentConfig::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/gramacy-lee.toml"),
        )
        .unwrap();
        let out = dir.path().join("pool.h5");
        let stop = GenerateOptions {
            batch: Some(4),
            stop_after: Some(4),
            ..GenerateOptions::new(24, 3, 42)
        };
        (dir, config, out, stop)
    }

    #[test]
    fn a_partial_file_whose_trajectories_have_another_shape_is_refused() {
        let (_dir, config, out, stop) = gramacy_lee_stopped_early();
        assert!(generate(&config, &out, &stop, &|_, _| {}).is_err());
        {
            let file = format::open_file_rw(&partial_path(&out)).unwrap();
            file.unlink("trajectories").unwrap();
            file.new_dataset::<f64>()
                .shape((24, 2, 1))
                .create("trajectories")
                .unwrap();
        }
        let resume = GenerateOptions {
            resume: true,
            ..stop
        };
        let err = generate(&config, &out, &resume, &|_, _| {}).unwrap_err();
        assert!(
            matches!(&err, Error::Format { field, .. } if field == "trajectories"),
            "{err}"
        );
        assert!(err.to_string().contains("[24, 2, 1]"), "{err}");
    }

    #[test]
    fn shards_partition_the_index_range() {
        for k in [2usize, 7, 100, 101] {
            for n in 1..6 {
                let mut next = 0;
                for i in 0..n {
                    let (a, b) = shard_range(k, Some((i, n))).unwrap();
                    assert_eq!(a, next);
                    next = b;
                }
                assert_eq!(next, k);
            }
        }
        assert!(shard_range(10, Some((3, 3))).is_err());
    }

    #[test]
    fn shard_ranges_of_the_largest_counts_do_not_wrap_around() {
        let k = usize::MAX;
        let mut next = 0;
        for i in 0..4 {
            let (a, b) = shard_range(k, Some((i, 4))).unwrap();
            assert_eq!(a, next);
            assert!(a <= b);
            next = b;
        }
        assert_eq!(next, k);
        assert_eq!(shard_range(k, Some((1, 2))).unwrap(), (k / 2, k));
    }

    #[test]
    fn absurd_counts_are_refused_at_once_naming_the_field_and_creating_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = ExperimentConfig::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/gramacy-lee.toml"),
        )
        .unwrap();
        let out = dir.path().join("pool.h5");
        let quiet = |_: usize, _: usize| {};
        let cases = [
            (
                GenerateOptions::new(usize::MAX, 3, 42),
                "samples = 18446744073709551615",
            ),
            (
                GenerateOptions::new((1 << 40) + 1, 3, 42),
                "samples = 1099511627777",
            ),
            (
                GenerateOptions::new(100, usize::MAX, 42),
                "targets = 18446744073709551615",
            ),
            (
                GenerateOptions {
                    validation_targets: usize::MAX - 1,
                    ..GenerateOptions::new(100, 3, 42)
                },
                "validation_targets = 18446744073709551614",
            ),
            (
                GenerateOptions {
                    shard: Some((3, 4)),
                    ..GenerateOptions::new(usize::MAX, 3, 42)
                },
                "samples = 18446744073709551615",
            ),
        ];
        for (opts, needle) in cases {
            let started = Instant::now();
            let err = generate(&config, &out, &opts, &quiet).unwrap_err();
            assert!(
                matches!(&err, Error::Config { path, .. } if *path == config.path),
                "{err}"
            );
            let text = err.to_string();
            assert!(text.contains(needle), "expected `{needle}` in: {text}");
            assert!(text.contains("2^40"), "{text}");
            assert!(started.elapsed().as_secs_f64() < 1.0, "{needle}: too slow");
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                0,
                "{needle}: a file was created"
            );
        }
        // The in-memory pool applies the same caps.
        let sim = proxyland_physics::experiment("gramacy-lee").unwrap();
        let err =
            generate_in_memory(sim.as_ref(), &GenerateOptions::new(usize::MAX, 3, 42)).unwrap_err();
        assert!(
            err.to_string().contains("samples = 18446744073709551615"),
            "{err}"
        );
    }

    #[test]
    fn a_refused_resume_leaves_the_partial_file_byte_for_byte() {
        let (_dir, config, out, stop) = gramacy_lee_stopped_early();
        assert!(matches!(
            generate(&config, &out, &stop, &|_, _| {}),
            Err(Error::Interrupted { .. })
        ));
        let partial = partial_path(&out);
        let before = std::fs::read(&partial).unwrap();
        for changed in [
            GenerateOptions::new(25, 3, 42),
            GenerateOptions::new(24, 3, 43),
            GenerateOptions {
                shard: Some((0, 2)),
                ..GenerateOptions::new(24, 3, 42)
            },
        ] {
            let resume = GenerateOptions {
                resume: true,
                ..changed
            };
            let err = generate(&config, &out, &resume, &|_, _| {}).unwrap_err();
            assert!(
                matches!(&err, Error::Format { field, .. } if field == "config/seed/samples"),
                "{err}"
            );
            assert!(
                std::fs::read(&partial).unwrap() == before,
                "a refused resume changed {}",
                partial.display()
            );
        }
        // The original settings still finish it.
        let resume = GenerateOptions {
            resume: true,
            stop_after: None,
            ..stop
        };
        generate(&config, &out, &resume, &|_, _| {}).unwrap();
        assert!(Pool::open(&out).unwrap().is_complete());
    }

    #[test]
    fn timed_batches_hold_half_a_second_within_their_bounds() {
        // 1 ms per sample: half a second is 500 samples.
        assert_eq!(timed_batch(Some(1e-3), 2, 100), 500);
        // Before anything is measured: 64 samples per thread.
        assert_eq!(timed_batch(None, 2, 100), 128);
        // A clock that measured nothing is no reason for a huge batch either.
        assert_eq!(timed_batch(Some(0.0), 1, 8), 64);
        // Slow samples: never fewer than 4 per thread.
        assert_eq!(timed_batch(Some(1.0), 2, 100), 8);
        // Fast samples: at most 32 MiB of trajectories (8-byte values)...
        assert_eq!(timed_batch(Some(1e-9), 1, 8), (32 << 20) / 64);
        // ... which wins over the floors: 8 MiB samples come 4 at a time even before measuring,
        assert_eq!(timed_batch(None, 4, 1 << 20), 4);
        // and a sample larger than the cap still gives every thread one.
        assert_eq!(timed_batch(None, 2, 1 << 23), 2);
        // Nothing held in memory (workers write their own rows): time alone decides.
        assert_eq!(timed_batch(Some(2f64.powi(-30)), 1, 0), 1 << 29);
    }

    #[test]
    fn timestamps_look_like_rfc3339() {
        let t = utc_now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(
            t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T",
            "{t}"
        );
    }
}
