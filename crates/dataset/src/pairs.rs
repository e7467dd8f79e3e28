//! Training pairs: any two pool members make a pair (target Y_i, candidate X_j) whose label
//! L(Y_i, X_j) = mean (Y_j − Y_i)² costs no new simulation, because they share Y0.

use crate::error::{Error, Result};
use crate::format::Pool;
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use proxyland_physics::rng::{Domain, Stream};
use rayon::prelude::*;

/// A minibatch of pairs. Pairs share a few targets (`targets` holds each once), so an encoder
/// needs to embed only those, not one trajectory per pair.
#[derive(Debug, Clone)]
pub struct PairBatch {
    /// t × F × S distinct target trajectories.
    pub targets: Array3<f64>,
    /// For each of the b pairs, its row in `targets`.
    pub target_of: Vec<usize>,
    /// b × d candidate parameters in normalized coordinates u ∈ [0,1]^d.
    pub u: Array2<f64>,
    /// b labels L(Y_i, X_j).
    pub loss: Array1<f64>,
}

/// Draws seeded, shuffled minibatches of pairs from a pool without materializing the K² pairs,
/// with a held-out validation split of targets.
///
/// Experiments with one fixed target (E0) pair that target with every pool member; their
/// validation split is over candidates instead.
#[derive(Debug)]
pub struct PairSampler<'a> {
    pool: &'a Pool,
    fixed_target: bool,
    train_targets: Vec<usize>,
    val_targets: Vec<usize>,
    train_candidates: Vec<usize>,
    val_candidates: Vec<usize>,
    unit: Array2<f64>,
    seed: u64,
    /// Share of each batch's pairs whose candidate is one of its target's nearest neighbours.
    near_share: f64,
    /// Per pool index (or 0 for a fixed target): its nearest training / validation candidates.
    train_near: Vec<Vec<usize>>,
    val_near: Vec<Vec<usize>>,
}

/// Which split a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The pairs the network trains on.
    Train,
    /// Held-out pairs (see [`PairSampler`]) the validation loss is measured on.
    Validation,
}

impl<'a> PairSampler<'a> {
    /// Splits the pool's valid samples; `validation_fraction` of the targets (or, for a fixed
    /// target, of the candidates) is held out.
    pub fn new(pool: &'a Pool, validation_fraction: f64, seed: u64) -> Result<Self> {
        let fixed_target = pool.fixed_target;
        if fixed_target && pool.target_params.nrows() == 0 {
            return Err(Error::Format {
                path: pool.path.clone(),
                field: "targets/params".into(),
                message: "is empty, but this experiment pairs every sample with its one fixed \
                          target: generate the pool with at least 1 target"
                    .into(),
            });
        }
        let mut valid = pool.valid();
        if valid.len() < 2 {
            return Err(Error::Format {
                path: pool.path.clone(),
                field: "status".into(),
                message: format!("{} valid samples; training needs at least 2", valid.len()),
            });
        }
        shuffle(&mut valid, &mut Domain::PairSplit.stream(seed, 0));
        let n_val =
            ((valid.len() as f64 * validation_fraction).round() as usize).clamp(1, valid.len() - 1);
        let (val, train) = valid.split_at(n_val);
        let (train_targets, val_targets, train_candidates, val_candidates) = if fixed_target {
            (vec![0], vec![0], train.to_vec(), val.to_vec())
        } else {
            (train.to_vec(), val.to_vec(), valid.clone(), valid.clone())
        };
        let lo = pool.param_box.row(0);
        let hi = pool.param_box.row(1);
        let mut unit = pool.params.clone();
        for mut row in unit.rows_mut() {
            for j in 0..row.len() {
                row[j] = (row[j] - lo[j]) / (hi[j] - lo[j]);
            }
        }
        Ok(PairSampler {
            pool,
            fixed_target,
            train_targets,
            val_targets,
            train_candidates,
            val_candidates,
            unit,
            seed,
            near_share: 0.0,
            train_near: Vec::new(),
            val_near: Vec::new(),
        })
    }

    /// Draws a share of every batch's candidates from each target's `k` nearest pool neighbours
    /// by trajectory distance (the target itself included): the low-loss region around each
    /// target, which uniform candidates almost never reach for d ≥ 4 (one pair in 10⁴ within
    /// 0.05 of its target). The labels are as free as any other pair's.
    ///
    /// ```no_run
    /// # let pool: proxyland_dataset::Pool = unimplemented!();
    /// use proxyland_dataset::{PairSampler, Split};
    /// let pairs = PairSampler::new(&pool, 0.1, 7)?.with_near_pairs(0.5, 32);
    /// let batch = pairs.batch(Split::Train, 0, 256); // 128 near pairs, 128 uniform
    /// # Ok::<(), proxyland_dataset::Error>(())
    /// ```
    pub fn with_near_pairs(mut self, share: f64, k: usize) -> Self {
        self.near_share = share.clamp(0.0, 1.0);
        if self.near_share == 0.0 {
            return self;
        }
        let k = k.max(1);
        let lists = |targets: &[usize], candidates: &[usize]| -> Vec<Vec<usize>> {
            let queries: Vec<ArrayView2<'_, f64>> =
                targets.iter().map(|&t| self.target(t)).collect();
            let found = nearest_neighbours(&queries, &self.pool.trajectories, candidates, k);
            let mut by_index = vec![Vec::new(); self.pool.trajectories.len_of(Axis(0)).max(1)];
            for (&t, near) in targets.iter().zip(found) {
                by_index[t] = near;
            }
            by_index
        };
        let train_near = lists(&self.train_targets, &self.train_candidates);
        let val_near = lists(&self.val_targets, &self.val_candidates);
        self.train_near = train_near;
        self.val_near = val_near;
        self
    }

    /// The share of near pairs in every batch.
    pub fn near_share(&self) -> f64 {
        self.near_share
    }

    /// The nearest training candidates of pool sample `target` (empty without near pairs).
    pub fn near_candidates(&self, target: usize) -> &[usize] {
        self.train_near.get(target).map_or(&[], Vec::as_slice)
    }

    /// Whether every pair shares one fixed target (E0).
    pub fn fixed_target(&self) -> bool {
        self.fixed_target
    }

    /// The trajectory of target `i` (a pool index, or 0 for the fixed target).
    fn target(&self, i: usize) -> ArrayView2<'_, f64> {
        if self.fixed_target {
            self.pool.target_trajectories.index_axis(Axis(0), 0)
        } else {
            self.pool.trajectories.index_axis(Axis(0), i)
        }
    }

    /// The label L(Y_target, X_candidate) = mean (Y_candidate − Y_target)².
    pub fn label(&self, target: usize, candidate: usize) -> f64 {
        let yt = self.target(target);
        let yc = self.pool.trajectories.index_axis(Axis(0), candidate);
        match (yt.as_slice(), yc.as_slice()) {
            // Pool rows are contiguous: a plain loop over slices vectorizes, where ndarray's
            // strided zip did not (labels were half of an epoch's time).
            (Some(a), Some(b)) => squared_distance(a, b) / a.len() as f64,
            _ => {
                yt.iter()
                    .zip(yc.iter())
                    .map(|(a, b)| (b - a) * (b - a))
                    .sum::<f64>()
                    / yt.len() as f64
            }
        }
    }

    /// `count` pairs of `split` drawn from stream (seed, `draw`): draw 0, 1, 2, ... give
    /// independent batches, and the same draw always gives the same batch. Pairs are spread
    /// over at most `count / 16` distinct targets (at least one).
    pub fn batch(&self, split: Split, draw: u64, count: usize) -> PairBatch {
        self.grouped_batch(split, draw, count, (count / 16).max(1))
    }

    /// As [`PairSampler::batch`], with `distinct` targets shared round-robin by the pairs.
    pub fn grouped_batch(
        &self,
        split: Split,
        draw: u64,
        count: usize,
        distinct: usize,
    ) -> PairBatch {
        let (targets, candidates, near, domain) = match split {
            Split::Train => (
                &self.train_targets,
                &self.train_candidates,
                &self.train_near,
                Domain::TrainingPairs,
            ),
            Split::Validation => (
                &self.val_targets,
                &self.val_candidates,
                &self.val_near,
                Domain::ValidationPairs,
            ),
        };
        let mut stream = domain.stream(self.seed, draw);
        let (f, s) = self.pool.trajectory_shape();
        let d = self.unit.ncols();
        let distinct = distinct.clamp(1, count.max(1));
        let chosen: Vec<usize> = (0..distinct)
            .map(|_| targets[pick(&mut stream, targets.len())])
            .collect();
        let mut batch = PairBatch {
            targets: Array3::zeros((distinct, f, s)),
            target_of: (0..count).map(|b| b % distinct).collect(),
            u: Array2::zeros((count, d)),
            loss: Array1::zeros(count),
        };
        for (row, &t) in chosen.iter().enumerate() {
            batch
                .targets
                .index_axis_mut(Axis(0), row)
                .assign(&self.target(t));
        }
        // The first share of the pairs take a near neighbour of their target, the rest a
        // uniform candidate (targets are shared round-robin, so near pairs spread evenly).
        let n_near = if near.is_empty() {
            0
        } else {
            (self.near_share * count as f64).round() as usize
        };
        let picked: Vec<usize> = (0..count)
            .map(|b| match near.get(chosen[b % distinct]) {
                Some(list) if b < n_near && !list.is_empty() => list[pick(&mut stream, list.len())],
                _ => candidates[pick(&mut stream, candidates.len())],
            })
            .collect();
        for (b, &c) in picked.iter().enumerate() {
            batch.u.row_mut(b).assign(&self.unit.row(c));
        }
        // Labels are independent of one another, so computing them in parallel changes nothing
        // but the time (the draws above stay sequential).
        let labels: Vec<f64> = picked
            .par_iter()
            .enumerate()
            .map(|(b, &c)| self.label(chosen[b % distinct], c))
            .collect();
        batch.loss = Array1::from(labels);
        batch
    }

    /// Number of (train, validation) targets.
    pub fn split_sizes(&self) -> (usize, usize) {
        if self.fixed_target {
            (self.train_candidates.len(), self.val_candidates.len())
        } else {
            (self.train_targets.len(), self.val_targets.len())
        }
    }
}

/// For each query trajectory, the `k` candidates (pool indices) nearest by squared distance,
/// nearest first. Distances come from ‖q‖² + ‖c‖² − 2 q·c with the dot products as blocked
/// matrix products (the pool's K² distances are the cost; a naive loop took minutes at paper
/// sizes), in parallel over blocks of queries.
fn nearest_neighbours(
    queries: &[ArrayView2<'_, f64>],
    trajectories: &ndarray::Array3<f64>,
    candidates: &[usize],
    k: usize,
) -> Vec<Vec<usize>> {
    let flat = |v: ArrayView2<'_, f64>| v.iter().copied().collect::<Vec<f64>>();
    let dim = trajectories.len_of(Axis(1)) * trajectories.len_of(Axis(2));
    let mut c = Array2::<f64>::zeros((candidates.len(), dim));
    for (row, &i) in candidates.iter().enumerate() {
        c.row_mut(row)
            .assign(&Array1::from(flat(trajectories.index_axis(Axis(0), i))));
    }
    let c_norms: Vec<f64> = c.rows().into_iter().map(|r| r.dot(&r)).collect();
    let k = k.min(candidates.len());
    const BLOCK: usize = 128;
    queries
        .par_chunks(BLOCK)
        .flat_map_iter(|block| {
            let mut q = Array2::<f64>::zeros((block.len(), dim));
            for (row, v) in block.iter().enumerate() {
                q.row_mut(row).assign(&Array1::from(flat(*v)));
            }
            let dots = q.dot(&c.t());
            let q_norms: Vec<f64> = q.rows().into_iter().map(|r| r.dot(&r)).collect();
            (0..block.len())
                .map(|row| {
                    let mut scored: Vec<(f64, usize)> = (0..candidates.len())
                        .map(|j| (q_norms[row] + c_norms[j] - 2.0 * dots[[row, j]], j))
                        .collect();
                    if k < scored.len() {
                        scored.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0));
                        scored.truncate(k);
                    }
                    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
                    scored.into_iter().map(|(_, j)| candidates[j]).collect()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn pick(stream: &mut Stream, n: usize) -> usize {
    ((stream.uniform() * n as f64) as usize).min(n - 1)
}

fn shuffle(v: &mut [usize], stream: &mut Stream) {
    for i in (1..v.len()).rev() {
        let j = pick(stream, i + 1);
        v.swap(i, j);
    }
}

/// Σ (a_i − b_i)², in four independent accumulators so the loop vectorizes.
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (y - x) * (y - x))
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            let d = y[k] - x[k];
            acc[k] += d * d;
        }
    }
    acc.iter().sum::<f64>() + tail
}
