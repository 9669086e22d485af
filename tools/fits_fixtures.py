"""Writes small FITS files with astropy, and the values astropy reads from them, for the tests of
astrograd's FITS reader (`data/src/fits/`) and stretches (`data/src/stretch/`).

Run from the repository root (astropy and NumPy are all it needs):

    python tools/fits_fixtures.py

It writes into tests/fixtures/fits/:

| file | what it holds | what the tests check |
|---|---|---|
| u8_scaled.fits | BITPIX 8, BSCALE 0.5, BZERO 10, (5, 7) | physical = BZERO + BSCALE · stored |
| i16_blank.fits | BITPIX 16, BSCALE 2, BZERO 100, BLANK −32768, (2, 3) | the BLANK pixel is a blank |
| u16.fits | uint16 (astropy: BITPIX 16, BZERO 32768), (4, 6) | unsigned 16-bit through BZERO |
| i32.fits | BITPIX 32, negative values, (3, 4) | |
| u32.fits | uint32 (BITPIX 32, BZERO 2147483648), (3, 4) | unsigned 32-bit through BZERO |
| i64.fits | BITPIX 64, (2, 5) | |
| f32_nan.fits | BITPIX −32 with three NaNs, (6, 5) | NaN blanks replaced and counted |
| f64.fits | BITPIX −64, (3, 3) | |
| cube_f32.fits | BITPIX −32, NAXIS 3: (bands 3, 4, 5) | read as (H 4, W 5, bands 3) |
| extension.fits | empty primary, a BINTABLE, then an IMAGE extension (BITPIX 16, BSCALE 0.25) | the first image HDU is found |
| f32.fits.gz | BITPIX −32 (5, 6), gzip-compressed by astropy | gzip |
| table_only.fits | empty primary and a BINTABLE | "no image HDU" error |
| tile_compressed.fits | a tile-compressed image (fpack's convention, a BINTABLE with ZIMAGE = T) | an error that names the convention |
| all_nan.fits | BITPIX −32, every pixel NaN | the NaN-only error (a warning and a skip in folders) |
| sky.fits | BITPIX −32 (60, 50): sky background, noise and six stars | zscale, percentiles and asinh against astropy |

and expected.json:

    {"astropy": "...", "numpy": "...",
     "files": {"<file>": {"shape": [...], "data": [...]}},     # astropy's getdata, C order, NaN as null
     "stretches": {"zscale": {"vmin", "vmax"}, "percentile_<lo>_<hi>": {"vmin", "vmax"},
                   "asinh_<a>": {"stride", "values"}}}

`shape` is astropy's (NAXISn reversed: (NAXIS2, NAXIS1) or (NAXIS3, NAXIS2, NAXIS1)); `data` is
`fits.getdata(file)` flattened, every value the float64 widening of what astropy returns. The
stretches are computed on `sky.fits`: `ZScaleInterval().get_limits`, `np.percentile` (as
`AsymmetricPercentileInterval`), and `AsinhStretch(a)(MinMaxInterval()(x))` at every `stride`-th
pixel. Pixel values follow fixed formulas or `np.random.RandomState(19)`: two runs write the same
files, except the gzip header's time stamp.
"""
import json
import os
import re

import astropy
import numpy as np
from astropy.io import fits
from astropy.visualization import AsinhStretch, MinMaxInterval, ZScaleInterval

OUT = os.path.join("tests", "fixtures", "fits")


def ramp(shape, dtype, start=0, step=1):
    """`start + step·k` for k = 0, 1, … in C order."""
    n = int(np.prod(shape))
    return (start + step * np.arange(n)).reshape(shape).astype(dtype)


def write(name, hdus):
    path = os.path.join(OUT, name)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def table():
    return fits.BinTableHDU.from_columns(
        [fits.Column(name="flux", format="E", array=np.array([1.0, 2.0, 3.0], dtype=np.float32))]
    )


def sky():
    """A 60×50 sky: a tilted background near 100, Gaussian noise of σ 5, six Gaussian stars."""
    rng = np.random.RandomState(19)
    y, x = np.mgrid[0:60, 0:50]
    image = 100.0 + 0.3 * x - 0.2 * y + rng.normal(0.0, 5.0, size=(60, 50))
    for _ in range(6):
        cy, cx = rng.uniform(5, 55), rng.uniform(5, 45)
        amplitude = rng.uniform(500, 20000)
        image += amplitude * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * 1.5**2))
    return image.astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    written = []

    u8 = fits.PrimaryHDU(10 + 0.5 * ramp((5, 7), np.float64))
    u8.scale("uint8", bscale=0.5, bzero=10)
    written.append(write("u8_scaled.fits", [u8]))

    i16 = fits.PrimaryHDU(np.array([[1, -32768, 3], [-4, 5, 32767]], dtype=np.int16))
    i16.header["BSCALE"] = 2.0
    i16.header["BZERO"] = 100.0
    i16.header["BLANK"] = -32768
    written.append(write("i16_blank.fits", [i16]))

    written.append(write("u16.fits", [fits.PrimaryHDU(ramp((4, 6), np.uint16, 0, 2700))]))
    written.append(write("i32.fits", [fits.PrimaryHDU(ramp((3, 4), np.int32, -2_000_000_000, 350_000_001))]))
    written.append(write("u32.fits", [fits.PrimaryHDU(ramp((3, 4), np.uint32, 1, 390_451_572))]))
    written.append(write("i64.fits", [fits.PrimaryHDU(ramp((2, 5), np.int64, -(2**40), 2**38 + 7))]))

    f32 = ramp((6, 5), np.float32, -3.25, 0.75)
    f32[0, 1] = f32[2, 2] = f32[5, 4] = np.nan
    written.append(write("f32_nan.fits", [fits.PrimaryHDU(f32)]))

    f64 = np.array([[1e-300, -2.5, 3.0], [1e300, 0.0, -0.0], [np.pi, -np.e, 1.0 / 3.0]])
    written.append(write("f64.fits", [fits.PrimaryHDU(f64)]))

    cube = np.stack([ramp((4, 5), np.float32, 100 * band, 1.5) for band in range(3)])
    written.append(write("cube_f32.fits", [fits.PrimaryHDU(cube)]))

    image = fits.ImageHDU(-20 + 0.25 * ramp((3, 4), np.float64), name="SCI")
    image.scale("int16", bscale=0.25, bzero=-20)
    written.append(write("extension.fits", [fits.PrimaryHDU(), table(), image]))

    written.append(write("f32.fits.gz", [fits.PrimaryHDU(ramp((5, 6), np.float32, 1.0, -0.125))]))
    write("table_only.fits", [fits.PrimaryHDU(), table()])
    write("tile_compressed.fits", [fits.PrimaryHDU(), fits.CompImageHDU(ramp((16, 16), np.float32))])
    write("all_nan.fits", [fits.PrimaryHDU(np.full((3, 4), np.nan, dtype=np.float32))])

    sky_values = sky()
    written.append(write("sky.fits", [fits.PrimaryHDU(sky_values)]))

    files = {}
    for path in written:
        # getdata's default is the first HDU with data, which in extension.fits is the table.
        data = fits.getdata(path, "SCI") if path.endswith("extension.fits") else fits.getdata(path)
        files[os.path.basename(path)] = {
            "shape": list(data.shape),
            "data": [None if np.isnan(v) else float(v) for v in data.astype(np.float64).ravel()],
        }

    stretches = {}
    vmin, vmax = ZScaleInterval().get_limits(sky_values)
    stretches["zscale"] = {"vmin": float(vmin), "vmax": float(vmax)}
    for lo, hi in [(1.0, 99.0), (0.5, 99.5), (5.0, 95.0)]:
        vmin, vmax = np.percentile(sky_values, (lo, hi))
        stretches[f"percentile_{lo}_{hi}"] = {"vmin": float(vmin), "vmax": float(vmax)}
    stride = 37
    for a in [0.1, 0.02]:
        stretched = AsinhStretch(a)(MinMaxInterval()(sky_values))
        stretches[f"asinh_{a}"] = {
            "stride": stride,
            "values": [float(v) for v in stretched.ravel()[::stride]],
        }

    expected = {
        "astropy": astropy.__version__,
        "numpy": np.__version__,
        "files": files,
        "stretches": stretches,
    }
    text = json.dumps(expected, indent=1)
    # One line per list of numbers, so that the file reads (and diffs) by case.
    text = re.sub(r"\[[^\[\]{}]*\]", lambda m: " ".join(m.group(0).split()), text)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(text + "\n")
    print(f"astropy {astropy.__version__}, numpy {np.__version__}: wrote {OUT}/")


if __name__ == "__main__":
    main()
