//! Depthwise 2-D convolution (Keras `DepthwiseConv2D`): each channel filtered on its own.
//!
//! # Math
//! Input channel `c` meets only its own `M` filters (`M` = depth multiplier) and is never mixed
//! with the other channels; output channel `c·M + m` is
//!
//! ```text
//! y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, oh·sh + kh·dh − pad_top, ow·sw + kw·dw − pad_left, c] · w[kh, kw, c, m]
//! ```
//!
//! It is linear in `x`, in `w` and in `b`, so each gradient is "the other factor times the
//! upstream gradient, summed over where the product was used":
//!
//! - `dw[kh, kw, c, m] = Σ_{n, oh, ow} x[n, ih, iw, c] · dy[n, oh, ow, c·M + m]`
//!   ([`depthwise_conv2d_backward_weight`]);
//! - `db[c·M + m] = Σ_{n, oh, ow} dy[n, oh, ow, c·M + m]` ([`depthwise_conv2d_backward_bias`]);
//! - `dx[n, ih, iw, c] = Σ_{windows reading (ih, iw)} Σ_m dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]`
//!   ([`depthwise_conv2d_backward_input`]): the scatter of `conv2d`'s col2im, one channel at a time.
//!
//! With only `KH·KW` multiply-adds per output there is too little arithmetic for im2col + GEMM to
//! pay for its copies, so the kernels in `kernels/src/cpu/depthwise_conv.rs` are direct loops
//! (with a naive reference in `kernels/src/cpu/naive.rs`). The route: this file (math, graph,
//! tests) → `astrograd_tensor::nn::depthwise_conv` (shapes checked against the geometry, device
//! dispatch) → `kernels/src/cpu/depthwise_conv.rs` or `kernels/src/wgpu/depthwise_conv.rs`.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `w: (KH, KW, C, M)`, `b: (C·M,)`, `y: (N, OH, OW, C·M)`; output sizes and
//! padding as [`conv2d`](super::conv2d) (Keras's rules).
use astrograd_kernels::geometry::DepthwiseConv2dGeometry;
use astrograd_tensor::nn::depthwise_conv as nn;
use astrograd_tensor::Tensor;

use super::conv2d::{geometry_error, rank4};
use crate::{Result, Var};

pub use super::conv2d::Padding;

/// Strides, padding and dilation of a depthwise convolution: the same three settings, and the
/// same Keras defaults, as [`Conv2dOptions`](super::conv2d::Conv2dOptions).
pub type DepthwiseConv2dOptions = super::conv2d::Conv2dOptions;

impl Var {
    /// `depthwise_conv2d(self, w) + bias`. See [`depthwise_conv2d`].
    pub fn depthwise_conv2d(
        &self,
        w: &Var,
        bias: Option<&Var>,
        options: DepthwiseConv2dOptions,
    ) -> Result<Var> {
        depthwise_conv2d(self, w, bias, options)
    }
}

/// What the forward keeps for the backward.
struct DepthwiseConv2dSaved {
    /// Shapes, strides, dilations and padding, validated once by the forward.
    geometry: DepthwiseConv2dGeometry,
    /// The input `x: (N, H, W, C)`: `dw` multiplies it with `dy`.
    x: Tensor,
    /// The kernel `w: (KH, KW, C, M)`: `dx` multiplies it with `dy`.
    w: Tensor,
    /// Whether a bias was given: it then has a gradient slot, even when frozen.
    has_bias: bool,
    /// Which of `[x, w, bias]` want a gradient; the others are not computed.
    wanted: [bool; 3],
}

/// Depthwise convolution of `x: (N, H, W, C)` with `w: (KH, KW, C, M)`, plus an optional
/// `bias: (C·M,)`; output channel `c·M + m` is channel `c` filtered by `w[.., .., c, m]`.
///
/// ```
/// use astrograd_autograd::ops::depthwise_conv2d::DepthwiseConv2dOptions;
/// use astrograd_autograd::{Tensor, Var};
/// // Two channels, 1 and 10 everywhere; a 2×2 kernel of 1s for channel 0 and 2s for channel 1.
/// let x = Var::constant(Tensor::from_vec([1.0, 10.0].repeat(9), &[1, 3, 3, 2])?);
/// let w = Var::constant(Tensor::from_vec([1.0, 2.0].repeat(4), &[2, 2, 2, 1])?);
/// let y = x.depthwise_conv2d(&w, None, DepthwiseConv2dOptions::default())?;
/// assert_eq!(y.shape(), vec![1, 2, 2, 2]);
/// assert_eq!(y.value().to_vec()?[..2], [4.0, 80.0]); // 4·1·1 and 4·10·2: no channel mixing
/// # Ok::<(), astrograd_autograd::AutogradError>(())
/// ```
///
/// # Errors
/// [`AutogradError::Invalid`](crate::AutogradError::Invalid) naming `depthwise_conv2d` and the
/// shape if `x` or `w` is not of rank 4; [`AutogradError::Kernel`](crate::AutogradError::Kernel)
/// (also naming the op and shapes) if `w`'s `C` differs from `x`'s, a stride or dilation is 0 or
/// a `'valid'` kernel does not fit in the input;
/// [`AutogradError::Tensor`](crate::AutogradError::Tensor) naming `depthwise_conv2d` if `bias`
/// is not `(C·M,)`, or for operands on different devices.
pub fn depthwise_conv2d(
    x: &Var,
    w: &Var,
    bias: Option<&Var>,
    options: DepthwiseConv2dOptions,
) -> Result<Var> {
    const OP: &str = "depthwise_conv2d";
    let (x_value, w_value) = (x.value(), w.value());
    let b_value = bias.map(Var::value);
    // Each fact about the shapes is checked once: the ranks here, channels and window fit in
    // `DepthwiseConv2dGeometry::new`, the bias in `tensor::nn::depthwise_conv`.
    let x_shape = rank4(OP, "input x (N, H, W, C)", &x_value)?;
    let w_shape = rank4(OP, "kernel w (KH, KW, C, M)", &w_value)?;
    let geometry = DepthwiseConv2dGeometry::new(
        x_shape,
        w_shape,
        options.strides,
        options.dilation,
        options.padding,
    )
    .map_err(|e| {
        geometry_error(
            OP,
            e,
            format!(
                "input {x_shape:?}, kernel {w_shape:?}, strides {:?}, dilation {:?}, padding {:?}",
                options.strides, options.dilation, options.padding
            ),
        )
    })?;

    // y: (N, OH, OW, C·M), on the device of the operands
    let y = nn::depthwise_conv2d_forward(&geometry, &x_value, &w_value, b_value.as_ref())?;

    let saved = DepthwiseConv2dSaved {
        geometry,
        x: x_value,
        w: w_value,
        has_bias: bias.is_some(),
        wanted: [
            x.requires_grad(),
            w.requires_grad(),
            bias.is_some_and(Var::requires_grad),
        ],
    };
    let inputs: Vec<&Var> = [x, w].into_iter().chain(bias).collect();
    Ok(Var::from_op(OP, y, &inputs, move |dy| {
        let DepthwiseConv2dSaved {
            geometry: g,
            x,
            w,
            has_bias,
            wanted,
        } = &saved;
        let mut grads = vec![
            wanted[0]
                .then(|| depthwise_conv2d_backward_input(g, dy, w))
                .transpose()?,
            wanted[1]
                .then(|| depthwise_conv2d_backward_weight(g, dy, x))
                .transpose()?,
        ];
        if *has_bias {
            grads.push(
                wanted[2]
                    .then(|| depthwise_conv2d_backward_bias(g, dy))
                    .transpose()?,
            );
        }
        Ok(grads)
    }))
}

/// `dx[n, ih, iw, c] = Σ_{windows reading (ih, iw)} Σ_m dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)`, `w: (KH, KW, C, M)` → `dx: (N, H, W, C)`.
///
/// # Errors
/// A shape error naming `depthwise_conv2d_backward_input` if `dy` or `w` does not have the shape
/// `g` describes (checked in `tensor::nn`).
pub fn depthwise_conv2d_backward_input(
    g: &DepthwiseConv2dGeometry,
    dy: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    Ok(nn::depthwise_conv2d_backward_input(g, dy, w)?)
}

/// `dw[kh, kw, c, m] = Σ_{n, oh, ow} x[n, ih, iw, c] · dy[n, oh, ow, c·M + m]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)`, `x: (N, H, W, C)` → `dw: (KH, KW, C, M)`.
///
/// # Errors
/// A shape error naming `depthwise_conv2d_backward_weight` if `dy` or `x` does not have the
/// shape `g` describes (checked in `tensor::nn`).
pub fn depthwise_conv2d_backward_weight(
    g: &DepthwiseConv2dGeometry,
    dy: &Tensor,
    x: &Tensor,
) -> Result<Tensor> {
    Ok(nn::depthwise_conv2d_backward_weight(g, dy, x)?)
}

/// `db[c·M + m] = Σ_{n, oh, ow} dy[n, oh, ow, c·M + m]`.
///
/// # Shapes
/// `dy: (N, OH, OW, C·M)` → `db: (C·M,)`.
///
/// # Errors
/// A shape error naming `depthwise_conv2d_backward_bias` if `dy` does not have the shape `g`
/// describes (checked in `tensor::nn`).
pub fn depthwise_conv2d_backward_bias(g: &DepthwiseConv2dGeometry, dy: &Tensor) -> Result<Tensor> {
    Ok(nn::depthwise_conv2d_backward_bias(g, dy)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::gradcheck;
    use crate::ops::testing::random;
    use proptest::prelude::*;

    /// One depthwise convolution to check: input (n, h, w, c), kernel (kh, kw, c, m).
    #[derive(Debug, Clone, Copy)]
    struct DepthwiseConv2dCase {
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        m: usize,
        kh: usize,
        kw: usize,
        strides: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    }

    impl DepthwiseConv2dCase {
        fn options(&self) -> DepthwiseConv2dOptions {
            DepthwiseConv2dOptions {
                strides: self.strides,
                padding: self.padding,
                dilation: self.dilation,
            }
        }

        /// Gradient check of x, w and b at random values drawn from `seed`.
        fn gradcheck(&self, seed: u64) -> Result<()> {
            let x = random(&[self.n, self.h, self.w, self.c], -1.0, 1.0, seed);
            let w = random(&[self.kh, self.kw, self.c, self.m], -1.0, 1.0, seed + 1);
            let b = random(&[self.c * self.m], -1.0, 1.0, seed + 2);
            let options = self.options();
            gradcheck(
                "depthwise_conv2d",
                |v| v[0].depthwise_conv2d(&v[1], Some(&v[2]), options),
                &[x, w, b],
            )?;
            Ok(())
        }
    }

    /// A case with Keras's defaults, to be edited with struct-update syntax.
    const BASE: DepthwiseConv2dCase = DepthwiseConv2dCase {
        n: 2,
        h: 5,
        w: 4,
        c: 3,
        m: 2,
        kh: 3,
        kw: 2,
        strides: [1, 1],
        dilation: [1, 1],
        padding: Padding::Valid,
    };

    #[test]
    fn output_channel_is_c_times_m_plus_m() {
        // One pixel, two channels (1 and 10), multiplier 2: kernel w[0, 0, c, m] = c·2 + m + 1.
        let x = Var::constant(Tensor::from_vec(vec![1.0, 10.0], &[1, 1, 1, 2]).unwrap());
        let w = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 2]).unwrap());
        let b = Var::constant(Tensor::from_vec(vec![0.5; 4], &[4]).unwrap());
        let y = x
            .depthwise_conv2d(&w, Some(&b), DepthwiseConv2dOptions::default())
            .unwrap();
        assert_eq!(y.shape(), vec![1, 1, 1, 4]);
        assert_eq!(y.value().to_vec().unwrap(), vec![1.5, 2.5, 30.5, 40.5]);
    }

    #[test]
    fn gradcheck_named_cases() {
        let cases = [
            BASE,
            DepthwiseConv2dCase {
                padding: Padding::Same,
                m: 1,
                ..BASE
            },
            // 'same', stride 2, even sizes: the padding is all bottom / right.
            DepthwiseConv2dCase {
                h: 4,
                w: 6,
                kh: 3,
                kw: 3,
                strides: [2, 2],
                padding: Padding::Same,
                ..BASE
            },
            // 'same', stride 2, odd sizes: padding on both sides.
            DepthwiseConv2dCase {
                h: 5,
                w: 7,
                kh: 3,
                kw: 3,
                strides: [2, 2],
                padding: Padding::Same,
                ..BASE
            },
            DepthwiseConv2dCase {
                h: 7,
                w: 6,
                kh: 3,
                kw: 3,
                dilation: [2, 2],
                padding: Padding::Same,
                ..BASE
            },
            DepthwiseConv2dCase {
                h: 6,
                w: 5,
                strides: [2, 1],
                m: 3,
                ..BASE
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            case.gradcheck(i as u64)
                .unwrap_or_else(|e| panic!("{case:?}: {e}"));
        }
    }

    /// The error message of `depthwise_conv2d` on these shapes.
    fn error(
        x: &[usize],
        w: &[usize],
        b: Option<&[usize]>,
        options: DepthwiseConv2dOptions,
    ) -> String {
        let x = Var::constant(Tensor::zeros(x));
        let w = Var::constant(Tensor::zeros(w));
        let b = b.map(|b| Var::constant(Tensor::zeros(b)));
        x.depthwise_conv2d(&w, b.as_ref(), options)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_op_and_shapes() {
        let default = DepthwiseConv2dOptions::default();
        let too_big = error(&[1, 3, 3, 2], &[5, 5, 2, 1], None, default);
        assert!(
            too_big.starts_with("depthwise_conv2d:") && too_big.contains("[1, 3, 3, 2]"),
            "{too_big}"
        );
        assert!(too_big.contains("[5, 5, 2, 1]"), "{too_big}");

        let channels = error(&[1, 5, 5, 3], &[3, 3, 2, 1], None, default);
        assert!(
            channels.starts_with("depthwise_conv2d:") && channels.contains("[3, 3, 2, 1]"),
            "{channels}"
        );

        let rank3 = error(&[5, 5, 3], &[3, 3, 3, 1], None, default);
        assert!(
            rank3.starts_with("depthwise_conv2d:") && rank3.contains("[5, 5, 3]"),
            "{rank3}"
        );

        // The bias is (C·M,) = (6,), not (M,) or (C,).
        let bias = error(&[1, 5, 5, 3], &[3, 3, 3, 2], Some(&[3]), default);
        assert!(
            bias.starts_with("depthwise_conv2d:") && bias.contains("[6]"),
            "{bias}"
        );

        let zero_stride = error(
            &[1, 5, 5, 3],
            &[3, 3, 3, 1],
            None,
            DepthwiseConv2dOptions {
                strides: [1, 0],
                ..default
            },
        );
        assert!(
            zero_stride.starts_with("depthwise_conv2d:") && zero_stride.contains("[1, 0]"),
            "{zero_stride}"
        );
    }

    /// A random case; a 'valid' kernel that would not fit becomes 'same'.
    fn cases() -> impl Strategy<Value = DepthwiseConv2dCase> {
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
            .prop_map(|((n, h, w, c, m), (kh, kw, strides, dilation, same))| {
                let fits = kh + (kh - 1) * (dilation[0] - 1) <= h
                    && kw + (kw - 1) * (dilation[1] - 1) <= w;
                let padding = if same || !fits {
                    Padding::Same
                } else {
                    Padding::Valid
                };
                DepthwiseConv2dCase {
                    n,
                    h,
                    w,
                    c,
                    m,
                    kh,
                    kw,
                    strides,
                    dilation,
                    padding,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn gradcheck_random_geometry(case in cases(), seed in 0u64..1000) {
            case.gradcheck(seed).unwrap();
        }
    }
}

/// Depthwise convolution on the GPU (feature `wgpu`): the value and the three gradients are
/// the CPU's.
#[cfg(all(test, feature = "wgpu"))]
mod gpu_tests {
    use super::*;
    use crate::ops::testing::random;
    use astrograd_tensor::Device;

    #[test]
    fn forward_and_gradients_on_the_gpu_match_the_cpu() {
        let Some(gpu) = astrograd_tensor::gpu::gpu_or_skip() else {
            return;
        };
        let x = random(&[2, 6, 5, 3], -1.0, 1.0, 21);
        let w = random(&[3, 3, 3, 2], -1.0, 1.0, 22);
        let b = random(&[6], -1.0, 1.0, 23);
        let options = DepthwiseConv2dOptions {
            strides: [2, 1],
            padding: Padding::Same,
            ..DepthwiseConv2dOptions::default()
        };
        // The same graph on either device; the value and the gradients, read back to the host.
        let run = |device| -> Vec<Tensor> {
            let on = |t: &Tensor| Var::parameter(t.to(device).unwrap());
            let (xv, wv, bv) = (on(&x), on(&w), on(&b));
            let y = depthwise_conv2d(&xv, &wv, Some(&bv), options).unwrap();
            assert_eq!(y.value().device(), device);
            y.sum_all().unwrap().backward().unwrap();
            [
                y.value(),
                xv.grad().unwrap(),
                wv.grad().unwrap(),
                bv.grad().unwrap(),
            ]
            .iter()
            .map(|t| t.to(Device::Cpu).unwrap())
            .collect()
        };
        let (on_cpu, on_gpu) = (run(Device::Cpu), run(gpu));
        for ((what, c), g) in ["y", "dx", "dw", "db"].iter().zip(&on_cpu).zip(&on_gpu) {
            assert!(g.all_close(c, 1e-5, 1e-5), "{what}: {g} vs {c}");
        }
    }
}
