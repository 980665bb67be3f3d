"""Writes tests/golden/conv2d_tf.json: tf.nn.conv2d outputs on seeded inputs, so the core is
checked against TensorFlow itself (data nobody here wrote).

    python3 -m venv .cache/tf && .cache/tf/bin/pip install tensorflow-cpu numpy
    .cache/tf/bin/python scripts/golden/conv2d_tf.py

Inputs are float32; JSON stores them as the exact decimal of each float32 value, so the tests
read back bit-identical tensors.
"""
import json
import pathlib

import numpy as np
import tensorflow as tf

CASES = [
    # name, x shape (NHWC), filter shape (HWIO), strides, padding, dilations
    ("same_odd_pad_after", [1, 6, 5, 2], [2, 2, 2, 3], [1, 1], "SAME", [1, 1]),
    ("same_stride2", [2, 7, 8, 3], [3, 3, 3, 4], [2, 2], "SAME", [1, 1]),
    ("same_stride2x3_even_kernel", [1, 8, 6, 1], [4, 4, 1, 2], [2, 3], "SAME", [1, 1]),
    ("valid_stride2x1", [1, 9, 9, 2], [3, 5, 2, 3], [2, 1], "VALID", [1, 1]),
    ("same_dilated2", [1, 10, 9, 2], [3, 3, 2, 2], [1, 1], "SAME", [2, 2]),
    ("valid_dilated_1x2", [2, 8, 11, 3], [2, 3, 3, 4], [1, 1], "VALID", [1, 2]),
    ("explicit_padding", [1, 5, 6, 3], [3, 3, 3, 2], [1, 1], [[0, 0], [1, 2], [0, 3], [0, 0]], [1, 1]),
    ("explicit_padding_stride3", [1, 11, 7, 2], [3, 2, 2, 5], [3, 2], [[0, 0], [2, 0], [1, 1], [0, 0]], [1, 1]),
    ("pointwise_1x1", [2, 4, 4, 8], [1, 1, 8, 5], [1, 1], "VALID", [1, 1]),
    ("deep_3x3", [1, 6, 6, 32], [3, 3, 32, 9], [1, 1], "SAME", [1, 1]),
    ("seed_line_filters", [2, 16, 12, 3], "seed", [1, 1], "SAME", [1, 1]),
    # Grouped convolution: filters [fh, fw, in / groups, out]; tf.nn.conv2d infers the groups.
    ("grouped_3", [1, 7, 6, 6], [3, 3, 2, 9], [1, 1], "SAME", [1, 1]),
    ("grouped_2_strided", [2, 8, 7, 4], [3, 2, 2, 4], [2, 2], "VALID", [1, 1]),
]

# tf.nn.depthwise_conv2d: filters [fh, fw, in, multiplier], output channel c * multiplier + m.
DEPTHWISE = [
    ("depthwise_same", [1, 7, 8, 3], [3, 3, 3, 1], [1, 1], "SAME", [1, 1]),
    ("depthwise_multiplier2_stride2", [2, 9, 7, 4], [3, 3, 4, 2], [2, 2], "SAME", [1, 1]),
    ("depthwise_valid_dilated", [1, 10, 10, 2], [3, 3, 2, 3], [1, 1], "VALID", [2, 2]),
]


def seed_filters():
    # The chapter's two 7x7 filters: a vertical and a horizontal line, every input channel.
    f = np.zeros((7, 7, 3, 2), dtype=np.float32)
    f[:, 3, :, 0] = 1
    f[3, :, :, 1] = 1
    return f


def main():
    rng = np.random.default_rng(14)
    cases = []
    for name, xs, fs, strides, padding, dilations in CASES:
        if fs == "seed":
            x = rng.uniform(0, 1, xs).astype(np.float32)
            f = seed_filters()
        else:
            x = rng.uniform(-1, 1, xs).astype(np.float32)
            f = rng.uniform(-1, 1, fs).astype(np.float32)
        y = tf.nn.conv2d(x, f, strides=strides, padding=padding, dilations=dilations).numpy()
        cases.append(record(name, x, f, strides, padding, dilations, y, xs[3] // f.shape[2], False))
    for name, xs, fs, strides, padding, dilations in DEPTHWISE:
        x = rng.uniform(-1, 1, xs).astype(np.float32)
        f = rng.uniform(-1, 1, fs).astype(np.float32)
        y = tf.nn.depthwise_conv2d(
            x, f, strides=[1, *strides, 1], padding=padding, dilations=dilations).numpy()
        cases.append(record(name, x, f, strides, padding, dilations, y, xs[3], True))
    out = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden" / "conv2d_tf.json"
    meta = {"generator": "scripts/golden/conv2d_tf.py", "tensorflow": tf.__version__, "cases": cases}
    out.write_text(json.dumps(meta, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({len(cases)} cases, TensorFlow {tf.__version__})")


def record(name, x, f, strides, padding, dilations, y, groups, depthwise):
    return {
        "name": name,
        "x_shape": list(x.shape), "x": [float(v) for v in x.ravel()],
        "filter_shape": list(f.shape), "filters": [float(v) for v in f.ravel()],
        "strides": strides,
        "padding": padding if isinstance(padding, str) else padding[1:3],
        "dilations": dilations,
        "y_shape": list(y.shape), "y": [float(v) for v in y.ravel()],
        "groups": int(groups), "depthwise": depthwise,
    }


if __name__ == "__main__":
    main()
