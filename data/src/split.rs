//! Train/test splits that give the same indices as scikit-learn's `train_test_split`.
//!
//! The course splits Galaxy10 with
//!
//! ```python
//! from sklearn.model_selection import train_test_split
//! x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.1, random_state=42)
//! ```
//!
//! and [`train_test_split`]`(n, 0.1, 42)` returns exactly the rows that call puts in
//! `x_train` and `x_test`, in the same order. scikit-learn draws its shuffle from NumPy's
//! legacy `RandomState(42)`, a Mersenne Twister (MT19937); [`Mt19937`] reimplements it, and
//! the tests compare its permutations with NumPy's and the splits with scikit-learn's.
//!
//! # Math
//! `n_test = ⌈test_size · n⌉`, `n_train = n − n_test`; `p = RandomState(seed).permutation(n)`;
//! test = `p[..n_test]`, train = `p[n_test..]`.
//!
//! [`train_test_split_stratified`] follows `train_test_split(..., stratify=y)`
//! (scikit-learn's `StratifiedShuffleSplit`): each class keeps its share of the test set.
use crate::error::{DataError, Result};

/// `(train_indices, test_indices)`, shuffled, as scikit-learn's `train_test_split(..,
/// test_size, random_state=seed)` orders the rows.
///
/// # Errors
/// [`DataError::Invalid`] if `test_size` is not strictly between 0 and 1, or if the train or
/// the test set would be empty.
pub fn train_test_split(n: usize, test_size: f32, seed: u32) -> Result<(Vec<usize>, Vec<usize>)> {
    let (n_train, n_test) = split_sizes("train_test_split", n, test_size)?;
    let permutation = Mt19937::new(seed).permutation(n);
    let test = permutation[..n_test].to_vec();
    let train = permutation[n_test..n_test + n_train].to_vec();
    Ok((train, test))
}

/// As [`train_test_split`], stratified by `labels` (one class id per row): the class
/// proportions of the test set match the data's, as `train_test_split(.., stratify=labels)`.
///
/// # Errors
/// [`DataError::Invalid`] as [`train_test_split`], or when a class has a single member, or
/// when the train or test set is smaller than the number of classes (scikit-learn refuses
/// these too).
pub fn train_test_split_stratified(
    labels: &[usize],
    test_size: f32,
    seed: u32,
) -> Result<(Vec<usize>, Vec<usize>)> {
    const OP: &str = "train_test_split_stratified";
    let n = labels.len();
    let (n_train, n_test) = split_sizes(OP, n, test_size)?;

    // The distinct classes in increasing order (np.unique), and each row's rank among them.
    let mut classes: Vec<usize> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let rank_of = |label: usize| classes.binary_search(&label).expect("label is in classes");
    // class_rows[k]: the rows of class k in increasing order (a stable argsort by class).
    let mut class_rows: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (row, &label) in labels.iter().enumerate() {
        class_rows[rank_of(label)].push(row);
    }
    let counts: Vec<usize> = class_rows.iter().map(Vec::len).collect();
    if let Some(k) = counts.iter().position(|&count| count < 2) {
        return Err(DataError::Invalid {
            op: OP,
            expected: "at least 2 members in every class".to_string(),
            found: format!("class {} with {} member", classes[k], counts[k]),
        });
    }
    if n_train < classes.len() || n_test < classes.len() {
        return Err(DataError::Invalid {
            op: OP,
            expected: format!(
                "train and test sets of at least {} rows (one per class)",
                classes.len()
            ),
            found: format!("{n_train} train and {n_test} test rows"),
        });
    }

    let mut rng = Mt19937::new(seed);
    let train_per_class = approximate_mode(&counts, n_train, &mut rng);
    let remaining: Vec<usize> = counts
        .iter()
        .zip(&train_per_class)
        .map(|(count, taken)| count - taken)
        .collect();
    let test_per_class = approximate_mode(&remaining, n_test, &mut rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (k, rows) in class_rows.iter().enumerate() {
        let shuffled: Vec<usize> = rng
            .permutation(rows.len())
            .iter()
            .map(|&i| rows[i])
            .collect();
        let (n_tr, n_te) = (train_per_class[k], test_per_class[k]);
        train.extend_from_slice(&shuffled[..n_tr]);
        test.extend_from_slice(&shuffled[n_tr..n_tr + n_te]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

/// `(n_train, n_test)` for `n` rows, as scikit-learn's `_validate_shuffle_split`.
fn split_sizes(op: &'static str, n: usize, test_size: f32) -> Result<(usize, usize)> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(DataError::Invalid {
            op,
            expected: "test_size strictly between 0 and 1".to_string(),
            found: format!("{test_size}"),
        });
    }
    // Through its shortest decimal form: 0.1f32 becomes the f64 0.1 that Python computes with
    // (0.1f32 as f64 is 0.10000000149…, and ⌈0.10000000149 · 10⌉ would be 2, not 1).
    let fraction: f64 = test_size
        .to_string()
        .parse()
        .expect("an f32 prints as a valid f64");
    let n_test = (fraction * n as f64).ceil() as usize;
    let n_train = n.saturating_sub(n_test);
    if n_test == 0 || n_train == 0 {
        return Err(DataError::Invalid {
            op,
            expected: "a non-empty train set and a non-empty test set".to_string(),
            found: format!("{n} rows with test_size {test_size}: {n_train} train, {n_test} test"),
        });
    }
    Ok((n_train, n_test))
}

/// scikit-learn's `_approximate_mode`: `n_draws` shared out in proportion to `counts`,
/// the rounding leftovers going to the largest remainders, ties broken at random.
fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut Mt19937) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    // continuous = counts / total · n_draws, in the same f64 order as NumPy.
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need_to_add = n_draws.saturating_sub(floored.iter().sum());
    let remainder: Vec<f64> = continuous
        .iter()
        .zip(&floored)
        .map(|(c, &f)| c - f as f64)
        .collect();
    // The distinct remainders, largest first.
    let mut values = remainder.clone();
    values.sort_by(|a, b| b.total_cmp(a));
    values.dedup();
    for value in values {
        if need_to_add == 0 {
            break;
        }
        let tied: Vec<usize> = (0..remainder.len())
            .filter(|&i| remainder[i] == value)
            .collect();
        let add_now = tied.len().min(need_to_add);
        // rng.choice(tied, add_now, replace=False) is permutation(len)[..add_now] in NumPy.
        for &pick in &rng.permutation(tied.len())[..add_now] {
            floored[tied[pick]] += 1;
        }
        need_to_add -= add_now;
    }
    floored
}

/// NumPy's legacy `RandomState` generator: the 32-bit Mersenne Twister MT19937
/// (Matsumoto & Nishimura, 1998), seeded as `RandomState(seed)` seeds it.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    /// `numpy.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Mt19937 {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: 624 }
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        // Tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        for i in 0..624 {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % 624] & LOWER);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 == 1 {
                next ^= 0x9908_b0df;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    /// Uniform integer in `0..=max`, by NumPy's masked rejection (`random_interval`).
    pub fn interval(&mut self, max: usize) -> usize {
        if max == 0 {
            return 0;
        }
        // The smallest all-ones mask covering max; draws above max are rejected.
        let mask = u64::MAX >> (max as u64).leading_zeros();
        if max as u64 <= u32::MAX as u64 {
            loop {
                let value = self.next_u32() as u64 & mask;
                if value <= max as u64 {
                    return value as usize;
                }
            }
        }
        loop {
            let high = self.next_u32() as u64;
            let value = ((high << 32) | self.next_u32() as u64) & mask;
            if value <= max as u64 {
                return value as usize;
            }
        }
    }

    /// Shuffles in place as `RandomState.shuffle` does (Fisher–Yates from the end).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.interval(i);
            items.swap(i, j);
        }
    }

    /// `RandomState.permutation(n)`: a shuffled `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A NumPy permutation to match: `np.random.RandomState(seed).permutation(n)`.
    struct NumpyCase {
        seed: u32,
        n: usize,
        /// `(start, values)`: a slice of NumPy's output starting at `start`.
        expected: &'static [(usize, &'static [usize])],
    }

    #[test]
    fn permutations_match_numpy() {
        let cases = [
            NumpyCase {
                seed: 42,
                n: 10,
                expected: &[(0, &[8, 1, 5, 0, 7, 2, 9, 4, 3, 6])],
            },
            NumpyCase {
                seed: 0,
                n: 7,
                expected: &[(0, &[6, 2, 1, 3, 0, 5, 4])],
            },
            NumpyCase {
                seed: 4_294_967_295,
                n: 5,
                expected: &[(0, &[4, 1, 0, 2, 3])],
            },
            NumpyCase {
                seed: 42,
                n: 21785,
                expected: &[
                    (0, &[19899, 18843, 13787, 8094, 17959, 10726, 16819, 12008]),
                    (2176, &[2498, 21203, 21469, 13901, 5887, 5354]),
                    (21781, &[21575, 5390, 860, 15795]),
                ],
            },
            NumpyCase {
                seed: 42,
                n: 70000,
                expected: &[(0, &[46730, 48393, 41416, 34506, 43725])],
            },
        ];
        for case in cases {
            let p = Mt19937::new(case.seed).permutation(case.n);
            for &(start, values) in case.expected {
                assert_eq!(
                    &p[start..start + values.len()],
                    values,
                    "RandomState({}).permutation({})[{start}..]",
                    case.seed,
                    case.n
                );
            }
        }
    }

    #[test]
    fn raw_draws_match_numpy() {
        // np.random.RandomState(42).randint(0, 2**31, size=3): masked rejection with the mask
        // 0x7fffffff, which never rejects, so each is next_u32 & 0x7fffffff.
        let mut rng = Mt19937::new(42);
        let draws: Vec<u32> = (0..3).map(|_| rng.next_u32() & 0x7fff_ffff).collect();
        assert_eq!(draws, vec![1_608_637_542, 1_273_642_419, 1_935_803_228]);
    }

    /// Galaxy10's split in the course: `train_test_split(x, y, test_size=0.1, random_state=42)`.
    #[test]
    fn galaxy10_split_matches_scikit_learn() {
        let (train, test) = train_test_split(21785, 0.1, 42).expect("valid split");
        assert_eq!(test.len(), 2179); // ⌈0.1 · 21785⌉
        assert_eq!(train.len(), 19606);
        assert_eq!(&test[..4], &[19899, 18843, 13787, 8094]);
        assert_eq!(&test[2178], &21469);
        assert_eq!(&train[..3], &[13901, 5887, 5354]);
    }

    #[test]
    fn the_test_size_is_rounded_as_python_rounds_it() {
        let (train, test) = train_test_split(10, 0.1, 42).expect("valid split");
        assert_eq!(test, vec![8]);
        assert_eq!(train, vec![1, 5, 0, 7, 2, 9, 4, 3, 6]);
    }

    #[test]
    fn bad_test_sizes_are_errors() {
        for test_size in [0.0, 1.0, -0.5, 1.5, f32::NAN] {
            let err = train_test_split(10, test_size, 0).expect_err("invalid test_size");
            assert!(
                matches!(err, DataError::Invalid { .. }),
                "{test_size}: {err:?}"
            );
        }
        // 0.95 of 10 rows leaves no train row.
        assert!(train_test_split(10, 0.95, 0).is_err());
        assert!(train_test_split(0, 0.5, 0).is_err());
    }

    #[test]
    fn stratification_keeps_class_shares() {
        // 60 rows of class 0, 30 of class 1, 10 of class 2.
        let labels: Vec<usize> = (0..100)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 90 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let (train, test) = train_test_split_stratified(&labels, 0.2, 7).expect("valid split");
        let count = |rows: &[usize], class| rows.iter().filter(|&&r| labels[r] == class).count();
        assert_eq!(
            (count(&test, 0), count(&test, 1), count(&test, 2)),
            (12, 6, 2)
        );
        assert_eq!(train.len(), 80);
        // scikit-learn 1.9.1: train_test_split(np.arange(100), test_size=0.2, random_state=7,
        // stratify=labels)
        assert_eq!(&train[..10], &[37, 16, 27, 41, 81, 92, 20, 43, 66, 70]);
        assert_eq!(
            test,
            vec![47, 39, 79, 64, 54, 89, 53, 28, 23, 96, 98, 63, 19, 3, 61, 87, 14, 8, 4, 25]
        );
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    /// Uneven classes whose shares do not divide evenly: ties in the rounding are drawn at
    /// random, and must be drawn as scikit-learn draws them.
    #[test]
    fn stratified_rounding_matches_scikit_learn() {
        // scikit-learn 1.9.1: train_test_split(np.arange(17), test_size=0.3, random_state=42,
        // stratify=[3,1,1,3,0,0,1,3,0,3,1,0,0,3,1,1,0])
        let labels = [3, 1, 1, 3, 0, 0, 1, 3, 0, 3, 1, 0, 0, 3, 1, 1, 0];
        let (train, test) = train_test_split_stratified(&labels, 0.3, 42).expect("valid split");
        assert_eq!(train, vec![4, 9, 2, 3, 8, 5, 10, 1, 16, 0, 6]);
        assert_eq!(test, vec![7, 15, 11, 12, 13, 14]);
    }

    #[test]
    fn stratification_refuses_a_lonely_class() {
        let err = train_test_split_stratified(&[0, 0, 0, 1], 0.5, 0).expect_err("class 1 alone");
        assert!(err.to_string().contains("class 1 with 1 member"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Train and test partition 0..n with scikit-learn's sizes (`n_test = ⌈test_size·n⌉`);
        /// the split is refused exactly when that leaves the train set empty.
        #[test]
        fn splits_partition_the_rows(n in 2usize..300, tenths in 1u32..9, seed in 0u32..1000) {
            let test_size = tenths as f32 / 10.0;
            // tenths / 10 in f64 is the float Python multiplies by (0.3, not 0.3f32 as f64).
            let n_test = (tenths as f64 / 10.0 * n as f64).ceil() as usize;
            match train_test_split(n, test_size, seed) {
                Ok((train, test)) => {
                    prop_assert!(n_test < n, "n = {n}, test_size {test_size}: accepted an empty train set");
                    prop_assert_eq!(test.len(), n_test);
                    prop_assert_eq!(train.len(), n - n_test);
                    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
                    all.sort_unstable();
                    prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
                }
                Err(e) => {
                    prop_assert!(n_test >= n, "n = {n}, test_size {test_size}: refused: {e}");
                    prop_assert!(e.to_string().contains("non-empty train set"), "{e}");
                }
            }
        }

        /// Same for the stratified split, over random labels: each class keeps its share of the
        /// test set (within one row), and the split is refused exactly when a class has a single
        /// member or a set would have fewer rows than there are classes.
        #[test]
        fn stratified_splits_partition_the_rows(labels in proptest::collection::vec(0usize..4, 8..120), seed in 0u32..1000) {
            let n = labels.len();
            let counts: Vec<usize> = (0..4).map(|k| labels.iter().filter(|&&l| l == k).count()).collect();
            let classes = counts.iter().filter(|&&c| c > 0).count();
            let n_test = (0.25 * n as f64).ceil() as usize;
            let lonely = counts.contains(&1);
            let too_few = n - n_test < classes || n_test < classes;
            match train_test_split_stratified(&labels, 0.25, seed) {
                Ok((train, test)) => {
                    prop_assert!(!lonely && !too_few, "accepted {counts:?} (class counts)");
                    prop_assert_eq!(test.len(), n_test);
                    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
                    all.sort_unstable();
                    prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
                    for (k, &count) in counts.iter().enumerate() {
                        let in_test = test.iter().filter(|&&row| labels[row] == k).count();
                        let share = n_test as f64 * count as f64 / n as f64;
                        prop_assert!((in_test as f64 - share).abs() < 1.0 + 1e-9,
                            "class {k}: {in_test} test rows, its share is {share:.2}");
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(lonely || too_few, "refused {counts:?} (class counts): {e}");
                    if lonely {
                        prop_assert!(message.contains("at least 2 members"), "{e}");
                    } else {
                        prop_assert!(message.contains("one per class"), "{e}");
                    }
                }
            }
        }
    }
}
