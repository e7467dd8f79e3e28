//! The pool file: proxyland's one on-disk format (HDF5, schema version [`SCHEMA_VERSION`]).
//!
//! ```text
//! /params                  (n × d)      f64  X of each sample of this file's index range
//! /trajectories            (n × F × S)  f64  contiguous, or one shuffle + deflate chunk per sample
//! /status                  (n)          u8   0 pending, 1 simulated, 2 failed (blow-up)
//! /param_box               (2 × d)      f64  rows lo, hi
//! /axes/time               (F)          f64  frame times
//! /axes/state              (S)          f64  state coordinates (grid points, or 0..S)
//! /targets/params          (T × d)      f64  held-out test targets (target rule applied)
//! /targets/trajectories    (T × F × S)  f64
//! /validation/params       (V × d)      f64  validation targets: every choice is made on these
//! /validation/trajectories (V × F × S)  f64
//! attributes of /: schema_version, experiment, spec_version, config (TOML text), seed,
//!   target_seed, validation_seed, samples_total, index_start, index_end, param_names
//!   (comma-separated), proxyland_version, created (UTC, RFC 3339)
//! ```
//!
//! A file covers samples `index_start..index_end` of a pool of `samples_total`; sample i always
//! uses random stream (seed, i), so shards of one pool can be merged. Test and validation targets
//! draw from streams of their own seeds, so neither coincides with a pool sample or each other.
//!
//! Schema v2 (spec v2) added the validation targets; v1 files are refused with a message that
//! says to regenerate them.

use crate::error::{Error, Result};
use hdf5::dataset::{AllocTime, FillTime};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, Array3, s};
use std::path::{Path, PathBuf};

/// The schema this version writes and reads.
pub const SCHEMA_VERSION: u32 = 2;

/// Sample status codes in `/status`.
pub mod status {
    /// Not simulated yet (an unfinished or interrupted generation).
    pub const PENDING: u8 = 0;
    /// Simulated; its trajectory is valid.
    pub const DONE: u8 = 1;
    /// The simulation blew up; the sample is skipped.
    pub const FAILED: u8 = 2;
}

/// What a pool file says about itself (its attributes).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolHeader {
    /// The file's schema version ([`SCHEMA_VERSION`] for files this version reads).
    pub schema_version: u32,
    /// The experiment's name, as in its config.
    pub experiment: String,
    /// The spec version of the config it was generated from.
    pub spec_version: u32,
    /// The exact config text, for provenance.
    pub config_text: String,
    /// The pool seed; sample i uses random stream (seed, i).
    pub seed: u64,
    /// The seed of the test targets' streams (derived from `seed`).
    pub target_seed: u64,
    /// The seed of the validation targets' streams (derived from `seed`).
    pub validation_seed: u64,
    /// Pool size K over all shards.
    pub samples_total: usize,
    /// First global sample index in this file.
    pub index_start: usize,
    /// One past the last global sample index in this file.
    pub index_end: usize,
    /// Names of the d parameters, in column order.
    pub param_names: Vec<String>,
    /// The proxyland version that wrote the file.
    pub proxyland_version: String,
    /// When the file was created (UTC, RFC 3339).
    pub created: String,
}

impl PoolHeader {
    /// Number of samples in this file.
    pub fn len(&self) -> usize {
        self.index_end - self.index_start
    }

    /// Whether the file holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A fingerprint of what the data depends on (config text, seeds, pool size, index range):
    /// equal fingerprints mean equal data. FNV-1a, 64 bits, hex.
    pub fn provenance_hash(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(self.config_text.as_bytes());
        for v in [
            self.seed,
            self.target_seed,
            self.validation_seed,
            self.samples_total as u64,
            self.index_start as u64,
            self.index_end as u64,
            u64::from(self.schema_version),
        ] {
            eat(&v.to_le_bytes());
        }
        format!("{h:016x}")
    }

    /// Whether two files come from the same generation run (same config, seed and pool size).
    pub fn same_run(&self, other: &PoolHeader) -> bool {
        self.experiment == other.experiment
            && self.config_text == other.config_text
            && self.seed == other.seed
            && self.target_seed == other.target_seed
            && self.validation_seed == other.validation_seed
            && self.samples_total == other.samples_total
    }
}

/// A pool file read into memory.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The file it was read from.
    pub path: PathBuf,
    /// The file's attributes.
    pub header: PoolHeader,
    /// n × d.
    pub params: Array2<f64>,
    /// n × F × S.
    pub trajectories: Array3<f64>,
    /// n sample status codes (see [`status`]).
    pub status: Array1<u8>,
    /// 2 × d: lo, hi.
    pub param_box: Array2<f64>,
    /// F frame times.
    pub time: Array1<f64>,
    /// S state coordinates (grid points, or 0..S).
    pub state_axis: Array1<f64>,
    /// T × d held-out test targets.
    pub target_params: Array2<f64>,
    /// T × F × S.
    pub target_trajectories: Array3<f64>,
    /// V × d validation targets (for every choice: checkpoints, σ, λ).
    pub validation_params: Array2<f64>,
    /// V × F × S.
    pub validation_trajectories: Array3<f64>,
    /// Whether every sample is compared with one fixed target (E0): pairs then vary the
    /// candidate only.
    pub fixed_target: bool,
}

impl Pool {
    /// Reads and checks a pool file.
    pub fn open(path: &Path) -> Result<Pool> {
        let file = open_file(path)?;
        let kind = file
            .attr("kind")
            .and_then(|a| a.read_scalar::<VarLenUnicode>())
            .map(|k| k.as_str().to_string());
        if kind.is_ok_and(|k| k == "trajectory") {
            return Err(Error::Format {
                path: path.to_path_buf(),
                field: "kind".into(),
                message: "is one simulated trajectory, not a pool of them (a pool is made by \
                          `proxyland generate`)"
                    .into(),
            });
        }
        let header = read_header(path, &file)?;
        let r = Reader { path, file: &file };
        // The whole pool is read into memory: say so before trying, not with an abort.
        if let (Ok(ds), Some(mem)) = (
            file.dataset("trajectories"),
            crate::sizes::available_memory(),
        ) {
            // Checked: a shape whose bytes pass 2^64 needs more than any memory, not a wrapped
            // few bytes.
            let needed = ds
                .shape()
                .iter()
                .try_fold(8u64, |bytes, &n| bytes.checked_mul(n as u64))
                .unwrap_or(u64::MAX);
            if needed > mem {
                return Err(r.bad(
                    "trajectories",
                    format!(
                        "holds {} of trajectories, but only {} of memory is available",
                        crate::sizes::bytes(needed),
                        crate::sizes::bytes(mem)
                    ),
                ));
            }
        }
        let params: Array2<f64> = r.array("params")?;
        let trajectories: Array3<f64> = r.array("trajectories")?;
        let status: Array1<u8> = r.array("status")?;
        let param_box: Array2<f64> = r.array("param_box")?;
        let time: Array1<f64> = r.array("axes/time")?;
        let state_axis: Array1<f64> = r.array("axes/state")?;
        let target_params: Array2<f64> = r.array("targets/params")?;
        let target_trajectories: Array3<f64> = r.array("targets/trajectories")?;
        let validation_params: Array2<f64> = r.array("validation/params")?;
        let validation_trajectories: Array3<f64> = r.array("validation/trajectories")?;
        let n = header.len();
        let d = header.param_names.len();
        let (f, st) = (time.len(), state_axis.len());
        let t = target_params.nrows();
        r.expect_shape("params", params.shape(), &[n, d])?;
        r.expect_shape("trajectories", trajectories.shape(), &[n, f, st])?;
        r.expect_shape("status", status.shape(), &[n])?;
        r.expect_shape("param_box", param_box.shape(), &[2, d])?;
        r.expect_shape("targets/params", target_params.shape(), &[t, d])?;
        r.expect_shape(
            "targets/trajectories",
            target_trajectories.shape(),
            &[t, f, st],
        )?;
        let v = validation_params.nrows();
        r.expect_shape("validation/params", validation_params.shape(), &[v, d])?;
        r.expect_shape(
            "validation/trajectories",
            validation_trajectories.shape(),
            &[v, f, st],
        )?;
        if let Some(bad) = status.iter().find(|&&s| s > status::FAILED) {
            return Err(r.bad("status", format!("unknown status code {bad}")));
        }
        // Only finite numbers: a NaN in a pool would surface as a diverged training or a silent
        // wrong answer much later.
        let first_bad_row = |a: ndarray::ArrayView2<f64>| {
            a.rows()
                .into_iter()
                .position(|row| row.iter().any(|v| !v.is_finite()))
        };
        let first_bad_sample = |a: &Array3<f64>, only: Option<&Array1<u8>>| {
            a.outer_iter().enumerate().position(|(i, y)| {
                only.is_none_or(|st| st[i] == status::DONE) && y.iter().any(|v| !v.is_finite())
            })
        };
        for (field, bad) in [
            ("params", first_bad_row(params.view())),
            ("param_box", first_bad_row(param_box.view())),
            ("targets/params", first_bad_row(target_params.view())),
            ("validation/params", first_bad_row(validation_params.view())),
            (
                "trajectories",
                first_bad_sample(&trajectories, Some(&status)),
            ),
            (
                "targets/trajectories",
                first_bad_sample(&target_trajectories, None),
            ),
            (
                "validation/trajectories",
                first_bad_sample(&validation_trajectories, None),
            ),
        ] {
            if let Some(i) = bad {
                return Err(r.bad(
                    field,
                    format!("entry {i} holds NaN or infinite values; only finite data is accepted"),
                ));
            }
        }
        // The config says whether the experiment has one fixed target; a config this version
        // cannot read is reported here, where the file is named.
        let fixed_target = crate::config::ExperimentConfig::parse(path, &header.config_text)?
            .simulator()?
            .fixed_target()
            .is_some();
        Ok(Pool {
            path: path.to_path_buf(),
            header,
            params,
            trajectories,
            status,
            param_box,
            time,
            state_axis,
            target_params,
            target_trajectories,
            validation_params,
            validation_trajectories,
            fixed_target,
        })
    }

    /// Indices (into this file) of the samples that simulated successfully.
    pub fn valid(&self) -> Vec<usize> {
        (0..self.status.len())
            .filter(|&i| self.status[i] == status::DONE)
            .collect()
    }

    /// Whether every sample is simulated or failed (none pending).
    pub fn is_complete(&self) -> bool {
        self.status.iter().all(|&s| s != status::PENDING)
    }

    /// (frames, state components) of each trajectory.
    pub fn trajectory_shape(&self) -> (usize, usize) {
        (self.time.len(), self.state_axis.len())
    }

    /// A one-paragraph description (what `proxyland info` prints).
    pub fn describe(&self) -> String {
        let h = &self.header;
        let (f, s) = self.trajectory_shape();
        let failed = self.status.iter().filter(|&&s| s == status::FAILED).count();
        let pending = self
            .status
            .iter()
            .filter(|&&s| s == status::PENDING)
            .count();
        format!(
            "{path}: proxyland pool (schema v{schema})\n\
             experiment:   {exp} (spec v{spec})\n\
             samples:      {n} in this file (indices {a}..{b} of {k}); {failed} failed, {pending} pending\n\
             parameters:   {names} in box lo = {lo:?}, hi = {hi:?}\n\
             trajectories: {f} frames × {s} components (t = {t0} .. {t1})\n\
             targets:      {t} test, {v} validation (held out)\n\
             seed:         {seed} (test targets: {tseed}, validation targets: {vseed})\n\
             written by:   proxyland {ver} at {created}",
            path = self.path.display(),
            schema = h.schema_version,
            exp = h.experiment,
            spec = h.spec_version,
            n = h.len(),
            a = h.index_start,
            b = h.index_end,
            k = h.samples_total,
            names = h.param_names.join(", "),
            lo = self.param_box.row(0).to_vec(),
            hi = self.param_box.row(1).to_vec(),
            t0 = self.time.first().copied().unwrap_or(0.0),
            t1 = self.time.last().copied().unwrap_or(0.0),
            t = self.target_params.nrows(),
            v = self.validation_params.nrows(),
            seed = h.seed,
            tseed = h.target_seed,
            vseed = h.validation_seed,
            ver = h.proxyland_version,
            created = h.created,
        )
    }
}

pub(crate) fn open_file(path: &Path) -> Result<hdf5::File> {
    // Readers take no lock: files are only ever written under a temporary name, and an inherited
    // lock (a child process forked while a file was open) must not make a finished pool unreadable.
    open_with(path, |p| {
        hdf5::File::with_options()
            .with_fapl(|fapl| fapl.file_locking(false))
            .open(p)
    })
}

/// Opens an existing file for writing (resuming a generation).
pub(crate) fn open_file_rw(path: &Path) -> Result<hdf5::File> {
    open_with(path, |p| hdf5::File::open_rw(p))
}

fn open_with(path: &Path, open: fn(&Path) -> hdf5::Result<hdf5::File>) -> Result<hdf5::File> {
    if !path.exists() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            message: "no such file".into(),
        });
    }
    if path.is_dir() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            message: "is a folder, not a file".into(),
        });
    }
    open(path).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        field: "(file)".into(),
        message: format!("not a readable HDF5 file (truncated or corrupt?): {e}"),
    })
}

struct Reader<'a> {
    path: &'a Path,
    file: &'a hdf5::File,
}

impl Reader<'_> {
    fn bad(&self, field: &str, message: String) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            field: field.to_string(),
            message,
        }
    }

    fn array<T: hdf5::H5Type, D: ndarray::Dimension>(
        &self,
        name: &str,
    ) -> Result<ndarray::Array<T, D>> {
        let ds = self
            .file
            .dataset(name)
            .map_err(|_| self.bad(name, "missing dataset".into()))?;
        ds.read::<T, D>()
            .map_err(|e| self.bad(name, format!("cannot read: {e}")))
    }

    fn expect_shape(&self, name: &str, got: &[usize], want: &[usize]) -> Result<()> {
        if got != want {
            return Err(self.bad(name, format!("shape {got:?}, expected {want:?}")));
        }
        Ok(())
    }
}

pub(crate) fn read_header(path: &Path, file: &hdf5::File) -> Result<PoolHeader> {
    let bad = |field: &str, message: String| Error::Format {
        path: path.to_path_buf(),
        field: field.to_string(),
        message,
    };
    let attr = |name: &str| {
        file.attr(name)
            .map_err(|_| bad(name, "missing attribute".into()))
    };
    let u64_attr = |name: &str| -> Result<u64> {
        attr(name)?
            .read_scalar::<u64>()
            .map_err(|e| bad(name, format!("not an integer: {e}")))
    };
    let str_attr = |name: &str| -> Result<String> {
        Ok(attr(name)?
            .read_scalar::<VarLenUnicode>()
            .map_err(|e| bad(name, format!("not a string: {e}")))?
            .as_str()
            .to_string())
    };
    let schema_version = u64_attr("schema_version")? as u32;
    if schema_version != SCHEMA_VERSION {
        let advice = if schema_version < SCHEMA_VERSION {
            " (it has no validation targets: regenerate it with `proxyland generate`)"
        } else {
            " (written by a newer proxyland)"
        };
        return Err(bad(
            "schema_version",
            format!(
                "schema v{schema_version}, but this proxyland reads v{SCHEMA_VERSION} only{advice}"
            ),
        ));
    }
    let header = PoolHeader {
        schema_version,
        experiment: str_attr("experiment")?,
        spec_version: u64_attr("spec_version")? as u32,
        config_text: str_attr("config")?,
        seed: u64_attr("seed")?,
        target_seed: u64_attr("target_seed")?,
        validation_seed: u64_attr("validation_seed")?,
        samples_total: u64_attr("samples_total")? as usize,
        index_start: u64_attr("index_start")? as usize,
        index_end: u64_attr("index_end")? as usize,
        param_names: str_attr("param_names")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        proxyland_version: str_attr("proxyland_version")?,
        created: str_attr("created")?,
    };
    if header.index_start > header.index_end || header.index_end > header.samples_total {
        return Err(bad(
            "index_start",
            format!(
                "range {}..{} does not fit a pool of {}",
                header.index_start, header.index_end, header.samples_total
            ),
        ));
    }
    Ok(header)
}

/// Everything needed to lay out a new pool file.
pub(crate) struct NewPool<'a> {
    pub header: &'a PoolHeader,
    pub params: &'a Array2<f64>,
    pub param_box: &'a Array2<f64>,
    pub time: &'a [f64],
    pub state_axis: &'a [f64],
    pub target_params: &'a Array2<f64>,
    pub target_trajectories: &'a Array3<f64>,
    pub validation_params: &'a Array2<f64>,
    pub validation_trajectories: &'a Array3<f64>,
    pub storage: Storage,
}

/// How `/trajectories` is laid out on disk. Readers need not care: HDF5 undoes either.
///
/// Measured (docs/dataset-format.md, `cargo xtask bench`): deflate on f64 trajectories saves
/// 11–25% of the bytes and costs more CPU per sample than a KS solve, so the default stores
/// plain numbers and a pool is written near the solver's speed.
///
/// ```
/// use proxyland_dataset::{ExperimentConfig, GenerateOptions, Pool, Storage, generate};
/// let config = ExperimentConfig::load("../../datasets/gramacy-lee.toml".as_ref())?;
/// let dir = tempfile::tempdir()?;
/// let out = dir.path().join("pool.h5");
/// let opts = GenerateOptions {
///     storage: Storage::Compressed,
///     ..GenerateOptions::new(64, 2, config.seed)
/// };
/// generate(&config, &out, &opts, &|_, _| {})?;
/// assert_eq!(Pool::open(&out)?.valid().len(), 64); // read like any pool
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// One contiguous block of f64, no filter: batches go to disk in one write each.
    #[default]
    Plain,
    /// One chunk per sample, byte-shuffle then deflate(4), compressed in the worker threads.
    Compressed,
}

/// A batch of samples made ready for the file by the worker threads.
pub(crate) enum Batch<'a> {
    /// For [`Storage::Plain`]: row k holds sample `rows[k]`, zeros where it failed (rows past
    /// `rows.len()` are ignored).
    Plain(ndarray::ArrayView3<'a, f64>),
    /// For [`Storage::Compressed`]: the on-disk chunk of sample `rows[k]`, `None` where it failed.
    Compressed(&'a [Option<Vec<u8>>]),
    /// Already in the file, written by the workers through a [`RowWriter`]: only the status
    /// codes are left.
    Written,
}

/// Positioned writes straight into a plain pool's `/trajectories`, from every worker thread at
/// once.
///
/// HDF5 runs all its calls behind one global lock, so with it one thread did all the writing;
/// for billiards, where the kernel's copy of a 2 KB trajectory into the page cache costs more
/// than simulating it, that thread was the ceiling of generation on any number of cores. A plain
/// `/trajectories` is one contiguous block of little-endian f64 at a fixed offset in the file,
/// so sample i's row can be written there with `pwrite` by the thread that simulated it. HDF5
/// itself never touches that block's bytes in a process that writes it this way (no sieve
/// buffer can go stale), and its metadata lies outside the block.
#[cfg_attr(not(all(unix, target_endian = "little")), allow(dead_code))]
pub(crate) struct RowWriter {
    file: std::fs::File,
    path: PathBuf,
    /// Byte offset of row 0.
    offset: u64,
    /// f64 values per row (F · S).
    row_values: usize,
    rows: usize,
}

impl RowWriter {
    /// A writer for `/trajectories` of the pool at `path`, or `None` where HDF5 must write: a
    /// compressed (chunked) file, a plain file whose space is not allocated yet (created before
    /// allocation at creation), a type other than little-endian f64, or a big-endian or non-Unix
    /// machine.
    pub(crate) fn open(file: &hdf5::File, path: &Path) -> Result<Option<Self>> {
        if cfg!(not(all(unix, target_endian = "little"))) {
            return Ok(None);
        }
        let traj = file
            .dataset("trajectories")
            .map_err(h5(path, "trajectories"))?;
        let Some(offset) = traj.offset() else {
            return Ok(None);
        };
        let dtype = traj.dtype().map_err(h5(path, "trajectories"))?;
        let is_f64_le = matches!(
            dtype.to_descriptor(),
            Ok(hdf5::types::TypeDescriptor::Float(
                hdf5::types::FloatSize::U8
            ))
        ) && dtype.byte_order() == hdf5::datatype::ByteOrder::LittleEndian;
        let shape = traj.shape();
        // The whole block allocated, as one piece of the file (the offset alone could be
        // defined and wrong for an unallocated dataset behind a user block).
        // (A shape whose bytes pass 2^64 is no block of any file: HDF5 keeps the writing.)
        let whole = shape
            .iter()
            .try_fold(8u64, |bytes, &n| bytes.checked_mul(n as u64));
        if traj.is_chunked()
            || !is_f64_le
            || shape.len() != 3
            || whole.is_none_or(|whole| traj.storage_size() != whole)
        {
            return Ok(None);
        }
        let handle = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                message: format!("cannot open it to write trajectories: {e}"),
            })?;
        Ok(Some(RowWriter {
            file: handle,
            path: path.to_path_buf(),
            offset,
            row_values: shape[1] * shape[2],
            rows: shape[0],
        }))
    }

    /// Values per row (frames × components).
    pub(crate) fn row_values(&self) -> usize {
        self.row_values
    }

    /// Writes `values`, whole rows of consecutive samples, as rows `first..` of the file.
    pub(crate) fn write_rows(&self, first: usize, values: &[f64]) -> Result<()> {
        let count = values.len() / self.row_values.max(1);
        assert!(
            values.len() == count * self.row_values
                && first.checked_add(count).is_some_and(|end| end <= self.rows),
            "rows {first}..{} of {} values each, in a file of {} rows",
            first.saturating_add(count),
            self.row_values,
            self.rows
        );
        self.write_bytes(first, values)
    }

    #[cfg(all(unix, target_endian = "little"))]
    fn write_bytes(&self, first: usize, values: &[f64]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        // SAFETY: any f64 is 8 initialised bytes, u8 has no alignment requirement, and the
        // slice covers exactly the values' memory. On a little-endian machine these are the
        // bytes of the file's little-endian f64 type.
        let bytes = unsafe {
            std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
        };
        // Rows within the file's block (checked by the caller), so this fits unless the file
        // itself lies about its offset: then an error, never a wrapped-around position.
        let at = (first as u64)
            .checked_mul(self.row_values as u64)
            .and_then(|v| v.checked_mul(8))
            .and_then(|v| v.checked_add(self.offset))
            .ok_or_else(|| Error::Io {
                path: self.path.clone(),
                message: format!(
                    "row {first} of {} values lies past 2^64 bytes into the file",
                    self.row_values
                ),
            })?;
        self.file.write_all_at(bytes, at).map_err(|e| Error::Io {
            path: self.path.clone(),
            message: format!("writing trajectories of samples from {first} failed: {e}"),
        })
    }

    #[cfg(not(all(unix, target_endian = "little")))]
    fn write_bytes(&self, _first: usize, _values: &[f64]) -> Result<()> {
        unreachable!("RowWriter::open returns None on this platform")
    }
}

impl Storage {
    /// The storage of an existing file's `/trajectories` (a resumed or merged file keeps it).
    pub(crate) fn of(file: &hdf5::File, path: &Path) -> Result<Storage> {
        let traj = file
            .dataset("trajectories")
            .map_err(h5(path, "trajectories"))?;
        Ok(if traj.is_chunked() {
            Storage::Compressed
        } else {
            Storage::Plain
        })
    }
}

fn h5(path: &Path, what: &str) -> impl Fn(hdf5::Error) -> Error {
    let path = path.to_path_buf();
    let what = what.to_string();
    move |e| Error::Io {
        path: path.clone(),
        message: format!("writing {what}: {e}"),
    }
}

/// Creates the file with every dataset laid out and all samples pending.
pub(crate) fn create(path: &Path, new: &NewPool) -> Result<hdf5::File> {
    let h = new.header;
    let file = hdf5::File::create(path).map_err(h5(path, "the file"))?;
    write_str(&file, path, "experiment", &h.experiment)?;
    write_str(&file, path, "config", &h.config_text)?;
    write_str(&file, path, "param_names", &h.param_names.join(","))?;
    write_str(&file, path, "proxyland_version", &h.proxyland_version)?;
    write_str(&file, path, "created", &h.created)?;
    for (name, v) in [
        ("schema_version", h.schema_version as u64),
        ("spec_version", h.spec_version as u64),
        ("seed", h.seed),
        ("target_seed", h.target_seed),
        ("validation_seed", h.validation_seed),
        ("samples_total", h.samples_total as u64),
        ("index_start", h.index_start as u64),
        ("index_end", h.index_end as u64),
    ] {
        file.new_attr::<u64>()
            .create(name)
            .and_then(|a| a.write_scalar(&v))
            .map_err(h5(path, name))?;
    }
    let n = h.len();
    let (f, s) = (new.time.len(), new.state_axis.len());
    file.new_dataset_builder()
        .with_data(new.params)
        .create("params")
        .map_err(h5(path, "params"))?;
    file.new_dataset_builder()
        .with_data(new.param_box)
        .create("param_box")
        .map_err(h5(path, "param_box"))?;
    let trajectories = file.new_dataset_builder();
    let trajectories = match new.storage {
        // Allocated at creation, so that its place in the file is known and the workers can
        // write their rows there directly (`RowWriter`). No fill: every row is written, failed
        // ones as zeros.
        Storage::Plain if allocate_late() => trajectories,
        Storage::Plain => trajectories
            .alloc_time(Some(AllocTime::Early))
            .fill_time(FillTime::Never),
        // One chunk per sample: resume touches whole samples only. The filters must stay what
        // `encode_chunk` applies by hand (shuffle, then deflate at DEFLATE_LEVEL).
        Storage::Compressed => trajectories
            .chunk((1, f.max(1), s.max(1)))
            .shuffle()
            .deflate(DEFLATE_LEVEL),
    };
    trajectories
        .empty::<f64>()
        .shape((n, f, s))
        .create("trajectories")
        .map_err(h5(path, "trajectories"))?;
    file.new_dataset_builder()
        .with_data(&Array1::<u8>::zeros(n))
        .create("status")
        .map_err(h5(path, "status"))?;
    let axes = file.create_group("axes").map_err(h5(path, "axes"))?;
    axes.new_dataset_builder()
        .with_data(new.time)
        .create("time")
        .map_err(h5(path, "axes/time"))?;
    axes.new_dataset_builder()
        .with_data(new.state_axis)
        .create("state")
        .map_err(h5(path, "axes/state"))?;
    let targets = file.create_group("targets").map_err(h5(path, "targets"))?;
    targets
        .new_dataset_builder()
        .with_data(new.target_params)
        .create("params")
        .map_err(h5(path, "targets/params"))?;
    targets
        .new_dataset_builder()
        .shuffle()
        .deflate(4)
        .with_data(new.target_trajectories)
        .create("trajectories")
        .map_err(h5(path, "targets/trajectories"))?;
    let validation = file
        .create_group("validation")
        .map_err(h5(path, "validation"))?;
    validation
        .new_dataset_builder()
        .with_data(new.validation_params)
        .create("params")
        .map_err(h5(path, "validation/params"))?;
    validation
        .new_dataset_builder()
        .shuffle()
        .deflate(4)
        .with_data(new.validation_trajectories)
        .create("trajectories")
        .map_err(h5(path, "validation/trajectories"))?;
    file.flush().map_err(h5(path, "the file"))?;
    Ok(file)
}

#[cfg(test)]
thread_local! {
    /// Tests create plain files as versions before allocation at creation did.
    pub(crate) static LATE_ALLOCATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn allocate_late() -> bool {
    #[cfg(test)]
    return LATE_ALLOCATION.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
}

fn write_str(file: &hdf5::File, path: &Path, name: &str, value: &str) -> Result<()> {
    let v: VarLenUnicode = value.parse().map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: format!("attribute {name}: {e}"),
    })?;
    file.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(h5(path, name))
}

/// Deflate level of the trajectory chunks.
const DEFLATE_LEVEL: u8 = 4;

/// One sample's trajectory as the bytes of a `/trajectories` chunk on disk: HDF5's shuffle filter
/// (byte planes of the little-endian f64s) and then its deflate filter (a zlib stream), applied
/// here so that generation compresses in the worker threads; HDF5's own filter pipeline runs on
/// the single writing thread and was the bottleneck of cheap experiments.
pub(crate) fn encode_chunk(y: ndarray::ArrayView2<f64>) -> Vec<u8> {
    use std::io::Write;
    let n = y.len();
    let mut planes = vec![0u8; 8 * n];
    for (i, v) in y.iter().enumerate() {
        for (b, byte) in v.to_le_bytes().into_iter().enumerate() {
            planes[b * n + i] = byte;
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(8 * n),
        flate2::Compression::new(u32::from(DEFLATE_LEVEL)),
    );
    z.write_all(&planes).expect("writing to memory");
    z.finish().expect("writing to memory")
}

/// Writes a batch of samples (`rows`: their ascending indices in this file; `ok`: whether each
/// simulated) and their status codes, then flushes. Failed samples read back as zeros. Plain
/// storage writes each run of consecutive rows in one call; compressed chunks go to disk as they
/// are (H5Dwrite_chunk), so HDF5's single-threaded filter pipeline never runs; a
/// [`Batch::Written`] batch is already in the file and gets its status codes only.
pub(crate) fn write_batch(
    file: &hdf5::File,
    path: &Path,
    rows: &[usize],
    ok: &[bool],
    batch: &Batch,
) -> Result<()> {
    let traj = file
        .dataset("trajectories")
        .map_err(h5(path, "trajectories"))?;
    let stat = file.dataset("status").map_err(h5(path, "status"))?;
    debug_assert!(rows.windows(2).all(|w| w[0] < w[1]) && rows.len() == ok.len());
    let runs = consecutive_runs(rows);
    match (batch, traj.is_chunked()) {
        (Batch::Plain(block), false) => {
            for run in &runs {
                let (first, last) = (rows[run.start], rows[run.end - 1] + 1);
                traj.write_slice(
                    &block.slice(s![run.start..run.end, .., ..]),
                    s![first..last, .., ..],
                )
                .map_err(h5(path, "trajectories"))?;
            }
        }
        (Batch::Compressed(chunks), true) => {
            for (&i, bytes) in rows.iter().zip(chunks.iter()) {
                let Some(bytes) = bytes else { continue };
                let offset: [hdf5_sys::h5::hsize_t; 3] = [i as _, 0, 0];
                // SAFETY: the dataset id is valid while `traj` lives; offset has one entry per
                // dimension and `bytes` outlives the call. HDF5 is entered under the crate's
                // global lock.
                let status = hdf5::sync::sync(|| unsafe {
                    hdf5_sys::h5d::H5Dwrite_chunk(
                        traj.id(),
                        hdf5_sys::h5p::H5P_DEFAULT,
                        0, // all filters of the pipeline were applied
                        offset.as_ptr(),
                        bytes.len(),
                        bytes.as_ptr().cast(),
                    )
                });
                if status < 0 {
                    return Err(Error::Io {
                        path: path.to_path_buf(),
                        message: format!("writing the chunk of sample {i} to /trajectories failed"),
                    });
                }
            }
        }
        (Batch::Written, false) => {}
        _ => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                message: "internal: the batch's storage differs from the file's /trajectories"
                    .into(),
            });
        }
    }
    // The data reaches the disk before the status codes that say it is there: a kill between
    // the two flushes leaves samples written but pending, which a resume simulates again.
    file.flush().map_err(h5(path, "the file"))?;
    // Status codes of consecutive samples go to disk in one call each.
    for run in &runs {
        let (first, last) = (rows[run.start], rows[run.end - 1] + 1);
        let codes: Vec<u8> = ok[run.clone()]
            .iter()
            .map(|&ok| if ok { status::DONE } else { status::FAILED })
            .collect();
        stat.write_slice(&codes, s![first..last])
            .map_err(h5(path, "status"))?;
    }
    file.flush().map_err(h5(path, "the file"))
}

/// Positions in `rows` (ascending) grouped into runs of consecutive values.
pub(crate) fn consecutive_runs(rows: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for k in 0..rows.len() {
        match runs.last_mut() {
            Some(run) if rows[run.end - 1] + 1 == rows[k] => run.end = k + 1,
            _ => runs.push(k..k + 1),
        }
    }
    runs
}

/// Reads `/status` of an open file (for resuming).
pub(crate) fn read_status(file: &hdf5::File, path: &Path) -> Result<Array1<u8>> {
    file.dataset("status")
        .and_then(|d| d.read_1d::<u8>())
        .map_err(|e| Error::Format {
            path: path.to_path_buf(),
            field: "status".into(),
            message: format!("cannot read: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// A file with one `/trajectories` of 5 samples × 3 frames × 2 components.
    fn file_with(path: &Path, layout: &str) -> hdf5::File {
        let file = hdf5::File::create(path).unwrap();
        let builder = file.new_dataset_builder();
        let builder = match layout {
            "allocated" => builder
                .alloc_time(Some(AllocTime::Early))
                .fill_time(FillTime::Never),
            "chunked" => builder.chunk((1, 3, 2)),
            _ => builder,
        };
        builder
            .empty::<f64>()
            .shape((5, 3, 2))
            .create("trajectories")
            .unwrap();
        file
    }

    #[test]
    fn rows_written_past_hdf5_read_back_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.h5");
        let file = file_with(&path, "allocated");
        let writer = RowWriter::open(&file, &path).unwrap().expect("a writer");
        assert_eq!(writer.row_values(), 6);
        // Values whose bytes a wrong byte order or offset could not reproduce.
        let two_rows: Vec<f64> = (0..12)
            .map(|k| (-1.0f64).powi(k) * (1.0 + k as f64) * 10f64.powi(3 * k - 20))
            .collect();
        let last_row = [f64::MIN_POSITIVE / 4.0, -0.0, 1e308, -1e-300, 0.5, 7.0];
        writer.write_rows(1, &two_rows).unwrap();
        writer.write_rows(4, &last_row).unwrap();
        drop(writer);
        let read: Array3<f64> = file.dataset("trajectories").unwrap().read().unwrap();
        let flat = |i: usize| {
            read.index_axis(ndarray::Axis(0), i)
                .iter()
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!([flat(1), flat(2)].concat(), two_rows);
        assert_eq!(flat(4), last_row);
        assert_eq!(flat(4)[1].to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn hdf5_keeps_the_writing_where_rows_have_no_fixed_place() {
        let dir = tempfile::tempdir().unwrap();
        for layout in ["chunked", "late"] {
            let path = dir.path().join(format!("{layout}.h5"));
            let file = file_with(&path, layout);
            assert!(RowWriter::open(&file, &path).unwrap().is_none(), "{layout}");
        }
    }

    #[test]
    #[should_panic(expected = "in a file of 5 rows")]
    fn rows_past_the_end_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.h5");
        let file = file_with(&path, "allocated");
        let writer = RowWriter::open(&file, &path).unwrap().unwrap();
        let _ = writer.write_rows(4, &[0.0; 12]);
    }
}
