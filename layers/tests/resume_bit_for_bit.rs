//! A training run stopped after two epochs, saved, loaded in a "new process" (another seed set
//! in between) with `resume_from` and continued with `initial_epoch = 2` ends on the weights
//! of the run that never stopped, bit for bit, with shuffling and Dropout on: the file keeps
//! the optimizer's slots and the random generator's state.
//!
//! The only test in its binary: the global generator is shared by every test of a process.
use astrograd_autograd::Tensor;
use astrograd_layers::saving::resume_from;
use astrograd_layers::training::FitOptions;
use astrograd_layers::{BatchNormalization, Dense, Dropout, Input, Model, Sequential};
use astrograd_optim::Adam;
use astrograd_tensor::set_seed;

fn model() -> Model {
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[3])),
        Box::new(Dense::new(8).activation("relu")),
        Box::new(BatchNormalization::new()),
        Box::new(Dropout::new(0.3)),
        Box::new(Dense::new(3).activation("softmax")),
    ])
    .unwrap();
    model
        .compile(
            "sparse_categorical_crossentropy",
            Adam::new(0.01),
            &["accuracy"],
        )
        .unwrap();
    model
}

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..60)
        .map(|i| ((i * 37 % 23) as f32 / 11.0) - 1.0)
        .collect();
    let y: Vec<f32> = (0..20).map(|i| (i % 3) as f32).collect();
    (
        Tensor::from_vec(x, &[20, 3]).unwrap(),
        Tensor::from_vec(y, &[20]).unwrap(),
    )
}

fn fit(model: &mut Model, epochs: usize, initial_epoch: usize) {
    let (x, y) = data();
    let options = FitOptions::default()
        .batch_size(4)
        .epochs(epochs)
        .initial_epoch(initial_epoch)
        .verbose(0);
    model.fit(&x, &y, options).unwrap();
}

fn weights(model: &Model) -> Vec<Vec<f32>> {
    model
        .get_weights()
        .iter()
        .map(|w| w.to_vec().unwrap())
        .collect()
}

#[test]
fn a_run_resumed_from_a_file_ends_on_the_uninterrupted_runs_weights_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    set_seed(7);
    let mut straight = model();
    fit(&mut straight, 4, 0);
    let expected = weights(&straight);

    for name in ["resume.keras", "resume.h5"] {
        set_seed(7);
        let mut first = model();
        fit(&mut first, 2, 0);
        first.save(dir.path().join(name)).unwrap();
        drop(first);
        set_seed(12345); // what a new process would do
        let mut resumed = resume_from(dir.path().join(name)).unwrap();
        fit(&mut resumed, 4, 2);
        assert_eq!(weights(&resumed), expected, "{name}");
    }
    // Without the generator's state the continuation shuffles differently.
    set_seed(7);
    let mut first = model();
    fit(&mut first, 2, 0);
    first.save(dir.path().join("plain.h5")).unwrap();
    set_seed(12345);
    let mut plain = astrograd_layers::load_model(dir.path().join("plain.h5")).unwrap();
    fit(&mut plain, 4, 2);
    assert_ne!(weights(&plain), expected);
}
