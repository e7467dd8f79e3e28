//! Observations a user brings: CSV, NumPy `.npy` and HDF5 files holding one trajectory
//! (frames × state) or many (K × frames × state), checked against the experiment's shape.
//!
//! - CSV: one row per frame. Fields are separated by `,`, `;`, tabs or runs of spaces: as the
//!   caller says, or detected from the first lines (the separator that splits them into the same
//!   number of fields, preferring one that gives numbers, then a count that fits the
//!   experiment). A leading UTF-8 byte-order mark is dropped; blank lines and lines starting
//!   with `#` are skipped. The first line is a header of names, and skipped, only when none of
//!   its fields is a number. A first column equal to the frame times is dropped, so the CSV that
//!   `proxyland simulate` writes reads back as it is, its `# experiment: NAME` comment included.
//! - `.npy`: little-endian float64 or float32, C order, 2-D (one observation) or 3-D (many).
//! - HDF5: a dataset named by the caller, or `/trajectory` (the layout `proxyland simulate`
//!   writes; its `/params`, the truth, is read when present and only used to report success).
//!   An `experiment` text attribute, of the dataset or of the file, says which experiment the
//!   data belongs to.
//!
//! Every error names the file and says what was found and what was expected; a CSV error also
//! names the line (counted from 1, blank lines, comments and the header included) and column.

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
    /// The experiment the file says the data belongs to, when it says: an HDF5 file's
    /// `experiment` attribute (of the dataset read, else of the file, where `proxyland simulate`
    /// writes it), or a CSV comment line `# experiment: NAME` (what `proxyland simulate` writes).
    /// `.npy` files carry none.
    pub experiment: Option<String>,
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
///
/// - `dataset` names the HDF5 dataset to read (HDF5 files only; default `/trajectory`).
/// - `delimiter` is the CSV field separator (CSV files only); `' '` means runs of spaces and
///   tabs. Without it the separator is detected among `,`, `;`, tab and spaces, and a file
///   none of them splits consistently is refused with an error that says to give it.
///
/// ```no_run
/// use proxyland_dataset::read_observations;
/// use std::path::Path;
/// let obs = read_observations(Path::new("obs.npy"), None, None, (41, 128), &[])?;
/// println!("{} observations", obs.len());
/// // A semicolon-separated CSV, whatever its first lines look like.
/// let obs = read_observations(Path::new("obs.csv"), None, Some(';'), (41, 128), &[])?;
/// if let Some(name) = &obs.experiment {
///     println!("the file says it holds {name} data");
/// }
/// # Ok::<(), proxyland_dataset::Error>(())
/// ```
pub fn read_observations(
    path: &Path,
    dataset: Option<&str>,
    delimiter: Option<char>,
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
    if let Some(c) = delimiter {
        if ext != "csv" {
            return Err(bad(
                path,
                "(delimiter)",
                "a delimiter applies to CSV files only".into(),
            ));
        }
        // Part of a number, a comment or a line end cannot separate fields.
        if c.is_alphanumeric() || matches!(c, '.' | '+' | '-' | '#' | '"' | '\n' | '\r') {
            return Err(bad(
                path,
                "(delimiter)",
                format!(
                    "{c:?} cannot separate fields (it can be part of a number, a comment or a \
                     line end); expected a character such as ',', ';', '\\t' or ' '"
                ),
            ));
        }
    }
    let (trajectories, truth, experiment) = match ext.as_str() {
        "csv" => {
            let (trajectories, experiment) = read_csv(path, delimiter, shape, frame_times)?;
            (trajectories, None, experiment)
        }
        "npy" => (read_npy(path)?, None, None),
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
        experiment,
    })
}

/// How the fields of a CSV line are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    /// One character: `,`, `;`, a tab, or whatever the caller gives.
    Char(char),
    /// Runs of spaces and tabs (what `np.savetxt` writes by default).
    Whitespace,
}

/// The separators detection tries, in order of preference on a tie.
const SEPARATORS: [Separator; 4] = [
    Separator::Char(','),
    Separator::Char(';'),
    Separator::Char('\t'),
    Separator::Whitespace,
];

/// How many data lines (after a header, if any) detection looks at.
const DETECTION_LINES: usize = 5;

impl Separator {
    /// The separator a caller gives: a space stands for runs of spaces and tabs.
    fn given(c: char) -> Self {
        if c == ' ' {
            Separator::Whitespace
        } else {
            Separator::Char(c)
        }
    }

    /// The fields of a (trimmed) line, each trimmed.
    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Separator::Char(c) => line.split(c).map(str::trim).collect(),
            Separator::Whitespace => line.split_whitespace().collect(),
        }
    }
}

impl std::fmt::Display for Separator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Separator::Char('\t') => f.write_str("tabs"),
            Separator::Char(c) => write!(f, "'{c}'"),
            Separator::Whitespace => f.write_str("spaces"),
        }
    }
}

fn is_number(field: &str) -> bool {
    field.parse::<f64>().is_ok()
}

/// A line is a header of names only when none of its fields is a number.
fn is_header(fields: &[&str]) -> bool {
    !fields.iter().any(|f| is_number(f))
}

/// What splitting the first lines of a CSV with one separator gives.
struct Trial {
    separator: Separator,
    /// The number of fields per line, or why the lines tried do not agree on one.
    fields: std::result::Result<usize, String>,
    /// Whether every field of the data lines tried is a number.
    numbers: bool,
}

/// Splits the first lines (`lines` is not empty) with `separator`.
fn try_separator(separator: Separator, lines: &[(usize, &str)], state: usize) -> Trial {
    let split: Vec<(usize, Vec<&str>)> = lines
        .iter()
        .take(DETECTION_LINES + 1)
        .map(|&(number, line)| (number, separator.split(line)))
        .collect();
    let header = is_header(&split[0].1);
    let numbers = split[usize::from(header)..]
        .iter()
        .all(|(_, fields)| fields.iter().all(|f| is_number(f)));
    let (first_line, count) = (split[0].0, split[0].1.len());
    let fields = match split.iter().find(|(_, fields)| fields.len() != count) {
        Some((number, fields)) => Err(format!(
            "line {number} splits into {} field(s), line {first_line} into {count}",
            fields.len()
        )),
        None if count == 1 && state != 1 => Err("one field per line".into()),
        None => Ok(count),
    };
    Trial {
        separator,
        fields,
        numbers,
    }
}

/// The separator that splits the first lines into the same number of fields; among several,
/// the one that gives numbers, then the one whose count fits `state` (with or without a time
/// column), then one that gives more than one field, then the first in [`SEPARATORS`].
fn detect_separator(path: &Path, lines: &[(usize, &str)], state: usize) -> Result<Separator> {
    let trials: Vec<Trial> = SEPARATORS
        .iter()
        .map(|&s| try_separator(s, lines, state))
        .collect();
    let best = trials
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.fields.as_ref().ok().map(|&n| (i, t, n)))
        .max_by_key(|&(i, t, n)| {
            (
                t.numbers,
                n == state || n == state + 1,
                n > 1,
                std::cmp::Reverse(i),
            )
        });
    match best {
        // One value per frame written with a decimal comma (`-0,8`) splits on ',' into a
        // "time" and a value: a silent misreading, so it is refused unless the caller says.
        Some((_, t, _))
            if state == 1
                && t.separator == Separator::Char(',')
                && lines.iter().any(|(_, l)| looks_like_decimal_comma(l)) =>
        {
            Err(bad(
                path,
                "(delimiter)",
                "one value per frame, and a line like `-0,8` could be a decimal comma or a \
                 time and a value: give the separator with --delimiter"
                    .to_string(),
            ))
        }
        Some((_, t, _)) => Ok(t.separator),
        None => {
            let tried: Vec<String> = trials
                .iter()
                .map(|t| match &t.fields {
                    Err(why) => format!("with {}, {why}", t.separator),
                    Ok(n) => format!("with {}, {n} field(s)", t.separator),
                })
                .collect();
            Err(bad(
                path,
                "(delimiter)",
                format!(
                    "cannot tell how the fields are separated: no separator splits the first \
                     lines into the same number of fields ({}); give the separator with \
                     --delimiter",
                    tried.join("; ")
                ),
            ))
        }
    }
}

/// `-12,5`: digits, one comma, digits, and nothing else.
fn looks_like_decimal_comma(line: &str) -> bool {
    let line = line.trim();
    let line = line.strip_prefix('-').unwrap_or(line);
    match line.split_once(',') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// A CSV cell as shown in an error: at most 40 characters.
fn shorten(cell: &str) -> String {
    const MAX: usize = 40;
    match cell.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &cell[..at]),
        None => cell.to_string(),
    }
}

/// The error for a cell that is not a finite number.
fn not_a_number(line: usize, column: usize, cell: &str, separator: Separator) -> String {
    if cell.is_empty() {
        return format!(
            "line {line}, column {column} is empty; expected a number (fields separated by \
             {separator})"
        );
    }
    if let Ok(v) = cell.parse::<f64>() {
        return format!("line {line}, column {column}: {v}; expected a finite number");
    }
    let hint = if separator != Separator::Char(',')
        && cell.contains(',')
        && cell.replacen(',', ".", 1).parse::<f64>().is_ok()
    {
        "; decimal commas are not read: write 1.5, not 1,5"
    } else if cell.contains([',', ';', '\t', ' ']) {
        "; if the separator is wrong, give it with --delimiter"
    } else {
        ""
    };
    format!(
        "line {line}, column {column}: `{}` is not a number (fields separated by \
         {separator}){hint}",
        shorten(cell)
    )
}

/// The experiment a CSV comment names: `# experiment: NAME` (what `proxyland simulate` writes);
/// `comment` is the text after the `#`. A value with spaces is free text, not a name.
fn experiment_comment(comment: &str) -> Option<String> {
    let (key, value) = comment.split_once(':')?;
    let value = value.trim();
    (key.trim() == "experiment" && !value.is_empty() && !value.contains(char::is_whitespace))
        .then(|| value.to_string())
}

/// A text file's contents, refusing (with the place) what is not UTF-8.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(bad(
            path,
            "(encoding)",
            "UTF-16 text; expected UTF-8 (save it as \"CSV UTF-8\")".into(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + bytes[..valid].iter().filter(|&&b| b == b'\n').count();
        let start = bytes[..valid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        let column = String::from_utf8_lossy(&bytes[start..valid])
            .chars()
            .count()
            + 1;
        bad(
            path,
            "(encoding)",
            format!("line {line}, character {column}: not UTF-8 text; expected UTF-8"),
        )
    })
}

/// Reads a CSV of frames × state (see the module's notes), and the experiment it names.
fn read_csv(
    path: &Path,
    delimiter: Option<char>,
    shape: (usize, usize),
    frame_times: &[f64],
) -> Result<(Array3<f64>, Option<String>)> {
    let content = read_text(path)?;
    // The byte-order mark is on line 1: dropping it changes no line number.
    let text = content.strip_prefix('\u{feff}').unwrap_or(content.as_str());
    let mut experiment = None;
    // (line number from 1, trimmed text) of the lines that are neither blank nor comments.
    let mut lines: Vec<(usize, &str)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if experiment.is_none() {
                experiment = experiment_comment(comment);
            }
            continue;
        }
        lines.push((i + 1, line));
    }
    if lines.is_empty() {
        return Err(bad(
            path,
            "(values)",
            "no rows of numbers (only blank lines and comments)".into(),
        ));
    }
    let separator = match delimiter {
        Some(c) => Separator::given(c),
        None => detect_separator(path, &lines, shape.1)?,
    };
    let header = is_header(&separator.split(lines[0].1));
    let data = &lines[usize::from(header)..];
    let Some(&(first_line, first)) = data.first() else {
        return Err(bad(
            path,
            "(values)",
            format!(
                "line {} is a header of names, and no rows of numbers follow",
                lines[0].0
            ),
        ));
    };
    let width = separator.split(first).len();
    // (line number, values) per frame.
    let mut rows: Vec<(usize, Vec<f64>)> = Vec::with_capacity(data.len());
    for &(number, line) in data {
        let cells = separator.split(line);
        if cells.len() != width {
            return Err(bad(
                path,
                "(values)",
                format!(
                    "line {number} has {} value(s) separated by {separator}; expected {width}, \
                     as on line {first_line}",
                    cells.len()
                ),
            ));
        }
        let values = cells
            .iter()
            .enumerate()
            .map(|(column, cell)| match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(bad(
                    path,
                    "(values)",
                    not_a_number(number, column + 1, cell, separator),
                )),
            })
            .collect::<Result<Vec<f64>>>()?;
        rows.push((number, values));
    }
    // A leading time column (what `proxyland simulate` writes) is recognized by its values.
    // With one column too many, the first must be the frame times: find where it is not.
    let one_extra = width == shape.1 + 1 && rows.len() == frame_times.len();
    let same_time = |v: f64, t: f64| (v - t).abs() <= 1e-9 * t.abs().max(1.0);
    let not_a_time = one_extra
        .then(|| {
            rows.iter()
                .zip(frame_times)
                .enumerate()
                .find(|(_, ((_, r), t))| !same_time(r[0], **t))
        })
        .flatten();
    if let Some((frame, ((number, r), t))) = not_a_time {
        return Err(bad(
            path,
            "(values)",
            format!(
                "line {number}, column 1: {}; rows of {width} values must start with the frame \
                 times (frame {frame} is at t = {t}), then the {} state values",
                r[0], shape.1
            ),
        ));
    }
    // Past that check, one column too many is the time column, dropped.
    let skip = usize::from(one_extra);
    let cols = width - skip;
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|(_, r)| r[skip..].iter().copied())
        .collect();
    let trajectories = Array3::from_shape_vec((1, rows.len(), cols), flat)
        .map_err(|e| bad(path, "(shape)", e.to_string()))?;
    Ok((trajectories, experiment))
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

/// The text attribute `name` of `location`: `Ok(None)` when absent or empty, `Err` (why) when
/// present but not a text scalar.
fn text_attr(location: &hdf5::Location, name: &str) -> std::result::Result<Option<String>, String> {
    use hdf5::types::{FixedAscii, FixedUnicode, VarLenAscii, VarLenUnicode};
    let present = location
        .attr_names()
        .map_err(|e| e.to_string())?
        .iter()
        .any(|n| n == name);
    if !present {
        return Ok(None);
    }
    let attr = location.attr(name).map_err(|e| e.to_string())?;
    // h5py writes variable-length UTF-8; NumPy bytes arrive as fixed-length ASCII.
    let text = attr
        .read_scalar::<VarLenUnicode>()
        .map(|s| s.as_str().to_string())
        .or_else(|_| {
            attr.read_scalar::<VarLenAscii>()
                .map(|s| s.as_str().to_string())
        })
        .or_else(|_| {
            attr.read_scalar::<FixedAscii<256>>()
                .map(|s| s.as_str().to_string())
        })
        .or_else(|_| {
            attr.read_scalar::<FixedUnicode<256>>()
                .map(|s| s.as_str().to_string())
        })
        .map_err(|_| "not a single text value".to_string())?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// The `experiment` attribute of `location` (`place` says which, for the log); one that is
/// not text is reported and ignored, so that the data still reads.
fn experiment_attr(path: &Path, location: &hdf5::Location, place: &str) -> Option<String> {
    match text_attr(location, "experiment") {
        Ok(experiment) => experiment,
        Err(why) => {
            tracing::warn!(
                file = %path.display(),
                "attribute `experiment` of {place} ignored: {why}"
            );
            None
        }
    }
}

/// The observations, the truth where the file carries it, and the experiment it names.
type Hdf5Read = (Array3<f64>, Option<Array2<f64>>, Option<String>);

fn read_hdf5(path: &Path, dataset: Option<&str>) -> Result<Hdf5Read> {
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
    // The dataset's own word first; `proxyland simulate` writes it on the file.
    let experiment = experiment_attr(path, &ds, &format!("/{name}"))
        .or_else(|| experiment_attr(path, &file, "the file"));
    Ok((trajectories, truth, experiment))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate's own writer: what users of `dataset::npy` write is what we read.
    fn npy(dims: &[usize], values: &[f64]) -> Vec<u8> {
        crate::npy::encode(dims, values)
    }

    #[test]
    fn npy_csv_and_time_columns_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f64> = (0..12).map(f64::from).collect();
        let p = dir.path().join("a.npy");
        std::fs::write(&p, npy(&[2, 2, 3], &values)).unwrap();
        let o = read_observations(&p, None, None, (2, 3), &[]).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o.get(1)[[1, 2]], 11.0);
        // A CSV with comments, a header and a time column equal to the frame times.
        let c = dir.path().join("a.csv");
        std::fs::write(&c, "# made by hand\nt,a,b,c\n0.0,1,2,3\n0.5,4,5,6\n").unwrap();
        let o = read_observations(&c, None, None, (2, 3), &[0.0, 0.5]).unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    }

    #[test]
    fn wrong_shapes_nans_and_formats_name_the_file_and_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("short.npy");
        std::fs::write(&p, npy(&[1, 3], &[1.0, 2.0, 3.0])).unwrap();
        let e = read_observations(&p, None, None, (2, 3), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("short.npy") && e.contains("1 × 3") && e.contains("2 × 3"),
            "{e}"
        );
        let p = dir.path().join("nan.npy");
        std::fs::write(&p, npy(&[2, 1], &[1.0, f64::NAN])).unwrap();
        let e = read_observations(&p, None, None, (2, 1), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("nan.npy") && e.contains("frame 1"), "{e}");
        let p = dir.path().join("obs.txt");
        std::fs::write(&p, "1").unwrap();
        let e = read_observations(&p, None, None, (1, 1), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("obs.txt") && e.contains(".csv"), "{e}");
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, "1,2\n3,x\n").unwrap();
        let e = read_observations(&p, None, None, (2, 2), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.csv") && e.contains("line 2"), "{e}");
    }

    /// Writes `text` to `name` in `dir` and reads it as observations of `shape`.
    fn read_csv_text(
        dir: &tempfile::TempDir,
        name: &str,
        text: &str,
        delimiter: Option<char>,
        shape: (usize, usize),
    ) -> Result<Observations> {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        read_observations(&p, None, delimiter, shape, &[])
    }

    #[test]
    fn csv_separators_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let expected = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.5, 6.0]];
        for (name, text) in [
            ("comma.csv", "1,2,3\n4,5.5,6\n"),
            ("semicolon.csv", "1;2;3\n4;5.5;6\n"),
            ("tab.csv", "1\t2\t3\n4\t5.5\t6\n"),
            ("spaces.csv", "1 2  3\n  4 5.5 6\n"),
            ("comma-space.csv", "1, 2, 3\n4, 5.5, 6\n"),
            ("crlf.csv", "1;2;3\r\n4;5.5;6\r\n"),
        ] {
            let o = read_csv_text(&dir, name, text, None, (2, 3))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(o.len(), 1, "{name}");
            assert_eq!(o.get(0), expected, "{name}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let o = read_csv_text(&dir, "bom.csv", "\u{feff}1,2,3\n4,5,6\n", None, (2, 3)).unwrap();
        assert_eq!(o.get(0)[[0, 0]], 1.0);
        assert_eq!(o.get(0).nrows(), 2);
        // Before a header, too.
        let o = read_csv_text(
            &dir,
            "bom-header.csv",
            "\u{feff}a;b;c\n1;2;3\n4;5;6\n",
            None,
            (2, 3),
        )
        .unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        // Line numbers count the line that held the mark.
        let e = read_csv_text(
            &dir,
            "bom-bad.csv",
            "\u{feff}# c\na,b\n1,2\n3,x\n",
            None,
            (2, 2),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("bom-bad.csv") && e.contains("line 4, column 2") && e.contains("`x`"),
            "{e}"
        );
    }

    #[test]
    fn a_header_is_only_a_line_without_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let o = read_csv_text(&dir, "header.csv", "a;b;c\n1;2;3\n4;5;6\n", None, (2, 3)).unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        // A first row of numbers is data, whatever the separator.
        for (name, text) in [
            ("first-row.csv", "0.25;2;3\n4;5;6\n7;8;9\n"),
            ("first-row-tab.csv", "0.25\t2\t3\n4\t5\t6\n7\t8\t9\n"),
        ] {
            let o = read_csv_text(&dir, name, text, None, (3, 3)).unwrap();
            assert_eq!(o.get(0).nrows(), 3, "{name}");
            assert_eq!(o.get(0)[[0, 0]], 0.25, "{name}");
        }
        // A first line mixing names and numbers is data, and says which cell is wrong.
        let e = read_csv_text(&dir, "mixed.csv", "t,1,2\n0,1,2\n", None, (2, 2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1, column 1") && e.contains("`t`"), "{e}");
    }

    #[test]
    fn a_given_delimiter_overrides_detection() {
        let dir = tempfile::tempdir().unwrap();
        // Detected: runs of spaces and tabs, three values a row.
        let text = "1\t2 3\n4\t5 6\n";
        let o = read_csv_text(&dir, "mixed.csv", text, None, (2, 3)).unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        // Given: tabs only, so `2 3` is one cell.
        let e = read_csv_text(&dir, "mixed.csv", text, Some('\t'), (2, 3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1, column 2") && e.contains("`2 3`"), "{e}");
        // A separator detection does not try is refused, then read when given.
        let text = "1|2|3\n4|5|6\n";
        let e = read_csv_text(&dir, "pipes.csv", text, None, (2, 3))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("pipes.csv") && e.contains("--delimiter") && e.contains("';'"),
            "{e}"
        );
        let o = read_csv_text(&dir, "pipes.csv", text, Some('|'), (2, 3)).unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        // A delimiter that could be part of a number, or given for another format, is refused.
        let e = read_csv_text(&dir, "pipes.csv", text, Some('.'), (2, 3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'.'"), "{e}");
        let p = dir.path().join("a.npy");
        std::fs::write(&p, npy(&[1, 1], &[1.0])).unwrap();
        let e = read_observations(&p, None, Some(','), (1, 1), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("CSV files only"), "{e}");
    }

    #[test]
    fn inconsistent_rows_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        // Among the first lines: no separator fits.
        let e = read_csv_text(&dir, "short.csv", "1,2,3\n4,5,6\n7,8\n", None, (3, 3))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("short.csv") && e.contains("line 3") && e.contains("--delimiter"),
            "{e}"
        );
        // Further down: the separator is known, the row is short.
        let mut text = "# comment\na,b,c\n".to_string();
        for i in 0..8 {
            text.push_str(&format!("{i},1,2\n"));
        }
        text.push_str("9,1\n");
        let e = read_csv_text(&dir, "late.csv", &text, None, (9, 3))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("late.csv") && e.contains("line 11") && e.contains("expected 3"),
            "{e}"
        );
        // An empty cell and a non-finite one say where they are.
        let e = read_csv_text(&dir, "empty.csv", "1,2\n3,\n", None, (2, 2))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column 2 is empty"), "{e}");
        let e = read_csv_text(&dir, "inf.csv", "1;2\ninf;4\n", None, (2, 2))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, column 1") && e.contains("finite"),
            "{e}"
        );
    }

    #[test]
    fn a_column_that_is_not_the_frame_times_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("times.csv");
        std::fs::write(&p, "t,a\n0.0,1\n0.7,2\n").unwrap();
        let e = read_observations(&p, None, None, (2, 1), &[0.0, 0.5])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, column 1") && e.contains("t = 0.5"),
            "{e}"
        );
        let o = read_observations(&p, None, None, (2, 1), &[0.0, 0.7]).unwrap();
        assert_eq!(o.get(0), ndarray::array![[1.0], [2.0]]);
    }

    #[test]
    fn the_experiment_a_file_names_is_read() {
        let dir = tempfile::tempdir().unwrap();
        // What `proxyland simulate --out x.h5` writes.
        let p = dir.path().join("sim.h5");
        crate::TrajectoryFile {
            experiment: "burgers".into(),
            param_names: vec!["nu".into()],
            params: vec![0.1],
            time: ndarray::array![0.0, 0.5],
            state_axis: ndarray::array![0.0, 1.0, 2.0],
            trajectory: ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
        }
        .write(&p)
        .unwrap();
        let o = read_observations(&p, None, None, (2, 3), &[0.0, 0.5]).unwrap();
        assert_eq!(o.experiment.as_deref(), Some("burgers"));
        assert_eq!(o.truth, Some(ndarray::array![[0.1]]));
        assert_eq!(o.get(0)[[1, 2]], 6.0);
        // A user's file: the dataset's own attribute, or none.
        let p = dir.path().join("user.h5");
        {
            let file = hdf5::File::create(&p).unwrap();
            let ds = file
                .new_dataset_builder()
                .with_data(&ndarray::array![[1.0, 2.0], [3.0, 4.0]])
                .create("obs")
                .unwrap();
            let ks: hdf5::types::VarLenUnicode = "ks".parse().unwrap();
            ds.new_attr::<hdf5::types::VarLenUnicode>()
                .create("experiment")
                .unwrap()
                .write_scalar(&ks)
                .unwrap();
            file.new_dataset_builder()
                .with_data(&ndarray::array![[1.0, 2.0], [3.0, 4.0]])
                .create("plain")
                .unwrap();
        }
        let o = read_observations(&p, Some("obs"), None, (2, 2), &[]).unwrap();
        assert_eq!(o.experiment.as_deref(), Some("ks"));
        let o = read_observations(&p, Some("plain"), None, (2, 2), &[]).unwrap();
        assert_eq!(o.experiment, None);
        // A CSV: the comment `proxyland simulate` writes; free text is not a name.
        let o = read_csv_text(
            &dir,
            "sim.csv",
            "# experiment: burgers\n# proxyland 0.1\n1,2\n",
            None,
            (1, 2),
        )
        .unwrap();
        assert_eq!(o.experiment.as_deref(), Some("burgers"));
        let lab = "# experiment: run 3 at the lab\n1,2\n";
        let o = read_csv_text(&dir, "lab.csv", lab, None, (1, 2)).unwrap();
        assert_eq!(o.experiment, None);
        // `.npy` says nothing.
        let p = dir.path().join("a.npy");
        std::fs::write(&p, npy(&[1, 2], &[1.0, 2.0])).unwrap();
        let o = read_observations(&p, None, None, (1, 2), &[]).unwrap();
        assert_eq!(o.experiment, None);
    }
}
