//! Losses for `compile(loss=…)`: by name (`"sparse_categorical_crossentropy"`) or as a value
//! with options (`Loss::SparseCategoricalCrossentropy { from_logits: true }`).
//!
//! # Math
//! Each loss is a per-sample op of `astrograd_autograd::ops` (`(N,)` losses, read their files
//! for the formulas); `fit` reduces them as Keras does, with the mean over the batch:
//! `loss = Σ_n loss_n / N`.
//!
//! **Logits first.** When the model's last layer ends in a softmax (or a sigmoid) and the loss
//! is the matching cross-entropy on probabilities, the loss is computed from the values *before*
//! the activation, with the exact `from_logits` formula, as Keras does
//! (`docs/keras-semantics.md`, "The surprises"): logits (50, −50) with label 1 give 100.0, where
//! the clipped probability form stops at 16.118.
use astrograd_autograd::ops::huber::HUBER_DEFAULT_DELTA;
use astrograd_autograd::{Tensor, Var};

use crate::activations::{ActivationFn, Output};
use crate::{LayerError, Result};

/// A loss function (`tf.keras.losses.*`), reduced per sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Integer class labels `(N,)` against `K` scores: `SparseCategoricalCrossentropy`.
    SparseCategoricalCrossentropy {
        /// Whether the model outputs logits rather than probabilities.
        from_logits: bool,
    },
    /// One-hot target rows `(N, K)`: `CategoricalCrossentropy`.
    CategoricalCrossentropy {
        /// Whether the model outputs logits rather than probabilities.
        from_logits: bool,
    },
    /// Yes/no targets in [0, 1]: `BinaryCrossentropy`.
    BinaryCrossentropy {
        /// Whether the model outputs logits rather than probabilities.
        from_logits: bool,
    },
    /// `mean((y − ŷ)²)` over the last axis: `'mse'`.
    MeanSquaredError,
    /// `mean(|y − ŷ|)` over the last axis: `'mae'`.
    MeanAbsoluteError,
    /// Squared below `delta`, linear above: `Huber(delta=1.0)`.
    Huber {
        /// Where the loss turns from squared to linear.
        delta: f32,
    },
}

/// The names [`Loss::from_name`] knows.
pub const LOSS_NAMES: [&str; 9] = [
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "mse",
    "mean_squared_error",
    "mae",
    "mean_absolute_error",
    "huber",
    "huber_loss",
];

impl Loss {
    /// The loss Keras's string names (`loss='mse'`), with Keras's defaults.
    ///
    /// ```
    /// use astrograd_layers::training::Loss;
    /// assert_eq!(
    ///     Loss::from_name("sparse_categorical_crossentropy")?,
    ///     Loss::SparseCategoricalCrossentropy { from_logits: false }
    /// );
    /// assert!(Loss::from_name("crossentropy").is_err());
    /// # Ok::<(), astrograd_layers::LayerError>(())
    /// ```
    ///
    /// # Errors
    /// [`LayerError::UnknownName`] listing the known names.
    pub fn from_name(name: &str) -> Result<Loss> {
        Ok(match name {
            "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits: false }
            }
            "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits: false },
            "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits: false },
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            "mae" | "mean_absolute_error" => Loss::MeanAbsoluteError,
            "huber" | "huber_loss" => Loss::Huber {
                delta: HUBER_DEFAULT_DELTA,
            },
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "loss function",
                    name: name.to_string(),
                    known: LOSS_NAMES.join(", "),
                })
            }
        })
    }

    /// Keras's function name (`sparse_categorical_crossentropy`, `mean_squared_error`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::Huber { .. } => "huber_loss",
        }
    }

    /// The activation whose logits this loss can start from, when it is given probabilities:
    /// softmax for the categorical cross-entropies, sigmoid for the binary one.
    fn logit_activation(&self) -> Option<ActivationFn> {
        match self {
            Loss::SparseCategoricalCrossentropy { from_logits: false }
            | Loss::CategoricalCrossentropy { from_logits: false } => Some(ActivationFn::Softmax),
            Loss::BinaryCrossentropy { from_logits: false } => Some(ActivationFn::Sigmoid),
            _ => None,
        }
    }

    /// The per-sample losses `(N,)` of a model's output against the targets `y_true`, from the
    /// logits when the output offers them and this loss can use them.
    ///
    /// # Errors
    /// The op's error: labels out of range, shapes that do not match.
    pub fn per_sample(&self, output: &Output, y_true: &Tensor) -> Result<Var> {
        if let Some(logits) = self.logits_of(output) {
            return self.with_logits(true).apply(logits, y_true);
        }
        self.apply(&output.output()?, y_true)
    }

    /// [`Loss::per_sample`], and the model's output as a tensor. A categorical cross-entropy
    /// from the logits of a final softmax (a binary one from those of a final sigmoid) computes
    /// the probabilities in its own kernel: they are the output (the same numbers as the
    /// softmax or the sigmoid), so the activation is not computed again.
    /// A training step gives this output to its metrics.
    ///
    /// # Shapes
    /// The losses `(N,)`; the output as the model gives it.
    ///
    /// # Errors
    /// As [`Loss::per_sample`].
    pub fn per_sample_and_output(&self, output: &Output, y_true: &Tensor) -> Result<(Var, Tensor)> {
        use astrograd_autograd::ops::{
            binary_crossentropy, categorical_crossentropy, softmax_cross_entropy,
        };
        match (self, self.logits_of(output)) {
            (Loss::SparseCategoricalCrossentropy { .. }, Some(logits)) => Ok(
                softmax_cross_entropy::sparse_categorical_crossentropy_with_probs(logits, y_true)?,
            ),
            (Loss::CategoricalCrossentropy { .. }, Some(logits)) => {
                Ok(categorical_crossentropy::categorical_crossentropy_with_probs(logits, y_true)?)
            }
            (Loss::BinaryCrossentropy { .. }, Some(logits)) => Ok(
                binary_crossentropy::binary_crossentropy_with_probs(logits, y_true)?,
            ),
            _ => Ok((self.per_sample(output, y_true)?, output.output()?.value())),
        }
    }

    /// The logits this loss starts from: those of `output` when its activation is the one this
    /// loss, given probabilities, can start before.
    fn logits_of<'o>(&self, output: &'o Output) -> Option<&'o Var> {
        let logits = output.logits()?;
        (Some(logits.activation) == self.logit_activation()).then_some(&logits.logits)
    }

    /// Checks class labels on the host against the shape `(N, K)` of the model's output before
    /// they are copied to a GPU, whose kernels would turn a label outside `0..K` into a NaN
    /// loss instead of an error. Other losses, and labels already on the GPU, are not checked
    /// here.
    ///
    /// # Errors
    /// A label that is not a class index in `0..K`, naming it and its row.
    pub fn check_labels_on_host(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        if let (Loss::SparseCategoricalCrossentropy { .. }, [_, k]) = (self, output_shape) {
            if y_true.device() == astrograd_autograd::Device::Cpu {
                astrograd_tensor::nn::losses::check_class_indices(self.name(), y_true, *k)?;
            }
        }
        Ok(())
    }

    /// This loss with `from_logits` set (unchanged for the regression losses).
    fn with_logits(self, from_logits: bool) -> Loss {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => {
                Loss::SparseCategoricalCrossentropy { from_logits }
            }
            Loss::CategoricalCrossentropy { .. } => Loss::CategoricalCrossentropy { from_logits },
            Loss::BinaryCrossentropy { .. } => Loss::BinaryCrossentropy { from_logits },
            other => other,
        }
    }

    /// The per-sample losses of `y_pred` taken as it is.
    ///
    /// # Errors
    /// The op's error.
    pub fn apply(&self, y_pred: &Var, y_true: &Tensor) -> Result<Var> {
        Ok(match *self {
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                y_pred.sparse_categorical_crossentropy(y_true, from_logits)?
            }
            Loss::CategoricalCrossentropy { from_logits } => {
                y_pred.categorical_crossentropy(y_true, from_logits)?
            }
            Loss::BinaryCrossentropy { from_logits } => {
                y_pred.binary_crossentropy(y_true, from_logits)?
            }
            Loss::MeanSquaredError => y_pred.mean_squared_error(y_true)?,
            Loss::MeanAbsoluteError => y_pred.mean_absolute_error(y_true)?,
            Loss::Huber { delta } => y_pred.huber(y_true, delta)?,
        })
    }
}

/// What `compile(loss=…)` accepts: a name or a [`Loss`].
#[derive(Clone, Debug, PartialEq)]
pub enum LossSpec {
    /// `loss='sparse_categorical_crossentropy'`.
    Name(String),
    /// `loss=SparseCategoricalCrossentropy(from_logits=True)`.
    Loss(Loss),
}

impl LossSpec {
    /// The loss it names.
    ///
    /// # Errors
    /// An unknown name.
    pub fn resolve(self) -> Result<Loss> {
        match self {
            LossSpec::Name(name) => Loss::from_name(&name),
            LossSpec::Loss(loss) => Ok(loss),
        }
    }
}

impl From<&str> for LossSpec {
    fn from(name: &str) -> LossSpec {
        LossSpec::Name(name.to_string())
    }
}

impl From<String> for LossSpec {
    fn from(name: String) -> LossSpec {
        LossSpec::Name(name)
    }
}

impl From<Loss> for LossSpec {
    fn from(loss: Loss) -> LossSpec {
        LossSpec::Loss(loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::Output;

    #[test]
    fn names_resolve_and_unknown_names_list_the_known_ones() {
        for name in LOSS_NAMES {
            let loss = Loss::from_name(name).unwrap();
            assert_eq!(Loss::from_name(loss.name()).unwrap(), loss);
        }
        let err = Loss::from_name("sparse_crossentropy")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "Unknown loss function: 'sparse_crossentropy'. Known: sparse_categorical"
            ),
            "{err}"
        );
    }

    /// Logits and targets of the probability checks: ties, large and tiny values, K = 1.
    fn softmax_cases() -> Vec<(Tensor, Tensor, Tensor)> {
        let cases: [(&[f32], usize, &[f32]); 4] = [
            (&[1.0, 2.0, 3.0, -1.0, 0.5, 0.25], 3, &[2.0, 0.0]),
            (&[80.0, -80.0, 80.0, 0.1, 0.1, 0.1], 3, &[1.0, 2.0]),
            (
                &[1e-7, -3.5, 12.0, 7.25, -0.0, 3.0, 3.0, -9.0],
                4,
                &[0.0, 3.0],
            ),
            (&[4.0, -2.0, 0.0], 1, &[0.0, 0.0, 0.0]),
        ];
        cases
            .iter()
            .map(|&(z, k, labels)| {
                let n = z.len() / k;
                let one_hot: Vec<f32> = labels
                    .iter()
                    .flat_map(|&l| (0..k).map(move |j| f32::from(j == l as usize)))
                    .collect();
                (
                    Tensor::from_vec(z.to_vec(), &[n, k]).unwrap(),
                    Tensor::from_vec(labels.to_vec(), &[n]).unwrap(),
                    Tensor::from_vec(one_hot, &[n, k]).unwrap(),
                )
            })
            .collect()
    }

    /// With a final softmax, the output a training step gives its metrics is the cross-entropy
    /// kernel's probabilities: the softmax's numbers bit for bit, with the same losses as
    /// `per_sample`, for sparse labels and one-hot rows. Other pairs give the output itself.
    #[test]
    fn the_cross_entropy_gives_the_softmax_it_computes_as_the_output() {
        for (z, labels, one_hot) in softmax_cases() {
            let z = Var::constant(z);
            let softmax = z.softmax(1).unwrap().value().to_vec().unwrap();
            let out = Output::activate(z, ActivationFn::Softmax).unwrap();
            let pairs = [
                (
                    Loss::SparseCategoricalCrossentropy { from_logits: false },
                    &labels,
                ),
                (
                    Loss::CategoricalCrossentropy { from_logits: false },
                    &one_hot,
                ),
            ];
            for (loss, y) in pairs {
                let (losses, output) = loss.per_sample_and_output(&out, y).unwrap();
                assert_eq!(output.to_vec().unwrap(), softmax, "{loss:?}");
                assert_eq!(
                    losses.value().to_vec().unwrap(),
                    loss.per_sample(&out, y).unwrap().value().to_vec().unwrap(),
                    "{loss:?}"
                );
            }
        }
        // Probabilities taken as they are (no logits to start from): the output itself.
        let p = Var::constant(Tensor::from_vec(vec![0.25, 0.75], &[1, 2]).unwrap());
        let label = Tensor::from_vec(vec![1.0], &[1]).unwrap();
        let sparse = Loss::SparseCategoricalCrossentropy { from_logits: false };
        let (losses, output) = sparse
            .per_sample_and_output(&Output::plain(p), &label)
            .unwrap();
        assert_eq!(output.to_vec().unwrap(), vec![0.25, 0.75]);
        assert!((losses.value().to_vec().unwrap()[0] - 0.75f32.ln().abs()).abs() < 1e-6);
    }

    /// With a final sigmoid and the binary cross-entropy, on both devices: the output is the
    /// loss kernel's probabilities, the sigmoid's numbers bit for bit, with the losses of
    /// `per_sample`.
    #[test]
    fn the_binary_cross_entropy_gives_the_sigmoid_it_computes_as_the_output() {
        #[cfg(not(feature = "wgpu"))]
        let devices = vec![astrograd_autograd::Device::Cpu];
        #[cfg(feature = "wgpu")]
        let devices: Vec<_> = std::iter::once(astrograd_autograd::Device::Cpu)
            .chain(astrograd_tensor::gpu::gpu_or_skip())
            .collect();
        for device in devices {
            for (z, _, one_hot) in softmax_cases() {
                let z = Var::constant(z.to(device).unwrap());
                let sigmoid = z.sigmoid().unwrap().value().to_vec().unwrap();
                let out = Output::activate(z, ActivationFn::Sigmoid).unwrap();
                let loss = Loss::BinaryCrossentropy { from_logits: false };
                let y = one_hot.to(device).unwrap();
                let (losses, output) = loss.per_sample_and_output(&out, &y).unwrap();
                assert_eq!(output.device(), device);
                let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(output.to_vec().unwrap()), bits(sigmoid), "{device}");
                assert_eq!(
                    losses.value().to_vec().unwrap(),
                    loss.per_sample(&out, &y).unwrap().value().to_vec().unwrap(),
                    "{device}"
                );
            }
        }
    }

    /// On the GPU too: the fused kernel's probabilities are the softmax kernel's, bit for bit.
    #[cfg(feature = "wgpu")]
    #[test]
    fn on_the_gpu_the_cross_entropy_gives_the_softmax_it_computes() {
        let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() else {
            return;
        };
        for (z, labels, one_hot) in softmax_cases() {
            let z = Var::constant(z.to(gpu).unwrap());
            let softmax = z.softmax(1).unwrap().value().to_vec().unwrap();
            let out = Output::activate(z, ActivationFn::Softmax).unwrap();
            let pairs = [
                (
                    Loss::SparseCategoricalCrossentropy { from_logits: false },
                    labels,
                ),
                (
                    Loss::CategoricalCrossentropy { from_logits: false },
                    one_hot,
                ),
            ];
            for (loss, y) in pairs {
                let y = y.to(gpu).unwrap();
                let (_, output) = loss.per_sample_and_output(&out, &y).unwrap();
                assert_eq!(output.device(), gpu);
                assert_eq!(output.to_vec().unwrap(), softmax, "{loss:?}");
            }
        }
    }

    /// Keras: `Dense(2, activation='softmax')` with logits (50, −50) and label 1 has loss 100.0
    /// in fit, not the clipped 16.118 (`docs/keras-semantics.md`, "The surprises").
    #[test]
    fn a_final_softmax_gives_its_logits_to_the_cross_entropy() {
        let z = Var::constant(Tensor::from_vec(vec![50.0, -50.0], &[1, 2]).unwrap());
        let out = Output::activate(z, ActivationFn::Softmax).unwrap();
        let label = Tensor::from_vec(vec![1.0], &[1]).unwrap();
        let sparse = Loss::from_name("sparse_categorical_crossentropy").unwrap();
        assert_eq!(
            sparse
                .per_sample(&out, &label)
                .unwrap()
                .value()
                .to_vec()
                .unwrap(),
            vec![100.0]
        );
        // Taken as probabilities, the same output stops at the cap −log(1e-7).
        let capped = sparse
            .apply(&out.output().unwrap(), &label)
            .unwrap()
            .value()
            .to_vec()
            .unwrap()[0];
        assert!((capped - 16.118_095).abs() < 1e-4, "{capped}");
        // A sigmoid's logits go to the binary cross-entropy only.
        let z = Var::constant(Tensor::from_vec(vec![-50.0], &[1, 1]).unwrap());
        let out = Output::activate(z, ActivationFn::Sigmoid).unwrap();
        let one = Tensor::from_vec(vec![1.0], &[1]).unwrap();
        let bce = Loss::BinaryCrossentropy { from_logits: false };
        assert_eq!(
            bce.per_sample(&out, &one)
                .unwrap()
                .value()
                .to_vec()
                .unwrap(),
            vec![50.0]
        );
        let mse = Loss::MeanSquaredError
            .per_sample(&out, &one)
            .unwrap()
            .value()
            .to_vec()
            .unwrap()[0];
        assert!((mse - 1.0).abs() < 1e-6);
    }

    #[test]
    fn labels_out_of_range_are_the_loss_op_error() {
        let out = Output::plain(Var::constant(Tensor::ones(&[2, 3])));
        let labels = Tensor::from_vec(vec![0.0, 3.0], &[2]).unwrap();
        let err = Loss::SparseCategoricalCrossentropy { from_logits: false }
            .per_sample(&out, &labels)
            .unwrap_err();
        assert!(matches!(err, LayerError::Autograd(_)), "{err:?}");
        assert!(
            err.to_string().contains("sparse_categorical_crossentropy"),
            "{err}"
        );
    }
}
