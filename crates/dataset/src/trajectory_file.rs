//! A single trajectory in HDF5 (what `proxyland simulate --out x.h5` writes and
//! `proxyland solve --target-file` reads).
//!
//! ```text
//! /trajectory  (F × S) f64    /axes/time (F)    /axes/state (S)
//! attributes: schema_version, kind = "trajectory", experiment, params (X), param_names
//! ```

use crate::error::{Error, Result};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2};
use std::path::Path;

/// The trajectory-file layout this version writes and reads (unchanged since v1; pools have
/// their own schema version).
pub const TRAJECTORY_SCHEMA_VERSION: u32 = 1;

/// One simulated trajectory with its axes and provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryFile {
    /// The experiment's name.
    pub experiment: String,
    /// Names of the d parameters, in the order of `params`.
    pub param_names: Vec<String>,
    /// The parameters X it was simulated from.
    pub params: Vec<f64>,
    /// F frame times.
    pub time: Array1<f64>,
    /// S state coordinates (grid points, or 0..S).
    pub state_axis: Array1<f64>,
    /// F × S: the simulated trajectory Y.
    pub trajectory: Array2<f64>,
}

impl TrajectoryFile {
    /// Writes atomically (temporary sibling, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |message: String| Error::Io {
            path: path.to_path_buf(),
            message,
        };
        /// Either error a trajectory write can meet, kept apart for the message.
        enum WriteError {
            Io(std::io::Error),
            Hdf5(hdf5::Error),
        }
        impl From<std::io::Error> for WriteError {
            fn from(e: std::io::Error) -> Self {
                WriteError::Io(e)
            }
        }
        let result = crate::atomic::replace_via_temp(path, ".h5", |tmp| {
            self.write_hdf5(tmp).map_err(WriteError::Hdf5)
        });
        match result {
            Ok(()) => Ok(()),
            Err(WriteError::Io(e)) => Err(io(format!(
                "cannot write: {}",
                crate::atomic::describe_io(&e)
            ))),
            Err(WriteError::Hdf5(e)) => Err(io(format!("cannot write: {e}"))),
        }
    }

    fn write_hdf5(&self, tmp: &Path) -> hdf5::Result<()> {
        {
            let file = hdf5::File::create(tmp)?;
            file.new_attr::<u64>()
                .create("schema_version")?
                .write_scalar(&(TRAJECTORY_SCHEMA_VERSION as u64))?;
            for (name, value) in [
                ("kind", "trajectory".to_string()),
                ("experiment", self.experiment.clone()),
                ("param_names", self.param_names.join(",")),
                ("proxyland_version", env!("CARGO_PKG_VERSION").to_string()),
            ] {
                let v: VarLenUnicode = value.parse().expect("no NUL bytes in our strings");
                file.new_attr::<VarLenUnicode>()
                    .create(name)?
                    .write_scalar(&v)?;
            }
            file.new_dataset_builder()
                .with_data(&self.params[..])
                .create("params")?;
            file.new_dataset_builder()
                .with_data(&self.trajectory)
                .create("trajectory")?;
            let axes = file.create_group("axes")?;
            axes.new_dataset_builder()
                .with_data(&self.time)
                .create("time")?;
            axes.new_dataset_builder()
                .with_data(&self.state_axis)
                .create("state")?;
            file.flush()
        }
    }

    /// Reads and checks a trajectory file.
    pub fn read(path: &Path) -> Result<Self> {
        let file = crate::format::open_file(path)?;
        let bad = |field: &str, message: String| Error::Format {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        let text = |name: &str| -> Result<String> {
            file.attr(name)
                .and_then(|a| a.read_scalar::<VarLenUnicode>())
                .map(|s| s.as_str().to_string())
                .map_err(|_| bad(name, "missing or not a string".into()))
        };
        let version = file
            .attr("schema_version")
            .and_then(|a| a.read_scalar::<u64>())
            .map_err(|_| bad("schema_version", "missing".into()))?;
        if version != TRAJECTORY_SCHEMA_VERSION as u64 {
            return Err(bad(
                "schema_version",
                format!(
                    "v{version}; this proxyland reads trajectory files v{TRAJECTORY_SCHEMA_VERSION}"
                ),
            ));
        }
        if text("kind")? != "trajectory" {
            return Err(bad(
                "kind",
                "not a trajectory file (a pool? use `proxyland info`)".into(),
            ));
        }
        let array2 = |name: &str| -> Result<Array2<f64>> {
            file.dataset(name)
                .and_then(|d| d.read_2d::<f64>())
                .map_err(|e| bad(name, format!("missing or unreadable: {e}")))
        };
        let array1 = |name: &str| -> Result<Array1<f64>> {
            file.dataset(name)
                .and_then(|d| d.read_1d::<f64>())
                .map_err(|e| bad(name, format!("missing or unreadable: {e}")))
        };
        let t = TrajectoryFile {
            experiment: text("experiment")?,
            param_names: text("param_names")?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            params: array1("params")?.to_vec(),
            time: array1("axes/time")?,
            state_axis: array1("axes/state")?,
            trajectory: array2("trajectory")?,
        };
        if let Some(i) = t.params.iter().position(|v| !v.is_finite()) {
            return Err(bad("params", format!("entry {i} is not a finite number")));
        }
        if let Some((frame, _)) = t
            .trajectory
            .outer_iter()
            .enumerate()
            .find(|(_, row)| row.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(
                "trajectory",
                format!("frame {frame} holds NaN or infinite values; only finite data is accepted"),
            ));
        }
        if t.trajectory.dim() != (t.time.len(), t.state_axis.len()) {
            return Err(bad(
                "trajectory",
                format!(
                    "shape {:?} does not match the axes ({} × {})",
                    t.trajectory.dim(),
                    t.time.len(),
                    t.state_axis.len()
                ),
            ));
        }
        Ok(t)
    }
}
