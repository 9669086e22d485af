//! The `Layer` trait: what every layer of a model can do, and the weights it owns.
//!
//! A layer's life, as in Keras:
//!
//! 1. **Construction** sets its options (`Dense::new(300).activation("relu")`); no weights yet.
//! 2. **Build**: when the model learns the shape of the layer's input (from an `Input`, or the
//!    first batch), [`Layer::build`] checks the shape and creates the weights, sized from it
//!    (a Dense kernel is `(in, units)`, `in` being the input's last axis). Incompatible shapes
//!    are reported here, with the layer's name and the shape received.
//! 3. **Call**: [`Layer::call`] maps input values to output values with differentiable ops, so
//!    `loss.backward()` reaches the weights.
//!
//! Shapes before any data has been seen are [`Shape`]s, with `None` for the batch axis.
use std::cell::{OnceCell, Ref, RefCell, RefMut};
use std::rc::Rc;

use astrograd_autograd::Var;

use crate::activations::Output;
use crate::functional::SymbolicTensor;
use crate::names::{unique_name, unique_name_one_based};
use crate::shape::Shape;
use crate::Result;

/// One weight of a layer, under its Keras name.
#[derive(Clone, Debug)]
pub struct Weight {
    /// Keras's variable name: `"dense/kernel:0"`, `"batch_normalization/moving_mean:0"`.
    pub name: String,
    /// The value, shared with the layer: `var.set_value(t)` changes the layer's weight.
    pub var: Var,
    /// Whether an optimizer updates it: false for BatchNormalization's moving statistics and
    /// for every weight of a layer with `trainable = false`.
    pub trainable: bool,
}

impl Weight {
    /// The number of values.
    pub fn numel(&self) -> usize {
        self.var.value().numel()
    }
}

/// What every layer keeps besides its own options and weights: its name, whether it is
/// trainable, whether it is built, and the output shape of each call made on it.
#[derive(Clone, Debug)]
pub struct LayerBase {
    /// Given by the user, or taken from the per-thread counter the first time it is asked for.
    name: OnceCell<String>,
    /// Prefix of the automatic name: the snake-case class name (`dense`, `max_pooling2d`).
    prefix: &'static str,
    /// Keras's class name, as the summary shows it (`Dense`, `MaxPooling2D`).
    class_name: &'static str,
    /// Whether automatic names count from 1 (`input_1`, as Keras's `Input`) or from 0.
    one_based: bool,
    /// `layer.trainable`.
    pub trainable: bool,
    /// Whether the weights exist.
    pub built: bool,
    /// The output shape of each symbolic call (each "node" of the graph), in call order.
    pub output_shapes: Vec<Shape>,
    /// Keras's `input_shape=` argument, `(None, …)`: as the first layer of a `Sequential`, it
    /// gives the model its input shape.
    pub batch_input_shape: Option<Shape>,
}

impl LayerBase {
    /// A trainable, unbuilt, unnamed layer of the given class.
    pub fn new(class_name: &'static str, prefix: &'static str) -> LayerBase {
        LayerBase {
            name: OnceCell::new(),
            prefix,
            class_name,
            one_based: false,
            trainable: true,
            built: false,
            output_shapes: Vec::new(),
            batch_input_shape: None,
        }
    }

    /// Automatic names counted from 1 (`input_1`, `input_2`), as Keras names `Input`s.
    pub fn one_based(mut self) -> LayerBase {
        self.one_based = true;
        self
    }

    /// The layer's name, taking the next automatic one (`dense_2`) if it has none yet.
    pub fn name(&self) -> &str {
        self.name.get_or_init(|| {
            if self.one_based {
                unique_name_one_based(self.prefix)
            } else {
                unique_name(self.prefix)
            }
        })
    }

    /// Sets the name (before it was ever read; later it is fixed, as in Keras).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = OnceCell::from(name.into());
    }

    /// Keras's class name.
    pub fn class_name(&self) -> &'static str {
        self.class_name
    }

    /// `"<layer>/<weight>:0"`, Keras's variable name.
    pub fn weight(&self, short_name: &str, var: &Var, trainable: bool) -> Weight {
        Weight {
            name: format!("{}/{short_name}:0", self.name()),
            var: var.clone(),
            trainable: trainable && self.trainable,
        }
    }
}

/// A layer of a neural network. Implementors hold a [`LayerBase`] and their weights.
pub trait Layer {
    /// The common fields (name, trainable flag, built flag, output shapes).
    fn base(&self) -> &LayerBase;

    /// The common fields, to change.
    fn base_mut(&mut self) -> &mut LayerBase;

    /// Checks `input_shapes` and creates the weights. Called once, by the model, with the
    /// shape of each input (`None` for the batch axis).
    ///
    /// # Errors
    /// [`crate::LayerError::IncompatibleInput`] when the layer cannot take these shapes (a
    /// Conv2D given `(None, 784)`), or a bad option found now (an unknown activation name).
    fn build(&mut self, input_shapes: &[Shape]) -> Result<()>;

    /// The output shape for these input shapes (Keras's `compute_output_shape`).
    ///
    /// # Errors
    /// [`crate::LayerError::IncompatibleInput`] when the shapes do not fit the layer.
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape>;

    /// The forward pass. `training` is true inside `fit` (Dropout drops, BatchNormalization
    /// uses the batch statistics) and false in `evaluate` and `predict`.
    ///
    /// # Errors
    /// A shape error from an op, or a call before [`Layer::build`].
    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var>;

    /// [`Layer::call`], also returning the logits when the layer ends in a softmax or sigmoid
    /// (Dense, Conv2D and Activation do), for a loss computed from logits.
    ///
    /// # Errors
    /// As [`Layer::call`].
    fn call_with_logits(&mut self, inputs: &[Var], training: bool) -> Result<Output> {
        Ok(Output::plain(self.call(inputs, training)?))
    }

    /// Keras's `layer.get_config()`: the options that rebuild the layer, under Keras's names,
    /// as tf.keras 2.10 writes them in a model file (see [`crate::config`]). Each layer also
    /// has a `from_config` that reads them back.
    ///
    /// # Errors
    /// An option that was never valid (an unknown activation name).
    fn get_config(&self) -> Result<crate::config::Config>;

    /// The state of the layer's own random generator (Dropout's masks), for a checkpoint that
    /// resumes a run exactly; `None` for a layer that draws nothing.
    fn random_state(&self) -> Option<[u64; 4]> {
        None
    }

    /// Puts the layer's own random generator back in a state read by
    /// [`Layer::random_state`]; nothing for a layer that draws nothing.
    fn set_random_state(&mut self, _state: [u64; 4]) {}

    /// This layer as a [`Model`](crate::Model), when it is one (a model used as a layer of
    /// another, like a pretrained base); `None` for every other layer.
    fn as_any_model(&self) -> Option<&crate::Model> {
        None
    }

    /// The weights in Keras's order: trainable kinds first, then non-trainable
    /// (Dense/Conv2D `kernel, bias`; BatchNormalization `gamma, beta, moving_mean,
    /// moving_variance`; DepthwiseConv2D `depthwise_kernel, bias`). Empty before build.
    fn weights(&self) -> Vec<Weight> {
        Vec::new()
    }

    /// The layer's name (`dense`, `dense_1`, … or the one given with [`Layer::with_name`]).
    fn name(&self) -> &str {
        self.base().name()
    }

    /// Keras's class name (`Dense`), as `model.summary()` shows it.
    fn class_name(&self) -> &'static str {
        self.base().class_name()
    }

    /// Whether an optimizer may change this layer's weights.
    fn trainable(&self) -> bool {
        self.base().trainable
    }

    /// `layer.trainable = false` freezes the weights; a frozen BatchNormalization also runs in
    /// inference mode (`docs/keras-semantics.md` §1).
    fn set_trainable(&mut self, trainable: bool) {
        self.base_mut().trainable = trainable;
    }

    /// Whether [`Layer::build`] has run.
    fn is_built(&self) -> bool {
        self.base().built
    }

    /// The number of values in the weights (the summary's `Param #`).
    fn count_params(&self) -> usize {
        self.weights().iter().map(Weight::numel).sum()
    }

    /// Names the layer (Keras's `name=` argument).
    fn with_name(mut self, name: &str) -> Self
    where
        Self: Sized,
    {
        self.base_mut().set_name(name);
        self
    }

    /// Keras's `input_shape=` argument (no batch axis): `Flatten::new().with_input_shape(&[28, 28])`
    /// as the first layer of a `Sequential` gives the model its input shape.
    fn with_input_shape(mut self, shape: &[usize]) -> Self
    where
        Self: Sized,
    {
        self.base_mut().batch_input_shape = Some(crate::shape::batch_shape(shape));
        self
    }

    /// Calls the layer on a symbolic tensor, for the functional API: Keras's `Dense(10)(x)`
    /// is `Dense::new(10).apply(&x)?`. The layer is built for `x`'s shape here.
    ///
    /// # Errors
    /// As [`Layer::build`] and [`Layer::compute_output_shape`].
    fn apply(self, x: &SymbolicTensor) -> Result<SymbolicTensor>
    where
        Self: Sized + 'static,
    {
        SharedLayer::new(self).apply(x)
    }

    /// Calls a layer that takes several inputs (`Add`) on symbolic tensors.
    ///
    /// # Errors
    /// As [`Layer::build`] and [`Layer::compute_output_shape`].
    fn apply_all(self, xs: &[&SymbolicTensor]) -> Result<SymbolicTensor>
    where
        Self: Sized + 'static,
    {
        SharedLayer::new(self).apply_all(xs)
    }
}

/// A layer owned by a model and shared by handle: a layer called twice in a functional model
/// (shared weights) is one `SharedLayer` with two nodes.
#[derive(Clone)]
pub struct SharedLayer(Rc<RefCell<Box<dyn Layer>>>);

impl SharedLayer {
    /// Wraps a layer.
    pub fn new(layer: impl Layer + 'static) -> SharedLayer {
        SharedLayer::from_box(Box::new(layer))
    }

    /// Wraps a boxed layer.
    pub fn from_box(layer: Box<dyn Layer>) -> SharedLayer {
        SharedLayer(Rc::new(RefCell::new(layer)))
    }

    /// Reads the layer: `shared.borrow().count_params()`.
    pub fn borrow(&self) -> Ref<'_, Box<dyn Layer>> {
        self.0.borrow()
    }

    /// Changes the layer: `shared.borrow_mut().set_trainable(false)`.
    pub fn borrow_mut(&self) -> RefMut<'_, Box<dyn Layer>> {
        self.0.borrow_mut()
    }

    /// The layer's name.
    pub fn name(&self) -> String {
        self.borrow().name().to_string()
    }

    /// Whether two handles hold the same layer.
    pub fn same_layer(&self, other: &SharedLayer) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// Calls the layer on a symbolic tensor (see [`Layer::apply`]); calling the same handle
    /// again shares the weights.
    ///
    /// # Errors
    /// As [`Layer::build`] and [`Layer::compute_output_shape`].
    pub fn apply(&self, x: &SymbolicTensor) -> Result<SymbolicTensor> {
        self.apply_all(&[x])
    }

    /// Calls the layer on several symbolic tensors (see [`Layer::apply_all`]).
    ///
    /// # Errors
    /// As [`Layer::build`] and [`Layer::compute_output_shape`].
    pub fn apply_all(&self, xs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
        let shapes: Vec<Shape> = xs.iter().map(|x| x.shape().clone()).collect();
        let output_shape = self.build_for(&shapes)?;
        let node_index = {
            let mut layer = self.borrow_mut();
            let base = layer.base_mut();
            base.output_shapes.push(output_shape.clone());
            base.output_shapes.len() - 1
        };
        Ok(SymbolicTensor::new(
            self.clone(),
            node_index,
            xs.iter().map(|x| (*x).clone()).collect(),
            output_shape,
        ))
    }

    /// Builds the layer for `shapes` if it is not built yet, and returns its output shape.
    pub(crate) fn build_for(&self, shapes: &[Shape]) -> Result<Shape> {
        let mut layer = self.borrow_mut();
        if !layer.is_built() {
            layer.build(shapes)?;
            layer.base_mut().built = true;
        }
        layer.compute_output_shape(shapes)
    }
}

impl std::fmt::Debug for SharedLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layer = self.borrow();
        write!(f, "{} ({})", layer.name(), layer.class_name())
    }
}

/// The weight as an op should see it: itself when trainable, a detached copy of its value
/// when frozen, so that no gradient is computed for a frozen layer (a frozen VGG16 base then
/// costs only its forward pass and the gradient for its input).
pub(crate) fn live(var: &Var, trainable: bool) -> Var {
    if trainable {
        var.clone()
    } else {
        var.detach()
    }
}
