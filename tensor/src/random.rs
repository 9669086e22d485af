//! Seeded randomness: one generator for the whole engine.
//!
//! [`set_seed`] plays the role of `tf.keras.utils.set_random_seed(42)`: it re-seeds the global
//! generator that initializers, shuffling, dropout and augmentation draw from, so that a run
//! with the same seed gives the same numbers. Components that run on other threads (data
//! loading) take their own [`Rng`] with [`fork`], drawn from the global stream, so their
//! numbers do not depend on thread scheduling.
//!
//! The generator is xoshiro256++ (Blackman & Vigna), seeded through SplitMix64: small, fast and
//! statistically sound, and written here so that the stream never changes under us with a
//! dependency update.
use std::sync::Mutex;

/// A xoshiro256++ pseudo-random generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        // SplitMix64 spreads the seed's bits over the 256-bit state (never all zero).
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng {
            state: [next(), next(), next(), next()],
        }
    }

    /// The 256 bits of state: the generator is back here after [`Rng::from_state`].
    pub fn state(&self) -> [u64; 4] {
        self.state
    }

    /// The generator in a state read by [`Rng::state`]. An all-zero state (which xoshiro
    /// cannot leave) is replaced by the stream of seed 0.
    pub fn from_state(state: [u64; 4]) -> Rng {
        if state == [0; 4] {
            Rng::new(0)
        } else {
            Rng { state }
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
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

    /// Uniform in `[0, 1)`, with 24 random bits (every f32 step of 2⁻²⁴ equally likely).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[0, 1)` as f64, with 53 random bits.
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform_range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.uniform()
    }

    /// Standard normal N(0, 1) by the Box–Muller transform:
    /// `sqrt(−2 ln u₁) · cos(2π u₂)` with `u₁ ∈ (0, 1]`.
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.uniform_f64(); // (0, 1]: ln never sees 0
        let u2 = self.uniform_f64();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// N(0, 1) truncated to `[−2, 2]` by redrawing, as Keras's `truncated_normal`.
    pub fn truncated_normal(&mut self) -> f32 {
        loop {
            let z = self.normal();
            if z.abs() <= 2.0 {
                return z;
            }
        }
    }

    /// Uniform integer in `0..n` (Lemire's multiply-shift; `n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0): empty range");
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }
}

/// The generator everything draws from unless given its own.
static GLOBAL: Mutex<Option<Rng>> = Mutex::new(None);

/// Seeds every random draw of astrograd (initializers, shuffling, dropout, augmentation).
///
/// ```
/// use astrograd_tensor::{set_seed, Tensor};
/// set_seed(42);
/// let a = Tensor::rand_uniform(&[3], -1.0, 1.0);
/// set_seed(42);
/// let b = Tensor::rand_uniform(&[3], -1.0, 1.0);
/// assert_eq!(a.to_vec(), b.to_vec());
/// ```
pub fn set_seed(seed: u64) {
    *lock() = Some(Rng::new(seed));
}

/// Runs `f` with the global generator. Unseeded, it starts from the clock, as Keras does
/// without `set_random_seed`.
pub fn with_global<T>(f: impl FnOnce(&mut Rng) -> T) -> T {
    let mut guard = lock();
    let rng = guard.get_or_insert_with(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng::new(nanos)
    });
    f(rng)
}

/// The global generator's state: 256 bits that fix every later draw. A checkpoint keeps it,
/// so that a run resumed from the checkpoint shuffles and drops out as the uninterrupted run.
pub fn global_state() -> [u64; 4] {
    with_global(|rng| rng.state())
}

/// Puts the global generator in a state read by [`global_state`]. An all-zero state (which
/// xoshiro cannot leave) is replaced by the stream of seed 0.
pub fn set_global_state(state: [u64; 4]) {
    *lock() = Some(Rng::from_state(state));
}

/// A new independent generator seeded from the global stream (for work on other threads).
pub fn fork() -> Rng {
    with_global(|rng| Rng::new(rng.next_u64()))
}

fn lock() -> std::sync::MutexGuard<'static, Option<Rng>> {
    // A panic while holding the lock cannot leave the state half-written; keep going.
    GLOBAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_replays_the_same_draws() {
        let mut rng = Rng::new(11);
        rng.next_u64();
        let mut copy = Rng::from_state(rng.state());
        let first: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        let again: Vec<u64> = (0..4).map(|_| copy.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(Rng::from_state([0; 4]).next_u64(), 0);
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xa: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..5).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn moments_are_right() {
        let mut rng = Rng::new(1);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0.0f64, 0.0f64, 0.0f64);
        let mut max_t = 0.0f32;
        for _ in 0..n {
            su += rng.uniform() as f64;
            let z = rng.normal() as f64;
            sn += z;
            sn2 += z * z;
            max_t = max_t.max(rng.truncated_normal().abs());
        }
        assert!((su / n as f64 - 0.5).abs() < 0.01);
        assert!((sn / n as f64).abs() < 0.01);
        assert!((sn2 / n as f64 - 1.0).abs() < 0.02);
        assert!(max_t <= 2.0);
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut rng = Rng::new(3);
        let mut p = rng.permutation(100);
        assert_ne!(p, (0..100).collect::<Vec<_>>());
        p.sort();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
        for n in [1, 2, 10, 1000] {
            assert!((0..100).all(|_| rng.below(n) < n));
        }
    }
}
