//! Automatic layer and model names, as Keras gives them: `dense`, `dense_1`, `dense_2`, …
//!
//! Keras counts, per name prefix, how many objects of that kind were created since the last
//! `tf.keras.backend.clear_session()`. A layer takes its name when it is first asked for it
//! (in practice: when it is added to a model or called on a tensor), so a layer given an
//! explicit name (`.name("fc1")`) does not use up a number, as in Keras.
//!
//! The counters are kept per thread: a program that builds its models on one thread sees
//! Keras's per-process numbering, and tests, which run on threads of their own, do not
//! disturb each other's names.
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static COUNTERS: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
}

/// The next free name for `prefix`: `prefix` itself the first time, then `prefix_1`,
/// `prefix_2`, … (Keras's `backend.unique_object_name(prefix, zero_based=True)`).
pub fn unique_name(prefix: &str) -> String {
    let count = next_count(prefix);
    if count == 0 {
        prefix.to_string()
    } else {
        format!("{prefix}_{count}")
    }
}

/// The next free name counted from 1: `input_1`, `input_2`, … (Keras's `Input` layers).
pub fn unique_name_one_based(prefix: &str) -> String {
    format!("{prefix}_{}", next_count(prefix) + 1)
}

fn next_count(prefix: &str) -> usize {
    COUNTERS.with(|c| {
        let mut counters = c.borrow_mut();
        let count = counters.entry(prefix.to_string()).or_insert(0);
        *count += 1;
        *count - 1
    })
}

/// Restarts every name counter (as `tf.keras.backend.clear_session()`): the next Dense layer
/// is `dense` again. Affects the calling thread only.
pub fn reset_names() {
    COUNTERS.with(|c| c.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_per_prefix_and_restart() {
        reset_names();
        assert_eq!(unique_name("dense"), "dense");
        assert_eq!(unique_name("dense"), "dense_1");
        assert_eq!(unique_name("conv2d"), "conv2d");
        assert_eq!(unique_name_one_based("input"), "input_1");
        assert_eq!(unique_name_one_based("input"), "input_2");
        reset_names();
        assert_eq!(unique_name("dense"), "dense");
    }
}
