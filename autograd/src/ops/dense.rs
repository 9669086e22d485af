//! A Dense layer's forward pass as one op: `y = x·W + b`, or `y = relu(x·W + b)` with Keras's
//! `activation='relu'`.
//!
//! # Math
//! With `z = x·W + b` (the bias added to every row) and `y = z` or `y = relu(z)`:
//!
//! ```text
//! dz = dy               (linear)        dz = dy ⊙ [y > 0]   (relu: ∂y/∂z = [z > 0] = [y > 0])
//! dx = dz · Wᵀ          dW = xᵀ · dz    db = Σ_rows dz
//! ```
//!
//! These are the backwards of `matmul`, `add` and `relu` (see their op files), called here in
//! the order the three ops would call them, so the numbers are those of the three ops chained.
//! What one op buys is on the GPU: the matrix product adds the bias and applies the ReLU to its
//! sums before it writes them (`astrograd_tensor::nn::dense`), where the chain would run two
//! more kernels over `z`.
//!
//! # Shapes
//! `x: (N, …, in)`, `W: (in, units)`, `b: (units,)` → `y: (N, …, units)`.
//!
//! Checked against Keras through the `Dense` layer, which calls this op: the weights after
//! training in `tests/keras_parity_training.rs` and the models of `tests/keras_parity_models.rs`.
use astrograd_tensor::{nn, Tensor};

use crate::ops::add::add_backward_b;
use crate::ops::matmul::matmul_backward_a;
use crate::{Result, Var};

impl Var {
    /// `x·W + b`, then a ReLU if `relu`, as one op. See [`dense`].
    pub fn dense(&self, w: &Var, bias: Option<&Var>, relu: bool) -> Result<Var> {
        dense(self, w, bias, relu)
    }
}

/// `y = x·W + b` (`relu`: `y = relu(x·W + b)`), the forward pass of a Dense layer as one op.
///
/// ```
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
/// let w = Var::parameter(Tensor::from_vec(vec![1.0, -1.0, 1.0, -1.0], &[2, 2])?);
/// let b = Var::parameter(Tensor::from_vec(vec![0.5, 0.5], &[2])?);
/// assert_eq!(x.dense(&w, Some(&b), true)?.value().to_vec()?, vec![3.5, 0.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// A shape error naming `dense` if `x`'s last axis is not `W`'s first, `W` is not a matrix or
/// `b` is not `(units,)`; a device error if they are on different devices.
pub fn dense(x: &Var, w: &Var, bias: Option<&Var>, relu: bool) -> Result<Var> {
    let (x_value, w_value) = (x.value(), w.value());
    let b_value = bias.map(Var::value);
    // y: (N, …, units)
    let y = nn::dense::dense_forward(&x_value, &w_value, b_value.as_ref(), relu)?;
    let saved = DenseSaved {
        x: x_value,
        w: w_value,
        bias_shape: b_value.as_ref().map(|b| b.shape().to_vec()),
        wanted: [
            x.requires_grad(),
            w.requires_grad(),
            bias.is_some_and(Var::requires_grad),
        ],
        relu_output: relu.then(|| y.clone()),
        weights: (w.clone(), bias.cloned()),
    };
    let op = if relu { "dense_relu" } else { "dense" };
    let inputs: Vec<&Var> = [x, w].into_iter().chain(bias).collect();
    Ok(Var::from_op(op, y, &inputs, move |dy| {
        let DenseSaved {
            x,
            w,
            bias_shape,
            wanted,
            relu_output,
            weights: (w_var, b_var),
        } = &saved;
        // dz = dy · [y > 0] after the ReLU, else dy itself (a shared handle, not a copy).
        let dz = &match relu_output {
            Some(y) => crate::ops::relu::relu_backward(dy, y)?,
            None => dy.clone(),
        };
        let mut grads = vec![
            wanted[0].then(|| dense_backward_input(dz, w)).transpose()?,
            wanted[1]
                .then(|| dense_backward_kernel(dz, x, w_var.take_grad_destination().as_ref()))
                .transpose()?,
        ];
        if let Some(bias_shape) = bias_shape {
            let into = || b_var.as_ref().and_then(Var::take_grad_destination);
            grads.push(
                wanted[2]
                    .then(|| dense_backward_bias(dz, bias_shape, into().as_ref()))
                    .transpose()?,
            );
        }
        Ok(grads)
    }))
}

/// What the forward keeps for the backward.
struct DenseSaved {
    /// The input `(N, …, in)`: `dW = xᵀ · dz`.
    x: Tensor,
    /// The kernel `(in, units)`: `dx = dz · Wᵀ`.
    w: Tensor,
    /// `(units,)` when there is a bias: it then has a gradient slot.
    bias_shape: Option<Vec<usize>>,
    /// Which of `[x, W, b]` want a gradient (a first layer's input batch does not).
    wanted: [bool; 3],
    /// `y` after a fused ReLU, whose mask `[y > 0]` the backward applies first.
    relu_output: Option<Tensor>,
    /// The kernel's and the bias's variables, asked where to write their gradients
    /// ([`Var::take_grad_destination`]).
    weights: (Var, Option<Var>),
}

/// `dx = dz · Wᵀ`: the backward of the product for its input (as `matmul`'s).
pub fn dense_backward_input(dz: &Tensor, w: &Tensor) -> Result<Tensor> {
    matmul_backward_a(dz, w)
}

/// `dW = xᵀ · dz`, the rows of every leading axis of `x` summed (as `matmul`'s backward for its
/// second operand), written on the GPU into `into` when it is given.
pub fn dense_backward_kernel(dz: &Tensor, x: &Tensor, into: Option<&Tensor>) -> Result<Tensor> {
    Ok(nn::dense::dense_backward_kernel(dz, x, into)?)
}

/// `db = Σ_rows dz`: the bias was added to every row (as `add`'s backward for its second
/// operand), written on the GPU into `into` when it is given.
pub fn dense_backward_bias(
    dz: &Tensor,
    bias_shape: &[usize],
    into: Option<&Tensor>,
) -> Result<Tensor> {
    if bias_shape.len() != 1 {
        return add_backward_b(dz, bias_shape);
    }
    Ok(nn::dense::dense_backward_bias(dz, into)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    /// One Dense forward pass to check: `x: (leading…, inputs)`, `units` outputs.
    #[derive(Debug, Clone)]
    struct DenseCase {
        leading: Vec<usize>,
        inputs: usize,
        units: usize,
        bias: bool,
        relu: bool,
    }

    impl DenseCase {
        /// `[x, w]` or `[x, w, b]`, drawn from `seed`.
        fn tensors(&self, seed: u64) -> Vec<Tensor> {
            let mut x_shape = self.leading.clone();
            x_shape.push(self.inputs);
            let mut tensors = vec![
                random(&x_shape, -1.0, 1.0, seed),
                random(&[self.inputs, self.units], -1.0, 1.0, seed + 1),
            ];
            if self.bias {
                tensors.push(random(&[self.units], -1.0, 1.0, seed + 2));
            }
            tensors
        }

        fn fused(&self, v: &[Var]) -> Result<Var> {
            v[0].dense(&v[1], v.get(2), self.relu)
        }

        /// The same layer as three ops: matmul, add, relu.
        fn chained(&self, v: &[Var]) -> Result<Var> {
            let mut z = v[0].matmul(&v[1])?;
            if let Some(b) = v.get(2) {
                z = z.add(b)?;
            }
            if self.relu {
                z = z.relu()?;
            }
            Ok(z)
        }
    }

    const BASE: DenseCase = DenseCase {
        leading: Vec::new(),
        inputs: 5,
        units: 4,
        bias: true,
        relu: false,
    };

    fn named_cases() -> Vec<DenseCase> {
        vec![
            DenseCase {
                leading: vec![3],
                ..BASE
            },
            DenseCase {
                leading: vec![3],
                relu: true,
                ..BASE
            },
            DenseCase {
                leading: vec![2],
                bias: false,
                ..BASE
            },
            // A Dense on the last axis of a (N, T, in) batch.
            DenseCase {
                leading: vec![2, 3],
                relu: true,
                ..BASE
            },
        ]
    }

    #[test]
    fn gradcheck_named_cases() {
        for case in named_cases() {
            gradcheck("dense", |v| case.fused(v), &case.tensors(11))
                .unwrap_or_else(|e| panic!("{case:?}: {e}"));
        }
    }

    /// Output and every gradient are those of the three ops chained, bit for bit, for the
    /// gradient of `Σ y·u` with a non-uniform `u`.
    fn same_as_chained(case: &DenseCase, seed: u64) {
        let tensors = case.tensors(seed);
        let run = |graph: &dyn Fn(&[Var]) -> Result<Var>| -> Vec<Tensor> {
            let vars: Vec<Var> = tensors.iter().cloned().map(Var::parameter).collect();
            let y = graph(&vars).unwrap();
            let u = Var::constant(random(&y.shape(), 0.5, 1.5, seed + 7));
            y.mul(&u).unwrap().sum_all().unwrap().backward().unwrap();
            std::iter::once(y.value())
                .chain(vars.iter().map(|v| v.grad().unwrap()))
                .collect()
        };
        let fused = run(&|v| case.fused(v));
        let chained = run(&|v| case.chained(v));
        assert_eq!(fused, chained, "{case:?}");
    }

    #[test]
    fn the_op_is_the_three_ops_chained() {
        for case in named_cases() {
            same_as_chained(&case, 3);
        }
    }

    #[test]
    fn a_constant_input_gets_no_gradient_and_a_bad_bias_is_an_error() {
        let x = Var::constant(Tensor::ones(&[2, 3]));
        let w = Var::parameter(Tensor::ones(&[3, 2]));
        let y = x.dense(&w, None, true).unwrap();
        y.sum_all().unwrap().backward().unwrap();
        assert!(x.grad().is_none());
        assert_eq!(w.grad().unwrap().to_vec().unwrap(), vec![2.0; 6]);
        let b = Var::parameter(Tensor::ones(&[3]));
        let err = x.dense(&w, Some(&b), false).unwrap_err().to_string();
        assert!(err.contains("dense") && err.contains("bias"), "{err}");
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn gpu_matches_cpu() {
        for case in named_cases() {
            crate::ops::testing::gpu_matches_cpu(&format!("{case:?}"), &case.tensors(5), |v| {
                case.fused(v).unwrap()
            });
        }
    }

    fn cases() -> impl Strategy<Value = DenseCase> {
        (
            proptest::collection::vec(1usize..4, 1..3),
            1usize..9,
            1usize..9,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(leading, inputs, units, bias, relu)| DenseCase {
                leading,
                inputs,
                units,
                bias,
                relu,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn random_shapes_are_the_chained_ops(case in cases(), seed in 0u64..1000) {
            same_as_chained(&case, seed);
        }

        #[test]
        fn gradcheck_random_shapes(case in cases(), seed in 0u64..1000) {
            // The ReLU's kink has no derivative: check the linear layer at random shapes (the
            // ReLU's mask is covered by the named cases and the comparison with the chain).
            let case = DenseCase { relu: false, ..case };
            gradcheck("dense", |v| case.fused(v), &case.tensors(seed)).unwrap();
        }
    }
}
