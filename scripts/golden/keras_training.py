"""Trains a convlab model in Keras 3 from convlab's initial weights, batch by batch in a given
order: the Keras side of tests/keras_training.rs.

    scripts/setup-keras.sh        # Keras 3 + jax in .cache/keras-venv
    KERAS_BACKEND=jax .cache/keras-venv/bin/python scripts/golden/keras_training.py CASE.json

CASE.json is
    {"code": exported Keras code (convlab's to_keras_code), "weights": the initial weights
     (convlab::io::safetensors::save), "nodes": the model's layer names in topological order,
     "x": raw little-endian f32 images, "x_shape": [n, ...], "labels": raw little-endian u32
     labels (n), "order": raw little-endian u32 example indices, `steps` batches of `batch`
     one after the other, "steps", "batch",
     "runs": [{"name", "optimizer": a keras.optimizers class name, "config": its keyword
               arguments, "first": where to write the weights after the first step, "last":
               where to write them after the last}]}
Each run builds the model afresh, loads the initial weights (scripts/golden/keras_forward.py's
set_weights), compiles it with its optimizer and `loss="sparse_categorical_crossentropy"` and
calls `train_on_batch` once per batch, in order. The weights (moving statistics included) are
written as safetensors files named like convlab's (`<layer>/<param>`, Keras's shapes, which
are convlab's), and one line `RESULT {"name", "losses": [per step], "seconds", "error"?}` is
printed per run.
"""
import contextlib
import io
import json
import os
import sys
import time
import traceback

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras_forward import keras_names, read_safetensors, set_weights  # noqa: E402


def write_safetensors(path, tensors):
    """Writes {name: array} as a safetensors file of F32 tensors (no metadata)."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(tensors[name])),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for data in chunks:
            f.write(data)


def get_weights(model, nodes):
    """Every variable of the model's layers, named `<convlab layer>/<param>`."""
    out = {}
    for node, kname in zip(nodes, keras_names(nodes)):
        try:
            layer = model.get_layer(kname)
        except ValueError:
            continue
        for v in layer.weights:
            out[f"{node}/{v.name}"] = np.asarray(v.value, "float32")
    return out


def train(case, run, x, y, order):
    namespace = {"__name__": "convlab_export"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(open(case["code"]).read(), case["code"], "exec"), namespace)
    model = namespace["model"]
    tensors, _ = read_safetensors(case["weights"])
    unused = set_weights(model, case["nodes"], tensors)
    if unused:
        raise ValueError(f"tensors no Keras variable took: {unused}")
    optimizer = getattr(keras.optimizers, run["optimizer"])(**run["config"])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    losses = []
    for step, batch in enumerate(order):
        losses.append(float(model.train_on_batch(x[batch], y[batch])))
        if step == 0:
            write_safetensors(run["first"], get_weights(model, case["nodes"]))
    write_safetensors(run["last"], get_weights(model, case["nodes"]))
    return {"losses": losses}


def main():
    case = json.load(open(sys.argv[1]))
    x = np.fromfile(case["x"], "<f4").reshape(case["x_shape"])
    y = np.fromfile(case["labels"], "<u4").astype("int32")
    order = np.fromfile(case["order"], "<u4").astype("int64")
    order = order.reshape(case["steps"], case["batch"])
    for run in case["runs"]:
        start = time.time()
        result = {"name": run["name"]}
        try:
            result.update(train(case, run, x, y, order))
        except Exception:
            result["error"] = traceback.format_exc()
        result["seconds"] = time.time() - start
        print("RESULT", json.dumps(result), flush=True)
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
