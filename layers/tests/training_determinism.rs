//! `set_seed` reproduces a `fit` bit for bit: initialisation, the per-epoch shuffling and
//! dropout all draw from the seeded global generator.
//!
//! This is the only test in its binary, because the global generator is shared by every test
//! running at the same time in one process.
use astrograd_autograd::Tensor;
use astrograd_layers::training::FitOptions;
use astrograd_layers::{Dense, Dropout, Input, Sequential};
use astrograd_tensor::random::Rng;
use astrograd_tensor::set_seed;

/// Losses and final weights of a short run from `seed`.
fn run(seed: u64) -> (Vec<f32>, Vec<Vec<f32>>) {
    set_seed(seed);
    let mut rng = Rng::new(3);
    let x: Vec<f32> = (0..128).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let y: Vec<f32> = x
        .chunks(2)
        .map(|p| f32::from(u8::from(p[0] + p[1] > 0.0)))
        .collect();
    let x = Tensor::from_vec(x, &[64, 2]).unwrap();
    let y = Tensor::from_vec(y, &[64]).unwrap();
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[2])),
        Box::new(Dense::new(8).activation("relu")),
        Box::new(Dropout::new(0.3)),
        Box::new(Dense::new(2).activation("softmax")),
    ])
    .unwrap();
    model
        .compile("sparse_categorical_crossentropy", "adam", &["acc"])
        .unwrap();
    let history = model
        .fit(
            &x,
            &y,
            FitOptions::default().epochs(3).batch_size(8).verbose(0),
        )
        .unwrap();
    let weights = model
        .get_weights()
        .iter()
        .map(|w| w.to_vec().unwrap())
        .collect();
    (history.history["loss"].to_vec(), weights)
}

#[test]
fn set_seed_makes_a_fit_reproducible() {
    let first = run(42);
    assert_eq!(first, run(42));
    assert_ne!(first.0, run(43).0);
}
