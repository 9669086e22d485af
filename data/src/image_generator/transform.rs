//! The geometric and colour transforms of `ImageDataGenerator.apply_transform`, written to give
//! Keras's numbers (TF 2.10: `keras.preprocessing.image` resampling with
//! `scipy.ndimage.affine_transform(order=1)`, brightness through PIL).
//!
//! # Math: the affine resample
//! Keras composes `M = R(θ)·T(tx, ty)·Sh(shear)·Z(zx, zy)` (3×3, homogeneous, in that product
//! order), centres it at `o = (H/2 − 0.5, W/2 − 0.5)` — note: H goes with the first coordinate,
//! which the axis swap below turns into the *column*, so non-square images rotate about an
//! off-centre point — and swaps the two axes (`M' = P·M·P`). scipy then reads, for each output
//! pixel `(r, c)`, the input at
//!
//! ```text
//! (row_in, col_in) = M'[:2,:2] · (r, c) + M'[:2, 2]
//! ```
//!
//! which unrolls (`docs/keras-semantics.md` §8) to: `a = c − o_H`, `b = r − o_W`; zoom
//! `a·zx, b·zy`; shear `a − sin(sh)·b, cos(sh)·b`; shift `+tx, +ty`; rotate by θ;
//! `col_in = a + o_H`, `row_in = b + o_W`.
//!
//! The value is bilinear in `(row_in, col_in)`, computed per axis as scipy's `NI_GeometricTransform`
//! does: the coordinate is first mapped by the fill mode ([`map_coordinate`]); a mapped value
//! ≤ −1 means "outside" and gives `cval`; otherwise the two neighbours `⌊x⌋, ⌊x⌋+1` are read,
//! mirrored back inside at the edges, with weights `(1 − f, 1 − (1 − f))`, `f = x − ⌊x⌋`. All
//! coordinate arithmetic is f64 and the result is rounded to f32, as scipy does for f32 images.
//!
//! # Shapes
//! Images are `(H, W, C)`; every transform keeps the shape.
use crate::error::Result;

use super::{invalid, FillMode, Image, TransformParams};

/// The 3×3 matrix Keras builds for `params` on an `H × W` image, after centring and the axis
/// swap: rows/columns are (row, col, 1). `None` when every affine parameter is the identity
/// (Keras then leaves the image untouched, with no resample).
pub fn affine_transform_matrix(
    params: &TransformParams,
    height: usize,
    width: usize,
) -> Option<[[f64; 3]; 3]> {
    let mut m: Option<[[f64; 3]; 3]> = None;
    let then = |m: Option<[[f64; 3]; 3]>, next: [[f64; 3]; 3]| {
        Some(m.map_or(next, |m| matmul3(&m, &next)))
    };
    if params.theta != 0.0 {
        let theta = params.theta.to_radians();
        let (s, c) = (theta.sin(), theta.cos());
        m = then(m, [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]);
    }
    if params.tx != 0.0 || params.ty != 0.0 {
        m = then(
            m,
            [
                [1.0, 0.0, params.tx],
                [0.0, 1.0, params.ty],
                [0.0, 0.0, 1.0],
            ],
        );
    }
    if params.shear != 0.0 {
        let shear = params.shear.to_radians();
        m = then(
            m,
            [
                [1.0, -shear.sin(), 0.0],
                [0.0, shear.cos(), 0.0],
                [0.0, 0.0, 1.0],
            ],
        );
    }
    if params.zx != 1.0 || params.zy != 1.0 {
        m = then(
            m,
            [
                [params.zx, 0.0, 0.0],
                [0.0, params.zy, 0.0],
                [0.0, 0.0, 1.0],
            ],
        );
    }
    let m = m?;
    // transform_matrix_offset_center(m, h, w): o_x = h/2 − 0.5 goes with the first coordinate.
    let (ox, oy) = (height as f64 / 2.0 - 0.5, width as f64 / 2.0 - 0.5);
    let offset = [[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]];
    let reset = [[1.0, 0.0, -ox], [0.0, 1.0, -oy], [0.0, 0.0, 1.0]];
    let mut t = matmul3(&matmul3(&offset, &m), &reset);
    // The axis swap (channels last: col_axis > row_axis): swap columns 0 and 1, then rows.
    for row in t.iter_mut() {
        row.swap(0, 1);
    }
    t.swap(0, 1);
    Some(t)
}

/// `a · b` for 3×3 matrices, summed in index order as NumPy's `dot`.
fn matmul3(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    out
}

/// Keras's `apply_affine_transform` with `order=1`: rotation, shift, shear and zoom in one
/// bilinear resample (see the module doc). Returns a copy of `image` when `params` hold no
/// affine change.
pub fn apply_affine_transform(
    image: &Image,
    params: &TransformParams,
    fill_mode: FillMode,
    cval: f64,
) -> Image {
    let (h, w, channels) = (image.height, image.width, image.channels);
    let Some(m) = affine_transform_matrix(params, h, w) else {
        return image.clone();
    };
    let mut out = vec![0.0f32; image.data.len()]; // (H, W, C)
    for r in 0..h {
        for c in 0..w {
            // scipy: icoor[k] = shift[k] + Σ_l out[l]·M[k][l], accumulated in this order.
            let row_in = m[0][2] + r as f64 * m[0][0] + c as f64 * m[0][1];
            let col_in = m[1][2] + r as f64 * m[1][0] + c as f64 * m[1][1];
            let pixel = &mut out[(r * w + c) * channels..(r * w + c + 1) * channels];
            match (
                axis_taps(row_in, h, fill_mode),
                axis_taps(col_in, w, fill_mode),
            ) {
                (Some(rows), Some(cols)) => {
                    for (k, value) in pixel.iter_mut().enumerate() {
                        let at = |i: usize, j: usize| image.data[(i * w + j) * channels + k] as f64;
                        let mut t = 0.0f64;
                        for (ri, rw) in [(rows.0, rows.2), (rows.1, rows.3)] {
                            for (ci, cw) in [(cols.0, cols.2), (cols.1, cols.3)] {
                                let mut coeff = at(ri, ci);
                                coeff *= rw;
                                coeff *= cw;
                                t += coeff;
                            }
                        }
                        *value = t as f32;
                    }
                }
                _ => pixel.fill(cval as f32),
            }
        }
    }
    Image {
        height: h,
        width: w,
        channels,
        data: out,
    }
}

/// The two input indices and their weights along one axis, `(i0, i1, w0, w1)`, or `None` when
/// the point is outside and gets `cval` (scipy ≥ 1.6 `NI_GeometricTransform`, order 1).
fn axis_taps(coordinate: f64, len: usize, mode: FillMode) -> Option<(usize, usize, f64, f64)> {
    let boundary = match mode {
        FillMode::Nearest => Boundary::Nearest,
        FillMode::Constant => Boundary::Constant,
        FillMode::Reflect => Boundary::Reflect,
        FillMode::Wrap => Boundary::Wrap,
    };
    // 'nearest' is not mapped: its taps are clamped below, which gives the same value.
    let cc = if mode == FillMode::Nearest {
        coordinate
    } else {
        map_coordinate(coordinate, len, boundary)
    };
    if cc <= -1.0 && mode != FillMode::Nearest {
        return None;
    }
    let start = cc.floor();
    let y = cc - start;
    let w0 = 1.0 - y;
    let w1 = 1.0 - w0; // scipy: the last weight is 1 minus the others
                       // The taps themselves are brought inside by the "spline boundary": mirror for constant
                       // and wrap (they have no exact rule of their own), the fill mode otherwise.
    let taps = match mode {
        FillMode::Constant | FillMode::Wrap => Boundary::Mirror,
        _ => boundary,
    };
    let tap = |idx: f64| map_coordinate(idx, len, taps) as usize;
    Some((tap(start), tap(start + 1.0), w0, w1))
}

/// The boundary rules of scipy.ndimage: the four fill modes, and 'mirror' (`dcb|abcd|cba`)
/// used for the interpolation taps of 'constant' and 'wrap'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Boundary {
    Nearest,
    Constant,
    Reflect,
    Wrap,
    Mirror,
}

/// scipy's `map_coordinate`: brings a coordinate outside `[0, len − 1]` back according to the
/// boundary rule; `−1` stands for "constant".
pub(crate) fn map_coordinate(x: f64, len: usize, mode: Boundary) -> f64 {
    let len_i = len as i64;
    let lenf = len as f64;
    let mut x = x;
    if x < 0.0 {
        match mode {
            Boundary::Mirror => {
                if len <= 1 {
                    x = 0.0;
                } else {
                    let sz2 = 2 * len_i - 2;
                    x += (sz2 * ((-x / sz2 as f64) as i64)) as f64;
                    x = if x <= 1.0 - lenf { x + sz2 as f64 } else { -x };
                }
            }
            Boundary::Reflect => {
                if len <= 1 {
                    x = 0.0;
                } else {
                    let sz2 = 2 * len_i;
                    if x < -(sz2 as f64) {
                        x += (sz2 * ((-x / sz2 as f64) as i64)) as f64;
                    }
                    // scipy's guard against (−x − 1) rounding to −1 for x ≈ −0.
                    x = if x < -lenf {
                        x + sz2 as f64
                    } else {
                        (if x > -1e-15 { 1e-15 } else { -x }) - 1.0
                    };
                }
            }
            Boundary::Wrap => {
                if len <= 1 {
                    x = 0.0;
                } else {
                    let sz = len_i - 1;
                    x += (sz * ((-x / sz as f64) as i64 + 1)) as f64;
                }
            }
            Boundary::Nearest => x = 0.0,
            Boundary::Constant => x = -1.0,
        }
    } else if x > lenf - 1.0 {
        match mode {
            Boundary::Mirror => {
                if len <= 1 {
                    x = 0.0;
                } else {
                    let sz2 = 2 * len_i - 2;
                    x -= (sz2 * ((x / sz2 as f64) as i64)) as f64;
                    if x >= lenf {
                        x = sz2 as f64 - x;
                    }
                }
            }
            Boundary::Reflect => {
                if len <= 1 {
                    x = 0.0;
                } else {
                    let sz2 = 2 * len_i;
                    x -= (sz2 * ((x / sz2 as f64) as i64)) as f64;
                    if x >= lenf {
                        x = sz2 as f64 - x - 1.0;
                    }
                }
            }
            Boundary::Wrap => {
                if len <= 1 {
                    x = 0.0;
                } else {
                    let sz = len_i - 1;
                    x -= (sz * ((x / sz as f64) as i64)) as f64;
                }
            }
            Boundary::Nearest => x = lenf - 1.0,
            Boundary::Constant => x = -1.0,
        }
    }
    x
}

/// Keras's `apply_channel_shift`: `clip(x + intensity, min(x), max(x))`, min/max over the
/// whole image, in f32 as NumPy computes it.
pub(crate) fn apply_channel_shift(image: &mut Image, intensity: f64) {
    let (lo, hi) = min_max(&image.data);
    let intensity = intensity as f32;
    for v in image.data.iter_mut() {
        *v = (*v + intensity).max(lo).min(hi);
    }
}

/// Reverses the columns (`flip_axis(x, col_axis)`).
pub(crate) fn flip_horizontal(image: &mut Image) {
    let (w, c) = (image.width, image.channels);
    for row in image.data.chunks_mut(w * c) {
        for j in 0..w / 2 {
            for k in 0..c {
                row.swap(j * c + k, (w - 1 - j) * c + k);
            }
        }
    }
}

/// Reverses the rows (`flip_axis(x, row_axis)`).
pub(crate) fn flip_vertical(image: &mut Image) {
    let (h, stride) = (image.height, image.width * image.channels);
    for i in 0..h / 2 {
        let (top, bottom) = image.data.split_at_mut((h - 1 - i) * stride);
        top[i * stride..(i + 1) * stride].swap_with_slice(&mut bottom[..stride]);
    }
}

/// Keras's `apply_brightness_shift(x, brightness, scale=False)`, which goes through PIL:
///
/// 1. if the image leaves `[0, 255]` it is first min–max scaled to `[0, 255]` (`array_to_img`);
/// 2. it is **truncated to uint8** (`astype("uint8")`) — so an image already scaled to `[0, 1]`
///    becomes 0s and 1s: brightness before `rescale`, as in the course;
/// 3. PIL `ImageEnhance.Brightness(img).enhance(b)` blends with black in f32 and truncates:
///    `out = uint8(b·v)` (clipped to `[0, 255]` when `b > 1`); an alpha channel is kept;
/// 4. back to f32, undoing step 1's scaling if it happened.
///
/// # Errors
/// [`crate::DataError::Invalid`] for 2-channel images (PIL has no such mode).
pub(crate) fn apply_brightness_shift(image: &mut Image, brightness: f64) -> Result<()> {
    if ![1, 3, 4].contains(&image.channels) {
        return Err(invalid(
            "apply_brightness_shift",
            "an image with 1, 3 or 4 channels (PIL's L, RGB, RGBA)",
            format!("Unsupported channel number: {}", image.channels),
        ));
    }
    let (x_min, x_max) = min_max(&image.data);
    let local_scale = x_min < 0.0 || x_max > 255.0;
    let mut scaled: Vec<f32> = image.data.clone();
    if local_scale {
        // array_to_img(scale=True): x − min, / max (if ≠ 0), · 255, all f32.
        for v in scaled.iter_mut() {
            *v -= x_min;
        }
        let (_, top) = min_max(&scaled);
        for v in scaled.iter_mut() {
            if top != 0.0 {
                *v /= top;
            }
            *v *= 255.0;
        }
    }
    let factor = brightness as f32; // PIL's ImagingBlend takes a C float
    let alpha_channel = if image.channels == 4 { Some(3) } else { None };
    for (i, v) in scaled.iter_mut().enumerate() {
        let byte = *v as u8; // astype("uint8"): truncation
        let out = if Some(i % image.channels) == alpha_channel {
            byte // the degenerate image carries the same alpha: blend leaves it
        } else {
            let t = 0.0f32 + factor * byte as f32;
            if (0.0..=1.0).contains(&factor) {
                t as u8
            } else if t <= 0.0 {
                0
            } else if t >= 255.0 {
                255
            } else {
                t as u8
            }
        };
        *v = out as f32;
    }
    if local_scale {
        let range = x_max - x_min;
        for v in scaled.iter_mut() {
            *v = *v / 255.0 * range + x_min;
        }
    }
    image.data = scaled;
    Ok(())
}

fn min_max(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::fixtures;
    use super::super::ImageDataGenerator;
    use super::*;

    /// Every `apply_transform` case of `tools/keras_augmentation_fixtures.py`, e.g.
    /// `ImageDataGenerator(fill_mode='reflect', cval=17.5).apply_transform(x, {'theta': 23.0,
    /// 'tx': 1.7, 'ty': -2.3, 'shear': 12.0, 'zx': 0.85, 'zy': 1.2})` on a 7×10×3 image
    /// (the Keras call of each case is in the fixture's `keras_call`).
    #[test]
    fn apply_transform_matches_keras() {
        let doc = fixtures();
        let cases = doc["transforms"].as_array().expect("transforms");
        assert!(cases.len() >= 25);
        let mut worst = 0.0f32;
        let mut edge_flips = 0;
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let shape: Vec<usize> = case["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|v| v.as_u64().expect("dim") as usize)
                .collect();
            let floats = |key: &str| -> Vec<f32> {
                case[key]
                    .as_array()
                    .expect(key)
                    .iter()
                    .map(|v| v.as_f64().expect("number") as f32)
                    .collect()
            };
            let image = Image::new(shape[0], shape[1], shape[2], floats("x")).expect("image");
            let p = &case["params"];
            let params = TransformParams {
                theta: p["theta"].as_f64().expect("theta"),
                tx: p["tx"].as_f64().expect("tx"),
                ty: p["ty"].as_f64().expect("ty"),
                shear: p["shear"].as_f64().expect("shear"),
                zx: p["zx"].as_f64().expect("zx"),
                zy: p["zy"].as_f64().expect("zy"),
                flip_horizontal: p["flip_horizontal"].as_bool().expect("flip"),
                flip_vertical: p["flip_vertical"].as_bool().expect("flip"),
                channel_shift_intensity: p["channel_shift_intensity"].as_f64(),
                brightness: p["brightness"].as_f64(),
            };
            let fill_mode = match case["fill_mode"].as_str().expect("fill_mode") {
                "nearest" => FillMode::Nearest,
                "constant" => FillMode::Constant,
                "reflect" => FillMode::Reflect,
                "wrap" => FillMode::Wrap,
                other => panic!("unknown fill mode {other}"),
            };
            let gen = ImageDataGenerator::default()
                .fill_mode(fill_mode)
                .cval(case["cval"].as_f64().expect("cval"));
            let out = gen
                .apply_transform(&image, &params)
                .expect("apply_transform");
            let expected = floats("expected");
            // Pixels whose source point lies exactly on the image's edge in constant mode may go
            // either way: NumPy's sin/cos (SIMD) and glibc's differ by an ulp, which puts the
            // point a hair inside or outside. Keras itself differs between machines there.
            let on_edge = edge_pixels(&params, &image, fill_mode);
            let (h, w, c) = (image.height, image.width, image.channels);
            let mut err = 0.0f32;
            for r in 0..h {
                for col in 0..w {
                    for k in 0..c {
                        let i = (r * w + col) * c + k;
                        let d = (out.data[i] - expected[i]).abs();
                        if d > 1e-5 && on_edge.contains(&(r, col)) {
                            edge_flips += 1;
                            continue;
                        }
                        if d.is_nan() || d > err {
                            err = d; // a NaN stays and fails the assert below
                        }
                    }
                }
            }
            assert!(
                err <= 1e-5,
                "{name}: max |Δ| = {err:e}\n{}",
                case["keras_call"]
            );
            worst = worst.max(err);
        }
        println!(
            "apply_transform parity: {} cases, max |Δ| = {worst:e}, edge flips {edge_flips}",
            cases.len()
        );
        assert!(
            edge_flips <= 6,
            "{edge_flips} pixel values flipped at the edge"
        );
    }

    /// The output pixels whose source point is within 1e-9 of the edge of the input (constant
    /// mode only; elsewhere the value is continuous across the edge).
    fn edge_pixels(params: &TransformParams, image: &Image, mode: FillMode) -> Vec<(usize, usize)> {
        let Some(m) = affine_transform_matrix(params, image.height, image.width) else {
            return Vec::new();
        };
        if mode != FillMode::Constant {
            return Vec::new();
        }
        let near = |x: f64, len: usize| x.abs() < 1e-9 || (x - (len as f64 - 1.0)).abs() < 1e-9;
        let mut out = Vec::new();
        for r in 0..image.height {
            for c in 0..image.width {
                let row_in = m[0][2] + r as f64 * m[0][0] + c as f64 * m[0][1];
                let col_in = m[1][2] + r as f64 * m[1][0] + c as f64 * m[1][1];
                if near(row_in, image.height) || near(col_in, image.width) {
                    out.push((r, c));
                }
            }
        }
        out
    }

    #[test]
    fn identity_and_flips_are_exact() {
        let image = Image::new(2, 3, 1, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).expect("image");
        let same =
            apply_affine_transform(&image, &TransformParams::default(), FillMode::Constant, 9.0);
        assert_eq!(same, image);
        let mut h = image.clone();
        flip_horizontal(&mut h);
        assert_eq!(h.data, vec![3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
        let mut v = image.clone();
        flip_vertical(&mut v);
        assert_eq!(v.data, vec![4.0, 5.0, 6.0, 1.0, 2.0, 3.0]);
    }

    /// A whole-pixel shift in constant mode moves the pixels and fills with cval; `tx` (from
    /// `height_shift_range`) moves columns: the axis swap.
    #[test]
    fn integer_shift_moves_columns() {
        let image = Image::new(1, 4, 1, vec![1.0, 2.0, 3.0, 4.0]).expect("image");
        let params = TransformParams {
            tx: 1.0,
            ..TransformParams::default()
        };
        let out = apply_affine_transform(&image, &params, FillMode::Constant, -1.0);
        assert_eq!(out.data, vec![2.0, 3.0, 4.0, -1.0]);
    }

    /// Values checked against `scipy.ndimage.affine_transform(x, eye, offset, order=1, mode=…)`
    /// on `x = [0, 10, 20, 30, 40]` (scipy 1.15): offset −0.3 gives 0.0 (reflect), 37.0 (wrap)
    /// at the first pixel.
    #[test]
    fn boundaries_follow_scipy() {
        assert_eq!(map_coordinate(-0.3, 5, Boundary::Constant), -1.0);
        assert_eq!(map_coordinate(4.5, 5, Boundary::Nearest), 4.0);
        assert!((map_coordinate(-0.3, 5, Boundary::Reflect) - -0.7).abs() < 1e-12);
        assert!((map_coordinate(5.5, 5, Boundary::Reflect) - 3.5).abs() < 1e-12);
        // scipy's 'wrap' has period len − 1.
        assert!((map_coordinate(4.5, 5, Boundary::Wrap) - 0.5).abs() < 1e-12);
        assert!((map_coordinate(-0.5, 5, Boundary::Wrap) - 3.5).abs() < 1e-12);
        assert_eq!(map_coordinate(-1.0, 5, Boundary::Mirror), 1.0);
        assert_eq!(map_coordinate(5.0, 5, Boundary::Mirror), 3.0);
        let row = Image::new(1, 5, 1, vec![0.0, 10.0, 20.0, 30.0, 40.0]).expect("image");
        let shifted = |mode| {
            let params = TransformParams {
                tx: -0.3,
                ..TransformParams::default()
            };
            apply_affine_transform(&row, &params, mode, 0.0).data[0]
        };
        assert_eq!(shifted(FillMode::Reflect), 0.0);
        assert!((shifted(FillMode::Wrap) - 37.0).abs() < 1e-4);
    }

    #[test]
    fn brightness_rejects_two_channels() {
        let mut image = Image::new(1, 1, 2, vec![1.0, 2.0]).expect("image");
        let err = apply_brightness_shift(&mut image, 0.5).unwrap_err();
        assert!(
            err.to_string().contains("Unsupported channel number: 2"),
            "{err}"
        );
    }
}
