//! `Var`: a value in the computation graph, and `backward()`, the reverse walk.
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use astrograd_tensor::Tensor;

use crate::{AutogradError, Result};

/// An op's backward: given `dout = ∂loss/∂out`, returns `∂loss/∂input` for each input, in the
/// order the inputs were recorded (`None` for an input that has no gradient, like labels).
pub type BackwardFn = Box<dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>>>;

/// A node of the graph: a tensor value, its gradient, and how it was made.
///
/// Cloning a `Var` clones a handle to the same node (as `Rc`), not the value.
#[derive(Clone)]
pub struct Var(Rc<Node>);

struct Node {
    /// Creation order. Every op's output is created after its inputs, so sorting by
    /// decreasing id is a reverse topological order of the graph.
    id: u64,
    /// The value; only leaves change it in place (the optimizer's update).
    value: RefCell<Tensor>,
    /// `∂loss/∂value`, accumulated by `backward()`; kept for leaves, freed for intermediates.
    grad: RefCell<Option<Tensor>>,
    /// Where an op's backward should write this leaf's gradient, if anywhere: a tensor on the
    /// GPU that an optimizer keeps it in (a view of its flat gradient buffer), set by
    /// [`Var::set_grad_destination`] and used once.
    grad_destination: RefCell<Option<Tensor>>,
    /// Whether gradients flow to (and through) this node.
    requires_grad: bool,
    /// The op that produced this value; `None` for a leaf (parameter, input, constant).
    origin: Option<Origin>,
}

/// The record an op leaves in its output so that backward can run.
struct Origin {
    op: &'static str,
    inputs: Vec<Var>,
    backward: BackwardFn,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` without recording a graph (as `torch.no_grad()`): ops return plain constant
/// values, which saves the memory of the saved tensors during evaluation and prediction.
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(false)));
    f()
}

/// Whether ops currently record the graph (false inside [`no_grad`]).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

impl Var {
    fn leaf(value: Tensor, requires_grad: bool) -> Var {
        Var(Rc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            value: RefCell::new(value),
            grad: RefCell::new(None),
            grad_destination: RefCell::new(None),
            requires_grad,
            origin: None,
        }))
    }

    /// A leaf that receives a gradient: a weight, a bias, or an input being checked.
    pub fn parameter(value: Tensor) -> Var {
        Var::leaf(value, true)
    }

    /// A leaf without gradient: data, labels, fixed numbers.
    pub fn constant(value: Tensor) -> Var {
        Var::leaf(value, false)
    }

    /// A constant scalar, for `x · 0.5` and the like (it broadcasts).
    pub fn scalar(value: f32) -> Var {
        Var::constant(Tensor::scalar(value))
    }

    /// The output of an op. Records `inputs` and `backward` when gradients are enabled and at
    /// least one input needs a gradient; otherwise returns a constant.
    pub fn from_op(
        op: &'static str,
        value: Tensor,
        inputs: &[&Var],
        backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + 'static,
    ) -> Var {
        if !is_grad_enabled() || !inputs.iter().any(|v| v.requires_grad()) {
            return Var::constant(value);
        }
        Var(Rc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            value: RefCell::new(value),
            grad: RefCell::new(None),
            grad_destination: RefCell::new(None),
            requires_grad: true,
            origin: Some(Origin {
                op,
                inputs: inputs.iter().map(|v| (*v).clone()).collect(),
                backward: Box::new(backward),
            }),
        }))
    }

    /// The value (a cheap shared handle to the numbers).
    pub fn value(&self) -> Tensor {
        self.0.value.borrow().clone()
    }

    /// The value's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.0.value.borrow().shape().to_vec()
    }

    /// Replaces a leaf's value (what an optimizer step does).
    ///
    /// # Errors
    /// [`AutogradError::Invalid`] if `self` is not a leaf or the shape would change.
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        if self.0.origin.is_some() || value.shape() != self.0.value.borrow().shape() {
            return Err(AutogradError::Invalid {
                op: "set_value",
                expected: format!("a leaf Var and a value of shape {:?}", self.shape()),
                found: format!(
                    "{} and a value of shape {:?}",
                    if self.is_leaf() {
                        "a leaf"
                    } else {
                        "an op's output"
                    },
                    value.shape()
                ),
            });
        }
        *self.0.value.borrow_mut() = value;
        Ok(())
    }

    /// Changes a leaf's value in place (an optimizer's fused update writes here).
    pub fn update_value(&self, f: impl FnOnce(&mut Tensor)) {
        f(&mut self.0.value.borrow_mut());
    }

    /// `∂loss/∂self` after `backward()`, if any gradient reached this leaf.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }

    /// Replaces the accumulated gradient: data-parallel training writes here the average of
    /// the gradients of all processes, before the optimizer reads it.
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *self.0.grad.borrow_mut() = grad;
    }

    /// Asks the ops that make this leaf's gradient to write it into `into` (a tensor of the
    /// leaf's shape) at the next backward pass. An optimizer that updates every parameter in
    /// one dispatch keeps all the gradients in one flat buffer and sets each parameter's
    /// stretch of it here; the ops of the Dense and Conv2D layers then write there directly
    /// (any other op's gradient is copied there by the optimizer). Used once: the first
    /// gradient to reach the leaf takes it.
    pub fn set_grad_destination(&self, into: Option<Tensor>) {
        *self.0.grad_destination.borrow_mut() = into;
    }

    /// The tensor this leaf's gradient should be written into, taken (so used once), if one
    /// was set and no gradient has reached the leaf yet (a second contribution is added to
    /// the first, so it is made elsewhere).
    pub fn take_grad_destination(&self) -> Option<Tensor> {
        if self.0.grad.borrow().is_some() {
            return None;
        }
        self.0.grad_destination.borrow_mut().take()
    }

    /// Forgets the accumulated gradient (before the next training step).
    pub fn zero_grad(&self) {
        *self.0.grad.borrow_mut() = None;
    }

    /// Whether gradients flow to this node.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// True for parameters, inputs and constants; false for an op's output.
    pub fn is_leaf(&self) -> bool {
        self.0.origin.is_none()
    }

    /// The name of the op that produced this value (`None` for a leaf).
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.origin.as_ref().map(|o| o.op)
    }

    /// The same value cut from the graph: no gradient flows through it.
    pub fn detach(&self) -> Var {
        Var::constant(self.value())
    }

    /// A number unique to this node for the life of the program (an optimizer keys its
    /// per-parameter slots by it).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// Whether two handles point at the same node.
    pub fn same_node(&self, other: &Var) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// Backpropagates from a scalar (a loss): `∂loss/∂loss = 1`.
    ///
    /// # Errors
    /// [`AutogradError::NonScalarBackward`] if the value has more than one element; any error
    /// an op's backward returns.
    pub fn backward(&self) -> Result<()> {
        if self.0.value.borrow().numel() != 1 {
            return Err(AutogradError::NonScalarBackward {
                shape: self.shape(),
            });
        }
        // ∂L/∂L = 1, made on the loss's device.
        let device = self.0.value.borrow().device();
        let seed = Tensor::full_on(&self.shape(), 1.0, device)?;
        self.backward_with(seed)
    }

    /// Backpropagates an explicit upstream gradient `dout` (same shape as the value).
    ///
    /// The walk: collect every node reachable from `self` that needs a gradient, visit them in
    /// reverse creation order (a reverse topological order), and at each op node pass its
    /// accumulated gradient to its backward, which returns one gradient per input; add each
    /// into that input's gradient. Intermediate gradients are freed once used.
    ///
    /// # Errors
    /// [`AutogradError::GradientShape`] if `dout` (or an op's output) has the wrong shape.
    pub fn backward_with(&self, dout: Tensor) -> Result<()> {
        if dout.shape() != self.shape().as_slice() {
            return Err(AutogradError::GradientShape {
                op: "backward",
                input: 0,
                expected: self.shape(),
                found: dout.shape().to_vec(),
            });
        }
        if !self.requires_grad() {
            return Ok(());
        }
        accumulate(self, dout);
        for node in self.reverse_topological_order() {
            let Some(origin) = &node.0.origin else {
                continue; // a leaf keeps its gradient
            };
            let Some(dout) = node.0.grad.borrow_mut().take() else {
                continue; // no gradient reached this node
            };
            let dinputs = (origin.backward)(&dout)?;
            for (i, (input, dinput)) in origin.inputs.iter().zip(dinputs).enumerate() {
                let Some(dinput) = dinput else { continue };
                if !input.requires_grad() {
                    continue;
                }
                if dinput.shape() != input.shape().as_slice() {
                    return Err(AutogradError::GradientShape {
                        op: origin.op,
                        input: i,
                        expected: input.shape(),
                        found: dinput.shape().to_vec(),
                    });
                }
                accumulate(input, dinput);
            }
        }
        Ok(())
    }

    /// Every node that needs a gradient and is reachable from `self`, newest first.
    fn reverse_topological_order(&self) -> Vec<Var> {
        let mut seen = HashSet::new();
        let mut stack = vec![self.clone()];
        let mut nodes = Vec::new();
        while let Some(var) = stack.pop() {
            if !var.requires_grad() || !seen.insert(var.0.id) {
                continue;
            }
            if let Some(origin) = &var.0.origin {
                stack.extend(origin.inputs.iter().cloned());
            }
            nodes.push(var);
        }
        nodes.sort_unstable_by_key(|v| std::cmp::Reverse(v.0.id));
        nodes
    }
}

/// `var.grad += g` (or `= g` for the first contribution).
fn accumulate(var: &Var, g: Tensor) {
    let mut grad = var.0.grad.borrow_mut();
    *grad = Some(match grad.take() {
        None => g,
        Some(existing) => existing
            .add(&g)
            .expect("gradient shapes checked by backward_with"),
    });
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Var")
            .field("op", &self.op_name().unwrap_or("leaf"))
            .field("shape", &self.shape())
            .field("requires_grad", &self.requires_grad())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_param(v: f32) -> Var {
        Var::parameter(Tensor::from_vec(vec![v], &[1]).unwrap())
    }

    #[test]
    fn a_value_used_twice_gets_both_contributions() {
        // y = x·x + x·x  →  dy/dx = 4x
        let x = scalar_param(1.5);
        let sq = x.mul(&x).unwrap();
        let y = sq.add(&sq).unwrap();
        y.backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![6.0]);
    }

    #[test]
    fn gradients_accumulate_across_backward_calls_until_zeroed() {
        let x = scalar_param(2.0);
        x.mul(&x).unwrap().backward().unwrap();
        x.mul(&x).unwrap().backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![8.0]);
        x.zero_grad();
        assert!(x.grad().is_none());
    }

    #[test]
    fn no_grad_records_nothing_and_detach_cuts_the_graph() {
        let x = scalar_param(2.0);
        let y = no_grad(|| x.mul(&x).unwrap());
        assert!(y.is_leaf() && !y.requires_grad());
        assert!(is_grad_enabled());
        let z = x.detach().mul(&x).unwrap(); // d/dx (c·x) = c = 2
        z.backward().unwrap();
        assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![2.0]);
    }

    /// A gradient destination is offered once, and only while no gradient has reached the
    /// leaf (a second contribution is added to the first, elsewhere).
    #[test]
    fn a_gradient_destination_is_taken_once_before_any_gradient() {
        let w = Var::parameter(Tensor::zeros(&[2]));
        assert!(w.take_grad_destination().is_none());
        w.set_grad_destination(Some(Tensor::ones(&[2])));
        w.set_grad(Some(Tensor::zeros(&[2])));
        assert!(w.take_grad_destination().is_none(), "a gradient is there");
        w.zero_grad();
        let into = w.take_grad_destination().unwrap();
        assert_eq!(into.to_vec().unwrap(), vec![1.0, 1.0]);
        assert!(w.take_grad_destination().is_none(), "used once");
    }

    #[test]
    fn backward_needs_a_scalar() {
        let x = Var::parameter(Tensor::ones(&[2]));
        let err = x.mul(&x).unwrap().backward().unwrap_err();
        assert_eq!(err, AutogradError::NonScalarBackward { shape: vec![2] });
    }

    #[test]
    fn set_value_only_on_leaves_with_same_shape() {
        let x = scalar_param(1.0);
        assert!(x.set_value(Tensor::zeros(&[1])).is_ok());
        assert!(x.set_value(Tensor::zeros(&[2])).is_err());
        let y = x.add(&x).unwrap();
        assert!(y.set_value(Tensor::zeros(&[1])).is_err());
    }
}
