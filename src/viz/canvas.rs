//! The raster every picture is drawn on: an RGB image with filled rectangles, anti-aliased
//! lines and dots, text set in DejaVu Sans (bundled, so no system font library is needed), and
//! PNG output written atomically.
//!
//! Coordinates are pixels, `x` to the right and `y` down, with pixel `(i, j)` covering the
//! square `[i, i+1) × [j, j+1)`: its centre is `(i + 0.5, j + 0.5)`. Anti-aliasing uses
//! coverage: a pixel whose centre lies `d` pixels from the middle of a line of width `w` gets
//! the colour with weight `clamp(w/2 + 0.5 − d, 0, 1)`, blended over what is there.
use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use super::{Result, VizError};

/// A colour: red, green, blue, 0–255.
pub type Rgb = [u8; 3];

/// White, the background.
pub const WHITE: Rgb = [255, 255, 255];
/// Black.
pub const BLACK: Rgb = [0, 0, 0];
/// Matplotlib's dark grey for axes and text.
pub const INK: Rgb = [38, 38, 38];
/// Light grey for grid lines.
pub const GRID: Rgb = [225, 225, 225];

/// Matplotlib's "tab10" cycle, the colours pandas gives the 1st, 2nd, … column.
pub const TAB10: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// DejaVu Sans 2.37, copied from Debian's `fonts-dejavu-core` (licence beside it in `assets/fonts`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(FONT_BYTES).expect("the bundled DejaVu Sans is a valid font")
    })
}

/// Where a piece of text sits relative to the point it is drawn at, along its own direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// The text starts at the point.
    Start,
    /// The text is centred on the point.
    Center,
    /// The text ends at the point.
    End,
}

/// Where a line of text sits vertically relative to the point it is drawn at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VAlign {
    /// The top of the tallest letters is at the point.
    Top,
    /// The middle of the capital letters and digits is at the point.
    Middle,
    /// The lowest descender (`g`, `y`) is at the point.
    Bottom,
}

/// An RGB image being drawn.
pub struct Canvas {
    width: usize,
    height: usize,
    // pixels: (H, W, 3), row-major
    pixels: Vec<u8>,
}

impl Canvas {
    /// A `width × height` canvas filled with `background`.
    pub fn new(width: usize, height: usize, background: Rgb) -> Canvas {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&background);
        }
        Canvas {
            width,
            height,
            pixels,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Sets pixel `(x, y)`; outside the canvas, does nothing.
    pub fn set(&mut self, x: i64, y: i64, color: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let at = (y as usize * self.width + x as usize) * 3;
            self.pixels[at..at + 3].copy_from_slice(&color);
        }
    }

    /// Mixes `color` into pixel `(x, y)` with weight `alpha` in [0, 1].
    pub fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f32) {
        if alpha <= 0.0 || x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let alpha = alpha.min(1.0);
        let at = (y as usize * self.width + x as usize) * 3;
        for (old, new) in self.pixels[at..at + 3].iter_mut().zip(color) {
            *old = (*old as f32 * (1.0 - alpha) + new as f32 * alpha).round() as u8;
        }
    }

    /// Fills the rectangle with corners `(x0, y0)` (included) and `(x1, y1)` (excluded).
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: Rgb) {
        for y in y0.max(0)..y1.min(self.height as i64) {
            for x in x0.max(0)..x1.min(self.width as i64) {
                self.set(x, y, color);
            }
        }
    }

    /// A one-pixel outline just inside the rectangle `[x0, x1) × [y0, y1)`.
    pub fn stroke_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: Rgb) {
        self.fill_rect(x0, y0, x1, y0 + 1, color);
        self.fill_rect(x0, y1 - 1, x1, y1, color);
        self.fill_rect(x0, y0, x0 + 1, y1, color);
        self.fill_rect(x1 - 1, y0, x1, y1, color);
    }

    /// An anti-aliased line through `points` (pixel coordinates), `width` pixels wide; with
    /// `dash = Some((on, off))` drawn as dashes of `on` pixels separated by gaps of `off`.
    /// Non-finite points break the line (a NaN loss leaves a gap).
    pub fn polyline(
        &mut self,
        points: &[(f32, f32)],
        width: f32,
        color: Rgb,
        dash: Option<(f32, f32)>,
    ) {
        let mut segments = Vec::new();
        let mut travelled = 0.0f32;
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if !(a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite()) {
                continue;
            }
            match dash {
                None => segments.push((a, b)),
                Some((on, off)) => {
                    // Cut the segment where the dash pattern switches, keeping the "on" parts.
                    let length = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
                    let mut t = 0.0f32;
                    while t < length {
                        let phase = (travelled + t) % (on + off);
                        let step = if phase < on {
                            on - phase
                        } else {
                            on + off - phase
                        };
                        let t_end = (t + step).min(length);
                        if phase < on && length > 0.0 {
                            let lerp = |s: f32| {
                                (
                                    a.0 + (b.0 - a.0) * s / length,
                                    a.1 + (b.1 - a.1) * s / length,
                                )
                            };
                            segments.push((lerp(t), lerp(t_end)));
                        }
                        t = t_end;
                    }
                    travelled += length;
                }
            }
        }
        self.draw_segments(&segments, width, color);
    }

    /// Draws all `segments` into one coverage mask first, then blends it once, so that the
    /// joints of a polyline are not darkened by being blended twice.
    fn draw_segments(&mut self, segments: &[Segment], width: f32, color: Rgb) {
        if segments.is_empty() {
            return;
        }
        let reach = width / 2.0 + 1.0;
        let (mut x_lo, mut y_lo, mut x_hi, mut y_hi) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(a, b) in segments {
            x_lo = x_lo.min(a.0.min(b.0) - reach);
            y_lo = y_lo.min(a.1.min(b.1) - reach);
            x_hi = x_hi.max(a.0.max(b.0) + reach);
            y_hi = y_hi.max(a.1.max(b.1) + reach);
        }
        let x0 = (x_lo.floor() as i64).max(0);
        let y0 = (y_lo.floor() as i64).max(0);
        let x1 = (x_hi.ceil() as i64).min(self.width as i64);
        let y1 = (y_hi.ceil() as i64).min(self.height as i64);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let mask_width = (x1 - x0) as usize;
        // coverage: (y1 − y0, x1 − x0), the largest over all segments
        let mut coverage = vec![0.0f32; mask_width * (y1 - y0) as usize];
        for &(a, b) in segments {
            let sx0 = ((a.0.min(b.0) - reach).floor() as i64).max(x0);
            let sx1 = ((a.0.max(b.0) + reach).ceil() as i64).min(x1);
            let sy0 = ((a.1.min(b.1) - reach).floor() as i64).max(y0);
            let sy1 = ((a.1.max(b.1) + reach).ceil() as i64).min(y1);
            for y in sy0..sy1 {
                for x in sx0..sx1 {
                    let d = distance_to_segment((x as f32 + 0.5, y as f32 + 0.5), a, b);
                    let c = (width / 2.0 + 0.5 - d).clamp(0.0, 1.0);
                    let cell = &mut coverage[(y - y0) as usize * mask_width + (x - x0) as usize];
                    *cell = cell.max(c);
                }
            }
        }
        for y in y0..y1 {
            for x in x0..x1 {
                let c = coverage[(y - y0) as usize * mask_width + (x - x0) as usize];
                self.blend(x, y, color, c);
            }
        }
    }

    /// An anti-aliased filled disc of `radius` pixels centred on `(cx, cy)`.
    pub fn dot(&mut self, cx: f32, cy: f32, radius: f32, color: Rgb) {
        if !(cx.is_finite() && cy.is_finite()) {
            return;
        }
        for y in (cy - radius - 1.0).floor() as i64..=(cy + radius + 1.0).ceil() as i64 {
            for x in (cx - radius - 1.0).floor() as i64..=(cx + radius + 1.0).ceil() as i64 {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                self.blend(x, y, color, (radius + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }

    /// The width in pixels of `text` set at `size` pixels per em.
    pub fn text_width(text: &str, size: f32) -> f32 {
        layout(text, size).1
    }

    /// Writes one line of `text`, `size` pixels per em, horizontally: `(x, y)` is the anchor
    /// that `align` and `valign` place the text around.
    pub fn text(
        &mut self,
        (x, y): (f32, f32),
        size: f32,
        text: &str,
        color: Rgb,
        align: Align,
        valign: VAlign,
    ) {
        let mask = TextMask::render(text, size);
        let left = match align {
            Align::Start => x,
            Align::Center => x - mask.width as f32 / 2.0,
            Align::End => x - mask.width as f32,
        };
        let top = match valign {
            VAlign::Top => y - mask.cap_top,
            VAlign::Middle => y - mask.baseline + mask.cap_height / 2.0,
            VAlign::Bottom => y - mask.height as f32,
        };
        let (left, top) = (left.round() as i64, top.round() as i64);
        for my in 0..mask.height {
            for mx in 0..mask.width {
                let c = mask.coverage[my * mask.width + mx];
                self.blend(left + mx as i64, top + my as i64, color, c);
            }
        }
    }

    /// Writes `text` turned a quarter turn anticlockwise (read from bottom to top), centred
    /// horizontally on `x`; `align` places its start (`Start`: the bottom), middle or end (the
    /// top) at `y`.
    pub fn text_up(&mut self, x: f32, y: f32, size: f32, text: &str, color: Rgb, align: Align) {
        let mask = TextMask::render(text, size);
        // After the turn, the mask's column mx goes to row (bottom − mx) and its row my to
        // column (left + my): the text's first letter ends at the bottom.
        let bottom = match align {
            Align::Start => y,
            Align::Center => y + mask.width as f32 / 2.0,
            Align::End => y + mask.width as f32,
        };
        let left = x - (mask.baseline - mask.cap_height / 2.0);
        let (left, bottom) = (left.round() as i64, bottom.round() as i64);
        for my in 0..mask.height {
            for mx in 0..mask.width {
                let c = mask.coverage[my * mask.width + mx];
                self.blend(left + my as i64, bottom - 1 - mx as i64, color, c);
            }
        }
    }

    /// Copies a block of pixels, `block` being (rows, cols, 3) row-major, with its top-left
    /// corner at `(x, y)`, each source pixel drawn as a `scale × scale` square (nearest-neighbour
    /// upscaling, so that a 28×28 image stays sharp).
    pub fn blit_scaled(
        &mut self,
        x: i64,
        y: i64,
        block: &[Rgb],
        rows: usize,
        cols: usize,
        scale: usize,
    ) {
        for r in 0..rows {
            for c in 0..cols {
                let color = block[r * cols + c];
                let (px, py) = (x + (c * scale) as i64, y + (r * scale) as i64);
                self.fill_rect(px, py, px + scale as i64, py + scale as i64, color);
            }
        }
    }

    /// The colour of pixel `(x, y)` (tests look at it).
    pub fn get(&self, x: usize, y: usize) -> Rgb {
        let at = (y * self.width + x) * 3;
        [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
    }

    /// Encodes the canvas as an 8-bit RGB PNG and writes it to `path` atomically (a temporary
    /// file in the same directory, renamed over `path`; see [`crate::layers::write_atomically`]).
    ///
    /// # Errors
    /// [`VizError::Write`] when the directory is missing or not writable, or the disk is full.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        crate::layers::write_atomically(path, |w| {
            PngEncoder::new(w)
                .write_image(
                    &self.pixels,
                    self.width as u32,
                    self.height as u32,
                    ExtendedColorType::Rgb8,
                )
                .map_err(std::io::Error::other)
        })
        .map_err(|source| VizError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A straight piece of line, from one pixel position to another.
type Segment = ((f32, f32), (f32, f32));

/// The distance from point `p` to the segment `[a, b]`.
fn distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

/// The glyphs of `text` placed on a baseline at y = 0 from x = 0 (with kerning), and the
/// advance width of the whole line.
fn layout(text: &str, size: f32) -> (Vec<ab_glyph::Glyph>, f32) {
    let scaled = font().as_scaled(PxScale::from(size));
    let mut glyphs = Vec::with_capacity(text.len());
    let mut x = 0.0f32;
    let mut previous = None;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(previous) = previous {
            x += scaled.kern(previous, id);
        }
        glyphs.push(id.with_scale_and_position(PxScale::from(size), point(x, 0.0)));
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    (glyphs, x)
}

/// One line of text rasterised into a coverage mask, with the font's vertical metrics.
struct TextMask {
    width: usize,
    height: usize,
    // coverage: (height, width), 0 (background) to 1 (ink)
    coverage: Vec<f32>,
    /// Row of the baseline, from the top of the mask.
    baseline: f32,
    /// Height of the capital letters above the baseline.
    cap_height: f32,
    /// Row of the top of the capitals (`baseline − cap_height`).
    cap_top: f32,
}

impl TextMask {
    fn render(text: &str, size: f32) -> TextMask {
        let scaled = font().as_scaled(PxScale::from(size));
        let ascent = scaled.ascent();
        let descent = scaled.descent(); // negative: below the baseline
        let (glyphs, advance) = layout(text, size);
        let width = advance.ceil().max(1.0) as usize + 1;
        let height = (ascent - descent).ceil().max(1.0) as usize;
        let baseline = ascent;
        let mut coverage = vec![0.0f32; width * height];
        for glyph in glyphs {
            let Some(outlined) = font().outline_glyph(glyph) else {
                continue; // a space has no outline
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, c| {
                let x = bounds.min.x as i64 + gx as i64;
                let y = (bounds.min.y + baseline) as i64 + gy as i64;
                if x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height {
                    let cell = &mut coverage[y as usize * width + x as usize];
                    *cell = (*cell + c).min(1.0);
                }
            });
        }
        // DejaVu Sans's capitals are 0.729 em tall.
        let cap_height = 0.729 * size;
        TextMask {
            width,
            height,
            coverage,
            baseline,
            cap_height,
            cap_top: baseline - cap_height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_leaves_ink_where_it_is_written_and_nowhere_else() {
        let mut canvas = Canvas::new(120, 40, WHITE);
        canvas.text(
            (10.0, 20.0),
            16.0,
            "Trouser",
            BLACK,
            Align::Start,
            VAlign::Middle,
        );
        let dark_rows: Vec<usize> = (0..40)
            .filter(|&y| (0..120).any(|x| canvas.get(x, y)[0] < 128))
            .collect();
        assert!(!dark_rows.is_empty());
        // Capitals are about 0.73 × 16 ≈ 12 px tall, centred on row 20.
        assert!(
            *dark_rows.first().unwrap() >= 12 && *dark_rows.last().unwrap() <= 28,
            "{dark_rows:?}"
        );
        assert!((0..10).all(|x| (0..40).all(|y| canvas.get(x, y) == WHITE)));
    }

    #[test]
    fn a_wider_text_measures_wider() {
        assert!(Canvas::text_width("Ankle boot", 12.0) > Canvas::text_width("Bag", 12.0));
        assert_eq!(Canvas::text_width("", 12.0), 0.0);
    }

    #[test]
    fn a_horizontal_line_covers_its_width_and_fades_at_its_edges() {
        let mut canvas = Canvas::new(20, 20, WHITE);
        canvas.polyline(&[(2.0, 10.0), (18.0, 10.0)], 2.0, BLACK, None);
        assert_eq!(canvas.get(10, 9), BLACK);
        assert_eq!(canvas.get(10, 10), BLACK);
        assert_eq!(canvas.get(10, 5), WHITE);
    }

    #[test]
    fn a_dashed_line_has_gaps() {
        let mut canvas = Canvas::new(40, 10, WHITE);
        canvas.polyline(&[(0.0, 5.0), (40.0, 5.0)], 2.0, BLACK, Some((6.0, 4.0)));
        let inked: Vec<bool> = (0..40).map(|x| canvas.get(x, 4)[0] < 128).collect();
        assert!(inked[2] && !inked[8] && inked[12], "{inked:?}");
    }

    #[test]
    fn nan_points_break_the_line_instead_of_panicking() {
        let mut canvas = Canvas::new(20, 20, WHITE);
        canvas.polyline(
            &[(1.0, 1.0), (f32::NAN, 5.0), (18.0, 18.0)],
            1.5,
            BLACK,
            None,
        );
        assert!((0..20).all(|x| (0..20).all(|y| canvas.get(x, y) == WHITE)));
    }
}
