"""Keras (TF-CPU) reference timings for the course workloads, 2 threads.
usage: python keras_ref.py WORKLOAD [epochs]   WORKLOAD in s1_mlp s2_cnn g10_cnn cd_cnn
prints one JSON line: engine, workload, epoch_s (median epoch wall time, first epoch excluded when >1),
epochs (every epoch's time), test_acc (Fashion-MNIST workloads; else null)."""
import os, sys, time, json
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.keras.utils.set_random_seed(42)
from fmnist import load
L = tf.keras.layers
w = sys.argv[1]; epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2

class T(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, e, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, e, logs=None): times.append(time.perf_counter() - self.t)
times = []
if w in ("s1_mlp", "s2_cnn"):
    (xtr, ytr), (xte, yte) = load()
    xtr = xtr / 255.0; xte = xte / 255.0
    if w == "s1_mlp":
        m = tf.keras.Sequential([L.Flatten(input_shape=[28, 28]), L.Dense(300, activation="relu"),
                                 L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])
        xv, yv, xt, yt = xtr[:5000], ytr[:5000], xtr[5000:], ytr[5000:]
        m.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        m.fit(xt, yt, epochs=epochs, validation_data=(xv, yv), verbose=0, callbacks=[T()])
    else:
        xtr = xtr[..., None]; xte = xte[..., None]
        m = tf.keras.Sequential([L.Conv2D(12, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                                 L.MaxPooling2D((2, 2)), L.Flatten(), L.Dense(128, activation="relu"),
                                 L.Dense(10, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy", optimizer=tf.keras.optimizers.Adam(1e-3), metrics=["accuracy"])
        m.fit(xtr, ytr, epochs=epochs, validation_split=0.2, verbose=0, callbacks=[T()])
    acc = float(m.evaluate(xte, yte, verbose=0)[1])
elif w == "g10_cnn":
    rng = np.random.default_rng(0)
    n = 15685
    x = rng.random((n, 69, 69, 3), dtype=np.float32); y = rng.integers(0, 10, n)
    m = tf.keras.Sequential([L.Conv2D(12, (3, 3), activation="relu", input_shape=(69, 69, 3)),
                             L.MaxPooling2D((2, 2)), L.Flatten(), L.Dense(500, activation="relu"),
                             L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    m.fit(x, y, epochs=epochs, verbose=0, callbacks=[T()]); acc = None
elif w == "cd_cnn":
    rng = np.random.default_rng(0)
    n = 400
    x = rng.random((n, 150, 150, 3), dtype=np.float32); y = rng.integers(0, 2, n)
    m = tf.keras.Sequential([L.Conv2D(16, 3, activation="relu", input_shape=(150, 150, 3)), L.MaxPooling2D(2),
                             L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                             L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                             L.Dense(512, activation="relu"), L.Dense(1, activation="sigmoid")])
    m.compile(loss="binary_crossentropy", optimizer=tf.keras.optimizers.Adam(1e-3), metrics=["acc"])
    m.fit(x, y, batch_size=20, epochs=epochs, verbose=0, callbacks=[T()]); acc = None
ts = times[1:] if len(times) > 1 else times
print(json.dumps({"engine": "keras", "workload": w, "epoch_s": float(np.median(ts)), "epochs": times, "test_acc": acc}))
