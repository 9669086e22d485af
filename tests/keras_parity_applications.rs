//! Keras parity of `keras.applications`: VGG16, ResNet50 and MobileNetV2.
//!
//! The numbers come from `tools/keras_applications_fixtures.py` (TF 2.10.1, see
//! `tools/README.md`), which builds each network with Keras's own `keras.applications` code,
//! sets seeded random weights, saves them in Keras's legacy `.h5` layout and records the output
//! for two input images. The full pretrained files are 59–528 MB, too big to commit, so:
//!
//! - **VGG16** is compared cut after `block1_pool` (`Model(base.input,
//!   base.get_layer('block1_pool').output)`), from a file written in the layout of the official
//!   ImageNet files (weights named `block1_conv1_W_1:0`, fixed-length strings);
//! - **ResNet50** cut after `conv2_block2_out`: the stem, a block with a convolution shortcut
//!   and an identity block;
//! - **MobileNetV2** whole, at alpha 0.35 and 48×48 (410,208 parameters), loaded through the
//!   `weights=<path>` argument exactly as a user would;
//!
//! and the full architectures are checked without weights: Keras's layer names in Keras's
//! `model.layers` order (so that `base.layers[:100]` freezes the same layers), the parameter
//! counts with and without the top, the output shapes, the model names and Keras's error
//! messages (`architectures.json`).
//!
//! Then the transfer-learning mechanics: after training with a frozen base its weights are bit
//! for bit unchanged, BatchNormalization's moving statistics too; fine-tuning from layer 100
//! changes only the layers after it.
mod common;

use std::path::{Path, PathBuf};

use astrograd::layers::applications::{
    extract_features, mobilenet_v2, resnet50, vgg16, ApplicationError, Options, Pooling, Weights,
};
use astrograd::layers::{
    reset_names, Dense, FitOptions, GlobalAveragePooling2D, Input, Model, Sequential, SharedLayer,
    WeightsError,
};
use astrograd::optim::{Adam, RMSprop};
use astrograd::tensor::random::Rng;
use astrograd::{set_seed, Tensor, Var};
use common::assert_close;
use serde_json::Value;

/// TF's oneDNN kernels and ours sum in different orders: through 50 layers that is ~1e-6 of
/// the output's scale.
const TOL: f32 = 1e-4;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras/applications")
}

fn json(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// A raw little-endian float32 file of the given shape.
fn raw_f32(path: &Path, shape: &[usize]) -> Tensor {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Tensor::from_vec(values, shape).expect("the shape the JSON gives")
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|d| d.as_u64().expect("a number") as usize)
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn layer_names(model: &Model) -> Vec<String> {
    model.layers().iter().map(SharedLayer::name).collect()
}

fn trainable_count(model: &Model) -> usize {
    model.trainable_weights().iter().map(|w| w.numel()).sum()
}

fn max_abs_error(a: &Tensor, b: &Tensor) -> f32 {
    a.as_slice()
        .unwrap()
        .iter()
        .zip(b.as_slice().unwrap())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Runs `model` on the fixture's input and compares with Keras's output; returns the largest
/// absolute error relative to the output's largest value.
fn compare_outputs(case: &str, model: &mut Model) -> f32 {
    let meta = json(&format!("{case}.json"));
    assert_eq!(
        layer_names(model),
        strings(&meta["layer_names"]),
        "{case}: Keras's layers, in Keras's order"
    );
    assert_eq!(
        model.count_params(),
        meta["count_params"].as_u64().unwrap() as usize
    );
    let x = raw_f32(
        &fixtures().join(format!("{case}.x.f32")),
        &usizes(&meta["x_shape"]),
    );
    let expected = raw_f32(
        &fixtures().join(format!("{case}.y.f32")),
        &usizes(&meta["y_shape"]),
    );
    let y = model.forward(&Var::constant(x), false).unwrap().value();
    let scale = meta["y_abs_max"].as_f64().unwrap() as f32;
    // Relative to the output's scale: |ours − Keras| ≤ TOL · (1 + max |Keras|).
    assert_close(
        case,
        &y.mul_scalar(1.0 / scale),
        &expected.mul_scalar(1.0 / scale),
        TOL,
    );
    let err = max_abs_error(&y, &expected) / scale;
    println!("{case}: max |ours − Keras| / max |Keras| = {err:.2e}");
    err
}

fn random(options: Options) -> Options {
    options.weights(Weights::Random)
}

/// The official VGG16 naming: `block1_conv1_W_1:0`, matched by position within each layer.
#[test]
fn vgg16_matches_keras_through_block1() {
    reset_names();
    let base = vgg16(&random(
        Options::new().include_top(false).input_shape(&[32, 32, 3]),
    ))
    .unwrap();
    // Keras: Model(base.input, base.get_layer('block1_pool').output)
    let inputs = base.input_tensor().unwrap();
    let mut cut = Model::new(&inputs, &base.layer_output("block1_pool").unwrap()).unwrap();
    cut.load_weights_by_name(fixtures().join("vgg16_block1.h5"))
        .unwrap();
    // The cut shares its layers with the base: the base got the weights too.
    let kernel = base.layer("block1_conv1").unwrap().borrow().weights()[0]
        .var
        .value();
    assert_eq!(
        kernel,
        cut.layer("block1_conv1").unwrap().borrow().weights()[0]
            .var
            .value()
    );
    compare_outputs("vgg16_block1", &mut cut);
}

#[test]
fn resnet50_matches_keras_through_conv2_block2() {
    reset_names();
    let base = resnet50(&random(
        Options::new().include_top(false).input_shape(&[32, 32, 3]),
    ))
    .unwrap();
    let inputs = base.input_tensor().unwrap();
    let mut cut = Model::new(&inputs, &base.layer_output("conv2_block2_out").unwrap()).unwrap();
    cut.load_weights_by_name(fixtures().join("resnet50_conv2_block2.h5"))
        .unwrap();
    compare_outputs("resnet50_conv2_block2", &mut cut);
}

/// The whole MobileNetV2, its weights given as `weights=<path>` (loaded by position, as Keras).
#[test]
fn mobilenet_v2_matches_keras_whole() {
    reset_names();
    let file = fixtures().join("mobilenet_v2_0.35_48.h5");
    let options = Options::new()
        .include_top(false)
        .weights(Weights::File(file))
        .input_shape(&[48, 48, 3]);
    let mut model = mobilenet_v2(&options, 0.35).unwrap();
    assert_eq!(model.name(), "mobilenetv2_0.35_48");
    compare_outputs("mobilenet_v2_0.35_48", &mut model);
}

#[test]
fn full_architectures_have_keras_s_layers_counts_and_shapes() {
    let arch = json("architectures.json");
    type Build = fn(&Options) -> Result<Model, ApplicationError>;
    fn mobilenet(options: &Options) -> Result<Model, ApplicationError> {
        mobilenet_v2(options, 1.0)
    }
    let builds: [(&str, Build); 3] = [
        ("vgg16", vgg16),
        ("resnet50", resnet50),
        ("mobilenet_v2", mobilenet),
    ];
    for (name, build) in builds {
        for (key, top) in [("with_top", true), ("no_top_224", false)] {
            let keras = &arch[name][key];
            reset_names();
            let options = random(Options::new().include_top(top).input_shape(&[224, 224, 3]));
            let model = build(&options).unwrap();
            let what = format!("{name} {key}");
            assert_eq!(model.name(), keras["name"].as_str().unwrap(), "{what}");
            assert_eq!(
                layer_names(&model),
                strings(&keras["layer_names"]),
                "{what}"
            );
            assert_eq!(
                model.count_params() as u64,
                keras["count_params"].as_u64().unwrap(),
                "{what}"
            );
            assert_eq!(
                trainable_count(&model) as u64,
                keras["trainable"].as_u64().unwrap(),
                "{what}"
            );
            let shape: Vec<Option<usize>> = keras["output_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect();
            assert_eq!(model.output_shape(), Some(shape), "{what}");
        }
    }
    // The counts the issue names.
    let counts = |name: &str, key: &str| arch[name][key]["count_params"].as_u64().unwrap();
    assert_eq!(counts("vgg16", "no_top_224"), 14_714_688);
    assert_eq!(counts("mobilenet_v2", "no_top_224"), 2_257_984);
    assert_eq!(counts("resnet50", "no_top_224"), 23_587_712);
    assert_eq!(counts("vgg16", "with_top"), 138_357_544);
    assert_eq!(counts("mobilenet_v2", "with_top"), 3_538_984);
    assert_eq!(counts("resnet50", "with_top"), 25_636_712);
}

#[test]
fn alpha_and_input_size_change_widths_and_names_as_in_keras() {
    let arch = json("architectures.json");
    for (key, alpha, size) in [
        ("mobilenet_v2_0.35_96", 0.35, 96),
        ("mobilenet_v2_1.4_160", 1.4, 160),
    ] {
        reset_names();
        let options = random(
            Options::new()
                .include_top(false)
                .input_shape(&[size, size, 3]),
        );
        let model = mobilenet_v2(&options, alpha).unwrap();
        assert_eq!(model.name(), arch[key]["name"].as_str().unwrap());
        assert_eq!(
            model.count_params() as u64,
            arch[key]["count_params"].as_u64().unwrap(),
            "{key}"
        );
        let shape = usizes(&Value::Array(
            arch[key]["output_shape"].as_array().unwrap()[1..].to_vec(),
        ));
        let ours: Vec<usize> = model.output_shape().unwrap()[1..]
            .iter()
            .map(|d| d.unwrap())
            .collect();
        assert_eq!(ours, shape, "{key}");
    }
    let vgg = vgg16(&random(
        Options::new()
            .include_top(false)
            .input_shape(&[150, 150, 3]),
    ))
    .unwrap();
    assert_eq!(
        vgg.output_shape(),
        Some(vec![None, Some(4), Some(4), Some(512)])
    );
    let pooled = resnet50(
        &random(Options::new().include_top(false).input_shape(&[64, 64, 3])).pooling(Pooling::Avg),
    )
    .unwrap();
    assert_eq!(pooled.output_shape(), Some(vec![None, Some(2048)]));
    assert_eq!(layer_names(&pooled).last().unwrap(), "avg_pool");
}

#[test]
fn bad_arguments_give_keras_s_messages() {
    let arch = json("architectures.json");
    let keras = |key: &str| arch["errors"][key].as_str().unwrap().to_string();
    let err = vgg16(&Options::new().input_shape(&[150, 150, 3]))
        .err()
        .unwrap();
    assert!(matches!(err, ApplicationError::Argument { .. }));
    assert_eq!(err.to_string(), keras("top_not_224"));
    let err = vgg16(&random(
        Options::new().include_top(false).input_shape(&[31, 40, 3]),
    ))
    .err()
    .unwrap();
    assert_eq!(err.to_string(), keras("too_small"));
    let err = resnet50(&Options::new().classes(10)).err().unwrap();
    assert_eq!(err.to_string(), keras("classes"));
}

/// A weights file for another architecture or another width: the error names the layer and
/// both shapes, and the model is left as it was.
#[test]
fn a_file_for_another_architecture_is_refused_with_the_layer_and_shapes() {
    reset_names();
    let file = fixtures().join("mobilenet_v2_0.35_48.h5");
    let options = Options::new()
        .include_top(false)
        .weights(Weights::File(file.clone()))
        .input_shape(&[48, 48, 3]);
    let err = mobilenet_v2(&options, 0.5).err().unwrap();
    let ApplicationError::Layer(layer_error) = &err else {
        panic!("expected a layer error, got {err:?}");
    };
    match layer_error.as_weights_error() {
        // Conv1 has 16 filters at both widths; block 1 projects to 24·0.5 → 16 against
        // 24·0.35 → 8 channels (from block 1's 6·8 = 48 in both).
        Some(WeightsError::Shape {
            layer,
            expected,
            found,
            ..
        }) => {
            assert_eq!(layer, "block_1_project");
            assert_eq!(expected, &[1, 1, 48, 16]);
            assert_eq!(found, &[1, 1, 48, 8]);
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("Shape mismatch in layer \"block_1_project\""),
        "{err}"
    );
    // VGG16 from MobileNetV2's file: not even the number of layers fits.
    let options = Options::new()
        .include_top(false)
        .weights(Weights::File(file))
        .input_shape(&[48, 48, 3]);
    let err = vgg16(&options).err().unwrap().to_string();
    assert!(
        err.contains("Layer count mismatch") && err.contains("block1_conv1"),
        "{err}"
    );
}

/// Feature extraction is the base's inference forward pass, whatever the batch size.
#[test]
fn extracted_features_are_the_base_s_predictions() {
    reset_names();
    set_seed(3);
    let options = random(Options::new().include_top(false).input_shape(&[32, 32, 3]));
    let mut base = mobilenet_v2(&options, 0.35).unwrap();
    let mut rng = Rng::new(5);
    let x = Tensor::from_vec(
        (0..5 * 32 * 32 * 3)
            .map(|_| rng.uniform() * 2.0 - 1.0)
            .collect(),
        &[5, 32, 32, 3],
    )
    .unwrap();
    let whole = base
        .forward(&Var::constant(x.clone()), false)
        .unwrap()
        .value();
    for batch in [1, 2, 5, 8] {
        let features = extract_features(&mut base, &x, batch).unwrap();
        assert_close(&format!("batch {batch}"), &features, &whole, 1e-6);
    }
    assert!(extract_features(&mut base, &x, 0).is_err());
}

/// Every weight of `layers`, copied.
fn values(layers: &[SharedLayer]) -> Vec<(String, Tensor)> {
    layers
        .iter()
        .flat_map(|l| l.borrow().weights())
        .map(|w| (w.name.clone(), w.var.value()))
        .collect()
}

/// The recipe of `docs/keras-semantics.md` §10 on a small MobileNetV2: a frozen base with a new
/// head, then fine-tuning from layer 100 with the base in inference mode.
#[test]
fn frozen_weights_and_moving_statistics_do_not_move() {
    reset_names();
    set_seed(11);
    let options = random(Options::new().include_top(false).input_shape(&[32, 32, 3]));
    let mut base = mobilenet_v2(&options, 0.35).unwrap();
    let base_layers: Vec<SharedLayer> = base.layers().to_vec();
    let total = base.count_params();
    base.set_trainable(false);
    assert_eq!(trainable_count(&base), 0);
    base.set_inference_only(true);
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[32, 32, 3])),
        Box::new(base),
        Box::new(GlobalAveragePooling2D::new()),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .unwrap();
    let head_params = 1280 + 1;
    let summary = model.summary().unwrap();
    assert!(
        summary.contains(&format!(
            "Trainable params: {}",
            group_thousands(head_params)
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("Non-trainable params: {}", group_thousands(total))),
        "{summary}"
    );
    let mut rng = Rng::new(1);
    let x = Tensor::from_vec(
        (0..16 * 32 * 32 * 3)
            .map(|_| rng.uniform() * 2.0 - 1.0)
            .collect(),
        &[16, 32, 32, 3],
    )
    .unwrap();
    let y = Tensor::from_vec((0..16).map(|i| (i % 2) as f32).collect(), &[16]).unwrap();
    let quiet = || FitOptions::default().batch_size(8).verbose(0);

    let before = values(&base_layers);
    let head_before = model.layers()[2].borrow().weights()[0].var.value();
    model
        .compile("binary_crossentropy", Adam::new(1e-2), &["accuracy"])
        .unwrap();
    let history = model.fit(&x, &y, quiet().epochs(2)).unwrap();
    assert_eq!(history.epoch, [0, 1]);
    assert_eq!(
        values(&base_layers),
        before,
        "a frozen base must not move, bit for bit"
    );
    assert_ne!(
        model.layers()[2].borrow().weights()[0].var.value(),
        head_before,
        "the head trains"
    );

    // Fine-tuning: base.trainable = True; base.layers[:100] frozen; compile again.
    model.layers()[0].borrow_mut().set_trainable(true);
    for layer in &base_layers[..100] {
        layer.borrow_mut().set_trainable(false);
    }
    let tuned: usize = base_layers[100..]
        .iter()
        .flat_map(|l| l.borrow().weights())
        .filter(|w| w.trainable)
        .map(|w| w.numel())
        .sum();
    assert!(tuned > 0);
    assert_eq!(trainable_count(&model), tuned + head_params);
    model
        .compile("binary_crossentropy", RMSprop::new(1e-3), &["accuracy"])
        .unwrap();
    let fine = model
        .fit(&x, &y, quiet().epochs(4).initial_epoch(2))
        .unwrap();
    assert_eq!(fine.epoch, [2, 3]);
    let after = values(&base_layers);
    let frozen = values(&base_layers[..100]).len();
    assert_eq!(
        after[..frozen],
        before[..frozen],
        "layers before 100 stay frozen"
    );
    let moved = |pick: &dyn Fn(&str) -> bool| {
        after[frozen..]
            .iter()
            .zip(&before[frozen..])
            .filter(|((name, _), _)| pick(name))
            .any(|((_, a), (_, b))| a != b)
    };
    assert!(
        moved(&|n| n.ends_with("kernel:0")),
        "the unfrozen top is fine-tuned"
    );
    assert!(
        !moved(&|n| n.contains("moving_")),
        "inference mode keeps the moving statistics"
    );

    // Without base(x, training=False), the unfrozen BatchNormalization layers would update them.
    let mut loose = mobilenet_v2(&options, 0.35).unwrap();
    let loose_layers = loose.layers().to_vec();
    loose.set_trainable(true);
    let stats = |layers: &[SharedLayer]| -> Vec<(String, Tensor)> {
        values(layers)
            .into_iter()
            .filter(|(n, _)| n.contains("moving_"))
            .collect()
    };
    let stats_before = stats(&loose_layers);
    let mut model = Sequential::new(vec![
        Box::new(Input::new(&[32, 32, 3])),
        Box::new(loose),
        Box::new(GlobalAveragePooling2D::new()),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
    .unwrap();
    model
        .compile("binary_crossentropy", RMSprop::new(1e-3), &[])
        .unwrap();
    model.fit(&x, &y, quiet().epochs(1)).unwrap();
    assert_ne!(
        stats(&loose_layers),
        stats_before,
        "a trainable BN in training mode moves its statistics"
    );
}

/// `1,234,567`, as the summary's totals print.
fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
