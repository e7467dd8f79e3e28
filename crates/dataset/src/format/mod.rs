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
//!
//! The code is split by concept: `read.rs` opens and checks a file (`Pool`, the header),
//! `create.rs` lays out a new one, `write.rs` writes batches of samples into it (`Storage`,
//! `RowWriter`, the pre-compressed chunks).

mod create;
mod read;
mod write;

#[cfg(test)]
pub(crate) use create::LATE_ALLOCATION;
pub(crate) use create::{NewPool, create};
pub use read::Pool;
pub(crate) use read::{open_file, open_file_rw, read_header, read_status};
pub use write::Storage;
pub(crate) use write::{Batch, RowWriter, consecutive_runs, encode_chunk, write_batch};

use crate::error::Error;
use std::path::Path;

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
    /// Which scheme of random streams drew its samples and targets
    /// (`proxyland_physics::rng::STREAMS_VERSION`; files from before the attribute read 1).
    pub streams: u32,
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
        // Only a pool drawn under later streams hashes its version: an older pool keeps the
        // fingerprint its checkpoints recorded.
        if self.streams != 1 {
            eat(&u64::from(self.streams).to_le_bytes());
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
            && self.streams == other.streams
            && self.samples_total == other.samples_total
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
