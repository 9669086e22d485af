"""Check model files written by astrograd (or anyone) against Keras.

    python tools/check_saved_models.py DIR [--atol 1e-5] [--tf-python P] [--keras3-python P]
                                           [--require-keras] [--cross] [--no-tree]

For every `.keras`, `.h5` and `.hdf5` file in DIR (`.weights.h5` included):

(a) It opens the file with h5py / zipfile, prints its tree (every group, dataset and attribute
    with its HDF5 type: fixed- or variable-length string, ASCII or UTF-8, scalar or array,
    dtype) and checks the structure that Keras's loaders rely on. The kind is found from the
    content, not the name: a zip is a Keras 3 `.keras` file; an HDF5 file with a root
    `model_config` attribute is a legacy whole model (`model.save('m.h5')`); one with
    `layer_names` is a legacy weights file (`model.save_weights('w.h5')`); one with `layers/` /
    `optimizer/` / `vars/` groups is a Keras 3 weights file (`model.weights.h5` layout).
(b) It loads the file with Keras and compares `predict(x)` with the `y_pred` of the JSON next to
    it (pass if max |Keras − y_pred| ≤ --atol, default 1e-5):
      - legacy whole model: `tf.keras.models.load_model` of TF 2.10 (the `--tf-python`
        interpreter); if the file has `optimizer_weights`, the loaded optimizer's variables must
        equal them (tf.keras only logs a warning and starts a fresh optimizer when they do not fit);
      - `.keras`: Keras 3's `keras.models.load_model` (the `--keras3-python` interpreter); the
        optimizer variables are compared with `optimizer/vars/*` the same way;
      - weights files: the model is built from a config without weights (the JSON's
        `model_config`: `model.to_json()` for tf.keras, the `config.json` object for Keras 3; for
        a Keras 3 `.weights.h5` also the `config.json` of a sibling `<stem>.keras`), then
        `load_weights(file)`; without a config the load check is skipped with a message.
    With --cross, each legacy `.h5` whole model is also loaded by Keras 3 (reported, never a
    failure: Keras 3 reads the weights but not the optimizer state of 2.10 files).
(c) It exits with status 1 if any check failed (2 for bad usage), 0 otherwise.

The JSON next to `<stem>.keras`, `<stem>.weights.h5`, `<stem>.h5` is `<stem>.json`, in the
schema of tools/README.md: `{"tensors": {"x": {"shape": [...], "data": [...]}, "y_pred": {...}}}`
(other keys are ignored); it may also hold `"model_config"` for weights files.

Keras runs in a subprocess of the right interpreter (TF 2.10 and Keras 3 cannot share one
process). Defaults: /root/venvs/tf/bin/python and /root/venvs/keras3/bin/python when they exist
(or $ASTROGRAD_TF_PYTHON, $ASTROGRAD_KERAS3_PYTHON), else the running interpreter. When Keras
cannot be imported the load check is skipped (reported; a failure with --require-keras). The
structure checks need only numpy and h5py.
"""
import argparse
import io
import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np

RESULT_TAG = "@@CHECK_RESULT "
LAYOUTS = {0: "compact", 1: "contiguous", 2: "chunked", 3: "virtual"}
SUFFIXES = (".weights.h5", ".keras", ".h5", ".hdf5")


# ----------------------------------------------------------------------------------------------
# Printing an HDF5 tree with exact types


def h5_type(tid):
    cls = tid.get_class()
    if cls == h5py.h5t.STRING:
        cset = {h5py.h5t.CSET_ASCII: "ASCII", h5py.h5t.CSET_UTF8: "UTF-8"}.get(tid.get_cset(), "?")
        if tid.is_variable_str():
            return f"string(variable-length, {cset})"
        pad = {h5py.h5t.STR_NULLTERM: "nullterm", h5py.h5t.STR_NULLPAD: "nullpad",
               h5py.h5t.STR_SPACEPAD: "spacepad"}.get(tid.get_strpad(), "?")
        return f"string(fixed {tid.get_size()} bytes, {cset}, {pad})"
    if cls == h5py.h5t.FLOAT:
        order = "BE" if tid.get_order() == h5py.h5t.ORDER_BE else "LE"
        return f"float{tid.get_size() * 8}{'-' + order if order == 'BE' else ''}"
    if cls == h5py.h5t.INTEGER:
        sign = "int" if tid.get_sign() == h5py.h5t.SGN_2 else "uint"
        return f"{sign}{tid.get_size() * 8}"
    return f"H5T class {cls}"


def h5_space(sid):
    kind = sid.get_simple_extent_type()
    if kind == h5py.h5s.SCALAR:
        return "scalar"
    if kind == h5py.h5s.NULL:
        return "null"
    return "array" + str(tuple(int(d) for d in sid.shape))


def short(value, limit=110):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value.tolist()]
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def attr_lines(obj, indent):
    out = []
    for name in obj.attrs.keys():
        attr = h5py.h5a.open(obj.id, name.encode())
        try:
            value = obj.attrs[name]
        except Exception as e:  # unreadable attribute: print the type anyway
            value = f"<unreadable: {e}>"
        out.append(f"{indent}@{name}: {h5_type(attr.get_type())} {h5_space(attr.get_space())} = {short(value)}")
    return out


def h5_tree(f):
    lines = ["/"] + attr_lines(f, "  ")

    def visit(name, obj):
        depth = name.count("/") + 1
        indent = "  " * depth
        leaf = name.split("/")[-1]
        if isinstance(obj, h5py.Dataset):
            plist = obj.id.get_create_plist()
            extra = ""
            if obj.size <= 4:
                extra = " = " + short(obj[()])
            comp = f", {obj.compression}" if obj.compression else ""
            lines.append(f"{indent}{leaf}  [dataset {h5_type(obj.id.get_type())} {h5_space(obj.id.get_space())}, "
                         f"{LAYOUTS.get(plist.get_layout(), '?')}{comp}]{extra}")
        else:
            lines.append(f"{indent}{leaf}/")
        lines.extend(attr_lines(obj, indent + "  "))

    f.visititems(visit)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Structure checks


class Report:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, msg):
        self.errors.append(msg)

    def warn(self, msg):
        self.warnings.append(msg)


def as_str(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return as_str(value[()])
    if isinstance(value, (str, np.str_)):
        return str(value)
    raise TypeError(f"not a scalar string but {type(value).__name__} {short(value)}")


def str_list(group, name):
    """A legacy string-list attribute (`layer_names`, `weight_names`), joined across Keras's
    `name0`, `name1`, … chunks; None when absent."""
    if name in group.attrs:
        values = group.attrs[name]
    elif f"{name}0" in group.attrs:
        values, i = [], 0
        while f"{name}{i}" in group.attrs:
            values.extend(list(group.attrs[f"{name}{i}"]))
            i += 1
    else:
        return None
    out = []
    for v in np.asarray(values).reshape(-1).tolist():
        out.append(v.decode("utf-8") if isinstance(v, bytes) else v)
    return out


def check_json_attr(f, name, report, required):
    if name not in f.attrs:
        if required:
            report.error(f"root attribute '{name}' is missing")
        return None
    attr = h5py.h5a.open(f.id, name.encode())
    if attr.get_space().get_simple_extent_type() != h5py.h5s.SCALAR:
        report.error(f"'{name}' must be a scalar string (tf.keras's json.loads fails on an array)")
        return None
    try:
        return json.loads(as_str(f.attrs[name]))
    except Exception as e:
        report.error(f"'{name}' is not a JSON string: {e}")
        return None


def check_legacy_weights_group(g, report, where):
    for key in ("keras_version", "backend"):
        if key not in g.attrs:
            report.warn(f"{where}: no '{key}' attribute (tf.keras then treats the weights as Keras 1's "
                        "and converts Conv1D/LSTM/GRU/channels-first kernels)")
    names = str_list(g, "layer_names")
    if names is None:
        report.error(f"{where}: no 'layer_names' attribute")
        return []
    with_weights = []
    for layer in names:
        if not isinstance(layer, str):
            report.error(f"{where}: layer name {layer!r} is not a string")
            continue
        if layer not in g or not isinstance(g[layer], h5py.Group):
            report.error(f"{where}: layer '{layer}' is listed in layer_names but has no group (tf.keras: KeyError)")
            continue
        wnames = str_list(g[layer], "weight_names")
        if not wnames:
            continue
        with_weights.append(layer)
        for wn in wnames:
            if not isinstance(wn, str):
                report.error(f"{where}/{layer}: weight name {wn!r} is not a string")
            elif wn not in g[layer] or not isinstance(g[layer][wn], h5py.Dataset):
                report.error(f"{where}/{layer}: weight '{wn}' listed in weight_names has no dataset")
            elif g[layer][wn].dtype.kind != "f":
                report.error(f"{where}/{layer}/{wn}: dtype {g[layer][wn].dtype} is not floating point")
            elif g[layer][wn].dtype != np.dtype("<f4"):
                report.warn(f"{where}/{layer}/{wn}: dtype {g[layer][wn].dtype}, Keras writes little-endian float32")
    return with_weights


def check_legacy_model(f, report):
    cfg = check_json_attr(f, "model_config", report, required=True)
    if cfg is not None and not (isinstance(cfg, dict) and "class_name" in cfg and "config" in cfg):
        report.error("model_config needs 'class_name' and 'config'")
    tc = check_json_attr(f, "training_config", report, required=False)
    if tc is not None:
        if "optimizer_config" not in tc:
            report.error("training_config has no 'optimizer_config' (tf.keras: KeyError)")
        if "loss_weights" not in tc:
            report.error("training_config has no 'loss_weights' key (tf.keras: KeyError; write null)")
    for key in ("keras_version", "backend"):
        if key not in f.attrs:
            report.warn(f"no root '{key}' attribute (tf.keras does not need it)")
    if "model_weights" not in f:
        report.error("no 'model_weights' group")
    else:
        check_legacy_weights_group(f["model_weights"], report, "/model_weights")
    if "optimizer_weights" in f:
        og = f["optimizer_weights"]
        names = str_list(og, "weight_names")
        if not names:
            report.error("/optimizer_weights has no 'weight_names'")
        else:
            for n in names:
                if n not in og or not isinstance(og[n], h5py.Dataset):
                    report.error(f"/optimizer_weights: '{n}' listed in weight_names has no dataset")
            first = og[names[0]] if names[0] in og else None
            if first is not None and (first.shape != () or first.dtype.kind not in "iu"):
                report.warn(f"/optimizer_weights: first weight '{names[0]}' is {first.dtype} {first.shape}; "
                            "tf.keras writes the iteration count first, an int64 scalar")
        if tc is None:
            report.warn("optimizer_weights without training_config: tf.keras will not compile, so ignores them")


def check_keras3_weights(f, report, where):
    top = set(f.keys())
    if not top & {"layers", "optimizer", "vars"}:
        report.error(f"{where}: none of the groups layers/, optimizer/, vars/")
    count = {"vars groups": 0, "variables": 0}

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars":
            count["vars groups"] += 1
            keys = list(obj.keys())
            for k in keys:
                if not isinstance(obj[k], h5py.Dataset):
                    report.error(f"{where}/{name}/{k}: a group inside vars/")
            try:
                idx = sorted(int(k) for k in keys)
            except ValueError:
                report.error(f"{where}/{name}: dataset names {keys} are not 0, 1, 2, …")
                return
            if idx != list(range(len(idx))):
                report.error(f"{where}/{name}: dataset names {sorted(keys, key=int)} are not 0..{len(idx) - 1}")
            count["variables"] += len(keys)

    f.visititems(visit)
    if count["vars groups"] == 0:
        report.error(f"{where}: no vars/ group")
    return count


def check_keras_zip(path, report, tree):
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        tree.append("zip entries:")
        for i in infos:
            kind = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}.get(i.compress_type, str(i.compress_type))
            tree.append(f"  {i.filename}: {i.file_size} bytes, {kind}, {i.date_time}")
        if "config.json" not in names:
            report.error("no config.json in the zip")
        if "metadata.json" not in names:
            report.warn("no metadata.json (Keras 3 writes one but does not read it)")
        else:
            try:
                meta = json.loads(z.read("metadata.json"))
                tree.append(f"metadata.json: {json.dumps(meta)}")
                if "keras_version" not in meta:
                    report.warn("metadata.json has no keras_version")
            except Exception as e:
                report.error(f"metadata.json is not JSON: {e}")
        if "config.json" in names:
            try:
                cfg = json.loads(z.read("config.json"))
                tree.append(f"config.json: class_name {cfg.get('class_name')!r}, module {cfg.get('module')!r}, "
                            f"{len(cfg.get('config', {}).get('layers', []))} layers, "
                            f"compile_config {'present' if cfg.get('compile_config') else 'absent'}")
                for key in ("module", "class_name", "config"):
                    if key not in cfg:
                        report.error(f"config.json has no top-level '{key}' (Keras 3 cannot locate the class)")
                opt = (cfg.get("compile_config") or {}).get("optimizer")
                if isinstance(opt, dict) and "module" not in opt:
                    report.error("config.json: compile_config.optimizer has no 'module' (Keras 3 cannot locate it)")
            except Exception as e:
                report.error(f"config.json is not JSON: {e}")
        if "model.weights.h5" in names:
            with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
                tree.append("model.weights.h5:")
                tree.append(h5_tree(f))
                check_keras3_weights(f, report, "model.weights.h5")
        elif "model.weights.npz" not in names:
            report.error("no model.weights.h5 (or model.weights.npz) in the zip")


def classify(path):
    if zipfile.is_zipfile(path):
        return "keras_zip"
    if not h5py.is_hdf5(path):
        return None
    with h5py.File(path, "r") as f:
        if "model_config" in f.attrs:
            return "legacy_model"
        if "layer_names" in f.attrs or "layer_names0" in f.attrs:
            return "legacy_weights"
        if set(f.keys()) & {"layers", "optimizer", "vars"}:
            return "keras3_weights"
    return "unknown_h5"


def stem_of(path):
    base = os.path.basename(path)
    for suffix in SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return os.path.splitext(base)[0]


# ----------------------------------------------------------------------------------------------
# The Keras side (runs in a subprocess of the right interpreter)


def load_tensor(fixture, name):
    t = fixture["tensors"][name]
    return np.asarray(t["data"], dtype=np.float32).reshape(t["shape"])


def model_config_of(fixture):
    cfg = fixture.get("model_config", fixture.get("params", {}).get("model_config"))
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    return cfg


def last_line(exc):
    lines = str(exc).strip().splitlines()
    return lines[-1][:300] if lines else ""


def worker(kind, path, json_path, sibling_keras):
    """Load `path` with Keras, compare with the JSON; print one RESULT line."""
    messages = []
    result = {"status": "ok", "messages": messages}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings
    warnings.simplefilter("ignore")
    try:
        if kind in ("legacy_model", "legacy_weights"):
            import tensorflow as tf
            from tensorflow import keras
            tf.get_logger().setLevel("ERROR")
            result["keras"] = f"tf.keras {keras.__version__} (TensorFlow {tf.__version__})"
        else:
            os.environ.setdefault("KERAS_BACKEND", "jax")
            import keras
            result["keras"] = f"Keras {keras.__version__} ({keras.backend.backend()})"
            if not keras.__version__.startswith("3."):
                raise ImportError(f"Keras 3 needed, found {keras.__version__}")
    except Exception as e:
        print(RESULT_TAG + json.dumps({"status": "skip", "messages": [f"Keras not importable: {e}"]}))
        return
    with open(json_path) as fh:
        fixture = json.load(fh)
    x = load_tensor(fixture, "x")
    y_ref = load_tensor(fixture, "y_pred")

    model = None
    if kind == "legacy_model":
        model = keras.models.load_model(path)
        with h5py.File(path, "r") as f:
            if "training_config" in f.attrs and getattr(model, "optimizer", None) is None:
                messages.append("training_config present but the loaded model is not compiled")
                result["status"] = "fail"
            if "optimizer_weights" in f and getattr(model, "optimizer", None) is not None:
                og = f["optimizer_weights"]
                saved = [og[n][()] for n in str_list(og, "weight_names")]
                got = model.optimizer.get_weights()
                if len(saved) != len(got) or not all(
                        np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64))
                        for a, b in zip(saved, got)):
                    messages.append(f"optimizer state NOT restored: the file has {len(saved)} optimizer weights, "
                                    f"the loaded {type(model.optimizer).__name__} has {len(got)} "
                                    "(tf.keras only logs a warning and starts afresh)")
                    result["status"] = "fail"
                else:
                    messages.append(f"optimizer state restored ({len(saved)} weights, "
                                    f"iterations = {int(model.optimizer.iterations.numpy())})")
    elif kind == "legacy_model_k3":
        try:
            model = keras.models.load_model(path)
            messages.append(f"Keras 3 loads it compiled: optimizer {type(getattr(model, 'optimizer', None)).__name__}")
        except Exception as e:
            messages.append(f"Keras 3 load_model(compile=True) fails: {type(e).__name__}: {last_line(e)}")
            try:
                model = keras.models.load_model(path, compile=False)
                messages.append("Keras 3 load_model(compile=False) works")
            except Exception as e2:
                messages.append(f"Keras 3 load_model(compile=False) fails too: {type(e2).__name__}: {last_line(e2)}")
                result["status"] = "fail"
                print(RESULT_TAG + json.dumps(result))
                return
    elif kind == "legacy_weights":
        cfg = model_config_of(fixture)
        if cfg is None:
            print(RESULT_TAG + json.dumps({"status": "skip", "keras": result["keras"], "messages": [
                "weights-only file and no 'model_config' in its JSON: cannot build the model"]}))
            return
        model = keras.models.model_from_json(json.dumps(cfg))
        model.load_weights(path)
    elif kind == "keras_zip":
        model = keras.models.load_model(path)
        with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            check_keras3_optimizer(model, f, messages, result)
    elif kind == "keras3_weights":
        cfg = model_config_of(fixture)
        source = "the JSON's model_config"
        if cfg is None and sibling_keras:
            with zipfile.ZipFile(sibling_keras) as z:
                cfg = json.loads(z.read("config.json"))
            source = os.path.basename(sibling_keras) + "'s config.json"
        if cfg is None:
            print(RESULT_TAG + json.dumps({"status": "skip", "keras": result["keras"], "messages": [
                "weights-only file, no 'model_config' in its JSON and no sibling .keras: cannot build the model"]}))
            return
        model = keras.saving.deserialize_keras_object(cfg)
        messages.append(f"model built from {source} (fresh weights), then load_weights")
        if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(path)
        with h5py.File(path, "r") as f:
            check_keras3_optimizer(model, f, messages, result)
    y = np.asarray(model.predict(x, verbose=0), dtype=np.float32)
    if y.shape != y_ref.shape:
        messages.append(f"prediction shape {list(y.shape)} != y_pred shape {list(y_ref.shape)}")
        result["status"] = "fail"
    else:
        result["max_abs_diff"] = float(np.abs(y.astype(np.float64) - y_ref.astype(np.float64)).max())
    print(RESULT_TAG + json.dumps(result))


def check_keras3_optimizer(model, f, messages, result):
    opt = getattr(model, "optimizer", None)
    if "optimizer" not in f or "vars" not in f["optimizer"]:
        return
    if opt is None:
        messages.append("the file has optimizer variables but the model is not compiled (not checked)")
        return
    g = f["optimizer"]["vars"]
    saved = [g[str(i)][()] for i in range(len(g))]
    got = [np.asarray(v) for v in opt.variables]
    if len(saved) != len(got) or not all(np.shape(a) == np.shape(b) and np.array_equal(
            np.asarray(a, np.float64), np.asarray(b, np.float64)) for a, b in zip(saved, got)):
        messages.append(f"optimizer state NOT restored: the file has {len(saved)} optimizer variables, the "
                        f"loaded {type(opt).__name__} has {len(got)} (Keras 3 only warns and skips them)")
        result["status"] = "fail"
    else:
        messages.append(f"optimizer state restored ({len(saved)} variables)")


# ----------------------------------------------------------------------------------------------


def default_python(env, path):
    if os.environ.get(env):
        return os.environ[env]
    return path if os.path.exists(path) else sys.executable


def run_worker(python, kind, path, json_path, sibling):
    cmd = [python, os.path.abspath(__file__), "--worker", kind, path, json_path, sibling or ""]
    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "jax")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"status": "skip", "messages": [f"could not run {python}: {e}"]}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    if "ModuleNotFoundError" in proc.stderr and ("keras" in proc.stderr or "tensorflow" in proc.stderr
                                                or "h5py" in proc.stderr):
        return {"status": "skip", "messages": [f"Keras not importable with {python}"]}
    tail = proc.stderr.strip().splitlines()[-6:]
    return {"status": "fail", "messages": ["loading raised:"] + tail}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, kind, path, json_path, sibling = sys.argv[:7]
        worker(kind, path, json_path, sibling or None)
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--tf-python", default=default_python("ASTROGRAD_TF_PYTHON", "/root/venvs/tf/bin/python"))
    parser.add_argument("--keras3-python",
                        default=default_python("ASTROGRAD_KERAS3_PYTHON", "/root/venvs/keras3/bin/python"))
    parser.add_argument("--require-keras", action="store_true", help="a skipped load check is a failure")
    parser.add_argument("--cross", action="store_true", help="also load legacy .h5 models with Keras 3 (informational)")
    parser.add_argument("--no-tree", action="store_true", help="don't print the file trees")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        parser.error(f"{args.dir} is not a directory")

    files = sorted(os.path.join(args.dir, n) for n in os.listdir(args.dir)
                   if n.endswith((".keras", ".h5", ".hdf5")))
    if not files:
        print(f"no .keras / .h5 / .hdf5 files in {args.dir}")
        return 1
    failures, summary = 0, []
    for path in files:
        name = os.path.basename(path)
        print("=" * 100)
        report = Report()
        tree = []
        kind = classify(path)
        print(f"{name}: {os.path.getsize(path)} bytes, kind: {kind}")
        try:
            if kind == "keras_zip":
                if not name.endswith(".keras"):
                    report.error("a zip model file must be named *.keras for Keras 3's load_model")
                check_keras_zip(path, report, tree)
            elif kind in ("legacy_model", "legacy_weights", "keras3_weights", "unknown_h5"):
                with h5py.File(path, "r") as f:
                    tree.append(h5_tree(f))
                    if kind == "legacy_model":
                        check_legacy_model(f, report)
                    elif kind == "legacy_weights":
                        check_legacy_weights_group(f, report, "/")
                        if name.endswith(".weights.h5"):
                            report.error("legacy weights layout named *.weights.h5: Keras 3 reads that name "
                                         "as its own layout")
                    elif kind == "keras3_weights":
                        check_keras3_weights(f, report, "/")
                        if not name.endswith(".weights.h5"):
                            report.warn("Keras 3 weights layout: Keras 3's load_weights wants a *.weights.h5 name")
                    else:
                        report.error("HDF5 file with neither model_config, layer_names nor layers/ vars/ groups")
            else:
                report.error("neither a zip nor an HDF5 file")
        except Exception as e:
            report.error(f"could not read the file: {type(e).__name__}: {e}")
        if not args.no_tree and tree:
            print("\n".join(tree))
        for w in report.warnings:
            print(f"  warning: {w}")
        for e in report.errors:
            print(f"  ERROR: {e}")
        ok = not report.errors
        status = "structure ok" if ok else "structure FAILED"

        json_path = os.path.join(args.dir, stem_of(path) + ".json")
        load_kinds = {"legacy_model": args.tf_python, "legacy_weights": args.tf_python,
                      "keras_zip": args.keras3_python, "keras3_weights": args.keras3_python}
        if kind in load_kinds and ok:
            if not os.path.exists(json_path):
                print(f"  ERROR: no {os.path.basename(json_path)} next to it (x and y_pred)")
                ok = False
                status += "; no JSON"
            else:
                sibling = os.path.join(args.dir, stem_of(path) + ".keras")
                sibling = sibling if kind == "keras3_weights" and os.path.exists(sibling) else None
                res = run_worker(load_kinds[kind], kind, path, json_path, sibling)
                for m in res.get("messages", []):
                    print(f"  {m}")
                if res["status"] == "skip":
                    status += "; load SKIPPED"
                    if args.require_keras:
                        ok = False
                else:
                    diff = res.get("max_abs_diff")
                    if res["status"] != "ok":
                        ok = False
                    if diff is None:
                        ok = False
                        status += f"; load FAILED ({res.get('keras', '?')})"
                    else:
                        passed = diff <= args.atol
                        ok = ok and passed
                        status += (f"; {res.get('keras')}: max |Keras - y_pred| = {diff:.3g} "
                                   f"{'<=' if passed else '>'} {args.atol:g}")
                        if res["status"] != "ok":
                            status += " but FAILED (see above)"
                if args.cross and kind == "legacy_model":
                    cross = run_worker(args.keras3_python, "legacy_model_k3", path, json_path, None)
                    for m in cross.get("messages", []):
                        print(f"  [Keras 3] {m}")
                    if "max_abs_diff" in cross:
                        print(f"  [Keras 3] max |Keras 3 - y_pred| = {cross['max_abs_diff']:.3g} (informational)")
        print(f"  => {'PASS' if ok else 'FAIL'}: {status}")
        summary.append((name, ok, status))
        failures += 0 if ok else 1
    print("=" * 100)
    for name, ok, status in summary:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {status}")
    print(f"{len(summary) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
