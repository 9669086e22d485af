//! The picture being drawn: plotters' bitmap backend on an RGB buffer in memory, its text set
//! in DejaVu Sans (bundled in `assets/fonts` and registered with plotters' ab_glyph renderer,
//! so no system font library is needed), and the PNG written atomically.
//!
//! A picture is laid out in pixels of the PNG, but drawn [`SCALE`] times larger and then
//! shrunk, each `SCALE × SCALE` block averaged into one pixel. Plotters' bitmap backend gives
//! lines wider than one pixel, and circles, rough edges, and it places each letter on a whole
//! pixel: drawn 3× larger and averaged, lines, dots and text get the smooth edges matplotlib's
//! renderer gives them. [`px`] turns a layout length into drawing pixels.
use std::path::Path;
use std::sync::{Once, OnceLock};

use ab_glyph::{Font, FontRef, ScaleFont};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle, FontTransform};

use super::colormap::Rgb;
use super::{Result, VizError};

/// How many drawing pixels make one pixel of the PNG, along each side. Odd, so that a picture
/// pixel has a middle drawing pixel for one-pixel lines to run through (see [`snap`]).
pub(crate) const SCALE: u32 = 3;

/// The name the bundled font is registered under with plotters.
const FAMILY: &str = "DejaVu Sans";

/// DejaVu Sans 2.37, copied from Debian's `fonts-dejavu-core` (licence beside it in `assets/fonts`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The height of DejaVu Sans's capitals, as a fraction of the size plotters sets it at (the
/// font's ascent + descent): 1493 / (1901 + 483) font units.
const CAP_HEIGHT: f32 = 0.626;

/// Where plotters' ab_glyph renderer puts the baseline: this fraction of the size below the top
/// of the box it anchors the text by.
const BASELINE: f32 = 0.5;

/// What plotters draws on: the whole picture, in drawing pixels.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What drawing returns. Drawing into memory fails only on a bug (a font plotters cannot find).
pub(crate) type Drawn = std::result::Result<(), DrawingAreaErrorKind<BitmapError>>;
type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// A layout length (pixels of the PNG) in drawing pixels.
pub(crate) fn px(length: f32) -> i32 {
    (length * SCALE as f32).round() as i32
}

/// The stroke width that draws a horizontal or vertical line `width` layout pixels wide:
/// plotters fills such a line of stroke `w` over `w + 1` drawing pixels. (A slanted line loses
/// about as much to plotters' rounding of its corners, so curves are drawn `px(width)` wide.)
pub(crate) fn stroke(width: f32) -> u32 {
    (px(width) - 1).max(1) as u32
}

/// A point of the layout in drawing pixels.
pub(crate) fn px2((x, y): (f32, f32)) -> (i32, i32) {
    (px(x), px(y))
}

/// The middle drawing pixel of the picture pixel that drawing pixel `p` falls in: a one-pixel
/// line (`stroke(1.0)` wide) drawn through it covers that picture pixel exactly, and is sharp.
pub(crate) fn snap(p: i32) -> i32 {
    let scale = SCALE as i32;
    p.div_euclid(scale) * scale + scale / 2
}

/// A colour for plotters.
pub(crate) fn color([r, g, b]: Rgb) -> RGBColor {
    RGBColor(r, g, b)
}

/// The bundled font at `size` layout pixels (ascent + descent), registered on first use.
pub(crate) fn font(size: f32) -> FontDesc<'static> {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        let registered = register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS);
        assert!(
            registered.is_ok(),
            "the bundled DejaVu Sans is a valid font"
        );
    });
    FontDesc::new(
        FontFamily::Name(FAMILY),
        f64::from(size * SCALE as f32),
        FontStyle::Normal,
    )
}

/// The width in layout pixels of `text` set at `size`.
pub(crate) fn text_width(text: &str, size: f32) -> f32 {
    letters(text, size).1
}

/// Where a line of text sits vertically against the point it is drawn at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VAlign {
    /// The top of the capitals is at the point.
    Top,
    /// The middle of the capitals and digits is at the point.
    Middle,
}

/// How far below the top of plotters' text box `valign` puts the point, in layout pixels.
fn below_box_top(valign: VAlign, size: f32) -> f32 {
    match valign {
        VAlign::Top => (BASELINE - CAP_HEIGHT) * size,
        VAlign::Middle => (BASELINE - CAP_HEIGHT / 2.0) * size,
    }
}

/// How far plotters' vertically centred text (tick labels) must move down for its capitals
/// to be centred, in drawing pixels: plotters centres a box of 1/1.24 of the size.
pub(crate) fn centring_offset(size: f32) -> i32 {
    px((0.5 / 1.24 - below_box_top(VAlign::Middle, 1.0)) * size)
}

/// Where each letter of `text` set at `size` starts, in layout pixels from the start of the
/// line, and the width of the whole line.
///
/// Plotters' ab_glyph renderer (0.3.7) draws a letter from the left edge of its ink, dropping
/// the gap the font leaves before it (its left side bearing), which makes the spaces between
/// letters uneven (`MNIST MLP` reads `MNISTMLP`). So [`text`] and [`text_up`] hand plotters one
/// letter at a time, each where the font's advances, kerning and bearings put its ink.
fn letters(text: &str, size: f32) -> (Vec<(char, f32)>, f32) {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    let font = FONT.get_or_init(|| {
        FontRef::try_from_slice(DEJAVU_SANS).expect("the bundled DejaVu Sans is a valid font")
    });
    let scaled = font.as_scaled(size);
    let mut placed = Vec::with_capacity(text.len());
    let mut pen = 0.0f32;
    let mut previous = None;
    for letter in text.chars() {
        let id = scaled.glyph_id(letter);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        if !letter.is_whitespace() {
            placed.push((letter, pen + scaled.h_side_bearing(id)));
        }
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    (placed, pen)
}

/// How far along the line `hpos` anchors it: 0 at its start, half its width, or all of it.
fn anchored(hpos: HPos, width: f32) -> f32 {
    match hpos {
        HPos::Left => 0.0,
        HPos::Center => width / 2.0,
        HPos::Right => width,
    }
}

/// Writes one line of `text`, `size` layout pixels, at `(x, y)`: `hpos` says whether the text
/// starts, is centred or ends there, `valign` where the capitals sit.
pub(crate) fn text(
    area: &Area,
    text: &str,
    (x, y): (f32, f32),
    size: f32,
    ink: Rgb,
    hpos: HPos,
    valign: VAlign,
) -> Drawn {
    let style = font(size)
        .color(&color(ink))
        .pos(Pos::new(HPos::Left, VPos::Top));
    let top = y - below_box_top(valign, size);
    let (letters, width) = letters(text, size);
    let start = x - anchored(hpos, width);
    for (letter, offset) in letters {
        let at = px2((start + offset, top));
        area.draw(&Text::new(letter.to_string(), at, style.clone()))?;
    }
    Ok(())
}

/// Writes `text` turned a quarter turn anticlockwise (read from bottom to top), the middle of
/// its capitals on `x`; `hpos` places its start (`Left`: the bottom), middle or end (the top)
/// at `y`.
pub(crate) fn text_up(
    area: &Area,
    text: &str,
    (x, y): (f32, f32),
    size: f32,
    ink: Rgb,
    hpos: HPos,
) -> Drawn {
    let style = font(size)
        .transform(FontTransform::Rotate270)
        .color(&color(ink))
        .pos(Pos::new(HPos::Left, VPos::Top));
    // Turned, the top of a letter's box is its left side, and the line runs upwards.
    let left = x - below_box_top(VAlign::Middle, size);
    let (letters, width) = letters(text, size);
    let bottom = y + anchored(hpos, width);
    for (letter, offset) in letters {
        let at = px2((left, bottom - offset));
        area.draw(&Text::new(letter.to_string(), at, style.clone()))?;
    }
    Ok(())
}

/// A filled rectangle from `(x0, y0)` to `(x1, y1)` (layout pixels, the far corner excluded).
pub(crate) fn fill_rect(
    area: &Area,
    (x0, y0): (f32, f32),
    (x1, y1): (f32, f32),
    fill: Rgb,
) -> Drawn {
    area.draw(&Rectangle::new(
        [px2((x0, y0)), px2((x1, y1))],
        color(fill).filled(),
    ))
}

/// A one-pixel outline just inside the rectangle from `(x0, y0)` to `(x1, y1)`.
pub(crate) fn stroke_rect(
    area: &Area,
    (x0, y0): (f32, f32),
    (x1, y1): (f32, f32),
    ink: Rgb,
) -> Drawn {
    fill_rect(area, (x0, y0), (x1, y0 + 1.0), ink)?;
    fill_rect(area, (x0, y1 - 1.0), (x1, y1), ink)?;
    fill_rect(area, (x0, y0), (x0 + 1.0, y1), ink)?;
    fill_rect(area, (x1 - 1.0, y0), (x1, y1), ink)
}

/// A picture being drawn, white to start with.
pub(crate) struct Figure {
    width: u32,
    height: u32,
    // pixels: (height·SCALE, width·SCALE, 3), row-major
    pixels: Vec<u8>,
}

impl Figure {
    /// A white `width × height` picture (pixels of the PNG).
    pub fn new(width: usize, height: usize) -> Figure {
        let (width, height) = (width as u32, height as u32);
        Figure {
            width,
            height,
            pixels: vec![255; (width * SCALE * height * SCALE * 3) as usize],
        }
    }

    /// Draws on the picture with plotters: `draw` gets the whole picture as a drawing area.
    ///
    /// # Errors
    /// [`VizError::Draw`] when plotters fails, which in memory happens only for text it cannot
    /// render.
    pub fn draw(&mut self, draw: impl FnOnce(&Area) -> Drawn) -> Result<()> {
        let size = (self.width * SCALE, self.height * SCALE);
        let area = BitMapBackend::with_buffer(&mut self.pixels, size).into_drawing_area();
        draw(&area).map_err(|e| VizError::Draw(e.to_string()))?;
        area.present().map_err(|e| VizError::Draw(e.to_string()))
    }

    /// The picture at its size: each `SCALE × SCALE` block of drawing pixels averaged.
    fn shrunk(&self) -> Vec<u8> {
        let (w, h, s) = (self.width as usize, self.height as usize, SCALE as usize);
        let mut small = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let mut sum = [0u32; 3];
                for row in y * s..(y + 1) * s {
                    let start = (row * w * s + x * s) * 3;
                    for pixel in self.pixels[start..start + s * 3].chunks(3) {
                        for (total, &v) in sum.iter_mut().zip(pixel) {
                            *total += u32::from(v);
                        }
                    }
                }
                let n = (s * s) as u32;
                small.extend(sum.map(|total| ((total + n / 2) / n) as u8));
            }
        }
        small
    }

    /// Encodes the picture as an 8-bit RGB PNG and writes it to `path` atomically (a temporary
    /// file in the same directory, renamed over `path`; see [`crate::layers::write_atomically`]).
    ///
    /// # Errors
    /// [`VizError::Write`] when the directory is missing or not writable, or the disk is full.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let pixels = self.shrunk();
        crate::layers::write_atomically(path, |w| {
            // Best compression, each row filtered as suits it: files 1.5–4× smaller than with
            // the defaults (a picture full of small text compresses the most), for milliseconds.
            PngEncoder::new_with_quality(w, CompressionType::Best, FilterType::Adaptive)
                .write_image(&pixels, self.width, self.height, ExtendedColorType::Rgb8)
                .map_err(std::io::Error::other)
        })
        .map_err(|source| VizError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::viz::colormap::{BLACK, WHITE};

    /// The figure at its size, to look at pixel by pixel.
    fn shrunk(figure: &Figure) -> impl Fn(usize, usize) -> Rgb {
        let (small, width) = (figure.shrunk(), figure.width as usize);
        move |x, y| {
            let at = (y * width + x) * 3;
            [small[at], small[at + 1], small[at + 2]]
        }
    }

    #[test]
    fn middle_aligned_text_centres_its_capitals_on_the_point() {
        let mut figure = Figure::new(120, 40);
        figure
            .draw(|area| {
                text(
                    area,
                    "TROUSER",
                    (10.0, 20.0),
                    16.0,
                    BLACK,
                    HPos::Left,
                    VAlign::Middle,
                )
            })
            .unwrap();
        let pixel = shrunk(&figure);
        let inked: Vec<usize> = (0..40)
            .filter(|&y| (0..120).any(|x| pixel(x, y)[0] < 128))
            .collect();
        // Capitals are 0.626 × 16 = 10 px tall, centred on row 20.
        let (first, last) = (inked[0] as f32, *inked.last().unwrap() as f32 + 1.0);
        assert!((first + last) / 2.0 - 20.0 < 1.0, "{inked:?}");
        assert!((last - first - 10.0).abs() <= 1.5, "{inked:?}");
        assert!((0..10).all(|x| (0..40).all(|y| pixel(x, y) == WHITE)));
    }

    #[test]
    fn a_wider_text_measures_wider() {
        assert!(text_width("Ankle boot", 12.0) > text_width("Bag", 12.0));
        assert_eq!(text_width("", 12.0), 0.0);
    }

    #[test]
    fn a_diagonal_line_is_smoothed_and_a_rectangle_keeps_its_edges() {
        let mut figure = Figure::new(20, 20);
        figure
            .draw(|area| {
                fill_rect(area, (2.0, 2.0), (6.0, 6.0), BLACK)?;
                area.draw(&PathElement::new(
                    vec![px2((8.0, 8.0)), px2((18.0, 13.0))],
                    color(BLACK).stroke_width(stroke(2.0)),
                ))
            })
            .unwrap();
        let pixel = shrunk(&figure);
        // The rectangle covers whole pixels: black inside, white right outside.
        assert_eq!(pixel(2, 2), BLACK);
        assert_eq!(pixel(5, 5), BLACK);
        assert_eq!(pixel(6, 5), WHITE);
        // The line's edge pixels are grey: partly covered.
        let greys = (0..20)
            .flat_map(|x| (0..20).map(move |y| (x, y)))
            .filter(|&(x, y)| {
                let v = pixel(x, y)[0];
                v > 20 && v < 235
            })
            .count();
        assert!(greys > 10, "{greys} grey pixels");
    }
}
