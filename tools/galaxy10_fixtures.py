"""Writes small HDF5 files with the layout of the two Galaxy10 files, for astrograd's tests.

Run from the repository root (h5py is all it needs):

    python tools/galaxy10_fixtures.py

It writes into tests/fixtures/galaxy10/:

| file | layout | what the tests check |
|---|---|---|
| galaxy10_sdss.h5 | `images` uint8 (12, 69, 69, 3) contiguous, `ans` uint8 (12,) | shapes and every pixel |
| galaxy10_sdss_400.h5 | SDSS layout (gzip, to stay small), 400 images, `ans` = n mod 10 | the examples run end to end (`tests/examples_run.rs`) |
| galaxy10_decals.h5 | `images` uint8 (5, 64, 64, 3) gzip + shuffle, chunks (1, 32, 32, 3); `ans` uint8 (5,) gzip; `ra`, `dec`, `redshift`, `pxscale` float64 | chunked, filtered reads |
| bad_label.h5 | SDSS layout (gzip, to stay small), 2 images, `ans` = [3, 12] | label out of 0..10 |
| no_ans.h5 | SDSS layout without `ans` | missing dataset |
| wrong_shape.h5 | `images` (2, 68, 69, 3) | wrong image shape |
| float_images.h5 | `images` float32 (2, 69, 69, 3) | wrong dtype |
| count_mismatch.h5 | 3 images, 2 labels | counts differ |

The real files are much larger (Galaxy10.h5: 21785 images of 69×69×3, 210 MB;
Galaxy10_DECals.h5: 17736 images of 256×256×3, 2.54 GB); the layout (names, dtypes, rank, channels
last) is the same. Pixels follow formulas the Rust tests recompute:

    SDSS:   (37·n + 11·y + 5·x + 71·c) mod 256     labels n mod 10
    DECals: (13·n + 7·y + 3·x + 50·c) mod 256      labels [9, 0, 4, 7, 2]
"""
import os

import h5py
import numpy as np

OUT = os.path.join("tests", "fixtures", "galaxy10")


def pixels(n, h, w, a, b, c, d):
    """uint8 (n, h, w, 3) with value (a·n + b·y + c·x + d·channel) mod 256."""
    i, y, x, ch = np.meshgrid(np.arange(n), np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((a * i + b * y + c * x + d * ch) % 256).astype(np.uint8)


def sdss_pixels(n, h=69, w=69):
    return pixels(n, h, w, 37, 11, 5, 71)


def write_sdss(path, images, labels, compress=False):
    """`images` contiguous (h5py's default), or gzip-chunked where `compress` keeps a bad-input
    fixture small."""
    with h5py.File(path, "w") as f:
        if compress:
            f.create_dataset("images", data=images, compression="gzip", compression_opts=9)
        else:
            f.create_dataset("images", data=images)
        if labels is not None:
            f.create_dataset("ans", data=labels)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_sdss(os.path.join(OUT, "galaxy10_sdss.h5"), sdss_pixels(12), (np.arange(12) % 10).astype(np.uint8))
    write_sdss(os.path.join(OUT, "galaxy10_sdss_400.h5"), sdss_pixels(400),
               (np.arange(400) % 10).astype(np.uint8), compress=True)

    with h5py.File(os.path.join(OUT, "galaxy10_decals.h5"), "w") as f:
        f.create_dataset(
            "images",
            data=pixels(5, 64, 64, 13, 7, 3, 50),
            chunks=(1, 32, 32, 3),
            compression="gzip",
            compression_opts=4,
            shuffle=True,
        )
        f.create_dataset("ans", data=np.array([9, 0, 4, 7, 2], np.uint8), compression="gzip")
        for name, start in [("ra", 150.0), ("dec", 2.0), ("redshift", 0.05), ("pxscale", 0.262)]:
            f.create_dataset(name, data=start + 0.01 * np.arange(5), compression="gzip", shuffle=True)

    write_sdss(os.path.join(OUT, "bad_label.h5"), sdss_pixels(2), np.array([3, 12], np.uint8), compress=True)
    write_sdss(os.path.join(OUT, "no_ans.h5"), sdss_pixels(2), None, compress=True)
    write_sdss(os.path.join(OUT, "wrong_shape.h5"), sdss_pixels(2, h=68), np.array([1, 2], np.uint8), compress=True)
    write_sdss(os.path.join(OUT, "float_images.h5"), sdss_pixels(2).astype(np.float32), np.array([1, 2], np.uint8), compress=True)
    write_sdss(os.path.join(OUT, "count_mismatch.h5"), sdss_pixels(3), np.array([1, 2], np.uint8), compress=True)

    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.join(OUT, name)}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
