"""Runs each Keras script in tests/golden/keras_code/ in Keras 3 and writes the model it builds
as Keras's model.to_json() beside it (<name>.json): the reference for convlab's import of Keras
Python code (tests/keras_code.rs reads the script with convlab and the JSON with the JSON import,
and wants the same spec).

Run from the repository root:
    scripts/setup-keras.sh
    KERAS_BACKEND=jax .cache/keras-venv/bin/python scripts/golden/keras_code.py
"""

import contextlib
import io
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

DIR = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "keras_code")

for file in sorted(os.listdir(DIR)):
    if not file.endswith(".py"):
        continue
    keras.backend.clear_session()  # automatic layer names start again from conv2d, dense, ...
    with open(os.path.join(DIR, file)) as f:
        code = f.read()
    scope = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, file, "exec"), scope)
    model = scope["model"]
    out = os.path.join(DIR, file[:-3] + ".json")
    with open(out, "w") as f:
        json.dump(json.loads(model.to_json()), f, indent=1)
        f.write("\n")
    print(f"{file}: {model.count_params()} parameters, {len(model.layers)} layers", file=sys.stderr)
