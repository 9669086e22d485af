//! 2-D convolution (Keras `Conv2D`): `y = conv2d(x, w) + b`, computed as im2col + GEMM; and
//! [`conv2d_relu`], `y = relu(conv2d(x, w) + b)` as one op.
//!
//! # Math
//! Keras's convolution is a cross-correlation (the kernel is not flipped):
//!
//! ```text
//! y[n, oh, ow, f] = b[f] + Σ_{kh, kw, c} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · w[kh, kw, c, f]
//! ```
//!
//! with `x` read as 0 in the padding. Copy the receptive field of every output pixel into one
//! row of a matrix (*im2col*), `cols: (N·OH·OW, KH·KW·C)`, and view the HWIO kernel as
//! `W: (KH·KW·C, F)` (its memory order, no copy). The whole convolution is then one matrix
//! product, whose result `(N·OH·OW, F)` already is `y` in NHWC order:
//!
//! `Y = cols · W + b`.
//!
//! The backward is therefore the backward of a matrix product plus a bias (see `matmul.rs` and
//! `add.rs`), with `dY = ∂L/∂y` viewed as `(N·OH·OW, F)`:
//!
//! - `dW = colsᵀ · dY` — each weight meets every receptive field ([`conv2d_backward_weight`]);
//! - `db = Σ_rows dY` — the bias was added to every output pixel ([`conv2d_backward_bias`]);
//! - `dcols = dY · Wᵀ`, then `dX = col2im(dcols)` ([`conv2d_backward_input`]): if we im2col on
//!   the forward, we col2im on the backward. im2col *copied* each input pixel into every row
//!   whose window covers it, so col2im *adds* all those entries of `dcols` back into that pixel
//!   (overlapping windows are why it adds), and drops the entries that came from the padding.
//!
//! The loops (tiled so that a slice of `cols` stays in cache, never the whole matrix, and a
//! six-loop naive reference beside them) are in `kernels/src/cpu/conv.rs`; the GPU kernels (the
//! same algorithm, col2im as a gather) in `kernels/src/wgpu/conv.rs`. `astrograd_tensor::nn::conv`
//! picks one by the device of the tensors.
//!
//! With a ReLU after it (Keras's `activation='relu'`), `y = relu(z)` with `z = cols · W + b`;
//! since `∂y/∂z = [z > 0] = [y > 0]`, the backward first masks `dz = dy ⊙ [y > 0]` and is then the
//! one above with `dz` for `dY`. [`conv2d_relu`] does both in one op: the kernel applies the ReLU
//! while the sums are in registers, so it costs no pass of its own over `y`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `w: (KH, KW, C, F)` (HWIO, as Keras stores it), `b: (F,)`,
//! `y: (N, OH, OW, F)`. With `k_eff = k + (k − 1)(d − 1)` per axis: `'valid'` gives
//! `OH = ⌊(H − k_eff) / sh⌋ + 1`; `'same'` gives `OH = ⌈H / sh⌉`, with the odd pixel of padding
//! at the bottom / right.
use astrograd_kernels::geometry::Conv2dGeometry;
use astrograd_kernels::KernelError;
use astrograd_tensor::nn::conv::{self as nn, ConvActivation};
use astrograd_tensor::Tensor;

use crate::{AutogradError, Result, Var};

/// Keras's `padding` argument: `Padding::Valid` or `Padding::Same`.
pub use astrograd_kernels::geometry::Padding;

/// The settings of a convolution besides its tensors; `Default` gives Keras's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step of the window, `[sh, sw]` (Keras `strides`, default `(1, 1)`).
    pub strides: [usize; 2],
    /// `Valid` (no padding, Keras's default) or `Same` (`out = ⌈in / stride⌉`).
    pub padding: Padding,
    /// Spacing of the kernel taps, `[dh, dw]` (Keras `dilation_rate`, default `(1, 1)`).
    pub dilation: [usize; 2],
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            strides: [1, 1],
            padding: Padding::Valid,
            dilation: [1, 1],
        }
    }
}

impl Var {
    /// `conv2d(self, w) + bias`. See [`conv2d`].
    pub fn conv2d(&self, w: &Var, bias: Option<&Var>, options: Conv2dOptions) -> Result<Var> {
        conv2d(self, w, bias, options)
    }

    /// `relu(conv2d(self, w) + bias)` as one op. See [`conv2d_relu`].
    pub fn conv2d_relu(&self, w: &Var, bias: Option<&Var>, options: Conv2dOptions) -> Result<Var> {
        conv2d_relu(self, w, bias, options)
    }
}

/// What the forward keeps for the backward.
struct Conv2dSaved {
    /// Shapes, strides, dilations and padding, validated once by the forward.
    geometry: Conv2dGeometry,
    /// The input `x: (N, H, W, C)`: `dW = colsᵀ · dY` rebuilds `cols` from it.
    x: Tensor,
    /// The kernel `w: (KH, KW, C, F)`: `dX = col2im(dY · Wᵀ)` reads it.
    w: Tensor,
    /// Which of `[x, w, bias]` want a gradient. The images fed to a first layer do not, and
    /// skipping their col2im saves about a third of that layer's backward.
    wanted: [bool; 3],
    /// After a fused ReLU, its output `y = relu(z)`: the mask `[y > 0]` is `[z > 0]`.
    relu_output: Option<Tensor>,
    /// The kernel's and the bias's variables (a bias has a gradient slot, even when frozen),
    /// asked where to write their gradients ([`Var::take_grad_destination`]).
    weights: (Var, Option<Var>),
}

/// 2-D convolution of `x: (N, H, W, C)` with `w: (KH, KW, C, F)`, plus an optional `bias: (F,)`.
///
/// ```
/// use astrograd_autograd::ops::conv2d::Conv2dOptions;
/// use astrograd_autograd::{Tensor, Var};
/// // A 3×3 image 1..9 and a 2×2 kernel of ones: each output sums one 2×2 window.
/// let x = Var::constant(Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[1, 3, 3, 1])?);
/// let w = Var::constant(Tensor::ones(&[2, 2, 1, 1]));
/// let y = x.conv2d(&w, None, Conv2dOptions::default())?;
/// assert_eq!(y.shape(), vec![1, 2, 2, 1]);
/// assert_eq!(y.value().to_vec()?, vec![12.0, 16.0, 24.0, 28.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`] naming `conv2d` and the shape if `x` or `w` is not of rank 4;
/// [`AutogradError::Kernel`] (also naming `conv2d` and the shapes) if `w`'s `C` differs from
/// `x`'s, a stride or dilation is 0 or a `'valid'` kernel does not fit in the input;
/// [`AutogradError::Tensor`] naming `conv2d` if `bias` is not `(F,)`.
pub fn conv2d(x: &Var, w: &Var, bias: Option<&Var>, options: Conv2dOptions) -> Result<Var> {
    conv2d_activated(x, w, bias, options, ConvActivation::Linear)
}

/// `relu(conv2d(x, w) + bias)` as one op: Keras's `Conv2D(activation='relu')`, the layer of every
/// course CNN.
///
/// The ReLU is applied as the convolution writes its sums, so it costs no pass of its own over
/// the output. The backward first masks the upstream gradient, `dz = dy · [y > 0]` (with
/// `y = relu(z)`, `y > 0` exactly where `z > 0`), then is [`conv2d`]'s backward with `dz`.
///
/// ```
/// use astrograd_autograd::ops::conv2d::Conv2dOptions;
/// use astrograd_autograd::{Tensor, Var};
/// let x = Var::constant(Tensor::from_vec(vec![1.0, -2.0, 3.0, -4.0], &[1, 2, 2, 1])?);
/// let w = Var::constant(Tensor::ones(&[1, 1, 1, 1]));
/// let y = x.conv2d_relu(&w, None, Conv2dOptions::default())?;
/// assert_eq!(y.value().to_vec()?, vec![1.0, 0.0, 3.0, 0.0]);
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Shapes
/// As [`conv2d`]: `x: (N, H, W, C)`, `w: (KH, KW, C, F)`, `bias: (F,)` → `y: (N, OH, OW, F)`, with
/// every `y ≥ 0`.
///
/// # Errors
/// As [`conv2d`], naming `conv2d_relu`.
pub fn conv2d_relu(x: &Var, w: &Var, bias: Option<&Var>, options: Conv2dOptions) -> Result<Var> {
    conv2d_activated(x, w, bias, options, ConvActivation::Relu)
}

/// [`conv2d`] or [`conv2d_relu`].
fn conv2d_activated(
    x: &Var,
    w: &Var,
    bias: Option<&Var>,
    options: Conv2dOptions,
    activation: ConvActivation,
) -> Result<Var> {
    let op = match activation {
        ConvActivation::Linear => "conv2d",
        ConvActivation::Relu => "conv2d_relu",
    };
    let (x_value, w_value) = (x.value(), w.value());
    let b_value = bias.map(Var::value);
    // Each fact about the shapes is checked once: the ranks here (the geometry needs the four
    // sizes), channels and window fit in `Conv2dGeometry::new`, the bias in `tensor::nn::conv`.
    let x_shape = rank4(op, "input x (N, H, W, C)", &x_value)?;
    let w_shape = rank4(op, "kernel w (KH, KW, C, F)", &w_value)?;
    let geometry = Conv2dGeometry::new(
        x_shape,
        w_shape,
        options.strides,
        options.dilation,
        options.padding,
    )
    .map_err(|e| {
        geometry_error(
            op,
            e,
            format!(
                "input {x_shape:?}, kernel {w_shape:?}, strides {:?}, dilation {:?}, padding {:?}",
                options.strides, options.dilation, options.padding
            ),
        )
    })?;

    // y: (N, OH, OW, F), on the device of the operands
    let y =
        nn::conv2d_forward_activated(&geometry, &x_value, &w_value, b_value.as_ref(), activation)?;

    let saved = Conv2dSaved {
        geometry,
        x: x_value,
        w: w_value,
        wanted: [
            x.requires_grad(),
            w.requires_grad(),
            bias.is_some_and(Var::requires_grad),
        ],
        relu_output: (activation == ConvActivation::Relu).then(|| y.clone()),
        weights: (w.clone(), bias.cloned()),
    };
    let inputs: Vec<&Var> = [x, w].into_iter().chain(bias).collect();
    Ok(Var::from_op(op, y, &inputs, move |dy| {
        let Conv2dSaved {
            geometry: g,
            x,
            w,
            wanted,
            relu_output,
            weights: (w_var, b_var),
        } = &saved;
        // dz = dy · [y > 0] after a fused ReLU, else dy itself (a shared handle, not a copy).
        let dy = &match relu_output {
            Some(y) => crate::ops::relu::relu_backward(dy, y)?,
            None => dy.clone(),
        };
        let mut grads = vec![
            wanted[0]
                .then(|| conv2d_backward_input(g, dy, w))
                .transpose()?,
            wanted[1]
                .then(|| conv2d_backward_weight(g, dy, x, w_var.take_grad_destination().as_ref()))
                .transpose()?,
        ];
        if let Some(b_var) = b_var {
            let into = || b_var.take_grad_destination();
            grads.push(
                wanted[2]
                    .then(|| conv2d_backward_bias(g, dy, into().as_ref()))
                    .transpose()?,
            );
        }
        Ok(grads)
    }))
}

/// `dX = col2im(dY · Wᵀ)`: each input pixel collects `dY · Wᵀ` from every window that read it.
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `w: (KH, KW, C, F)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// A shape error naming `conv2d_backward_input` if `dy` or `w` does not have the shape `g`
/// describes (checked once, in `tensor::nn::conv`).
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &Tensor, w: &Tensor) -> Result<Tensor> {
    Ok(nn::conv2d_backward_input(g, dy, w)?)
}

/// `dW = colsᵀ · dY`: each weight collects input × upstream gradient over every window;
/// written on the GPU into `into` when it is given ([`Var::take_grad_destination`]).
///
/// # Shapes
/// `dy: (N, OH, OW, F)`, `x: (N, H, W, C)` → `dw: (KH, KW, C, F)`.
///
/// # Errors
/// A shape error naming `conv2d_backward_weight` if `dy` or `x` does not have the shape `g`
/// describes (checked once, in `tensor::nn::conv`).
pub fn conv2d_backward_weight(
    g: &Conv2dGeometry,
    dy: &Tensor,
    x: &Tensor,
    into: Option<&Tensor>,
) -> Result<Tensor> {
    Ok(nn::conv2d_backward_weight(g, dy, x, into)?)
}

/// `db = Σ_{n, oh, ow} dY[n, oh, ow, :]`: the bias was added to every output pixel; written on
/// the GPU into `into` when it is given.
///
/// # Shapes
/// `dy: (N, OH, OW, F)` → `db: (F,)`.
///
/// # Errors
/// A shape error naming `conv2d_backward_bias` if `dy` does not have the shape `g` describes
/// (checked once, in `tensor::nn::conv`).
pub fn conv2d_backward_bias(
    g: &Conv2dGeometry,
    dy: &Tensor,
    into: Option<&Tensor>,
) -> Result<Tensor> {
    Ok(nn::conv2d_backward_bias(g, dy, into)?)
}

/// The shape of a rank-4 tensor as an array, or an error naming `op` and `what` it should be.
pub(crate) fn rank4(op: &'static str, what: &str, t: &Tensor) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(t.shape()).map_err(|_| AutogradError::Invalid {
        op,
        expected: format!("{what} of rank 4"),
        found: format!("shape {:?}", t.shape()),
    })
}

/// A kernel's geometry error, relabelled with this op's name and the arguments it was called with.
pub(crate) fn geometry_error(op: &'static str, error: KernelError, call: String) -> AutogradError {
    match error {
        KernelError::InvalidGeometry { msg, .. } => {
            AutogradError::Kernel(KernelError::InvalidGeometry {
                op,
                msg: format!("{msg} ({call})"),
            })
        }
        other => AutogradError::Kernel(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    /// One convolution to check: input (n, h, w, c), kernel (kh, kw, c, f).
    #[derive(Debug, Clone, Copy)]
    struct Conv2dCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        f: usize,
        kh: usize,
        kw: usize,
        strides: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    }

    impl Conv2dCase {
        fn options(&self) -> Conv2dOptions {
            Conv2dOptions {
                strides: self.strides,
                padding: self.padding,
                dilation: self.dilation,
            }
        }

        /// Gradient check of x, w and b at random values drawn from `seed`.
        fn gradcheck(&self, seed: u64) -> Result<()> {
            let x = random(&[self.n, self.h, self.w, self.c], -1.0, 1.0, seed);
            let w = random(&[self.kh, self.kw, self.c, self.f], -1.0, 1.0, seed + 1);
            let b = random(&[self.f], -1.0, 1.0, seed + 2);
            let options = self.options();
            gradcheck(
                "conv2d",
                |v| v[0].conv2d(&v[1], Some(&v[2]), options),
                &[x, w, b],
            )?;
            Ok(())
        }
    }

    /// A case with Keras's defaults, to be edited with struct-update syntax.
    const BASE: Conv2dCase = Conv2dCase {
        n: 2,
        h: 5,
        w: 4,
        c: 2,
        f: 3,
        kh: 3,
        kw: 2,
        strides: [1, 1],
        dilation: [1, 1],
        padding: Padding::Valid,
    };

    #[test]
    fn same_padding_puts_the_odd_pixel_bottom_right() {
        // 4×4 ones, 3×3 kernel of ones, stride 2, 'same': total padding 1, all of it after, so
        // window (0, 0) covers rows/cols 0–2 (9 ones) and the others run into the padding.
        let x = Var::constant(Tensor::ones(&[1, 4, 4, 1]));
        let w = Var::constant(Tensor::ones(&[3, 3, 1, 1]));
        let options = Conv2dOptions {
            strides: [2, 2],
            padding: Padding::Same,
            ..Default::default()
        };
        let y = x.conv2d(&w, None, options).unwrap();
        assert_eq!(y.shape(), vec![1, 2, 2, 1]);
        assert_eq!(y.value().to_vec().unwrap(), vec![9.0, 6.0, 6.0, 4.0]);
    }

    #[test]
    fn bias_is_added_per_filter_and_its_gradient_sums_dy() {
        let x = Var::constant(Tensor::ones(&[2, 3, 3, 1]));
        let w = Var::parameter(Tensor::ones(&[2, 2, 1, 2]));
        let b = Var::parameter(Tensor::from_vec(vec![10.0, -10.0], &[2]).unwrap());
        let y = x.conv2d(&w, Some(&b), Conv2dOptions::default()).unwrap();
        assert_eq!(y.value().to_vec().unwrap()[..2], [14.0, -6.0]);
        y.sum_all().unwrap().backward().unwrap();
        // 2 images × 2×2 output pixels each.
        assert_eq!(b.grad().unwrap().to_vec().unwrap(), vec![8.0, 8.0]);
        // Each weight meets 8 windows of ones.
        assert_eq!(w.grad().unwrap().to_vec().unwrap(), vec![8.0; 8]);
        // Constant images get no gradient, and none is computed.
        assert!(x.grad().is_none());
    }

    #[test]
    fn gradcheck_named_cases() {
        let cases = [
            BASE,
            Conv2dCase {
                padding: Padding::Same,
                ..BASE
            },
            // 'same', stride 2, even sizes: the padding is all bottom / right.
            Conv2dCase {
                h: 4,
                w: 4,
                kh: 3,
                kw: 3,
                strides: [2, 2],
                padding: Padding::Same,
                ..BASE
            },
            // 'same', stride 2, odd sizes: padding on both sides.
            Conv2dCase {
                h: 5,
                w: 7,
                kh: 3,
                kw: 3,
                strides: [2, 2],
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                h: 7,
                w: 6,
                kh: 3,
                kw: 3,
                dilation: [2, 2],
                padding: Padding::Same,
                ..BASE
            },
            Conv2dCase {
                h: 7,
                w: 6,
                kh: 3,
                kw: 2,
                dilation: [2, 2],
                ..BASE
            },
            Conv2dCase {
                h: 6,
                w: 5,
                strides: [2, 1],
                ..BASE
            },
            // 1×1: the pointwise path, a plain GEMM.
            Conv2dCase {
                kh: 1,
                kw: 1,
                ..BASE
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            case.gradcheck(i as u64)
                .unwrap_or_else(|e| panic!("{case:?}: {e}"));
        }
    }

    #[test]
    fn gradcheck_without_bias() {
        let x = random(&[1, 4, 4, 2], -1.0, 1.0, 7);
        let w = random(&[2, 2, 2, 3], -1.0, 1.0, 8);
        let options = Conv2dOptions {
            strides: [2, 2],
            ..Default::default()
        };
        gradcheck(
            "conv2d (no bias)",
            |v| v[0].conv2d(&v[1], None, options),
            &[x, w],
        )
        .unwrap();
    }

    /// The error message of `conv2d` on these shapes.
    fn error(x: &[usize], w: &[usize], b: Option<&[usize]>, options: Conv2dOptions) -> String {
        let x = Var::constant(Tensor::zeros(x));
        let w = Var::constant(Tensor::zeros(w));
        let b = b.map(|b| Var::constant(Tensor::zeros(b)));
        x.conv2d(&w, b.as_ref(), options).unwrap_err().to_string()
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_op_and_shapes() {
        let default = Conv2dOptions::default();
        let too_big = error(&[1, 3, 3, 1], &[5, 5, 1, 2], None, default);
        assert!(
            too_big.starts_with("conv2d:") && too_big.contains("[1, 3, 3, 1]"),
            "{too_big}"
        );
        assert!(
            too_big.contains("[5, 5, 1, 2]") && too_big.contains("valid"),
            "{too_big}"
        );

        let channels = error(&[1, 5, 5, 3], &[3, 3, 2, 4], None, default);
        assert!(
            channels.starts_with("conv2d:") && channels.contains("[1, 5, 5, 3]"),
            "{channels}"
        );
        assert!(channels.contains("[3, 3, 2, 4]"), "{channels}");

        let rank3 = error(&[5, 5, 3], &[3, 3, 3, 4], None, default);
        assert!(
            rank3.starts_with("conv2d:") && rank3.contains("rank 4"),
            "{rank3}"
        );
        assert!(rank3.contains("[5, 5, 3]"), "{rank3}");

        let kernel_rank = error(&[1, 5, 5, 3], &[3, 3, 3], None, default);
        assert!(
            kernel_rank.starts_with("conv2d:") && kernel_rank.contains("[3, 3, 3]"),
            "{kernel_rank}"
        );

        let bias = error(&[1, 5, 5, 3], &[3, 3, 3, 4], Some(&[3]), default);
        assert!(
            bias.starts_with("conv2d:") && bias.contains("[4]") && bias.contains("[3]"),
            "{bias}"
        );

        let zero_stride = error(
            &[1, 5, 5, 3],
            &[3, 3, 3, 4],
            None,
            Conv2dOptions {
                strides: [0, 1],
                ..default
            },
        );
        assert!(
            zero_stride.starts_with("conv2d:") && zero_stride.contains("[0, 1]"),
            "{zero_stride}"
        );
        assert!(zero_stride.contains("[1, 5, 5, 3]"), "{zero_stride}");

        let zero_dilation = error(
            &[1, 5, 5, 3],
            &[3, 3, 3, 4],
            None,
            Conv2dOptions {
                dilation: [1, 0],
                ..default
            },
        );
        assert!(
            zero_dilation.starts_with("conv2d:") && zero_dilation.contains("dilation"),
            "{zero_dilation}"
        );
    }

    #[test]
    fn backward_functions_check_their_shapes() {
        let g = Conv2dGeometry::new([1, 4, 4, 1], [3, 3, 1, 2], [1, 1], [1, 1], Padding::Valid)
            .unwrap();
        let wrong = Tensor::zeros(&[1, 2, 2, 1]);
        let err = conv2d_backward_bias(&g, &wrong, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conv2d_backward_bias") && err.contains("[1, 2, 2, 2]"),
            "{err}"
        );
    }

    /// A random case; a 'valid' kernel that would not fit becomes 'same'.
    fn cases() -> impl Strategy<Value = Conv2dCase> {
        (
            (1usize..=2, 1usize..=6, 1usize..=6, 1usize..=3, 1usize..=3),
            (
                1usize..=3,
                1usize..=3,
                [1usize..=2, 1usize..=2],
                [1usize..=2, 1usize..=2],
                any::<bool>(),
            ),
        )
            .prop_map(|((n, h, w, c, f), (kh, kw, strides, dilation, same))| {
                let fits = kh + (kh - 1) * (dilation[0] - 1) <= h
                    && kw + (kw - 1) * (dilation[1] - 1) <= w;
                let padding = if same || !fits {
                    Padding::Same
                } else {
                    Padding::Valid
                };
                Conv2dCase {
                    n,
                    h,
                    w,
                    c,
                    f,
                    kh,
                    kw,
                    strides,
                    dilation,
                    padding,
                }
            })
    }

    /// `y` and the gradients of x, w, b for the upstream gradient `dy`, fused or as
    /// `conv2d(..).relu()`.
    fn relu_run(case: &Conv2dCase, seed: u64, fused: bool) -> Vec<Vec<f32>> {
        let x = Var::parameter(random(&[case.n, case.h, case.w, case.c], -1.0, 1.0, seed));
        let w = Var::parameter(random(
            &[case.kh, case.kw, case.c, case.f],
            -1.0,
            1.0,
            seed + 1,
        ));
        let b = Var::parameter(random(&[case.f], -1.0, 1.0, seed + 2));
        let y = if fused {
            x.conv2d_relu(&w, Some(&b), case.options()).unwrap()
        } else {
            x.conv2d(&w, Some(&b), case.options())
                .unwrap()
                .relu()
                .unwrap()
        };
        let dy = random(&y.shape(), -1.0, 1.0, seed + 3);
        y.backward_with(dy).unwrap();
        [
            y.value(),
            x.grad().unwrap(),
            w.grad().unwrap(),
            b.grad().unwrap(),
        ]
        .iter()
        .map(|g| g.to_vec().unwrap())
        .collect()
    }

    /// The fused op is `conv2d` then `relu`, to the last bit: the same sums, the same mask.
    #[test]
    fn conv2d_relu_is_conv2d_then_relu() {
        let same = Conv2dCase {
            padding: Padding::Same,
            c: 16,
            f: 32,
            ..BASE
        };
        for (case, seed) in [(BASE, 1), (same, 2)] {
            let fused = relu_run(&case, seed, true);
            assert_eq!(fused, relu_run(&case, seed, false), "{case:?}");
            assert!(fused[0].contains(&0.0) && fused[0].iter().any(|&v| v > 0.0));
        }
        let x = Var::constant(Tensor::ones(&[1, 3, 3, 1]));
        let w = Var::parameter(Tensor::ones(&[2, 2, 1, 1]));
        let y = x.conv2d_relu(&w, None, Conv2dOptions::default()).unwrap();
        assert_eq!(y.op_name(), Some("conv2d_relu"));
    }

    #[test]
    fn conv2d_relu_gradcheck() {
        // Seeds whose pre-activations stay clear of the kink at 0.
        let x = random(&[1, 4, 4, 2], -1.0, 1.0, 7);
        let w = random(&[2, 2, 2, 3], -1.0, 1.0, 8);
        let b = random(&[3], -1.0, 1.0, 9);
        gradcheck(
            "conv2d_relu",
            |v| v[0].conv2d_relu(&v[1], Some(&v[2]), Conv2dOptions::default()),
            &[x, w, b],
        )
        .unwrap();
    }

    #[test]
    fn conv2d_relu_errors_name_it() {
        let x = Var::constant(Tensor::ones(&[1, 3, 3, 2]));
        let w = Var::constant(Tensor::ones(&[2, 2, 1, 1]));
        let err = x
            .conv2d_relu(&w, None, Conv2dOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("conv2d_relu:"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_geometry(case in cases(), seed in 0u64..1000) {
            case.gradcheck(seed).unwrap();
        }

        #[test]
        fn conv2d_relu_matches_conv2d_then_relu(case in cases(), seed in 0u64..1000) {
            prop_assert_eq!(relu_run(&case, seed, true), relu_run(&case, seed, false));
        }
    }
}

/// The op on GPU tensors against the same op on CPU tensors (feature `wgpu`).
#[cfg(all(test, feature = "wgpu"))]
mod gpu_tests {
    use super::*;
    use crate::ops::testing::random;
    use astrograd_tensor::Device;

    /// The GPU, or `None` (with a note) where there is none; CI sets `ASTROGRAD_REQUIRE_GPU`.
    fn gpu() -> Option<Device> {
        astrograd_tensor::gpu::gpu_or_skip()
    }

    /// `y` and the gradients of x, w, b for the upstream gradient `dy`, on the tensors' device.
    fn run(x: &Tensor, w: &Tensor, b: &Tensor, dy: &Tensor, options: Conv2dOptions) -> Vec<Tensor> {
        let (x, w, b) = (
            Var::parameter(x.clone()),
            Var::parameter(w.clone()),
            Var::parameter(b.clone()),
        );
        let y = x.conv2d(&w, Some(&b), options).unwrap();
        y.backward_with(dy.clone()).unwrap();
        vec![
            y.value(),
            x.grad().unwrap(),
            w.grad().unwrap(),
            b.grad().unwrap(),
        ]
    }

    #[test]
    fn forward_and_gradients_on_the_gpu_match_the_cpu() {
        let Some(device) = gpu() else { return };
        let options = Conv2dOptions {
            strides: [2, 1],
            padding: Padding::Same,
            dilation: [1, 2],
        };
        let x = random(&[2, 7, 6, 3], -1.0, 1.0, 1);
        let w = random(&[3, 2, 3, 4], -1.0, 1.0, 2);
        let b = random(&[4], -1.0, 1.0, 3);
        let dy = random(&[2, 4, 6, 4], -1.0, 1.0, 4);
        let on = |t: &Tensor| t.to(device).unwrap();
        let cpu = run(&x, &w, &b, &dy, options);
        let gpu = run(&on(&x), &on(&w), &on(&b), &on(&dy), options);
        for (name, (g, c)) in ["y", "dx", "dw", "db"].iter().zip(gpu.iter().zip(&cpu)) {
            assert_eq!(g.device(), device, "{name} left the GPU");
            assert!(g.all_close(c, 1e-5, 1e-5), "{name}: {g} vs {c}");
        }
    }
}
