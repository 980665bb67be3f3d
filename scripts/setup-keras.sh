#!/usr/bin/env bash
# Keras 3 with the jax backend in .cache/keras-venv (from PyPI), for the tests that run
# convlab's exported Keras code and read Keras's parameter counts. Skips when present.
set -euo pipefail
export KERAS_BACKEND=jax
cd "$(dirname "$0")/.."
venv=.cache/keras-venv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import keras, jax, scipy" 2>/dev/null; then
  echo "keras venv: present"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "keras==3.*" "jax[cpu]" scipy
"$venv/bin/python" -c "import keras; print('keras venv: keras', keras.__version__)"
