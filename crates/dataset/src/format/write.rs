//! Writing samples into a pool file: its [`Storage`], the workers' [`RowWriter`] and
//! pre-compressed chunks, and [`write_batch`].

use super::{h5, status};
use crate::error::{Error, Result};
use ndarray::s;
use std::path::{Path, PathBuf};

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

/// Deflate level of the trajectory chunks.
pub(super) const DEFLATE_LEVEL: u8 = 4;

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

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5::dataset::{AllocTime, FillTime};
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
