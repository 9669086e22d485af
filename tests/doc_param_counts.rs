//! The parameter counts the docs state for the examples, checked against the models.
//!
//! README.md and docs/course.md say, for instance, "266,610 params" for `session1_mlp`. Each
//! such number is a [`Claim`]: the doc, the example, and the phrase around the number. The test
//! finds the phrase in the doc (whitespace and line breaks count as one space, so a phrase may
//! span lines), reads the number in it, builds the example's model with the same layers as the
//! example (the line that builds it is named beside each function below; no data is needed to
//! count parameters) and requires the two to agree. A doc number that the code contradicts, or a
//! phrase edited away, fails with the doc, the example and both numbers.
use astrograd::layers::applications::{vgg16, Options, Weights};
use astrograd::layers::{
    Conv2D, Dense, Dropout, Flatten, Input, Layer, MaxPooling2D, Model, Sequential,
};

/// One number a doc states about an example's model.
struct Claim {
    /// The file, from the repository root.
    doc: &'static str,
    /// The example the number is about.
    example: &'static str,
    /// The text around the number, `{}` where the number stands (`1,234` or `1234`).
    phrase: &'static str,
    /// What the code computes for it.
    count: fn() -> usize,
}

fn claims() -> Vec<Claim> {
    let readme = "README.md";
    let course = "docs/course.md";
    let c = |doc, example, phrase, count| Claim {
        doc,
        example,
        phrase,
        count,
    };
    vec![
        // README's table of examples, one row each.
        c(readme, "session1_mlp", "| `session1_mlp` | activation functions; Flatten → Dense(300) → Dense(100) → Dense(10, softmax) on Fashion-MNIST, Adam, 7 epochs | {} params", session1_mlp),
        c(readme, "session1_galaxy10_mlp", "Dense(500) → Dense(100) → Dense(10) | {} params", session1_galaxy10_mlp),
        c(readme, "session2_cnn", "Adam, 8 epochs | {} params (both)", session2_cnn),
        c(readme, "session2_galaxy10_cnn", "Dense(100) → Dense(10); overfitting | {} params", session2_galaxy10_cnn),
        c(readme, "session3_cats_dogs", "`Found 2000 images belonging to 2 classes.`; {} params", session3_cats_dogs),
        c(readme, "session3_galaxy10_generators", "over up to 30 epochs | {} params", session3_galaxy10_generators),
        c(readme, "session3_transfer_learning", "the base's summary ({} params, 150×150", vgg16_base),
        c(readme, "session3_transfer_learning", "then {} trainable once `block5` is unfrozen", vgg16_fine_tuning_trainable),
        c(readme, "session3_transfer_learning", "its three convolutions, {}, and", vgg16_block5),
        c(readme, "session3_transfer_learning", "Dense(256) → Dense(1) head, {})", vgg16_head),
        // The course page: its table, then each session's "Model." line.
        c(course, "session1_mlp", "MLP 784 → 300 → 100 → 10 ({})", session1_mlp),
        c(course, "session1_mlp", "Dense(300, relu) → Dense(100, relu) → Dense(10, softmax)`: {} parameters", session1_mlp),
        c(course, "session1_galaxy10_mlp", "MLP 4761 → 500 → 100 → 10 ({})", session1_galaxy10_mlp),
        c(course, "session1_galaxy10_mlp", "Flatten(69×69) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`: {} parameters", session1_galaxy10_mlp),
        c(course, "session2_cnn", "Conv2D(12) → MaxPool → Dense(128) → Dense(10) ({})", session2_cnn),
        c(course, "session2_cnn", "Dense(128, relu) → Dense(10, softmax)`: {} parameters", session2_cnn),
        c(course, "session2_galaxy10_cnn", "Conv2D(12) → MaxPool → Dense(500) → Dense(100) → Dense(10) ({})", session2_galaxy10_cnn),
        c(course, "session2_galaxy10_cnn", "Flatten (13,068) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`: {} parameters", session2_galaxy10_cnn),
        c(course, "session3_cats_dogs", "three Conv2D + MaxPool blocks → Dense(512) → Dense(1) ({})", session3_cats_dogs),
        c(course, "session3_cats_dogs", "Dense(512, relu) → Dense(1, sigmoid)`: {} parameters", session3_cats_dogs),
        c(course, "session3_galaxy10_generators", "Session 2's CNN with three Dropout(0.35) ({})", session3_galaxy10_generators),
        c(course, "session3_galaxy10_generators", "and after `Dense(100)`: {} parameters (dropout has none)", session3_galaxy10_generators),
        c(course, "session3_transfer_learning", "the base has {} parameters", vgg16_base),
        c(course, "session3_transfer_learning", "→ Dropout(0.5) → Dense(1, sigmoid)` has {};", vgg16_head),
        c(course, "session3_transfer_learning", "for fine-tuning, {} parameters are trainable", vgg16_fine_tuning_trainable),
    ]
}

/// `examples/session1_mlp.rs`, `let mut model = Sequential::new(…)` in `run`.
fn session1_mlp() -> usize {
    Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[28, 28])),
        Box::new(Dense::new(300).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("session1_mlp's model")
    .count_params()
}

/// `examples/session1_galaxy10_mlp.rs`: Galaxy10's 69×69 pictures, made grey.
fn session1_galaxy10_mlp() -> usize {
    Sequential::new(vec![
        Box::new(Flatten::new().with_input_shape(&[69, 69])),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("session1_galaxy10_mlp's model")
    .count_params()
}

/// `examples/session2_cnn.rs`, the Sequential model (the example itself checks that the
/// functional one has as many).
fn session2_cnn() -> usize {
    Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(&[28, 28, 1]),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("session2_cnn's model")
    .count_params()
}

/// `examples/session2_galaxy10_cnn.rs`: Galaxy10 in colour, 69×69×3.
fn session2_galaxy10_cnn() -> usize {
    Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(&[69, 69, 3]),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("session2_galaxy10_cnn's model")
    .count_params()
}

/// `examples/session3_galaxy10_generators.rs`: the same CNN with three `Dropout(0.35)`.
fn session3_galaxy10_generators() -> usize {
    Sequential::new(vec![
        Box::new(
            Conv2D::new(12, 3)
                .activation("relu")
                .with_input_shape(&[69, 69, 3]),
        ),
        Box::new(MaxPooling2D::new().pool_size(2).strides(2)),
        Box::new(Flatten::new()),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(500).activation("relu")),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(100).activation("relu")),
        Box::new(Dropout::new(0.35)),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .expect("session3_galaxy10_generators's model")
    .count_params()
}

/// `examples/session3_cats_dogs.rs`: 150×150 colour pictures (`SIZE`), the first model.
fn session3_cats_dogs() -> usize {
    Sequential::new(vec![
        Box::new(
            Conv2D::new(16, 3)
                .activation("relu")
                .with_input_shape(&[150, 150, 3]),
        ),
        Box::new(MaxPooling2D::new()),
        Box::new(Conv2D::new(32, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Conv2D::new(64, 3).activation("relu")),
        Box::new(MaxPooling2D::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(512).activation("relu")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .expect("session3_cats_dogs's model")
    .count_params()
}

/// `examples/session3_transfer_learning.rs`: VGG16 without its top at 150×150 (random weights:
/// the count does not depend on them).
fn vgg16_base_model() -> Model {
    let options = Options::new()
        .include_top(false)
        .weights(Weights::Random)
        .input_shape(&[150, 150, 3]);
    vgg16(&options).expect("VGG16 without its top")
}

fn vgg16_base() -> usize {
    vgg16_base_model().count_params()
}

/// `new_head` in `examples/session3_transfer_learning.rs`, for VGG16's 4×4×512 features and two
/// classes.
fn vgg16_head_model() -> Model {
    Sequential::new(vec![
        Box::new(Input::new(&[4, 4, 512])),
        Box::new(Flatten::new()),
        Box::new(Dense::new(256).activation("relu")),
        Box::new(Dropout::new(0.5)),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .expect("the transfer-learning head")
}

fn vgg16_head() -> usize {
    vgg16_head_model().count_params()
}

/// The weights of `block5_conv1`, `block5_conv2` and `block5_conv3`.
fn vgg16_block5() -> usize {
    vgg16_base_model()
        .layers()
        .iter()
        .filter(|l| l.name().starts_with("block5_conv"))
        .map(|l| l.borrow().count_params())
        .sum()
}

/// As the example's fine-tuning: the layers before `block5_conv1` frozen, the head trainable.
fn vgg16_fine_tuning_trainable() -> usize {
    let mut base = vgg16_base_model();
    base.set_trainable(true);
    let layers = base.layers().to_vec();
    let fine_tune_at = layers
        .iter()
        .position(|l| l.name() == "block5_conv1")
        .expect("VGG16 has a block5_conv1");
    for layer in &layers[..fine_tune_at] {
        layer.borrow_mut().set_trainable(false);
    }
    let trainable = |m: &Model| {
        m.trainable_weights()
            .iter()
            .map(|w| w.numel())
            .sum::<usize>()
    };
    trainable(&base) + trainable(&vgg16_head_model())
}

/// Collapses every run of whitespace (line breaks and a list's indentation included) into one
/// space, so that a phrase matches across the doc's line breaks.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every number that stands at `{}` in an occurrence of `phrase` in `text` (both normalised).
fn numbers_at(text: &str, phrase: &str) -> Vec<usize> {
    let (before, after) = phrase.split_once("{}").expect("a phrase holds one {}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(before) {
        let start = from + i + before.len();
        let digits: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .collect();
        let number = digits.trim_end_matches(',');
        if !number.is_empty() && text[start + number.len()..].starts_with(after) {
            found.push(number.replace(',', "").parse().expect("digits"));
        }
        from = start;
    }
    found
}

#[test]
fn the_docs_parameter_counts_are_the_models() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut problems = Vec::new();
    for claim in claims() {
        let path = format!("{root}/{}", claim.doc);
        let text = normalise(&std::fs::read_to_string(&path).expect("a doc of the repository"));
        let phrase = normalise(claim.phrase);
        let computed = (claim.count)();
        match numbers_at(&text, &phrase).as_slice() {
            [stated] if *stated == computed => {}
            [stated] => problems.push(format!(
                "{}: says {stated} for {} (\"{phrase}\"), but its model has {computed}",
                claim.doc, claim.example
            )),
            [] => problems.push(format!(
                "{}: no \"{phrase}\" with a number for {} (the model has {computed}); \
                 if the doc was reworded, update the phrase in tests/doc_param_counts.rs",
                claim.doc, claim.example
            )),
            many => problems.push(format!(
                "{}: \"{phrase}\" occurs {} times; make the phrase for {} unique",
                claim.doc,
                many.len(),
                claim.example
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check catches a wrong number: the phrase reads 266,611 where the model has 266,610.
#[test]
fn a_wrong_number_is_caught() {
    let text = normalise("- **Model.** `… Dense(10, softmax)`:\n  266,611 parameters.");
    let stated = numbers_at(&text, "Dense(10, softmax)`: {} parameters");
    assert_eq!(stated, vec![266_611]);
    assert_ne!(stated[0], session1_mlp());
}
