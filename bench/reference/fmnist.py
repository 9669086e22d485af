"""Fashion-MNIST as numpy arrays, read from the IDX files (gzipped or not).

The folder is the first of these that holds the four files:
  $FMNIST_DIR, $ASTROGRAD_DATA/fashion-mnist, astrograd's download cache
  ($XDG_CACHE_HOME or ~/.cache, then astrograd/datasets/fashion-mnist), and
  /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist package).
Running `cargo run --release --example session1_mlp` once downloads the files into the cache."""
import gzip, os
import numpy as np

FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _candidates():
    if os.environ.get("FMNIST_DIR"):
        yield os.environ["FMNIST_DIR"]
    if os.environ.get("ASTROGRAD_DATA"):
        yield os.path.join(os.environ["ASTROGRAD_DATA"], "fashion-mnist")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    yield os.path.join(cache, "astrograd", "datasets", "fashion-mnist")
    yield "/usr/share/datasets/fashion-mnist"


def _path(folder, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _folder():
    tried = []
    for folder in _candidates():
        if all(_path(folder, name) for name in FILES):
            return folder
        tried.append(folder)
    raise SystemExit("Fashion-MNIST not found; looked in: " + ", ".join(tried))


def _read(folder, name, offset):
    path = _path(folder, name)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load():
    """((x_train, y_train), (x_test, y_test)), uint8, as keras.datasets.fashion_mnist.load_data()."""
    d = _folder()
    xtr = _read(d, FILES[0], 16).reshape(-1, 28, 28)
    ytr = _read(d, FILES[1], 8)
    xte = _read(d, FILES[2], 16).reshape(-1, 28, 28)
    yte = _read(d, FILES[3], 8)
    return (xtr, ytr), (xte, yte)
