//! A seed makes a run reproducible, and the number of threads does not change the numbers.
//!
//! Both properties are checked end to end: a small convolutional network (conv2d → relu →
//! max_pool2d → flatten → matmul → cross-entropy) is built from seeded initial weights and
//! trained for a few gradient-descent steps; the losses and final weights must be bit-identical
//! for the same seed, differ for another seed, and be bit-identical under a 1-thread and a
//! 3-thread rayon pool.
use astrograd::ops::conv2d::Conv2dOptions;
use astrograd::ops::max_pool2d::Pool2dOptions;
use astrograd::ops::softmax_cross_entropy::sparse_categorical_crossentropy;
use astrograd::prelude::*;

/// What a short training run produced: the loss at each step and the final weights.
#[derive(Debug, PartialEq)]
struct RunResult {
    losses: Vec<f32>,
    final_conv_kernel: Vec<f32>,
    final_dense_kernel: Vec<f32>,
}

fn train(seed: u64) -> Result<RunResult, AutogradError> {
    set_seed(seed);
    // x: (N, H, W, C) = (8, 12, 12, 3); labels in 0..4
    let x = Var::constant(Tensor::rand_uniform(&[8, 12, 12, 3], 0.0, 1.0));
    let labels = Tensor::from_vec((0..8).map(|i| (i % 4) as f32).collect(), &[8])?;
    let conv_kernel = Var::parameter(Tensor::rand_uniform(&[3, 3, 3, 6], -0.3, 0.3));
    let conv_bias = Var::parameter(Tensor::zeros(&[6]));
    // After conv (10×10×6) and 2×2 pooling: 5·5·6 = 150 features.
    let dense_kernel = Var::parameter(Tensor::rand_uniform(&[150, 4], -0.2, 0.2));
    let params = [&conv_kernel, &conv_bias, &dense_kernel];
    let mut losses = Vec::new();
    for _ in 0..5 {
        let h = x
            .conv2d(&conv_kernel, Some(&conv_bias), Conv2dOptions::default())?
            .relu()?
            .max_pool2d(Pool2dOptions::default())?
            .flatten()?;
        let logits = h.matmul(&dense_kernel)?;
        let loss = sparse_categorical_crossentropy(&logits, &labels, true)?.mean_all()?;
        for p in params {
            p.zero_grad();
        }
        loss.backward()?;
        for p in params {
            let grad = p.grad().expect("reached by the loss");
            p.set_value(p.value().sub(&grad.mul_scalar(0.1))?)?;
        }
        losses.push(loss.value().item()?);
    }
    Ok(RunResult {
        losses,
        final_conv_kernel: conv_kernel.value().to_vec().unwrap(),
        final_dense_kernel: dense_kernel.value().to_vec().unwrap(),
    })
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
        .install(f)
}

/// One test function, because `set_seed` seeds a process-wide generator.
#[test]
fn same_seed_same_numbers_whatever_the_thread_count() {
    let first = train(42).unwrap();
    let again = train(42).unwrap();
    let other_seed = train(43).unwrap();
    assert_eq!(first, again);
    assert_ne!(first.losses, other_seed.losses);
    assert!(
        first.losses.last() < first.losses.first(),
        "training lowers the loss: {:?}",
        first.losses
    );

    let one_thread = in_pool(1, || train(42).unwrap());
    let three_threads = in_pool(3, || train(42).unwrap());
    assert_eq!(one_thread, first);
    assert_eq!(three_threads, first);
}
