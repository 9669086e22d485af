//! Activation functions by name, as Keras's `activation='relu'` strings.
//!
//! Each is one differentiable op of `astrograd_autograd::ops` (see those files for the math).
//! `softmax` and `sigmoid` are special for training: a model whose last activation is one of
//! them lets the loss start from the pre-activation **logits** (Keras does the same, see
//! `docs/keras-semantics.md`, "The surprises"), which is exact where `log(softmax(z))` would
//! round to `log(0)`. [`ActivationFn::is_logit_activation`] says which.
use std::cell::OnceCell;

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
///
/// Such an activation is applied when the output is first asked for ([`Output::output`]), not
/// before: a training step whose loss starts from the logits takes its probabilities from the
/// loss's own kernel (`Loss::per_sample_and_output`), so the softmax is computed once a step,
/// not twice.
#[derive(Clone, Debug)]
pub struct Output {
    state: OutputState,
}

#[derive(Clone, Debug)]
enum OutputState {
    /// The output itself: no logits to offer.
    Plain(Var),
    /// `activation(logits)`, computed on the first call to [`Output::output`].
    Activated {
        logits: Logits,
        output: OnceCell<Var>,
    },
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
            state: OutputState::Plain(output),
        }
    }

    /// `activation(z)`, keeping `z` as the logits when the activation is softmax or sigmoid
    /// (then applied when the output is first asked for).
    ///
    /// # Errors
    /// What [`ActivationFn::apply`] returns.
    pub fn activate(z: Var, activation: ActivationFn) -> Result<Output> {
        if !activation.is_logit_activation() {
            return Ok(Output::plain(activation.apply(&z)?));
        }
        Ok(Output {
            state: OutputState::Activated {
                logits: Logits {
                    logits: z,
                    activation,
                },
                output: OnceCell::new(),
            },
        })
    }

    /// What the layer returns (probabilities after a softmax): the activation of the logits is
    /// applied at the first call.
    ///
    /// # Errors
    /// What [`ActivationFn::apply`] returns.
    pub fn output(&self) -> Result<Var> {
        match &self.state {
            OutputState::Plain(output) => Ok(output.clone()),
            OutputState::Activated { logits, output } => {
                if let Some(output) = output.get() {
                    return Ok(output.clone());
                }
                let activated = logits.activation.apply(&logits.logits)?;
                Ok(output.get_or_init(|| activated).clone())
            }
        }
    }

    /// The logits, when the output is `softmax(logits)` or `sigmoid(logits)`.
    pub fn logits(&self) -> Option<&Logits> {
        match &self.state {
            OutputState::Plain(_) => None,
            OutputState::Activated { logits, .. } => Some(logits),
        }
    }

    /// The output's shape, known without applying the activation (which keeps the shape).
    pub fn shape(&self) -> Vec<usize> {
        match &self.state {
            OutputState::Plain(output) => output.shape(),
            OutputState::Activated { logits, .. } => logits.logits.shape(),
        }
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
        let logits = out.logits().unwrap();
        assert!(logits.logits.same_node(&z));
        assert_eq!(logits.activation, ActivationFn::Softmax);
        assert!(Output::activate(z, ActivationFn::Relu)
            .unwrap()
            .logits()
            .is_none());
    }

    /// A softmax or sigmoid output is computed at the first ask, once: the same node at every
    /// later ask, the activation's values; its shape is known before.
    #[test]
    fn a_logit_activation_is_applied_when_first_asked_for() {
        let z = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 0.5, -3.0], &[2, 2]).unwrap());
        for activation in [ActivationFn::Softmax, ActivationFn::Sigmoid] {
            let out = Output::activate(z.clone(), activation).unwrap();
            assert_eq!(out.shape(), vec![2, 2]);
            let first = out.output().unwrap();
            assert!(first.same_node(&out.output().unwrap()), "{activation:?}");
            let expected = activation.apply(&z).unwrap().value().to_vec().unwrap();
            assert_eq!(first.value().to_vec().unwrap(), expected, "{activation:?}");
        }
        let relu = Output::activate(z, ActivationFn::Relu).unwrap();
        assert_eq!(
            relu.output().unwrap().value().to_vec().unwrap(),
            vec![1.0, 2.0, 0.5, 0.0]
        );
    }
}
