//! `Model`: layers connected into a network, built either as a `Sequential` stack or with the
//! functional API, with one forward pass, one list of weights and one `summary()`.
//!
//! ```
//! use astrograd_layers::{Dense, Flatten, Input, Layer, Sequential};
//! use astrograd_autograd::{Tensor, Var};
//! // Session 1: model = keras.Sequential([Flatten(input_shape=[28, 28]), Dense(300, 'relu'), …])
//! let mut model = Sequential::new(vec![
//!     Box::new(Input::new(&[28, 28])),
//!     Box::new(Flatten::new()),
//!     Box::new(Dense::new(300).activation("relu")),
//!     Box::new(Dense::new(100).activation("relu")),
//!     Box::new(Dense::new(10).activation("softmax")),
//! ])?;
//! assert_eq!(model.count_params(), 266_610);
//! let probabilities = model.forward(&Var::constant(Tensor::zeros(&[2, 28, 28])), false)?;
//! assert_eq!(probabilities.shape(), vec![2, 10]);
//! # Ok::<(), astrograd_layers::LayerError>(())
//! ```
use astrograd_autograd::{Tensor, Var};

use crate::activations::Output;
use crate::functional::{map_graph, SymbolicTensor};
use crate::layer::{Layer, LayerBase, SharedLayer, Weight};
use crate::shape::{batch_shape, format_shape, from_tensor_shape, Shape};
use crate::{LayerError, Result};

/// A network of layers: Keras's `Sequential` or functional `Model`.
pub struct Model {
    /// Name (`sequential`, `model_1`), trainable flag, and the layer bookkeeping that lets a
    /// model be used as a layer of another model.
    base: LayerBase,
    graph: Graph,
    /// The loss, optimizer and metrics of `compile` (see `training/compile.rs`).
    pub(crate) compiled: Option<crate::training::compile::Compiled>,
    /// Keras's `base(x, training=False)`: as a layer of another model, run in inference mode
    /// even inside `fit` (see [`Model::set_inference_only`]).
    inference_only: bool,
}

/// How the layers are connected.
enum Graph {
    /// One after the other.
    Sequential(Stack),
    /// A DAG from one input to one output.
    Functional(Dag),
}

/// A `Sequential` model's layers.
struct Stack {
    /// The layers in order (an `Input` given first is not one of them, as in Keras).
    layers: Vec<SharedLayer>,
    /// The input's shape, once known (from an `Input`, `build`, or the first batch).
    input_shape: Option<Shape>,
}

/// A functional model's graph.
struct Dag {
    input: SymbolicTensor,
    output: SymbolicTensor,
    /// Every node needed for the output, each after its inputs.
    nodes: Vec<SymbolicTensor>,
    /// Keras's `model.layers` (the `InputLayer` first).
    layers: Vec<SharedLayer>,
    /// Whether the summary uses the sequential (three-column) table.
    sequential_like: bool,
}

/// Keras's `keras.Sequential`: builds a [`Model`] whose layers run one after another.
pub struct Sequential;

impl Sequential {
    /// `keras.Sequential([...])`: a model of these layers, in order. A leading
    /// [`Input`](crate::Input) gives the input shape, and then every layer is built (and its
    /// shape checked) now; without one, the model is built by the first batch.
    ///
    /// # Errors
    /// The first layer that cannot take its input's shape, with its name and the shape.
    // Keras's Sequential is a Model; here it builds one, so that fit and friends have one type.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Result<Model> {
        let mut model = Sequential::empty();
        for layer in layers {
            model.add_boxed(layer)?;
        }
        Ok(model)
    }

    /// `keras.Sequential()`: an empty model to [`Model::add`] layers to.
    pub fn empty() -> Model {
        Model {
            base: LayerBase::new("Sequential", "sequential"),
            graph: Graph::Sequential(Stack {
                layers: Vec::new(),
                input_shape: None,
            }),
            compiled: None,
            inference_only: false,
        }
    }
}

impl Model {
    /// `keras.Model(inputs, outputs)`: the functional model computing `outputs` from `inputs`.
    ///
    /// # Errors
    /// [`LayerError::Invalid`] ("Graph disconnected") when `outputs` depends on an input
    /// other than `inputs`, or does not depend on `inputs` at all.
    pub fn new(inputs: &SymbolicTensor, outputs: &SymbolicTensor) -> Result<Model> {
        let map = map_graph(outputs);
        for node in map.nodes.iter().filter(|n| n.is_input()) {
            if node.key() != inputs.key() {
                return Err(LayerError::invalid(
                    "Model",
                    format!("outputs computed from the inputs \"{}\" only", inputs.layer().name()),
                    format!(
                        "Graph disconnected: cannot obtain value for tensor {node:?} at layer \"{}\"",
                        node.layer().name()
                    ),
                ));
            }
        }
        if !map.nodes.iter().any(|n| n.key() == inputs.key()) {
            return Err(LayerError::invalid(
                "Model",
                "outputs that depend on the inputs",
                format!("outputs {outputs:?} computed without {inputs:?}"),
            ));
        }
        let mut base = LayerBase::new("Functional", "model");
        base.batch_input_shape = Some(inputs.shape().clone());
        Ok(Model {
            base,
            graph: Graph::Functional(Dag {
                input: inputs.clone(),
                output: outputs.clone(),
                nodes: map.nodes,
                layers: map.layers,
                sequential_like: map.sequential_like,
            }),
            compiled: None,
            inference_only: false,
        })
    }

    /// Names the model (Keras's `name=`).
    pub fn with_name(mut self, name: &str) -> Model {
        self.base.set_name(name);
        self
    }

    /// The model's name: `sequential`, `sequential_1`, `model`, …
    pub fn name(&self) -> &str {
        self.base.name()
    }

    /// `Sequential` or `Functional` (Keras's class names, as a nested model's summary row shows).
    pub fn class_name(&self) -> &'static str {
        self.base.class_name()
    }

    /// Whether the model was made by [`Sequential`].
    pub fn is_sequential(&self) -> bool {
        matches!(self.graph, Graph::Sequential(_))
    }

    /// `model.add(layer)` of a `Sequential` model. When the input shape is known the layer is
    /// built now, so a shape that does not fit is reported here.
    ///
    /// # Errors
    /// [`LayerError::Invalid`] on a functional model, or an `Input` after other layers; the
    /// layer's build error.
    pub fn add(&mut self, layer: impl Layer + 'static) -> Result<()> {
        self.add_boxed(Box::new(layer))
    }

    /// [`Model::add`] for a boxed layer.
    ///
    /// # Errors
    /// As [`Model::add`].
    pub fn add_boxed(&mut self, layer: Box<dyn Layer>) -> Result<()> {
        let name = self.name().to_string();
        let Graph::Sequential(stack) = &mut self.graph else {
            return Err(LayerError::invalid(
                format!("model \"{name}\""),
                "a Sequential model to add a layer to",
                "a functional model",
            ));
        };
        if layer.class_name() == "InputLayer" {
            if !stack.layers.is_empty() || stack.input_shape.is_some() {
                return Err(LayerError::invalid(
                    format!("model \"{name}\""),
                    "an Input only as the first layer",
                    format!("Input \"{}\" after other layers", layer.name()),
                ));
            }
            let shape = layer.compute_output_shape(&[])?;
            stack.input_shape = Some(shape.clone());
            self.base.batch_input_shape = Some(shape);
            return Ok(());
        }
        if stack.layers.is_empty() && stack.input_shape.is_none() {
            stack.input_shape = layer.base().batch_input_shape.clone();
        }
        let layer = SharedLayer::from_box(layer);
        let previous = match stack.layers.last() {
            Some(last) => last.borrow().base().output_shapes.last().cloned(),
            None => stack.input_shape.clone(),
        };
        if let Some(shape) = previous {
            build_in_stack(&layer, &shape)?;
        }
        stack.layers.push(layer);
        Ok(())
    }

    /// Builds a `Sequential` model for examples of `input_shape` (no batch axis), as Keras's
    /// `model.build((None, 28, 28))`; a functional model is built already.
    ///
    /// # Errors
    /// The first layer that cannot take its input's shape.
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.build_for(&batch_shape(input_shape))
    }

    fn build_for(&mut self, input_shape: &Shape) -> Result<()> {
        let Graph::Sequential(stack) = &mut self.graph else {
            return Ok(());
        };
        let mut shape = input_shape.clone();
        for layer in &stack.layers {
            shape = build_in_stack(layer, &shape)?;
        }
        stack.input_shape = Some(input_shape.clone());
        self.base.batch_input_shape = Some(input_shape.clone());
        Ok(())
    }

    /// Whether the model knows its input shape and has its weights.
    pub fn is_built(&self) -> bool {
        match &self.graph {
            Graph::Sequential(stack) => stack.input_shape.is_some(),
            Graph::Functional(_) => true,
        }
    }

    /// The input shape `(None, …)`, once known.
    pub fn input_shape(&self) -> Option<Shape> {
        match &self.graph {
            Graph::Sequential(stack) => stack.input_shape.clone(),
            Graph::Functional(dag) => Some(dag.input.shape().clone()),
        }
    }

    /// The output shape `(None, …)`, once known.
    pub fn output_shape(&self) -> Option<Shape> {
        match &self.graph {
            Graph::Sequential(stack) => {
                let input = stack.input_shape.clone()?;
                match stack.layers.last() {
                    Some(last) => last.borrow().base().output_shapes.last().cloned(),
                    None => Some(input),
                }
            }
            Graph::Functional(dag) => Some(dag.output.shape().clone()),
        }
    }

    /// The forward pass: `model(x, training=training)`.
    ///
    /// # Errors
    /// [`LayerError::IncompatibleInput`] when `x` does not have the model's input shape; an
    /// op's error.
    pub fn forward(&mut self, x: &Var, training: bool) -> Result<Var> {
        self.forward_with_logits(x, training)?.output()
    }

    /// The forward pass, also returning the logits when the last layer ends in a softmax or a
    /// sigmoid, so that a loss can start from them (Keras does; `docs/keras-semantics.md`).
    ///
    /// # Errors
    /// As [`Model::forward`].
    pub fn forward_with_logits(&mut self, x: &Var, training: bool) -> Result<Output> {
        if !self.is_built() {
            self.build_for(&from_tensor_shape(&x.shape()))?;
        }
        let name = self.name().to_string();
        check_input(&name, self.input_shape().as_ref(), x)?;
        match &self.graph {
            Graph::Sequential(stack) => {
                let Some((last, rest)) = stack.layers.split_last() else {
                    return Ok(Output::plain(x.clone()));
                };
                let mut h = x.clone();
                for layer in rest {
                    h = layer.borrow_mut().call(&[h], training)?;
                }
                return last.borrow_mut().call_with_logits(&[h], training);
            }
            Graph::Functional(dag) => {
                let mut values: std::collections::HashMap<usize, Var> = Default::default();
                values.insert(dag.input.key(), x.clone());
                for node in dag.nodes.iter().filter(|n| !n.is_input()) {
                    let inputs: Vec<Var> = node
                        .node()
                        .inputs
                        .iter()
                        .map(|t| values[&t.key()].clone())
                        .collect();
                    let mut layer = node.node().layer.borrow_mut();
                    if node.key() == dag.output.key() {
                        return layer.call_with_logits(&inputs, training);
                    }
                    values.insert(node.key(), layer.call(&inputs, training)?);
                }
                // The output is the input itself (a model with no layers).
                Ok(Output::plain(x.clone()))
            }
        }
    }

    /// The layers, in Keras's `model.layers` order (a functional model's `InputLayer` first; a
    /// Sequential model has none).
    pub fn layers(&self) -> &[SharedLayer] {
        match &self.graph {
            Graph::Sequential(stack) => &stack.layers,
            Graph::Functional(dag) => &dag.layers,
        }
    }

    /// The layer called `name` (Keras's `model.get_layer(name)`).
    ///
    /// # Errors
    /// [`LayerError::Invalid`] listing the layer names when there is none of that name.
    pub fn layer(&self, name: &str) -> Result<SharedLayer> {
        self.layers()
            .iter()
            .find(|l| l.name() == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = self.layers().iter().map(SharedLayer::name).collect();
                LayerError::invalid(
                    format!("model \"{}\"", self.name()),
                    format!("one of the layers {names:?}"),
                    format!("no layer named \"{name}\""),
                )
            })
    }

    /// Every weight, layer by layer, each layer's in Keras's order (`model.weights`).
    pub fn weights(&self) -> Vec<Weight> {
        self.layers()
            .iter()
            .flat_map(|l| l.borrow().weights())
            .collect()
    }

    /// The weights an optimizer updates (`model.trainable_weights`).
    pub fn trainable_weights(&self) -> Vec<Weight> {
        self.weights().into_iter().filter(|w| w.trainable).collect()
    }

    /// The weights it does not: moving statistics, frozen layers (`model.non_trainable_weights`).
    pub fn non_trainable_weights(&self) -> Vec<Weight> {
        self.weights()
            .into_iter()
            .filter(|w| !w.trainable)
            .collect()
    }

    /// The number of values in all weights (the summary's "Total params").
    pub fn count_params(&self) -> usize {
        self.weights().iter().map(Weight::numel).sum()
    }

    /// Whether the model's own flag is set (layers may be frozen one by one too).
    pub fn trainable(&self) -> bool {
        self.base.trainable
    }

    /// `model.trainable = false` (freeze everything, as for a pretrained base) or `true`
    /// (unfreeze every layer).
    pub fn set_trainable(&mut self, trainable: bool) {
        self.base.trainable = trainable;
        for layer in self.layers() {
            layer.borrow_mut().set_trainable(trainable);
        }
    }

    /// Keras's `for layer in model.layers[range]: layer.trainable = False`: freezes the layers
    /// whose index in [`Model::layers`] falls in `range` (`..100` freezes the first hundred, as
    /// the fine-tuning recipe does after `model.trainable = True`). Compile again afterwards,
    /// as Keras asks, so that the optimizer starts from the new set of trainable weights.
    ///
    /// # Errors
    /// [`LayerError::Invalid`] when the range reaches past the last layer.
    pub fn freeze_layers(&mut self, range: impl std::ops::RangeBounds<usize>) -> Result<()> {
        use std::ops::Bound;
        let count = self.layers().len();
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&i) => i + 1,
            Bound::Excluded(&i) => i,
            Bound::Unbounded => count,
        };
        if start > end || end > count {
            return Err(LayerError::invalid(
                format!("model \"{}\".freeze_layers", self.name()),
                format!("a range of layer indices within 0..{count}"),
                format!("{start}..{end}"),
            ));
        }
        for layer in &self.layers()[start..end] {
            layer.borrow_mut().set_trainable(false);
        }
        Ok(())
    }

    /// Keras's `base(x, training=False)` in the transfer-learning recipe: when this model is a
    /// layer of another, it runs in inference mode even inside `fit`: its BatchNormalization
    /// layers normalise with their moving statistics and leave them alone, its Dropout keeps
    /// every unit. Its trainable weights still receive gradients, so fine-tuning an unfrozen
    /// top of a MobileNetV2 does not wreck the statistics learned on ImageNet.
    pub fn set_inference_only(&mut self, inference_only: bool) {
        self.inference_only = inference_only;
    }

    /// Whether [`Model::set_inference_only`] is on.
    pub fn inference_only(&self) -> bool {
        self.inference_only
    }

    /// A functional model's input tensor (Keras's `model.input`), to build another model that
    /// shares its layers; `None` for a `Sequential`.
    pub fn input_tensor(&self) -> Option<SymbolicTensor> {
        match &self.graph {
            Graph::Sequential(_) => None,
            Graph::Functional(dag) => Some(dag.input.clone()),
        }
    }

    /// The output tensor of the layer called `name` in a functional model (Keras's
    /// `model.get_layer(name).output`): `Model::new(&base.input_tensor()?, &base.layer_output(
    /// "block2_pool")?)` is the base cut after that layer, sharing its weights.
    ///
    /// # Errors
    /// [`LayerError::Invalid`] for a `Sequential` model, or a name that is not one of its
    /// layers (the message lists them).
    pub fn layer_output(&self, name: &str) -> Result<SymbolicTensor> {
        let Graph::Functional(dag) = &self.graph else {
            return Err(LayerError::invalid(
                format!("model \"{}\".layer_output", self.name()),
                "a functional model",
                "a Sequential model, whose layers have no symbolic outputs",
            ));
        };
        let layer = self.layer(name)?;
        dag.nodes
            .iter()
            .find(|n| n.layer().same_layer(&layer))
            .cloned()
            .ok_or_else(|| {
                LayerError::invalid(
                    format!("model \"{}\".layer_output", self.name()),
                    "a layer called in the model's graph",
                    format!("layer \"{name}\", not called"),
                )
            })
    }

    /// Copies of all weight values, in [`Model::weights`] order (`model.get_weights()`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.weights().iter().map(|w| w.var.value()).collect()
    }

    /// Sets all weight values, in [`Model::weights`] order (`model.set_weights(...)`).
    ///
    /// # Errors
    /// [`LayerError::Invalid`] naming the weight whose shape differs, or when the counts differ.
    pub fn set_weights(&self, values: &[Tensor]) -> Result<()> {
        let weights = self.weights();
        if weights.len() != values.len() {
            return Err(LayerError::invalid(
                format!("model \"{}\".set_weights", self.name()),
                format!("{} arrays, one per weight", weights.len()),
                format!("{} arrays", values.len()),
            ));
        }
        for (weight, value) in weights.iter().zip(values) {
            if weight.var.shape() != value.shape() {
                return Err(LayerError::invalid(
                    format!("model \"{}\".set_weights", self.name()),
                    format!("{} of shape {:?}", weight.name, weight.var.shape()),
                    format!("shape {:?}", value.shape()),
                ));
            }
        }
        for (weight, value) in weights.iter().zip(values) {
            // Onto the device the model is on.
            weight
                .var
                .set_value(value.to(weight.var.value().device())?)?;
        }
        Ok(())
    }

    /// Whether `summary()` prints the three-column table (Sequential and chain-like models).
    pub(crate) fn sequential_like(&self) -> bool {
        match &self.graph {
            Graph::Sequential(_) => true,
            Graph::Functional(dag) => dag.sequential_like,
        }
    }

    /// A functional model's input and output tensors; `None` for a `Sequential`.
    pub(crate) fn graph_ends(&self) -> Option<(SymbolicTensor, SymbolicTensor)> {
        match &self.graph {
            Graph::Sequential(_) => None,
            Graph::Functional(dag) => Some((dag.input.clone(), dag.output.clone())),
        }
    }

    /// The functional graph's nodes (for the summary's "Connected to" column).
    pub(crate) fn graph_nodes(&self) -> &[SymbolicTensor] {
        match &self.graph {
            Graph::Sequential(_) => &[],
            Graph::Functional(dag) => &dag.nodes,
        }
    }
}

/// Builds one layer of a stack for `shape` and records its output shape (a Sequential model's
/// layer has one node).
fn build_in_stack(layer: &SharedLayer, shape: &Shape) -> Result<Shape> {
    let out = layer.build_for(std::slice::from_ref(shape))?;
    let mut layer = layer.borrow_mut();
    let base = layer.base_mut();
    base.output_shapes.clear();
    base.output_shapes.push(out.clone());
    Ok(out)
}

/// Keras's check of a batch against the model's input:
/// `expected shape=(None, 28, 28), found shape=(32, 28, 29)`.
fn check_input(model: &str, expected: Option<&Shape>, x: &Var) -> Result<()> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let found = x.shape();
    let fits = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .skip(1)
            .all(|(&d, e)| e.is_none_or(|e| e == d));
    if fits {
        return Ok(());
    }
    Err(LayerError::IncompatibleInput {
        layer: model.to_string(),
        input: 0,
        detail: format!(
            "expected shape={}, found shape={}",
            format_shape(expected),
            format_shape(&found.iter().map(|&d| Some(d)).collect())
        ),
    })
}

/// A model is a layer too: a pretrained base inside a `Sequential` (`vgg16 (Functional)` in the
/// summary), frozen with `set_trainable(false)`.
impl Layer for Model {
    fn as_any_model(&self) -> Option<&Model> {
        Some(self)
    }

    fn get_config(&self) -> Result<crate::config::Config> {
        self.model_config()
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        let shape = crate::shape::single(Model::name(self), input_shapes)?;
        if !Model::is_built(self) {
            self.build_for(shape)?;
        }
        Ok(())
    }

    fn is_built(&self) -> bool {
        Model::is_built(self)
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        let shape = crate::shape::single(Model::name(self), input_shapes)?;
        let expected = self.input_shape().unwrap_or_else(|| shape.clone());
        let fits = shape.len() == expected.len()
            && shape
                .iter()
                .zip(&expected)
                .skip(1)
                .all(|(d, e)| e.is_none() || d.is_none() || d == e);
        if !fits {
            return Err(LayerError::IncompatibleInput {
                layer: Model::name(self).to_string(),
                input: 0,
                detail: format!(
                    "expected shape={}, found shape={}",
                    format_shape(&expected),
                    format_shape(shape)
                ),
            });
        }
        self.output_shape().ok_or_else(|| {
            LayerError::invalid(
                format!("model \"{}\"", Model::name(self)),
                "a built model",
                "a model whose input shape is unknown",
            )
        })
    }

    fn call(&mut self, inputs: &[Var], training: bool) -> Result<Var> {
        let x = crate::shape::single(Model::name(self), inputs)?.clone();
        self.forward(&x, training && !self.inference_only)
    }

    fn call_with_logits(&mut self, inputs: &[Var], training: bool) -> Result<Output> {
        let x = crate::shape::single(Model::name(self), inputs)?.clone();
        self.forward_with_logits(&x, training && !self.inference_only)
    }

    fn weights(&self) -> Vec<Weight> {
        Model::weights(self)
    }

    fn trainable(&self) -> bool {
        Model::trainable(self)
    }

    fn set_trainable(&mut self, trainable: bool) {
        Model::set_trainable(self, trainable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{input, ActivationFn, Add, Conv2D, Dense, Flatten, Input, MaxPooling2D};

    fn mlp() -> Model {
        Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).activation("relu")),
            Box::new(Dense::new(2).activation("softmax")),
        ])
        .unwrap()
    }

    #[test]
    fn incompatible_shapes_are_reported_when_the_layer_is_added() {
        crate::reset_names();
        let mut model = Sequential::empty();
        model.add(Input::new(&[28, 28, 1])).unwrap();
        model.add(Flatten::new()).unwrap();
        let err = model.add(Conv2D::new(8, 3)).unwrap_err().to_string();
        assert_eq!(
            err,
            "Input 0 of layer \"conv2d\" is incompatible with the layer: expected min_ndim=4, \
             found ndim=2. Full shape received: (None, 784)"
        );
        // Dense on a feature map is legal: it applies to the last axis.
        let mut model = Sequential::empty();
        model.add(Input::new(&[5, 5, 3])).unwrap();
        model.add(Dense::new(4)).unwrap();
        assert_eq!(
            model.output_shape(),
            Some(vec![None, Some(5), Some(5), Some(4)])
        );
        let err = Sequential::new(vec![
            Box::new(Input::new(&[4])),
            Box::new(Dense::new(3).activation("softmaxx")),
        ]);
        assert!(err
            .err()
            .unwrap()
            .to_string()
            .contains("Known: relu, sigmoid, softmax"));
    }

    #[test]
    fn forward_offers_the_logits_of_a_final_softmax() {
        let mut model = mlp();
        let x = Var::constant(Tensor::ones(&[5, 4]));
        let out = model.forward_with_logits(&x, true).unwrap();
        assert_eq!(out.output().unwrap().shape(), vec![5, 2]);
        let logits = out.logits().unwrap();
        assert_eq!(logits.activation, ActivationFn::Softmax);
        let again = logits.logits.softmax(1).unwrap().value();
        assert!(again.all_close(&out.output().unwrap().value(), 1e-6, 1e-6));
        let err = model
            .forward(&Var::constant(Tensor::ones(&[5, 3])), false)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected shape=(None, 4), found shape=(5, 3)"),
            "{err}"
        );
    }

    #[test]
    fn a_sequential_without_input_is_built_by_its_first_batch() {
        let mut model = Sequential::empty();
        model.add(Dense::new(2)).unwrap();
        assert!(!model.is_built() && model.summary().is_err());
        model
            .forward(&Var::constant(Tensor::ones(&[3, 7])), false)
            .unwrap();
        assert_eq!(model.count_params(), 16);
        assert!(model.summary().is_ok());
    }

    #[test]
    fn weights_get_set_freeze_and_find() {
        crate::reset_names();
        let mut model = mlp();
        assert_eq!(model.weights().len(), 4);
        let zeros: Vec<Tensor> = model.get_weights().iter().map(Tensor::zeros_like).collect();
        model.set_weights(&zeros).unwrap();
        assert!(model
            .get_weights()
            .iter()
            .all(|t| t.sum_all().item().unwrap() == 0.0));
        assert!(model.set_weights(&zeros[..1]).is_err());
        model
            .layer("dense")
            .unwrap()
            .borrow_mut()
            .set_trainable(false);
        assert_eq!(model.trainable_weights().len(), 2);
        model.set_trainable(false);
        assert!(model.trainable_weights().is_empty());
        let err = model.layer("conv2d").unwrap_err().to_string();
        assert!(
            err.contains("no layer named \"conv2d\"") && err.contains("dense_1"),
            "{err}"
        );
    }

    #[test]
    fn freezing_by_index_range_and_cutting_at_a_layer() {
        crate::reset_names();
        let inputs = input(&[4]);
        let x = Dense::new(3).apply(&inputs).unwrap();
        let x = Dense::new(3).apply(&x).unwrap();
        let outputs = Dense::new(2).apply(&x).unwrap();
        let mut model = Model::new(&inputs, &outputs).unwrap();
        // layers: input_1, dense, dense_1, dense_2; freeze the first three, as base.layers[:3].
        model.freeze_layers(..3).unwrap();
        let trainable: Vec<String> = model
            .trainable_weights()
            .iter()
            .map(|w| w.name.clone())
            .collect();
        assert_eq!(trainable, ["dense_2/kernel:0", "dense_2/bias:0"]);
        let err = model.freeze_layers(2..9).unwrap_err().to_string();
        assert!(err.contains("within 0..4") && err.contains("2..9"), "{err}");
        // Keras's Model(base.input, base.get_layer('dense').output): the same layer objects.
        let cut = Model::new(
            &model.input_tensor().unwrap(),
            &model.layer_output("dense").unwrap(),
        )
        .unwrap();
        assert_eq!(cut.output_shape(), Some(vec![None, Some(3)]));
        assert!(cut
            .layer("dense")
            .unwrap()
            .same_layer(&model.layer("dense").unwrap()));
        assert!(model.layer_output("conv2d").is_err());
        assert!(mlp().layer_output("dense").is_err());
        assert!(mlp().input_tensor().is_none());
    }

    #[test]
    fn an_inference_only_model_runs_its_layers_in_inference_mode_inside_another() {
        use crate::{BatchNormalization, Layer as _};
        let build = |inference_only: bool| {
            let inputs = input(&[2]);
            let outputs = BatchNormalization::new().apply(&inputs).unwrap();
            let mut base = Model::new(&inputs, &outputs).unwrap();
            base.set_inference_only(inference_only);
            assert_eq!(base.inference_only(), inference_only);
            base
        };
        let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 5.0], &[2, 2]).unwrap());
        for inference_only in [false, true] {
            let mut base = build(inference_only);
            let y = base.call(std::slice::from_ref(&x), true).unwrap().value();
            let moving_mean = base.weights()[2].var.value();
            // Inference mode: (x − 0)/sqrt(1 + 1e-3), moving statistics untouched.
            let unchanged = moving_mean.to_vec().unwrap() == vec![0.0, 0.0];
            assert_eq!(unchanged, inference_only);
            let first = y.to_vec().unwrap()[0];
            let inference = 1.0 / (1.0f32 + 1e-3).sqrt();
            assert_eq!((first - inference).abs() < 1e-6, inference_only, "{first}");
        }
    }

    #[test]
    fn a_functional_dag_runs_and_backpropagates_to_every_branch() {
        let inputs = input(&[6, 6, 1]);
        let a = Conv2D::new(2, 3).activation("relu").apply(&inputs).unwrap();
        let b = Conv2D::new(2, 3).apply(&inputs).unwrap();
        let x = Add::new().apply_all(&[&a, &b]).unwrap();
        let x = MaxPooling2D::new().apply(&x).unwrap();
        let x = Flatten::new().apply(&x).unwrap();
        let outputs = Dense::new(1).activation("sigmoid").apply(&x).unwrap();
        let mut model = Model::new(&inputs, &outputs).unwrap();
        assert_eq!(model.layers().len(), 7);
        assert_eq!(model.layers()[0].borrow().class_name(), "InputLayer");
        let out = model
            .forward_with_logits(&Var::constant(Tensor::ones(&[2, 6, 6, 1])), true)
            .unwrap();
        assert_eq!(out.logits().unwrap().activation, ActivationFn::Sigmoid);
        out.output().unwrap().sum_all().unwrap().backward().unwrap();
        for w in model.trainable_weights() {
            assert!(w.var.grad().is_some(), "{} got no gradient", w.name);
        }
    }

    #[test]
    fn a_graph_from_another_input_is_disconnected() {
        let inputs = input(&[3]);
        let other = input(&[3]);
        let outputs = Dense::new(1).apply(&other).unwrap();
        let err = Model::new(&inputs, &outputs).err().unwrap().to_string();
        assert!(err.contains("Graph disconnected"), "{err}");
        let shape_err = Add::new().apply_all(&[&inputs, &input(&[4])]).unwrap_err();
        assert!(shape_err
            .to_string()
            .contains("Received shapes (3,) and (4,)"));
    }
}
