//! Shapes of the windowed ops — convolution, depthwise convolution, pooling — validated once
//! and shared by both devices: `cpu/` and `wgpu/` take the same structs.
//!
//! # Output size (Keras / TF 2.10 rules)
//!
//! A dilated kernel spans `k_eff = k + (k − 1)(d − 1)` pixels. Per axis, with input size `n`:
//! - `'valid'`: no padding, `out = ⌊(n − k_eff) / s⌋ + 1` (an error if `k_eff > n`);
//! - `'same'`: `out = ⌈n / s⌉`, total padding `max((out − 1)·s + k_eff − n, 0)`, of which
//!   `pad_before = total / 2` and `pad_after = total − pad_before`: the odd pixel goes to the
//!   bottom / right (a 4×4 input, 3×3 kernel, stride 2 pads 0 rows on top and 1 at the bottom).
//!
//! Pooling follows the same rules with the pool as its window and dilation 1.
//! `axis_geometry` below is the one place these rules are written.
use crate::KernelError;

/// Keras's `padding` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: the kernel only visits positions where it fits entirely.
    Valid,
    /// Zero padding so that `out = ⌈n / stride⌉`; the odd pixel of padding goes bottom / right.
    Same,
}

impl Padding {
    /// The name Keras uses, for error messages.
    pub(crate) fn keras_name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        }
    }
}

/// Output size and padding along one spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AxisGeometry {
    pub out: usize,
    pub pad_before: usize,
    pub pad_after: usize,
}

/// Keras's output-size rule along one axis (see the module doc), or `None` when a `'valid'` window
/// of `k_eff` pixels does not fit in `size`. Arguments are assumed ≥ 1.
pub(crate) fn axis_geometry(
    size: usize,
    k_eff: usize,
    stride: usize,
    padding: Padding,
) -> Option<AxisGeometry> {
    match padding {
        Padding::Valid => (k_eff <= size).then(|| AxisGeometry {
            out: (size - k_eff) / stride + 1,
            pad_before: 0,
            pad_after: 0,
        }),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + k_eff).saturating_sub(size);
            Some(AxisGeometry {
                out,
                pad_before: total / 2,
                pad_after: total - total / 2,
            })
        }
    }
}

/// Checks that every entry of `values` is ≥ 1, naming them `what` in the error.
pub(crate) fn check_positive(
    op: &'static str,
    what: &str,
    values: &[usize],
) -> Result<(), KernelError> {
    if values.contains(&0) {
        return Err(KernelError::geometry(
            op,
            format!("{what} must be ≥ 1, found {values:?}"),
        ));
    }
    Ok(())
}

/// Output size and padding of both spatial axes of a (possibly dilated) window, with the
/// "does not fit" error phrased for `op`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spatial_geometry(
    op: &'static str,
    window_name: &str,
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [stride_h, stride_w]: [usize; 2],
    [dilation_h, dilation_w]: [usize; 2],
    padding: Padding,
    show_dilation: bool,
) -> Result<(AxisGeometry, AxisGeometry), KernelError> {
    let kh_eff = kh + (kh - 1) * (dilation_h - 1);
    let kw_eff = kw + (kw - 1) * (dilation_w - 1);
    let rows = axis_geometry(h, kh_eff, stride_h, padding);
    let cols = axis_geometry(w, kw_eff, stride_w, padding);
    match (rows, cols) {
        (Some(rows), Some(cols)) => Ok((rows, cols)),
        _ => {
            let dilation = match (show_dilation, dilation_h == 1 && dilation_w == 1) {
                (false, _) => String::new(),
                (true, true) => " (with dilation 1)".to_string(),
                (true, false) => {
                    format!(
                        " (with dilation {dilation_h}×{dilation_w}, spanning {kh_eff}×{kw_eff})"
                    )
                }
            };
            Err(KernelError::geometry(
                op,
                format!(
                    "{window_name} {kh}×{kw}{dilation} does not fit in input {h}×{w} with padding '{}'",
                    padding.keras_name()
                ),
            ))
        }
    }
}

/// Everything a conv2d kernel needs to know about its shapes, validated once.
///
/// Input `(N, H, W, C)`, kernel `(KH, KW, C, F)`, output `(N, OH, OW, F)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size (N).
    pub n: usize,
    /// Input height (H).
    pub h: usize,
    /// Input width (W).
    pub w: usize,
    /// Input channels (C).
    pub c: usize,
    /// Filters = output channels (F).
    pub f: usize,
    /// Kernel height (KH).
    pub kh: usize,
    /// Kernel width (KW).
    pub kw: usize,
    /// Step between windows, down.
    pub stride_h: usize,
    /// Step between windows, across.
    pub stride_w: usize,
    /// Spacing between kernel taps, down (1: adjacent).
    pub dilation_h: usize,
    /// Spacing between kernel taps, across (1: adjacent).
    pub dilation_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero rows added below the input.
    pub pad_bottom: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Zero columns added right of the input.
    pub pad_right: usize,
    /// Output height (OH).
    pub oh: usize,
    /// Output width (OW).
    pub ow: usize,
}

impl Conv2dGeometry {
    /// Validates and describes a convolution of an input `[N, H, W, C]` with a kernel
    /// `[KH, KW, C, F]`.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if a size, stride or dilation is 0, if the kernel's `C`
    /// differs from the input's, or if a `'valid'` kernel does not fit in the input.
    ///
    /// ```
    /// use astrograd_kernels::geometry::{Conv2dGeometry, Padding};
    /// let g = Conv2dGeometry::new([32, 28, 28, 1], [3, 3, 1, 12], [1, 1], [1, 1], Padding::Valid)?;
    /// assert_eq!(g.output_shape(), [32, 26, 26, 12]);
    /// # Ok::<(), astrograd_kernels::KernelError>(())
    /// ```
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 4],
        strides: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    ) -> Result<Self, KernelError> {
        const OP: &str = "conv2d";
        check_positive(OP, "input shape [N, H, W, C] entries", &input)?;
        check_positive(OP, "kernel shape [KH, KW, C, F] entries", &kernel)?;
        check_positive(OP, "strides", &strides)?;
        check_positive(OP, "dilations", &dilation)?;
        let [n, h, w, c] = input;
        let [kh, kw, kc, f] = kernel;
        if kc != c {
            return Err(KernelError::geometry(
                OP,
                format!("input channels {c} do not match kernel's {kc}"),
            ));
        }
        let (rows, cols) = spatial_geometry(
            OP,
            "kernel",
            [h, w],
            [kh, kw],
            strides,
            dilation,
            padding,
            true,
        )?;
        Ok(Conv2dGeometry {
            n,
            h,
            w,
            c,
            f,
            kh,
            kw,
            stride_h: strides[0],
            stride_w: strides[1],
            dilation_h: dilation[0],
            dilation_w: dilation[1],
            pad_top: rows.pad_before,
            pad_bottom: rows.pad_after,
            pad_left: cols.pad_before,
            pad_right: cols.pad_after,
            oh: rows.out,
            ow: cols.out,
        })
    }

    /// `[N, OH, OW, F]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.f]
    }

    /// Number of output pixels, `N·OH·OW`: the rows of `cols` and of `Y`.
    pub(crate) fn pixels(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// Length of one receptive field, `KH·KW·C`: the columns of `cols`, the rows of `W`.
    pub(crate) fn patch_len(&self) -> usize {
        self.kh * self.kw * self.c
    }

    /// A 1×1, stride-1, unpadded convolution: `cols` is `x` itself.
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
    }
}

/// Everything a pooling kernel needs to know about its shapes, validated once.
///
/// Input `(N, H, W, C)`, window `(PH, PW)` = `(pool_h, pool_w)`, output `(N, OH, OW, C)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    /// Batch size (N).
    pub n: usize,
    /// Input height (H).
    pub h: usize,
    /// Input width (W).
    pub w: usize,
    /// Input channels (C).
    pub c: usize,
    /// Window height.
    pub pool_h: usize,
    /// Window width.
    pub pool_w: usize,
    /// Step between windows, down.
    pub stride_h: usize,
    /// Step between windows, across.
    pub stride_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero rows added below the input.
    pub pad_bottom: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Zero columns added right of the input.
    pub pad_right: usize,
    /// Output height (OH).
    pub oh: usize,
    /// Output width (OW).
    pub ow: usize,
}

impl Pool2dGeometry {
    /// Validates and describes a pooling of an input `[N, H, W, C]` with a `[PH, PW]` window.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if a size or stride is 0, or if a `'valid'` window does not
    /// fit in the input.
    ///
    /// ```
    /// use astrograd_kernels::geometry::{Padding, Pool2dGeometry};
    /// let g = Pool2dGeometry::new([32, 67, 67, 12], [2, 2], [2, 2], Padding::Valid)?;
    /// assert_eq!(g.output_shape(), [32, 33, 33, 12]);
    /// # Ok::<(), astrograd_kernels::KernelError>(())
    /// ```
    pub fn new(
        input: [usize; 4],
        pool: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Self, KernelError> {
        const OP: &str = "pool2d";
        check_positive(OP, "input shape [N, H, W, C] entries", &input)?;
        check_positive(OP, "pool size", &pool)?;
        check_positive(OP, "strides", &strides)?;
        let [n, h, w, c] = input;
        let (rows, cols) = spatial_geometry(
            OP,
            "pool window",
            [h, w],
            pool,
            strides,
            [1, 1],
            padding,
            false,
        )?;
        Ok(Pool2dGeometry {
            n,
            h,
            w,
            c,
            pool_h: pool[0],
            pool_w: pool[1],
            stride_h: strides[0],
            stride_w: strides[1],
            pad_top: rows.pad_before,
            pad_bottom: rows.pad_after,
            pad_left: cols.pad_before,
            pad_right: cols.pad_after,
            oh: rows.out,
            ow: cols.out,
        })
    }

    /// `[N, OH, OW, C]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.c]
    }

    /// The valid input rows `ih` of window row `oh` (padding clipped away), as a range.
    pub(crate) fn window_rows(&self, oh: usize) -> std::ops::Range<usize> {
        let start = oh * self.stride_h;
        start.saturating_sub(self.pad_top)
            ..(start + self.pool_h)
                .saturating_sub(self.pad_top)
                .min(self.h)
    }

    /// The valid input columns `iw` of window column `ow`, as a range.
    pub(crate) fn window_cols(&self, ow: usize) -> std::ops::Range<usize> {
        let start = ow * self.stride_w;
        start.saturating_sub(self.pad_left)
            ..(start + self.pool_w)
                .saturating_sub(self.pad_left)
                .min(self.w)
    }
}

/// Everything a depthwise-conv kernel needs to know about its shapes, validated once.
///
/// Input `(N, H, W, C)`, kernel `(KH, KW, C, M)`, output `(N, OH, OW, C·M)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthwiseConv2dGeometry {
    /// Batch size (N).
    pub n: usize,
    /// Input height (H).
    pub h: usize,
    /// Input width (W).
    pub w: usize,
    /// Input channels (C).
    pub c: usize,
    /// Depth multiplier: filters per input channel.
    pub m: usize,
    /// Kernel height (KH).
    pub kh: usize,
    /// Kernel width (KW).
    pub kw: usize,
    /// Step between windows, down.
    pub stride_h: usize,
    /// Step between windows, across.
    pub stride_w: usize,
    /// Spacing between kernel taps, down (1: adjacent).
    pub dilation_h: usize,
    /// Spacing between kernel taps, across (1: adjacent).
    pub dilation_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero rows added below the input.
    pub pad_bottom: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Zero columns added right of the input.
    pub pad_right: usize,
    /// Output height (OH).
    pub oh: usize,
    /// Output width (OW).
    pub ow: usize,
}

impl DepthwiseConv2dGeometry {
    /// Validates and describes a depthwise convolution of an input `[N, H, W, C]` with a kernel
    /// `[KH, KW, C, M]`.
    ///
    /// # Errors
    /// [`KernelError::InvalidGeometry`] if a size, stride or dilation is 0, if the kernel's `C`
    /// differs from the input's, or if a `'valid'` kernel does not fit in the input.
    ///
    /// ```
    /// use astrograd_kernels::geometry::{DepthwiseConv2dGeometry, Padding};
    /// let g = DepthwiseConv2dGeometry::new([8, 112, 112, 32], [3, 3, 32, 1], [2, 2], [1, 1], Padding::Same)?;
    /// assert_eq!(g.output_shape(), [8, 56, 56, 32]);
    /// # Ok::<(), astrograd_kernels::KernelError>(())
    /// ```
    pub fn new(
        input: [usize; 4],
        kernel: [usize; 4],
        strides: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
    ) -> Result<Self, KernelError> {
        const OP: &str = "depthwise_conv2d";
        check_positive(OP, "input shape [N, H, W, C] entries", &input)?;
        check_positive(OP, "kernel shape [KH, KW, C, M] entries", &kernel)?;
        check_positive(OP, "strides", &strides)?;
        check_positive(OP, "dilations", &dilation)?;
        let [n, h, w, c] = input;
        let [kh, kw, kc, m] = kernel;
        if kc != c {
            return Err(KernelError::geometry(
                OP,
                format!("input channels {c} do not match kernel's {kc}"),
            ));
        }
        let (rows, cols) = spatial_geometry(
            OP,
            "kernel",
            [h, w],
            [kh, kw],
            strides,
            dilation,
            padding,
            true,
        )?;
        Ok(DepthwiseConv2dGeometry {
            n,
            h,
            w,
            c,
            m,
            kh,
            kw,
            stride_h: strides[0],
            stride_w: strides[1],
            dilation_h: dilation[0],
            dilation_w: dilation[1],
            pad_top: rows.pad_before,
            pad_bottom: rows.pad_after,
            pad_left: cols.pad_before,
            pad_right: cols.pad_after,
            oh: rows.out,
            ow: cols.out,
        })
    }

    /// `[N, OH, OW, C·M]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.oh, self.ow, self.c * self.m]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_keras() {
        let shape = |h, k, s, d, p| {
            Conv2dGeometry::new([1, h, h, 1], [k, k, 1, 1], [s, s], [d, d], p)
                .unwrap()
                .oh
        };
        assert_eq!(shape(28, 3, 1, 1, Padding::Valid), 26);
        assert_eq!(shape(69, 3, 2, 1, Padding::Valid), 34);
        assert_eq!(shape(10, 3, 1, 2, Padding::Valid), 6); // k_eff = 5
        assert_eq!(shape(7, 3, 2, 1, Padding::Same), 4);
        assert_eq!(shape(224, 7, 2, 1, Padding::Same), 112);
    }

    #[test]
    fn bad_conv_geometry_is_an_error_that_says_why() {
        let err = |input, kernel, strides, dilation, padding| {
            Conv2dGeometry::new(input, kernel, strides, dilation, padding)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err([1, 3, 3, 1], [5, 5, 1, 1], [1, 1], [1, 1], Padding::Valid),
            "conv2d: kernel 5×5 (with dilation 1) does not fit in input 3×3 with padding 'valid'"
        );
        assert_eq!(
            err([1, 5, 5, 1], [3, 3, 1, 1], [1, 1], [3, 1], Padding::Valid),
            "conv2d: kernel 3×3 (with dilation 3×1, spanning 7×3) does not fit in input 5×5 with padding 'valid'"
        );
        assert_eq!(
            err([1, 8, 8, 3], [3, 3, 1, 1], [1, 0], [1, 1], Padding::Same),
            "conv2d: strides must be ≥ 1, found [1, 0]"
        );
        assert_eq!(
            err([1, 8, 8, 3], [3, 3, 3, 1], [1, 1], [0, 1], Padding::Same),
            "conv2d: dilations must be ≥ 1, found [0, 1]"
        );
        assert_eq!(
            err([1, 8, 8, 3], [3, 3, 4, 2], [1, 1], [1, 1], Padding::Same),
            "conv2d: input channels 3 do not match kernel's 4"
        );
        assert!(
            err([0, 8, 8, 3], [3, 3, 3, 2], [1, 1], [1, 1], Padding::Same)
                .contains("found [0, 8, 8, 3]")
        );
        assert!(
            err([1, 8, 8, 3], [3, 3, 3, 0], [1, 1], [1, 1], Padding::Same).contains("kernel shape")
        );
    }

    #[test]
    fn output_size_is_the_conv_rule_with_k_equal_to_pool() {
        let g = Pool2dGeometry::new([1, 69, 69, 3], [2, 2], [2, 2], Padding::Valid).unwrap();
        assert_eq!(g.output_shape(), [1, 34, 34, 3]);
        let g = Pool2dGeometry::new([1, 69, 69, 3], [2, 2], [2, 2], Padding::Same).unwrap();
        assert_eq!(g.output_shape(), [1, 35, 35, 3]);
    }

    #[test]
    fn bad_pool_geometry_is_an_error_that_says_why() {
        let err = Pool2dGeometry::new([1, 2, 2, 1], [3, 3], [1, 1], Padding::Valid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pool2d: pool window 3×3 does not fit in input 2×2 with padding 'valid'"
        );
        let err = Pool2dGeometry::new([1, 4, 4, 1], [2, 2], [0, 2], Padding::Valid).unwrap_err();
        assert_eq!(err.to_string(), "pool2d: strides must be ≥ 1, found [0, 2]");
    }
}
