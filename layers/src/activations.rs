//! Activation functions by name, as Keras's `activation='relu'` strings.
//!
//! Each is one differentiable op of `astrograd_autograd::ops` (see those files for the math).
//! `softmax` and `sigmoid` are special for training: a model whose last activation is one of
//! them lets the loss start from the pre-activation **logits** (Keras does the same, see
//! `docs/keras-semantics.md`, "The surprises"), which is exact where `log(softmax(z))` would
//! round to `log(0)`. [`ActivationFn::is_logit_activation`] says which.
use astrograd_autograd::Var;

use crate::{LayerError, Result};

/// An activation function (`tf.keras.activations.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationFn {
    /// `x` (Keras's `None` / `'linear'`).
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1/(1 + e^−x)`.
    Sigmoid,
    /// `e^x_i / Σ_j e^x_j` over the last axis.
    Softmax,
    /// `tanh(x)`.
    Tanh,
    /// `x` for `x > 0`, `e^x − 1` otherwise (alpha 1).
    Elu,
    /// `λ·elu(x, α)` with Klambauer's λ ≈ 1.0507, α ≈ 1.6733.
    Selu,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x·Φ(x)`, the exact form (Keras's `approximate=False`).
    Gelu,
    /// `x·sigmoid(x)` (also called SiLU).
    Swish,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` for `x > 0`, `0.2·x` otherwise (`tf.nn.leaky_relu`'s default slope).
    LeakyRelu,
}

/// The names [`ActivationFn::from_name`] knows.
pub const ACTIVATION_NAMES: [&str; 12] = [
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "elu",
    "selu",
    "softplus",
    "gelu",
    "swish",
    "relu6",
    "leaky_relu",
    "linear",
];

impl ActivationFn {
    /// The activation Keras's string names (`"relu"`, `"softmax"`, …).
    ///
    /// ```
    /// use astrograd_layers::ActivationFn;
    /// assert_eq!(ActivationFn::from_name("relu")?, ActivationFn::Relu);
    /// let err = ActivationFn::from_name("rleu").unwrap_err().to_string();
    /// assert!(err.starts_with("Unknown activation function: 'rleu'. Known: relu, sigmoid"));
    /// # Ok::<(), astrograd_layers::LayerError>(())
    /// ```
    ///
    /// # Errors
    /// [`LayerError::UnknownName`] listing the known names.
    pub fn from_name(name: &str) -> Result<ActivationFn> {
        Ok(match name {
            "relu" => ActivationFn::Relu,
            "sigmoid" => ActivationFn::Sigmoid,
            "softmax" => ActivationFn::Softmax,
            "tanh" => ActivationFn::Tanh,
            "elu" => ActivationFn::Elu,
            "selu" => ActivationFn::Selu,
            "softplus" => ActivationFn::Softplus,
            "gelu" => ActivationFn::Gelu,
            "swish" | "silu" => ActivationFn::Swish,
            "relu6" => ActivationFn::Relu6,
            "leaky_relu" => ActivationFn::LeakyRelu,
            "linear" => ActivationFn::Linear,
            _ => {
                return Err(LayerError::UnknownName {
                    kind: "activation function",
                    name: name.to_string(),
                    known: ACTIVATION_NAMES.join(", "),
                })
            }
        })
    }

    /// Keras's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            ActivationFn::Linear => "linear",
            ActivationFn::Relu => "relu",
            ActivationFn::Sigmoid => "sigmoid",
            ActivationFn::Softmax => "softmax",
            ActivationFn::Tanh => "tanh",
            ActivationFn::Elu => "elu",
            ActivationFn::Selu => "selu",
            ActivationFn::Softplus => "softplus",
            ActivationFn::Gelu => "gelu",
            ActivationFn::Swish => "swish",
            ActivationFn::Relu6 => "relu6",
            ActivationFn::LeakyRelu => "leaky_relu",
        }
    }

    /// Applies the function to `x` (softmax over the last axis).
    ///
    /// # Errors
    /// What the op returns (softmax of a scalar, which has no axis).
    pub fn apply(&self, x: &Var) -> Result<Var> {
        Ok(match self {
            ActivationFn::Linear => x.clone(),
            ActivationFn::Relu => x.relu()?,
            ActivationFn::Sigmoid => x.sigmoid()?,
            ActivationFn::Softmax => x.softmax(x.shape().len().saturating_sub(1))?,
            ActivationFn::Tanh => x.tanh()?,
            ActivationFn::Elu => x.elu(1.0)?,
            ActivationFn::Selu => x.selu()?,
            ActivationFn::Softplus => x.softplus()?,
            ActivationFn::Gelu => x.gelu(false)?,
            ActivationFn::Swish => x.swish()?,
            ActivationFn::Relu6 => x.relu6()?,
            ActivationFn::LeakyRelu => x.leaky_relu(0.2)?,
        })
    }

    /// True for softmax and sigmoid: a loss may then start from the values before it.
    pub fn is_logit_activation(&self) -> bool {
        matches!(self, ActivationFn::Softmax | ActivationFn::Sigmoid)
    }
}

/// The output of a layer or a model, and, when its last step was a softmax or a sigmoid, the
/// values that went into it.
#[derive(Clone, Debug)]
pub struct Output {
    /// What the layer returns (probabilities after a softmax).
    pub output: Var,
    /// The logits, when the output is `softmax(logits)` or `sigmoid(logits)`.
    pub logits: Option<Logits>,
}

/// Pre-activation values of a final softmax or sigmoid.
#[derive(Clone, Debug)]
pub struct Logits {
    /// `z` in `output = activation(z)`.
    pub logits: Var,
    /// [`ActivationFn::Softmax`] or [`ActivationFn::Sigmoid`].
    pub activation: ActivationFn,
}

impl Output {
    /// An output with no logits to offer.
    pub fn plain(output: Var) -> Output {
        Output {
            output,
            logits: None,
        }
    }

    /// `activation(z)`, keeping `z` as the logits when the activation is softmax or sigmoid.
    ///
    /// # Errors
    /// What [`ActivationFn::apply`] returns.
    pub fn activate(z: Var, activation: ActivationFn) -> Result<Output> {
        let output = activation.apply(&z)?;
        let logits = activation.is_logit_activation().then_some(Logits {
            logits: z,
            activation,
        });
        Ok(Output { output, logits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn every_name_round_trips_and_applies() {
        let x = Var::constant(Tensor::from_vec(vec![-1.0, 0.5, 7.0], &[1, 3]).unwrap());
        for name in ACTIVATION_NAMES {
            let f = ActivationFn::from_name(name).unwrap();
            assert_eq!(f.name(), name);
            assert_eq!(f.apply(&x).unwrap().shape(), vec![1, 3]);
        }
        let y = ActivationFn::LeakyRelu
            .apply(&x)
            .unwrap()
            .value()
            .to_vec()
            .unwrap();
        assert_eq!(y, vec![-0.2, 0.5, 7.0]);
        let y = ActivationFn::Relu6
            .apply(&x)
            .unwrap()
            .value()
            .to_vec()
            .unwrap();
        assert_eq!(y, vec![0.0, 0.5, 6.0]);
    }

    #[test]
    fn softmax_and_sigmoid_keep_their_logits() {
        let z = Var::constant(Tensor::from_vec(vec![50.0, -50.0], &[1, 2]).unwrap());
        let out = Output::activate(z.clone(), ActivationFn::Softmax).unwrap();
        let logits = out.logits.unwrap();
        assert!(logits.logits.same_node(&z));
        assert_eq!(logits.activation, ActivationFn::Softmax);
        assert!(Output::activate(z, ActivationFn::Relu)
            .unwrap()
            .logits
            .is_none());
    }
}
