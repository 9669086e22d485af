//! Zero padding of NHWC images (Keras `ZeroPadding2D`): copy each image row into a zeroed frame.
//!
//! # Math
//! `out[n, top + h, left + w, c] = x[n, h, w, c]`; every other position of `out` is 0. The
//! backward is a crop (`dx = dout[:, top..top + H, left..left + W, :]`), a plain slice.
//!
//! # Shapes
//! `x: (N, H, W, C)`, `out: (N, top + H + bottom, left + W + right, C)`.
//!
//! Overwrites `out`, the border included.

/// Writes `x: (N, H, W, C)` padded with `((top, bottom), (left, right))` zeros into `out`.
pub fn zero_pad2d_forward(
    x: &[f32],
    [n, h, w, c]: [usize; 4],
    ((top, bottom), (left, right)): ((usize, usize), (usize, usize)),
    out: &mut [f32],
) {
    let (oh, ow) = (top + h + bottom, left + w + right);
    debug_assert_eq!(x.len(), n * h * w * c);
    debug_assert_eq!(out.len(), n * oh * ow * c);
    out.fill(0.0);
    // One row of an NHWC image is W·C contiguous numbers.
    let row = w * c;
    if row == 0 {
        return;
    }
    for (r, src) in x.chunks_exact(row).enumerate() {
        // Row r of x is image r / H, row r % H; it lands at row top + r % H, column left.
        let (image, y) = (r / h, r % h);
        let at = ((image * oh + top + y) * ow + left) * c;
        out[at..at + row].copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_every_side_and_overwrites_the_border() {
        // One 1×2 image with two channels, one row above and one column on the right.
        let mut out = [9.0; 12];
        zero_pad2d_forward(
            &[1.0, 2.0, 3.0, 4.0],
            [1, 1, 2, 2],
            ((1, 0), (0, 1)),
            &mut out,
        );
        assert_eq!(
            out,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]
        );
    }
}
