#!/usr/bin/env python3
# Usage: python3 tools/galaxy10_sample.py OUT.h5 [N=400]   (needs numpy and h5py: apt-get install python3-h5py)
"""A Galaxy10.h5 in the SDSS layout (`images` uint8 (N, 69, 69, 3) contiguous, `ans` uint8 (N,)),
with N large enough for the course's splits: each class is a blurred ellipse whose axis ratio,
angle and colour depend on the class, plus noise, so that a CNN can learn them."""
import sys
import h5py
import numpy as np

n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
rng = np.random.RandomState(0)
labels = (np.arange(n) % 10).astype(np.uint8)
rng.shuffle(labels)
yy, xx = np.mgrid[0:69, 0:69].astype(np.float32) - 34.0
images = np.zeros((n, 69, 69, 3), np.uint8)
for i, c in enumerate(labels):
    angle = np.pi * (c % 5) / 5 + rng.uniform(-0.1, 0.1)
    ratio = 1.0 if c < 5 else 0.35
    size = rng.uniform(8, 14)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    v = -np.sin(angle) * xx + np.cos(angle) * yy
    r2 = (u / size) ** 2 + (v / (size * ratio)) ** 2
    blob = np.exp(-r2)
    colour = np.array([0.9, 0.8, 0.6]) if c % 2 else np.array([0.6, 0.7, 0.95])
    img = 230 * blob[..., None] * colour + rng.normal(12, 6, (69, 69, 3))
    images[i] = np.clip(img, 0, 255).astype(np.uint8)
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("images", data=images)
    f.create_dataset("ans", data=labels)
print(f"wrote {sys.argv[1]}: images {images.shape}, ans {labels.shape}")
