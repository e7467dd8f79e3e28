//! Seeded random streams: one independent stream per (seed, index), so that what sample i gets
//! never depends on which thread drew it or on how many samples came before.

/// xoshiro256++ seeded through SplitMix64 from (seed, index).
#[derive(Debug, Clone)]
pub struct Stream {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Who draws from a stream. Every random draw in proxyland comes from `Domain::stream(seed,
/// index)`, so that two consumers never share a stream, whatever seeds the user gives them: the
/// domain sits in the top 8 bits of the stream's index and the item in the low 56 (folded there
/// when it is wider, as content keys are), and `Stream`'s index mixing is a bijection. Before
/// this enum, streams were chosen by hand (`u64::MAX − 3`, `seed ^ const`, `1 + i`) and some
/// coincided: training pair draw k used pool sample k's stream whenever the training seed
/// equalled the pool seed.
///
/// ```
/// use proxyland_physics::rng::Domain;
/// let mut a = Domain::PoolSample.stream(7, 3);
/// let mut b = Domain::TrainingPairs.stream(7, 3);
/// assert_ne!(a.next_u64(), b.next_u64()); // same seed and index, different consumers
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Domain {
    /// X of pool sample `index` (`generate`). Domain 0: the streams pools have always used.
    PoolSample = 0,
    /// The seeds of a pool's test (index 0) and validation (index 1) targets' streams.
    TargetSeeds = 1,
    /// X of target `index`, seeded by a seed from [`Domain::TargetSeeds`].
    Target = 2,
    /// The split of a pool's valid samples into training and validation pairs (index 0).
    PairSplit = 3,
    /// Training pairs, draw `index`.
    TrainingPairs = 4,
    /// Validation pairs, draw `index`.
    ValidationPairs = 5,
    /// The starts of a network's own argmin on validation target `index` during training.
    ArgminStarts = 6,
    /// libtorch's generator for a proxy: initialization (index 0) and the noise of epoch e
    /// (index e + 1).
    Torch = 7,
    /// libtorch's generator for an inverse network: initialization and the supervised stage's
    /// shuffles (index 0), the physics stage's shuffle (index 1).
    InverseTorch = 8,
    /// The start u0 of test target `index`, shared by every single-start method (`evaluate`).
    TestStart = 9,
    /// The start u0 of validation target `index`.
    ValidationStart = 10,
    /// A method's own draws on target `index`; the method and split are mixed into the seed.
    MethodDraws = 11,
    /// The probes of target `index` in the limits study.
    LimitProbes = 12,
    /// `solve`: the start of an observation (index: the observation's content key).
    ObservationStart = 13,
    /// `solve`: a method's draws for an observation (index: its content key).
    ObservationDraws = 14,
    /// Tests, benchmarks and examples.
    Scratch = 15,
}

/// Which scheme of streams made a file: recorded in pools and checkpoints, so that a resume
/// never continues under other streams than it began with. 1: streams picked by hand (before
/// [`Domain`]); 2: [`Domain`].
pub const STREAMS_VERSION: u32 = 2;

impl Domain {
    /// Every domain, in the order of their tags (the tag is the discriminant: fixed, so that
    /// adding a domain never moves another's streams).
    pub const ALL: [Domain; 16] = [
        Domain::PoolSample,
        Domain::TargetSeeds,
        Domain::Target,
        Domain::PairSplit,
        Domain::TrainingPairs,
        Domain::ValidationPairs,
        Domain::ArgminStarts,
        Domain::Torch,
        Domain::InverseTorch,
        Domain::TestStart,
        Domain::ValidationStart,
        Domain::MethodDraws,
        Domain::LimitProbes,
        Domain::ObservationStart,
        Domain::ObservationDraws,
        Domain::Scratch,
    ];

    /// Items per domain: indices at or above this are folded into it.
    pub const ITEMS: u64 = 1 << 56;

    /// The stream of item `index` of this domain under `seed`.
    pub fn stream(self, seed: u64, index: u64) -> Stream {
        Stream::new(seed, self.stream_index(index))
    }

    /// A 63-bit seed for libtorch's generator (`tch::manual_seed` takes an `i64`), drawn from
    /// this domain's stream `(seed, index)`. libtorch's CPU generator keeps only its low 32
    /// bits, so two uses may share a generator state by chance (about n²/2³³ for n seeds), never
    /// by construction.
    pub fn torch_seed(self, seed: u64, index: u64) -> i64 {
        (self.stream(seed, index).next_u64() >> 1) as i64
    }

    /// Where item `index` sits among all streams of a seed: the tag in the top 8 bits.
    fn stream_index(self, index: u64) -> u64 {
        let tag = self as u64;
        let item = (index ^ (index >> 56).wrapping_mul(0x9E37_79B9)) % Domain::ITEMS;
        (tag << 56) | item
    }
}

impl Stream {
    /// The stream for item `index` of the run seeded with `seed`. Outside this module, draw
    /// through a [`Domain`], which keeps consumers apart.
    fn new(seed: u64, index: u64) -> Self {
        // Mix the pair through two rounds so that (seed, index) and (seed + 1, index − 1) differ.
        let mut state = seed;
        let a = splitmix64(&mut state);
        let mut state = a ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        Stream { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller; the second value is discarded for simplicity).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_draws_have_the_moments_of_u01() {
        let mut s = Stream::new(42, 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| s.uniform()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "var {var}");
    }

    #[test]
    fn normal_draws_have_unit_variance() {
        let mut s = Stream::new(1, 2);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| s.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
    }

    #[test]
    fn no_two_domains_share_a_stream_for_the_first_million_items() {
        // A stream's first state word is SplitMix64's bijective output on the seeding state,
        // so distinct first words mean distinct streams (and equal streams, equal words).
        let n = 1_000_000u64;
        for seed in [0u64, 1, 7] {
            let mut states: Vec<u64> = Domain::ALL
                .iter()
                .flat_map(|d| (0..n).map(move |i| d.stream(seed, i).s[0]))
                .collect();
            let total = states.len();
            states.sort_unstable();
            states.dedup();
            assert_eq!(
                states.len(),
                total,
                "seed {seed}: two (domain, item) share a stream"
            );
        }
    }

    #[test]
    fn all_lists_every_tag_once_in_order() {
        for (i, d) in Domain::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i, "{d:?}");
        }
    }

    #[test]
    fn the_pool_domain_keeps_the_streams_pools_were_drawn_from() {
        // Domain 0 with an item below 2^56 is the bare (seed, index) stream, so pools generated
        // before domains existed are reproduced sample for sample.
        let mut a = Domain::PoolSample.stream(1, 4095);
        let mut b = Stream::new(1, 4095);
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn wide_items_are_folded_into_their_domain() {
        let wide = u64::MAX - 5;
        let i = Domain::ObservationStart.stream_index(wide);
        assert_eq!(
            i >> 56,
            Domain::ObservationStart.stream_index(0) >> 56,
            "stays in its own domain's range"
        );
        assert_ne!(i, Domain::ObservationStart.stream_index(wide - 1));
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, index| {
            let mut s = Stream::new(seed, index);
            (0..4).map(|_| s.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 3), draw(7, 3));
        assert_ne!(draw(7, 3), draw(7, 4));
        assert_ne!(draw(7, 3), draw(8, 3));
        assert_ne!(draw(8, 2), draw(7, 3));
    }
}
