//! Reading a pool file: [`Pool`] and the checks of its header and datasets.

use super::{PoolHeader, SCHEMA_VERSION, status};
use crate::error::{Error, Result};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, Array3};
use std::path::{Path, PathBuf};

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
        refuse_trajectory_file(path, &file)?;
        let header = read_header(path, &file)?;
        let r = Reader { path, file: &file };
        // The whole pool is read into memory: say so before trying, not with an abort.
        r.check_memory()?;
        let mut pool = r.read_pool(header)?;
        r.check_shapes(&pool)?;
        r.check_values(&pool)?;
        // The config says whether the experiment has one fixed target; a config this version
        // cannot read is reported here, where the file is named.
        pool.fixed_target = crate::config::ExperimentConfig::parse(path, &pool.header.config_text)?
            .simulator()?
            .fixed_target()
            .is_some();
        Ok(pool)
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

/// Refuses a file of one simulated trajectory ([`crate::TrajectoryFile`]) with a message that
/// says what it is. Separate from [`Pool::open`]: it is the one check made before the header.
fn refuse_trajectory_file(path: &Path, file: &hdf5::File) -> Result<()> {
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
    Ok(())
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

    /// Refuses a file whose `/trajectories` needs more memory than is available. Separate from
    /// [`Pool::open`]: it runs before any dataset is read.
    fn check_memory(&self) -> Result<()> {
        if let (Ok(ds), Some(mem)) = (
            self.file.dataset("trajectories"),
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
                return Err(self.bad(
                    "trajectories",
                    format!(
                        "holds {} of trajectories, but only {} of memory is available",
                        crate::sizes::bytes(needed),
                        crate::sizes::bytes(mem)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every dataset of the file, read as it is, with `header`; `fixed_target` is left `false`
    /// for [`Pool::open`] to set once the data is checked. Separate from the checks, which
    /// need every dataset read first.
    fn read_pool(&self, header: PoolHeader) -> Result<Pool> {
        Ok(Pool {
            path: self.path.to_path_buf(),
            header,
            params: self.array("params")?,
            trajectories: self.array("trajectories")?,
            status: self.array("status")?,
            param_box: self.array("param_box")?,
            time: self.array("axes/time")?,
            state_axis: self.array("axes/state")?,
            target_params: self.array("targets/params")?,
            target_trajectories: self.array("targets/trajectories")?,
            validation_params: self.array("validation/params")?,
            validation_trajectories: self.array("validation/trajectories")?,
            fixed_target: false,
        })
    }

    /// Checks every dataset's shape against the header's sample and parameter counts and the
    /// axes. Separate from [`Reader::check_values`]: values are only looked at in datasets of
    /// the right shape.
    fn check_shapes(&self, pool: &Pool) -> Result<()> {
        let n = pool.header.len();
        let d = pool.header.param_names.len();
        let (f, st) = (pool.time.len(), pool.state_axis.len());
        let t = pool.target_params.nrows();
        self.expect_shape("params", pool.params.shape(), &[n, d])?;
        self.expect_shape("trajectories", pool.trajectories.shape(), &[n, f, st])?;
        self.expect_shape("status", pool.status.shape(), &[n])?;
        self.expect_shape("param_box", pool.param_box.shape(), &[2, d])?;
        self.expect_shape("targets/params", pool.target_params.shape(), &[t, d])?;
        self.expect_shape(
            "targets/trajectories",
            pool.target_trajectories.shape(),
            &[t, f, st],
        )?;
        let v = pool.validation_params.nrows();
        self.expect_shape("validation/params", pool.validation_params.shape(), &[v, d])?;
        self.expect_shape(
            "validation/trajectories",
            pool.validation_trajectories.shape(),
            &[v, f, st],
        )?;
        Ok(())
    }

    /// Checks the status codes and that every number is finite (a failed sample's trajectory
    /// excepted). Separate from [`Reader::check_shapes`]: it assumes the shapes agree.
    fn check_values(&self, pool: &Pool) -> Result<()> {
        if let Some(bad) = pool.status.iter().find(|&&s| s > status::FAILED) {
            return Err(self.bad("status", format!("unknown status code {bad}")));
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
            ("params", first_bad_row(pool.params.view())),
            ("param_box", first_bad_row(pool.param_box.view())),
            ("targets/params", first_bad_row(pool.target_params.view())),
            (
                "validation/params",
                first_bad_row(pool.validation_params.view()),
            ),
            (
                "trajectories",
                first_bad_sample(&pool.trajectories, Some(&pool.status)),
            ),
            (
                "targets/trajectories",
                first_bad_sample(&pool.target_trajectories, None),
            ),
            (
                "validation/trajectories",
                first_bad_sample(&pool.validation_trajectories, None),
            ),
        ] {
            if let Some(i) = bad {
                return Err(self.bad(
                    field,
                    format!("entry {i} holds NaN or infinite values; only finite data is accepted"),
                ));
            }
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
        // Pools from before the attribute were drawn under streams 1.
        streams: match file.attr("streams") {
            Ok(_) => u64_attr("streams")? as u32,
            Err(_) => 1,
        },
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
