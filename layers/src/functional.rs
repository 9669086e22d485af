//! The functional API: symbolic tensors that record which layer made them from which inputs.
//!
//! ```text
//! inputs = keras.Input(shape=(28, 28, 1))          let inputs = input(&[28, 28, 1]);
//! x = layers.Conv2D(32, 3)(inputs)                 let x = Conv2D::new(32, 3).apply(&inputs)?;
//! outputs = layers.Dense(10)(layers.Flatten()(x))  let x = Flatten::new().apply(&x)?;
//!                                                  let outputs = Dense::new(10).apply(&x)?;
//! model = keras.Model(inputs, outputs)             let model = Model::new(&inputs, &outputs)?;
//! ```
//!
//! A [`SymbolicTensor`] holds no numbers, only its shape (`None` for the batch) and the
//! **node** that produced it: a layer, which call of that layer it was, and the input tensors.
//! Following the nodes back from the outputs gives the model's graph, a DAG: one tensor may
//! feed several layers (a shared input, a residual branch), and `Add` joins branches. Applying
//! a layer builds it for the input's shape, so a shape that does not fit is reported right
//! there, with the layer's name, as Keras does.
use std::collections::HashMap;
use std::rc::Rc;

use crate::layer::SharedLayer;
use crate::shape::Shape;

/// A tensor of the functional API: a shape and the node that computes it.
#[derive(Clone)]
pub struct SymbolicTensor(Rc<Node>);

/// One call of a layer in the graph.
pub(crate) struct Node {
    /// The layer called.
    pub layer: SharedLayer,
    /// Which call of `layer` this is (0 for the first; Keras's `node_index`).
    pub node_index: usize,
    /// The tensors it was called on (none for an `Input`).
    pub inputs: Vec<SymbolicTensor>,
    /// The output shape, `None` for the batch.
    pub shape: Shape,
}

impl SymbolicTensor {
    pub(crate) fn new(
        layer: SharedLayer,
        node_index: usize,
        inputs: Vec<SymbolicTensor>,
        shape: Shape,
    ) -> SymbolicTensor {
        SymbolicTensor(Rc::new(Node {
            layer,
            node_index,
            inputs,
            shape,
        }))
    }

    /// The shape, `None` for the batch axis.
    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }

    /// The layer that produces this tensor.
    pub fn layer(&self) -> SharedLayer {
        self.0.layer.clone()
    }

    pub(crate) fn node(&self) -> &Node {
        &self.0
    }

    /// An identity for maps: the address of the node.
    pub(crate) fn key(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    /// Whether this tensor comes straight from an `Input`.
    pub(crate) fn is_input(&self) -> bool {
        self.0.inputs.is_empty()
    }
}

impl std::fmt::Debug for SymbolicTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SymbolicTensor({}, created by layer \"{}\")",
            crate::shape::format_shape(self.shape()),
            self.0.layer.name()
        )
    }
}

/// The graph between an input and an output, in the orders Keras uses.
pub(crate) struct GraphMap {
    /// Every node needed for the output, each after its inputs (a topological order: the
    /// order to run them in).
    pub nodes: Vec<SymbolicTensor>,
    /// The layers, in Keras's `model.layers` order: by decreasing depth (distance from the
    /// output), ties broken by the order in which a walk from the output first met them.
    pub layers: Vec<SharedLayer>,
    /// Whether `model.summary()` prints the three-column (sequential) table: one node per
    /// depth, each with one input, and no layer called twice.
    pub sequential_like: bool,
}

/// Keras's `_map_graph_network` for one output: walk back from `output`, then sort by depth.
pub(crate) fn map_graph(output: &SymbolicTensor) -> GraphMap {
    // 1. Depth-first walk from the output: each node is listed after its inputs, and each
    //    layer is numbered when first met.
    let mut nodes = Vec::new();
    let mut finished = std::collections::HashSet::new();
    let mut layer_order: Vec<SharedLayer> = Vec::new();
    visit(output, &mut finished, &mut nodes, &mut layer_order);
    let layer_index = |layer: &SharedLayer| {
        layer_order
            .iter()
            .position(|l| l.same_layer(layer))
            .expect("every layer of the graph was met by the walk")
    };

    // 2. Depths: the output is at depth 0, a node's inputs at least one deeper; a layer sits at
    //    the largest depth of its nodes.
    let mut node_depth: HashMap<usize, usize> = HashMap::new();
    let mut layer_depth: HashMap<usize, usize> = HashMap::new();
    for node in nodes.iter().rev() {
        let layer_key = layer_index(&node.node().layer);
        let depth = (*node_depth.get(&node.key()).unwrap_or(&0))
            .max(*layer_depth.get(&layer_key).unwrap_or(&0));
        layer_depth.insert(layer_key, depth);
        node_depth.insert(node.key(), depth);
        for parent in &node.node().inputs {
            let previous = *node_depth.get(&parent.key()).unwrap_or(&0);
            node_depth.insert(parent.key(), previous.max(depth + 1));
        }
    }

    // 3. Layers from the deepest (the input) to depth 0, ties in walk order.
    let mut layers: Vec<(usize, usize)> = layer_depth.iter().map(|(&l, &d)| (d, l)).collect();
    layers.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let layers: Vec<SharedLayer> = layers
        .into_iter()
        .map(|(_, l)| layer_order[l].clone())
        .collect();

    // 4. Sequential-like: every depth holds one node with at most one input, and no layer
    //    appears in two nodes.
    let mut per_depth: HashMap<usize, Vec<&SymbolicTensor>> = HashMap::new();
    for node in &nodes {
        per_depth
            .entry(node_depth[&node.key()])
            .or_default()
            .push(node);
    }
    let one_chain = per_depth
        .values()
        .all(|v| v.len() == 1 && v[0].node().inputs.len() <= 1);
    let no_shared = layers.iter().all(|layer| {
        nodes
            .iter()
            .filter(|n| n.node().layer.same_layer(layer))
            .count()
            <= 1
    });
    GraphMap {
        nodes,
        layers,
        sequential_like: one_chain && no_shared,
    }
}

fn visit(
    tensor: &SymbolicTensor,
    finished: &mut std::collections::HashSet<usize>,
    nodes: &mut Vec<SymbolicTensor>,
    layer_order: &mut Vec<SharedLayer>,
) {
    if finished.contains(&tensor.key()) {
        return;
    }
    let layer = &tensor.node().layer;
    if !layer_order.iter().any(|l| l.same_layer(layer)) {
        layer_order.push(layer.clone());
    }
    for input in &tensor.node().inputs {
        visit(input, finished, nodes, layer_order);
    }
    finished.insert(tensor.key());
    nodes.push(tensor.clone());
}
