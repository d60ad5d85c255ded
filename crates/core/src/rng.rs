//! The workspace's one deterministic random number generator: SplitMix64 and xoshiro256** (seeded through
//! SplitMix64), with the distributions the generator draws from.
//!
//! Generated provinces must be byte-identical for a seed on every platform and in every version, and the
//! boosted trees' subsampling must not change between releases, so the streams are written here rather than
//! taken from a crate whose streams may change; the tests hold them to `rand_xoshiro`'s streams. The
//! generator derives streams from `(seed, stream tag, index)`, so an entity's draws do not depend on how
//! many draws other entities made.

/// SplitMix64: a tiny generator with a 64-bit state, used to seed xoshiro and for subsampling.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), with 53 bits of precision.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        unit(self.next_u64())
    }
}

/// The top 53 bits of `bits` as a number in [0, 1).
#[inline]
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Mixes a 64-bit value into a well-distributed hash (the SplitMix64 finaliser), for deterministic
/// choices that need no stream, such as a per-combination offset.
pub fn mix64(value: u64) -> u64 {
    SplitMix64::new(value).next_u64()
}

/// xoshiro256**: fast, small state, good statistical quality for simulation.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose state is expanded from `seed` with SplitMix64.
    pub fn new(seed: u64) -> Rng {
        let mut sm = SplitMix64::new(seed);
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = sm.next_u64();
        }
        // xoshiro must not start from the all-zero state; SplitMix64 never yields four zeros, but be explicit.
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    /// An independent stream for entity `index` of kind `stream` under the run's `seed`.
    pub fn derive(seed: u64, stream: u64, index: u64) -> Rng {
        let a = mix64(seed ^ mix64(stream.wrapping_mul(0xA076_1D64_78BD_642F)));
        Rng::new(a ^ mix64(index.wrapping_add(0xE703_7ED1_A0B4_28DB)))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), with 53 bits of precision.
    pub fn uniform(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in [0, n); `n` must be positive (0 yields 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift with rejection: unbiased and branch-light.
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// Uniform integer in [lo, hi] (inclusive); returns `lo` when `hi < lo`.
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A uniformly chosen index into a collection of `len` items (`len` > 0).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// A standard normal draw (Box–Muller; one of the pair is used, which keeps the state a plain PRNG).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A normal draw with the given mean and standard deviation.
    pub fn gauss(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.normal()
    }

    /// A lognormal draw: `exp(N(mu, sigma))`.
    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    /// An exponential draw with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }

    /// A Poisson draw. Knuth's product method for small means, a rounded normal above 30 where the
    /// generator only needs the right mean and spread.
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 || !mean.is_finite() {
            return 0;
        }
        if mean > 30.0 {
            return self.gauss(mean, mean.sqrt()).round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut k = 0u64;
        let mut product = self.uniform();
        while product > limit {
            k += 1;
            product *= self.uniform();
        }
        k
    }

    /// An index drawn with probability proportional to `weights` (non-negative; all zero picks uniformly).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().copied().filter(|w| *w > 0.0).sum();
        if weights.is_empty() {
            return 0;
        }
        if total <= 0.0 || !total.is_finite() {
            return self.index(weights.len());
        }
        let mut target = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if *w > 0.0 {
                if target < *w {
                    return i;
                }
                target -= w;
            }
        }
        // Rounding can leave a sliver past the last weight: take the last positive one.
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// A value from a fixed table of `(value, weight)` pairs.
    pub fn pick<T: Copy>(&mut self, table: &[(T, f64)]) -> T {
        let mut total = 0.0;
        for (_, w) in table {
            total += w;
        }
        let mut target = self.uniform() * total;
        for (value, w) in table {
            if target < *w {
                return *value;
            }
            target -= w;
        }
        table[table.len() - 1].0
    }
}

/// The logistic function, used to turn latent scores into probabilities.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use rand_core::{RngCore, SeedableRng};

    use super::*;

    #[test]
    fn the_streams_are_rand_xoshiros() {
        for seed in [0, 1, 7, 17, 0xDEAD_BEEF, u64::MAX] {
            let mut ours = SplitMix64::new(seed);
            let mut theirs = rand_xoshiro::SplitMix64::seed_from_u64(seed);
            assert!((0..1000).all(|_| ours.next_u64() == theirs.next_u64()), "SplitMix64 from {seed}");
            let mut ours = Rng::new(seed);
            let mut theirs = rand_xoshiro::Xoshiro256StarStar::seed_from_u64(seed);
            assert!((0..1000).all(|_| ours.next_u64() == theirs.next_u64()), "xoshiro256** from {seed}");
        }
        // The unit interval takes the top 53 bits, as rand's standard f64 does.
        let mut a = SplitMix64::new(5);
        let mut b = rand_xoshiro::SplitMix64::seed_from_u64(5);
        assert_eq!(a.uniform(), (b.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
    }

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let draw = |mut r: Rng| (0..8).map(|_| r.next_u64()).collect::<Vec<_>>();
        assert_eq!(draw(Rng::new(7)), draw(Rng::new(7)));
        assert_ne!(draw(Rng::new(7)), draw(Rng::new(8)));
        assert_eq!(draw(Rng::derive(7, 1, 42)), draw(Rng::derive(7, 1, 42)));
        assert_ne!(draw(Rng::derive(7, 1, 42)), draw(Rng::derive(7, 1, 43)));
        assert_ne!(draw(Rng::derive(7, 1, 42)), draw(Rng::derive(7, 2, 42)));
        // Pinned values: a change here changes every generated dataset.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0x99EC_5F36_CB75_F2B4);
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::new(11);
        let n = 200_000;
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let u: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
        assert!((mean(&u) - 0.5).abs() < 0.01);
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let zm = mean(&z);
        let zv = z.iter().map(|x| (x - zm) * (x - zm)).sum::<f64>() / n as f64;
        assert!(zm.abs() < 0.01 && (zv - 1.0).abs() < 0.02, "{zm} {zv}");
        let p: Vec<f64> = (0..n).map(|_| r.poisson(3.5) as f64).collect();
        assert!((mean(&p) - 3.5).abs() < 0.05);
        let big: Vec<f64> = (0..n).map(|_| r.poisson(80.0) as f64).collect();
        assert!((mean(&big) - 80.0).abs() < 0.2);
        let b = (0..n).filter(|_| r.bernoulli(0.2)).count() as f64 / n as f64;
        assert!((b - 0.2).abs() < 0.01);
        let mut counts = [0usize; 3];
        for _ in 0..n {
            counts[r.weighted(&[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((counts[2] as f64 / n as f64 - 0.75).abs() < 0.01);
        for _ in 0..1000 {
            let k = r.int_in(-3, 4);
            assert!((-3..=4).contains(&k));
        }
    }
}
