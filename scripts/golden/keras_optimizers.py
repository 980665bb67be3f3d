"""Writes tests/golden/keras_optimizers.json: each Keras 3 optimizer (default hyper-parameters,
learning rate 0.01) applied for 6 steps to a 5-element weight with fixed gradients; the weights
after each step. convlab's optimizers must reproduce them (tests/optimizers.rs).

Run: KERAS_BACKEND=jax .cache/keras-venv/bin/python scripts/golden/keras_optimizers.py
"""
import json
import os

import keras
import numpy as np

W0 = [0.5, -1.25, 2.0, 0.0, -0.3]
GRADS = [
    [0.1, -0.2, 0.3, 0.05, -1.0],
    [0.2, 0.1, -0.4, 0.0, -0.8],
    [-0.3, 0.25, 0.1, 0.5, 0.6],
    [0.05, -0.05, 0.2, -0.1, 0.3],
    [1.0, 0.5, -0.25, 0.125, 0.0],
    [-0.6, 0.4, 0.3, -0.2, 0.1],
]
OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.01),
    "momentum": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "nesterov": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.01),
    "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
    "nadam": lambda: keras.optimizers.Nadam(learning_rate=0.01),
}

out = {"keras": keras.__version__, "w0": W0, "grads": GRADS, "learning_rate": 0.01, "steps": {}}
for name, make in OPTIMIZERS.items():
    opt = make()
    w = keras.Variable(np.array(W0, dtype="float32"))
    opt.build([w])
    steps = []
    for g in GRADS:
        opt.apply_gradients([(np.array(g, dtype="float32"), w)])
        steps.append([float(v) for v in np.array(w.value)])
    out["steps"][name] = steps
path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "keras_optimizers.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
