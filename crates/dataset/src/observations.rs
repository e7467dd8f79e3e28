//! Observations a user brings: CSV, NumPy `.npy` and HDF5 files holding one trajectory
//! (frames × state) or many (K × frames × state), checked against the experiment's shape.
//!
//! - CSV: one row per frame, comma-separated; lines starting with `#` and one header line of
//!   names are skipped. A first column equal to the frame times is dropped, so the CSV that
//!   `proxyland simulate` writes reads back as it is.
//! - `.npy`: little-endian float64 or float32, C order, 2-D (one observation) or 3-D (many).
//! - HDF5: a dataset named by the caller, or `/trajectory` (the layout `proxyland simulate`
//!   writes; its `/params`, the truth, is read when present and only used to report success).
//!
//! Every error names the file and says what was found and what was expected.

use crate::error::{Error, Result};
use ndarray::{Array2, Array3, Axis};
use std::path::{Path, PathBuf};

/// Observations read from a file.
#[derive(Debug, Clone)]
pub struct Observations {
    /// The file.
    pub path: PathBuf,
    /// K × frames × state.
    pub trajectories: Array3<f64>,
    /// K × d true parameters, when the file carries them (synthetic data).
    pub truth: Option<Array2<f64>>,
}

impl Observations {
    /// Number of observations K.
    pub fn len(&self) -> usize {
        self.trajectories.len_of(Axis(0))
    }

    /// Whether there are none (never true for a file read successfully).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Observation k as a frames × state array.
    pub fn get(&self, k: usize) -> Array2<f64> {
        self.trajectories.index_axis(Axis(0), k).to_owned()
    }
}

fn bad(path: &Path, field: &str, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        field: field.to_string(),
        message,
    }
}

/// Reads observations from `path` (format by extension: `.csv`, `.npy`, `.h5`/`.hdf5`) and checks
/// them against `shape` = (frames, state) and `frame_times` (to recognize a time column).
/// `dataset` names the HDF5 dataset to read.
///
/// ```no_run
/// use proxyland_dataset::read_observations;
/// let obs = read_observations(std::path::Path::new("obs.npy"), None, (41, 128), &[])?;
/// println!("{} observations", obs.len());
/// # Ok::<(), proxyland_dataset::Error>(())
/// ```
pub fn read_observations(
    path: &Path,
    dataset: Option<&str>,
    shape: (usize, usize),
    frame_times: &[f64],
) -> Result<Observations> {
    if !path.exists() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            message: "no such file".into(),
        });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if dataset.is_some() && !matches!(ext.as_str(), "h5" | "hdf5") {
        return Err(bad(
            path,
            "(dataset)",
            "a dataset name applies to HDF5 files only".into(),
        ));
    }
    let (trajectories, truth) = match ext.as_str() {
        "csv" => (read_csv(path, shape, frame_times)?, None),
        "npy" => (read_npy(path)?, None),
        "h5" | "hdf5" => read_hdf5(path, dataset)?,
        other => {
            return Err(bad(
                path,
                "(extension)",
                format!("`.{other}`: expected .csv, .npy, .h5 or .hdf5"),
            ));
        }
    };
    let (_, f, s) = trajectories.dim();
    if (f, s) != shape {
        return Err(bad(
            path,
            "(shape)",
            format!(
                "holds {} observation(s) of {f} × {s}; the experiment's trajectories are {} × {} \
                 (frames × state)",
                trajectories.len_of(Axis(0)),
                shape.0,
                shape.1
            ),
        ));
    }
    if trajectories.len_of(Axis(0)) == 0 {
        return Err(bad(path, "(shape)", "holds no observation".into()));
    }
    for (k, y) in trajectories.outer_iter().enumerate() {
        if let Some((frame, _)) = y
            .outer_iter()
            .enumerate()
            .find(|(_, row)| row.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(
                path,
                "(values)",
                format!("observation {k}, frame {frame} holds NaN or infinite values"),
            ));
        }
    }
    Ok(Observations {
        path: path.to_path_buf(),
        trajectories,
        truth,
    })
}

fn read_csv(path: &Path, shape: (usize, usize), frame_times: &[f64]) -> Result<Array3<f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut header_seen = false;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: std::result::Result<Vec<f64>, _> = cells.iter().map(|c| c.parse()).collect();
        match parsed {
            Ok(values) => rows.push(values),
            // One header line of names, before any numbers.
            Err(_) if rows.is_empty() && !header_seen => header_seen = true,
            Err(_) => {
                let cell = cells
                    .iter()
                    .find(|c| c.parse::<f64>().is_err())
                    .unwrap_or(&"");
                return Err(bad(
                    path,
                    "(values)",
                    format!("line {}: `{cell}` is not a number", number + 1),
                ));
            }
        }
    }
    let Some(width) = rows.first().map(Vec::len) else {
        return Err(bad(path, "(values)", "no rows of numbers".into()));
    };
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != width) {
        return Err(bad(
            path,
            "(shape)",
            format!(
                "row {} has {} values, the first row {width}",
                i + 1,
                r.len()
            ),
        ));
    }
    // A leading time column (what `proxyland simulate` writes) is recognized by its values.
    let time_column = width == shape.1 + 1
        && rows.len() == frame_times.len()
        && rows
            .iter()
            .zip(frame_times)
            .all(|(r, t)| (r[0] - t).abs() <= 1e-9 * t.abs().max(1.0));
    let skip = usize::from(time_column);
    let cols = width - skip;
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| r[skip..].iter().copied())
        .collect();
    Array3::from_shape_vec((1, rows.len(), cols), flat)
        .map_err(|e| bad(path, "(shape)", e.to_string()))
}

/// Parses a `.npy` file: magic, version, header dict, then the raw little-endian data.
fn read_npy(path: &Path) -> Result<Array3<f64>> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    let malformed = |what: &str| bad(path, "(npy)", format!("not a valid .npy file: {what}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(malformed("no NumPy magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(malformed(&format!("format version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| malformed("truncated header"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\''))
        .and_then(|r| r.split('\'').next())
        .ok_or_else(|| malformed("no descr"))?;
    let fortran = field("fortran_order").is_some_and(|r| r.starts_with("True"));
    if fortran {
        return Err(bad(
            path,
            "(npy)",
            "Fortran-ordered arrays are not read; save with np.ascontiguousarray(a)".into(),
        ));
    }
    let dims: Vec<usize> = field("shape")
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split(')').next())
        .map(|inner| {
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<usize>())
                .collect::<std::result::Result<Vec<_>, _>>()
        })
        .transpose()
        .ok()
        .flatten()
        .ok_or_else(|| malformed("unreadable shape"))?;
    let data = &bytes[start + header_len..];
    let count: usize = dims.iter().product();
    let values: Vec<f64> = match descr {
        "<f8" | "=f8" | "|f8" => data
            .chunks_exact(8)
            .take(count)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        "<f4" | "=f4" | "|f4" => data
            .chunks_exact(4)
            .take(count)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect(),
        other => {
            return Err(bad(
                path,
                "(npy)",
                format!("dtype `{other}`: expected little-endian float64 (<f8) or float32 (<f4)"),
            ));
        }
    };
    if values.len() != count {
        return Err(malformed(&format!(
            "{} values for shape {dims:?}",
            values.len()
        )));
    }
    let shape3 = match dims.as_slice() {
        [f, s] => (1, *f, *s),
        [k, f, s] => (*k, *f, *s),
        other => {
            return Err(bad(
                path,
                "(shape)",
                format!(
                    "a {}-D array {other:?}: expected 2-D (frames × state) or 3-D (observations × frames × state)",
                    other.len()
                ),
            ));
        }
    };
    Array3::from_shape_vec(shape3, values).map_err(|e| bad(path, "(shape)", e.to_string()))
}

fn read_hdf5(path: &Path, dataset: Option<&str>) -> Result<(Array3<f64>, Option<Array2<f64>>)> {
    let file = crate::format::open_file(path)?;
    let name = match dataset {
        Some(n) => n.trim_start_matches('/').to_string(),
        None if file.dataset("trajectory").is_ok() => "trajectory".to_string(),
        None => {
            let names = file.member_names().unwrap_or_default();
            return Err(bad(
                path,
                "(dataset)",
                format!(
                    "no /trajectory dataset; say which dataset holds the observations (found: {})",
                    names.join(", ")
                ),
            ));
        }
    };
    let ds = file
        .dataset(&name)
        .map_err(|_| bad(path, &name, "no such dataset".into()))?;
    let dims = ds.shape();
    let values: Vec<f64> = ds
        .read_raw::<f64>()
        .map_err(|e| bad(path, &name, format!("not readable as numbers: {e}")))?;
    let shape3 = match dims.as_slice() {
        [f, s] => (1, *f, *s),
        [k, f, s] => (*k, *f, *s),
        other => {
            return Err(bad(
                path,
                &name,
                format!("a {}-D dataset {other:?}: expected 2-D or 3-D", other.len()),
            ));
        }
    };
    let trajectories =
        Array3::from_shape_vec(shape3, values).map_err(|e| bad(path, &name, e.to_string()))?;
    // Our trajectory files carry the truth; a user's file need not.
    let truth = (name == "trajectory")
        .then(|| file.dataset("params").and_then(|d| d.read_1d::<f64>()).ok())
        .flatten()
        .and_then(|p| {
            let d = p.len();
            Array2::from_shape_vec((1, d), p.to_vec()).ok()
        });
    Ok((trajectories, truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(dims: &[usize], values: &[f64]) -> Vec<u8> {
        let shape = match dims {
            [a] => format!("({a},)"),
            _ => format!(
                "({})",
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        for v in values {
            out.extend(v.to_le_bytes());
        }
        out
    }

    #[test]
    fn npy_csv_and_time_columns_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f64> = (0..12).map(f64::from).collect();
        let p = dir.path().join("a.npy");
        std::fs::write(&p, npy(&[2, 2, 3], &values)).unwrap();
        let o = read_observations(&p, None, (2, 3), &[]).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o.get(1)[[1, 2]], 11.0);
        // A CSV with comments, a header and a time column equal to the frame times.
        let c = dir.path().join("a.csv");
        std::fs::write(&c, "# made by hand\nt,a,b,c\n0.0,1,2,3\n0.5,4,5,6\n").unwrap();
        let o = read_observations(&c, None, (2, 3), &[0.0, 0.5]).unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    }

    #[test]
    fn wrong_shapes_nans_and_formats_name_the_file_and_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("short.npy");
        std::fs::write(&p, npy(&[1, 3], &[1.0, 2.0, 3.0])).unwrap();
        let e = read_observations(&p, None, (2, 3), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("short.npy") && e.contains("1 × 3") && e.contains("2 × 3"),
            "{e}"
        );
        let p = dir.path().join("nan.npy");
        std::fs::write(&p, npy(&[2, 1], &[1.0, f64::NAN])).unwrap();
        let e = read_observations(&p, None, (2, 1), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("nan.npy") && e.contains("frame 1"), "{e}");
        let p = dir.path().join("obs.txt");
        std::fs::write(&p, "1").unwrap();
        let e = read_observations(&p, None, (1, 1), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("obs.txt") && e.contains(".csv"), "{e}");
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, "1,2\n3,x\n").unwrap();
        let e = read_observations(&p, None, (2, 2), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.csv") && e.contains("line 2"), "{e}");
    }
}
