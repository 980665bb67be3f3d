"""Runs convlab models in Keras 3 with convlab's weights: the Keras side of tests/keras_forward.rs.

    scripts/setup-keras.sh        # Keras 3 + jax in .cache/keras-venv
    KERAS_BACKEND=jax .cache/keras-venv/bin/python scripts/golden/keras_forward.py CASES.json

CASES.json is a list of cases, each
    {"name": model name, "code": exported Keras code (convlab's to_keras_code), "weights":
     safetensors file (convlab::io::safetensors::save), "nodes": the model's layer names in
     topological order, "x": raw little-endian f32 input, "x_shape": [batch, ...],
     "out": where to write the output (raw little-endian f32),
     "probe": optional [[convlab layer name, path, convlab's path], ...]: layer outputs to
     write too (convlab's own, written by the test when a model fails, are for --f64)}
and one line `RESULT {"name", "shape", "seconds", "missing", "unused"?, "error"?}` is printed
per case (missing: probed layers Keras's model lacks, as the output does not depend on them;
unused: tensors of the file that no Keras variable took).

With `--f64 K`, case K is run again in float64 and each probed layer's error is printed for
Keras (float32, from the probe files) and convlab (where the test wrote its outputs) relative to
that layer's largest float64 value: when both are alike, a difference between them is rounding,
not a bug.

The weights are read with numpy alone (8-byte little-endian header length, JSON header, raw
data), so no package beyond Keras is needed. Each convlab layer `a/b` is the Keras layer the
export names `a__b` (`_2`, `_3` for a name taken twice, as convlab.io.keras_export does), and
each of its tensors `a/b/<param>` goes to the Keras variable of that name, except that
DepthwiseConv2D's `depthwise_kernel` is Keras's `kernel`, and that ConvlabConv2D with partial
connections stores only the connected taps (filter by filter, the maps of each in table order).
"""
import contextlib
import io
import json
import os
import sys
import time
import traceback

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src import backend  # noqa: E402

# jax compiles its random-number kernels once per weight shape (about half a second each, a
# minute for a zoo model); the initial values are overwritten, so numpy draws them.
_rng = np.random.default_rng(0)


def _uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return backend.convert_to_tensor(_rng.uniform(minval, maxval, shape).astype(dtype or "float32"))


def _normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return backend.convert_to_tensor(_rng.normal(mean, stddev, shape).astype(dtype or "float32"))


backend.random.uniform = _uniform
backend.random.normal = _normal
backend.random.truncated_normal = _normal


def read_safetensors(path):
    """{name: float32 array} and the metadata of a safetensors file of F32 tensors."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, not F32")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], "<f4").reshape(info["shape"])
    return tensors, meta


def keras_names(nodes):
    """The Keras name of each convlab layer, as the export assigns them."""
    used, out = set(), []
    for node in nodes:
        base = node.replace("/", "__") or "layer"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out.append(name)
    return out


def connected_taps(kernel, connections):
    """A full [kh, kw, in, out] kernel's connected taps, [kh, kw, taps], in ConvlabConv2D's
    order: filter by filter, the input maps of each in table order."""
    taps = [(m, f) for f, row in enumerate(connections) for m in row]
    return np.stack([kernel[:, :, m, f] for m, f in taps], axis=-1)


def set_weights(model, nodes, tensors):
    """Sets every Keras layer's variables from convlab's tensors; returns tensors not used."""
    by_layer = {}
    for name, value in tensors.items():
        layer, param = name.rsplit("/", 1)
        by_layer.setdefault(layer, {})[param] = value
    unused = []
    for node, kname in zip(nodes, keras_names(nodes)):
        params = by_layer.pop(node, None)
        if params is None:
            continue
        try:
            layer = model.get_layer(kname)
        except ValueError:
            unused.extend(f"{node}/{p}" for p in params)  # not on the output's path
            continue
        values = []
        for v in layer.weights:
            key = v.name
            if key not in params and key == "kernel" and "depthwise_kernel" in params:
                key = "depthwise_kernel"
            if key not in params:
                raise ValueError(f"Keras layer {kname}'s variable {v.name} has no tensor "
                                 f"{node}/{key} in the weights file")
            value = params.pop(key)
            if key == "kernel" and getattr(layer, "connections", None) is not None:
                value = connected_taps(value, layer.connections)
            values.append(value)
        layer.set_weights(values)
        unused.extend(f"{node}/{p}" for p in params)
    unused.extend(f"{layer}/{p}" for layer, params in by_layer.items() for p in params)
    return unused


def output_layer(model, kname):
    """The Keras layer whose output is a convlab layer's: a fused activation the export
    wrote as its own layer (`{name}__act`) comes after the layer itself."""
    names = {layer.name for layer in model.layers}
    return model.get_layer(f"{kname}__act" if f"{kname}__act" in names else kname)


def run(case):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace = {"__name__": "convlab_export"}
        exec(compile(open(case["code"]).read(), case["code"], "exec"), namespace)
    model = namespace["model"]
    tensors, meta = read_safetensors(case["weights"])
    if meta.get("format") != "convlab-weights":
        raise ValueError(f"metadata {meta} is not a convlab weights file's")
    result = {}
    unused = set_weights(model, case["nodes"], tensors)
    if unused:
        result["unused"] = unused
    x = np.fromfile(case["x"], "<f4").reshape(case["x_shape"])
    outputs, paths, missing = [], [], []
    knames = dict(zip(case["nodes"], keras_names(case["nodes"])))
    for node, path, *_ in case.get("probe") or []:
        try:
            outputs.append(output_layer(model, knames[node]).output)
            paths.append(path)
        except ValueError:
            missing.append(node)  # not on the output's path: Keras's model lacks it
    # One pass computes the output and every probed layer's.
    ys = keras.Model(model.inputs[0], [model.outputs[0]] + outputs)(x, training=False)
    y = np.asarray(ys[0], "<f4")
    y.tofile(case["out"])
    for path, value in zip(paths, ys[1:]):
        np.asarray(value, "<f4").tofile(path)
    result["shape"] = list(y.shape)
    result["missing"] = missing
    return result


def f64(case):
    """Prints Keras's and convlab's float32 errors against Keras in float64, layer by layer."""
    import jax

    jax.config.update("jax_enable_x64", True)
    keras.config.set_floatx("float64")
    namespace = {"__name__": "convlab_export"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(open(case["code"]).read(), case["code"], "exec"), namespace)
    model = namespace["model"]
    tensors, _ = read_safetensors(case["weights"])
    set_weights(model, case["nodes"], {k: v.astype("float64") for k, v in tensors.items()})
    x = np.fromfile(case["x"], "<f4").reshape(case["x_shape"]).astype("float64")
    knames = dict(zip(case["nodes"], keras_names(case["nodes"])))
    probe = [p for p in case["probe"] if p[0] in knames]
    outputs = [output_layer(model, knames[p[0]]).output for p in probe]
    ys = keras.Model(model.inputs[0], outputs)(x, training=False)
    print(f"{'layer':40} {'max |f64|':>10} {'keras':>9} {'convlab':>9} {'difference':>10}")
    for (node, keras_path, ours_path), y in zip(probe, ys):
        y = np.asarray(y)
        scale = max(float(np.abs(y).max()), np.finfo("float32").tiny)
        err = {}
        for side, path in (("keras", keras_path), ("convlab", ours_path)):
            if os.path.exists(path):
                err[side] = np.fromfile(path, "<f4").reshape(y.shape).astype("float64")
        cols = [f"{np.abs(err[s] - y).max() / scale:9.2e}" if s in err else f"{'-':>9}"
                for s in ("keras", "convlab")]
        both = (f"{np.abs(err['keras'] - err['convlab']).max() / scale:10.2e}"
                if len(err) == 2 else f"{'-':>10}")
        print(f"{node:40} {scale:10.3e} {cols[0]} {cols[1]} {both}")


def main():
    cases = json.load(open(sys.argv[1]))
    if sys.argv[2:3] == ["--f64"]:
        f64(cases[int(sys.argv[3])])
        return
    for case in cases:
        start = time.time()
        result = {"name": case["name"]}
        try:
            result.update(run(case))
        except Exception:
            result["error"] = traceback.format_exc()
        result["seconds"] = time.time() - start
        print("RESULT", json.dumps(result), flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
