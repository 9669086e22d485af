//! # A tour of astrograd's autograd, from one number to a trained network
//!
//! Before the course's Keras-style models, this tour shows the machinery underneath them:
//!
//! 1. **Tensors**: numbers with a shape; broadcasting; a matrix product.
//! 2. **Reverse-mode autodiff**: every op on a `Var` records how it was made, and `backward()`
//!    walks that record backwards applying the chain rule.
//! 3. **Checking a gradient numerically**: the finite-difference test that every op passes.
//! 4. **A network built from ops**: a two-layer perceptron, `softmax(relu(x·W₁ + b₁)·W₂ + b₂)`,
//!    trained by plain gradient descent on a small problem that a straight line cannot solve
//!    (three interleaved spirals, made up here, in the open, for the purpose).
//!
//! Run it with `cargo run --release --example autograd_tour`.
use std::f32::consts::PI;

use astrograd::gradcheck::gradcheck;
use astrograd::ops::softmax_cross_entropy::sparse_categorical_crossentropy;
use astrograd::prelude::*;
use astrograd::tensor::random::Rng;

/// This program installs astrograd's allocator, which keeps big freed blocks for the next
/// training step (see `astrograd::block_cache`); the library itself leaves the choice to you.
#[global_allocator]
static ALLOCATOR: astrograd::BlockCache = astrograd::BlockCache;

fn main() -> Result<(), AutogradError> {
    set_seed(42);

    println!("== 1. Tensors\n");
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    let b = Tensor::from_vec(vec![10.0, 20.0, 30.0], &[3])?;
    println!("x =\n{x}\n");
    println!("x + b broadcasts b over the rows of x:\n{}\n", x.add(&b)?);
    println!(
        "x · xᵀ is (2, 3)·(3, 2) = (2, 2):\n{}\n",
        x.matmul_t(&x, false, true)?
    );

    println!("== 2. Reverse-mode autodiff\n");
    let a = Var::parameter(Tensor::scalar(3.0));
    // y = a² + 2a  →  dy/da = 2a + 2 = 8 at a = 3
    let y = a.mul(&a)?.add(&a.mul_scalar(2.0)?)?;
    y.backward()?;
    println!("y = a² + 2a at a = 3 is {}", y.value().item()?);
    println!(
        "dy/da from backward(): {}  (by hand: 2a + 2 = 8)\n",
        a.grad().expect("a is a parameter").item()?
    );

    println!("== 3. Checking a gradient numerically\n");
    // The finite difference (L(x+ε) − L(x−ε)) / 2ε, element by element, against backward().
    let w = Tensor::rand_normal(&[3, 4], 0.0, 1.0);
    let inputs = Tensor::rand_normal(&[5, 3], 0.0, 1.0);
    let report = gradcheck("relu(x·W)", |v| v[0].matmul(&v[1])?.relu(), &[inputs, w])?;
    println!(
        "relu(x·W): {} partial derivatives agree with finite differences (largest gap {:.1e})\n",
        report.checked, report.max_abs_error
    );

    println!("== 4. A two-layer network trained by gradient descent\n");
    let (points, labels) = three_spirals(100, &mut Rng::new(0));
    println!(
        "data: {} points in the plane, 3 classes (spiral arms); inputs {:?}",
        labels.numel(),
        points.shape()
    );
    // Glorot-uniform weights, zero biases: what Keras's Dense starts from.
    let hidden = 32;
    let glorot = |fan_in: usize, fan_out: usize| {
        let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
        Var::parameter(Tensor::rand_uniform(&[fan_in, fan_out], -limit, limit))
    };
    let w1 = glorot(2, hidden);
    let b1 = Var::parameter(Tensor::zeros(&[hidden]));
    let w2 = glorot(hidden, 3);
    let b2 = Var::parameter(Tensor::zeros(&[3]));
    let params = [&w1, &b1, &w2, &b2];
    let x = Var::constant(points);

    let learning_rate = 0.5;
    for step in 0..=2000 {
        // forward: logits = relu(x·W₁ + b₁)·W₂ + b₂, loss = mean cross-entropy from logits
        let h = x.matmul(&w1)?.add(&b1)?.relu()?;
        let logits = h.matmul(&w2)?.add(&b2)?;
        let loss = sparse_categorical_crossentropy(&logits, &labels, true)?.mean_all()?;
        // backward: ∂loss/∂θ for every parameter θ
        for p in params {
            p.zero_grad();
        }
        loss.backward()?;
        // update: θ ← θ − lr·∂loss/∂θ
        for p in params {
            let grad = p.grad().expect("every parameter is reached by the loss");
            p.set_value(p.value().sub(&grad.mul_scalar(learning_rate))?)?;
        }
        if step % 250 == 0 {
            let predicted = logits.value().argmax(1)?;
            let accuracy = predicted.eq_elem(&labels)?.mean_all()?.item()?;
            println!(
                "step {step:>4}: loss {:.4}  accuracy {:.3}",
                loss.value().item()?,
                accuracy
            );
        }
    }
    println!("\nA straight line separates at most two arms; the hidden layer learned the curves.");
    Ok(())
}

/// `n` points on each of three spiral arms, with a little noise: (3n, 2) inputs and labels.
fn three_spirals(n: usize, rng: &mut Rng) -> (Tensor, Tensor) {
    let mut points = Vec::with_capacity(3 * n * 2);
    let mut labels = Vec::with_capacity(3 * n);
    for class in 0..3 {
        for i in 0..n {
            let r = i as f32 / n as f32;
            let angle = class as f32 * 2.0 * PI / 3.0 + 1.75 * PI * r + 0.15 * rng.normal();
            points.extend([r * angle.cos(), r * angle.sin()]);
            labels.push(class as f32);
        }
    }
    (
        Tensor::from_vec(points, &[3 * n, 2]).expect("3n points of 2 coordinates"),
        Tensor::from_vec(labels, &[3 * n]).expect("3n labels"),
    )
}
