//! Creating a pool file: every dataset laid out, all samples pending.

use super::write::{DEFLATE_LEVEL, Storage};
use super::{PoolHeader, h5};
use crate::error::{Error, Result};
use hdf5::dataset::{AllocTime, FillTime};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, Array3};
use std::path::Path;

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
        ("streams", u64::from(h.streams)),
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
