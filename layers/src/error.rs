//! The error type of the layers crate.
use astrograd_autograd::AutogradError;
use astrograd_tensor::TensorError;

/// What went wrong while building or running a layer or a model.
///
/// The messages follow Keras's where Keras has one, so that a search for the text finds the
/// same explanations (`Input 0 of layer "conv2d" is incompatible with the layer: …`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerError {
    /// An op rejected its inputs while the layer ran.
    #[error(transparent)]
    Autograd(#[from] AutogradError),
    /// A tensor operation rejected its inputs.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A layer received a shape it cannot take, found when the model is built (Keras's
    /// `assert_input_compatibility`).
    #[error("Input {input} of layer \"{layer}\" is incompatible with the layer: {detail}")]
    IncompatibleInput {
        /// The layer's name (`conv2d`).
        layer: String,
        /// Which input of the layer (0 for all but `Add`).
        input: usize,
        /// What was expected and what was found, with the full shape received.
        detail: String,
    },
    /// An activation, initializer or padding name that does not exist.
    #[error("Unknown {kind}: '{name}'. Known: {known}")]
    UnknownName {
        /// What the name should have named (`activation function`, `initializer`).
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// Saving or loading weights failed (see [`crate::weights`]); boxed, as it is large.
    #[error(transparent)]
    Weights(Box<crate::weights::WeightsError>),
    /// A bad argument or use: a rate outside [0, 1), a forward before the model knows its input
    /// shape, a layer name that is not in the model.
    #[error("{what}: expected {expected}, found {found}")]
    Invalid {
        /// The layer, model or function that rejected it.
        what: String,
        /// What would have been accepted.
        expected: String,
        /// What was given.
        found: String,
    },
}

impl LayerError {
    /// Shorthand for [`LayerError::Invalid`].
    pub fn invalid(
        what: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> LayerError {
        LayerError::Invalid {
            what: what.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// `Result` with [`LayerError`].
pub type Result<T> = std::result::Result<T, LayerError>;
