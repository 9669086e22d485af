//! Keras parity: each optimizer runs the fixture's gradient sequence on two variables and must
//! match the weights Keras had after every step, within 1e-6 relative.
//!
//! The fixtures come from `tools/keras_optimizer_fixtures.py` (TF 2.10.1): two variables,
//! `kernel` (3, 2) and `bias` (2,), six `apply_gradients` calls. Each case's Keras call is in
//! its `params.keras_call` and in a comment above it in [`cases`].
// `Box::new(SGD::default())` reads as Keras's `SGD()`.
#![allow(clippy::box_default)]

use astrograd_autograd::{Tensor, Var};

use crate::testing::{max_rel_error, Fixture};
use crate::*;

/// One fixture and the astrograd optimizer that should reproduce it.
struct OptimizerCase {
    fixture: &'static str,
    optimizer: Box<dyn Optimizer>,
}

fn cases() -> Vec<OptimizerCase> {
    let case = |fixture, optimizer: Box<dyn Optimizer>| OptimizerCase { fixture, optimizer };
    vec![
        // tf.keras.optimizers.SGD()
        case("optimizer_sgd", Box::new(SGD::default())),
        // tf.keras.optimizers.SGD(learning_rate=0.1)
        case("optimizer_sgd_lr", Box::new(SGD::new(0.1))),
        // tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
        case(
            "optimizer_sgd_momentum",
            Box::new(SGD::new(0.05).momentum(0.9)),
        ),
        // tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)
        case(
            "optimizer_sgd_nesterov",
            Box::new(SGD::new(0.05).momentum(0.9).nesterov(true)),
        ),
        // tf.keras.optimizers.SGD(learning_rate=0.1, decay=0.5)
        case("optimizer_sgd_decay", Box::new(SGD::new(0.1).decay(0.5))),
        // tf.keras.optimizers.RMSprop()
        case("optimizer_rmsprop", Box::new(RMSprop::default())),
        // tf.keras.optimizers.RMSprop(learning_rate=0.01, centered=True)
        case(
            "optimizer_rmsprop_centered",
            Box::new(RMSprop::new(0.01).centered(true)),
        ),
        // tf.keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5)
        case(
            "optimizer_rmsprop_momentum",
            Box::new(RMSprop::new(0.01).momentum(0.5)),
        ),
        // tf.keras.optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True)
        case(
            "optimizer_rmsprop_centered_momentum",
            Box::new(RMSprop::new(0.01).rho(0.8).momentum(0.5).centered(true)),
        ),
        // tf.keras.optimizers.Adam()
        case("optimizer_adam", Box::new(Adam::default())),
        // tf.keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3)
        case(
            "optimizer_adam_custom",
            Box::new(Adam::new(0.01).beta_1(0.8).beta_2(0.99).epsilon(1e-3)),
        ),
        // tf.keras.optimizers.Adam(learning_rate=0.01, amsgrad=True)
        case(
            "optimizer_adam_amsgrad",
            Box::new(Adam::new(0.01).amsgrad(true)),
        ),
        // tf.keras.optimizers.Adam(learning_rate=tf.keras.optimizers.schedules.ExponentialDecay(
        //     0.01, decay_steps=2, decay_rate=0.5))
        case(
            "optimizer_adam_schedule",
            Box::new(Adam::new(ExponentialDecay::new(0.01, 2, 0.5).unwrap())),
        ),
        // tf.keras.optimizers.Adagrad(learning_rate=0.1)
        case("optimizer_adagrad", Box::new(Adagrad::new(0.1))),
        // tf.keras.optimizers.experimental.AdamW(learning_rate=0.01)
        case("optimizer_adamw", Box::new(AdamW::new(0.01))),
        // tf.keras.optimizers.experimental.AdamW(learning_rate=0.01, weight_decay=0.1, amsgrad=True)
        case(
            "optimizer_adamw_wd",
            Box::new(AdamW::new(0.01).weight_decay(0.1).amsgrad(true)),
        ),
        // tf.keras.optimizers.SGD(learning_rate=0.1, clipnorm=1.0)
        case(
            "optimizer_sgd_clipnorm",
            Box::new(SGD::new(0.1).clipnorm(1.0)),
        ),
        // tf.keras.optimizers.Adam(learning_rate=0.01, clipnorm=0.5)
        case(
            "optimizer_adam_clipnorm",
            Box::new(Adam::new(0.01).clipnorm(0.5)),
        ),
        // tf.keras.optimizers.SGD(learning_rate=0.1, global_clipnorm=1.0)
        case(
            "optimizer_sgd_global_clipnorm",
            Box::new(SGD::new(0.1).global_clipnorm(1.0)),
        ),
        // tf.keras.optimizers.SGD(learning_rate=0.1, clipvalue=0.5)
        case(
            "optimizer_sgd_clipvalue",
            Box::new(SGD::new(0.1).clipvalue(0.5)),
        ),
        // tf.keras.optimizers.RMSprop(learning_rate=0.01, clipvalue=0.5, clipnorm=0.8)
        case(
            "optimizer_rmsprop_clipvalue_clipnorm",
            Box::new(RMSprop::new(0.01).clipvalue(0.5).clipnorm(0.8)),
        ),
    ]
}

/// Plays the fixture's gradients into the optimizer and returns the largest relative error of
/// the weights over all steps.
fn replay(case: OptimizerCase) -> f64 {
    let OptimizerCase {
        fixture,
        mut optimizer,
    } = case;
    let f = Fixture::load(fixture);
    let steps = f.params["steps"].as_u64().unwrap() as usize;
    let var =
        |name: &str| Var::parameter(Tensor::from_vec(f.tensor(name), &f.shape(name)).unwrap());
    let (kernel, bias) = (var("kernel0"), var("bias0"));
    let (nk, nb) = (kernel.value().numel(), bias.value().numel());
    let (gk, gb) = (f.tensor("grad_kernel"), f.tensor("grad_bias"));
    let (ka, ba) = (f.tensor("kernel_after"), f.tensor("bias_after"));
    let mut worst: f64 = 0.0;
    for s in 0..steps {
        // The gradients arrive as backward() would leave them: d(Σ w·G)/dw = G.
        kernel.zero_grad();
        bias.zero_grad();
        let gk_s =
            Var::constant(Tensor::from_vec(gk[s * nk..(s + 1) * nk].to_vec(), &[3, 2]).unwrap());
        let gb_s =
            Var::constant(Tensor::from_vec(gb[s * nb..(s + 1) * nb].to_vec(), &[2]).unwrap());
        let loss = kernel
            .mul(&gk_s)
            .unwrap()
            .sum_all()
            .unwrap()
            .add(&bias.mul(&gb_s).unwrap().sum_all().unwrap())
            .unwrap();
        loss.backward().unwrap();
        optimizer
            .apply_gradients(&[kernel.clone(), bias.clone()])
            .unwrap();
        let err_k = max_rel_error(&kernel.value().to_vec().unwrap(), &ka[s * nk..(s + 1) * nk]);
        let err_b = max_rel_error(&bias.value().to_vec().unwrap(), &ba[s * nb..(s + 1) * nb]);
        worst = worst.max(err_k).max(err_b);
    }
    assert_eq!(optimizer.iterations(), steps as u64, "{fixture}");
    worst
}

/// Every optimizer and variant against TF 2.10 (the Keras call of each case is quoted above it
/// in [`cases`]), six steps, weights within 1e-6 relative after every step.
#[test]
fn optimizers_match_keras_step_by_step() {
    let mut failures = Vec::new();
    for case in cases() {
        let fixture = case.fixture;
        let err = replay(case);
        println!("{fixture:40} max relative error {err:.2e}");
        if err > 1e-6 {
            failures.push(format!("{fixture}: {err:.2e}"));
        }
    }
    assert!(failures.is_empty(), "beyond 1e-6 relative: {failures:?}");
}

#[test]
fn fixtures_quote_their_keras_call() {
    let f = Fixture::load("optimizer_adamw");
    assert!(
        f.keras_call().contains("experimental.AdamW"),
        "{}",
        f.keras_call()
    );
}
