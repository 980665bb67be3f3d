#!/usr/bin/env bash
# Extracts the ONNX operator conformance tests convlab runs (onnx==1.22.0, the newest wheel that
# still ships backend/test/data/node; Apache-2.0) into .cache/onnx/, from the wheel on PyPI.
# Skips everything when the extracted tree is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/onnx
marker=$out/.complete-1.22.0
if [ -f "$marker" ]; then
  echo "onnx conformance data: present"
  exit 0
fi
mkdir -p .cache/dl
wheel=$(ls .cache/dl/onnx-1.22.0-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 -d .cache/dl onnx==1.22.0
  wheel=$(ls .cache/dl/onnx-1.22.0-*.whl | head -n 1)
fi
rm -rf "$out"
mkdir -p "$out"
P=onnx/backend/test/data/node
python3 - "$wheel" "$out" <<'PY'
import sys, zipfile, fnmatch
P = "onnx/backend/test/data/node/"
patterns = [P + p for p in (
    "test_basic_conv_*", "test_conv_with_*", "test_maxpool_*", "test_averagepool_*",
    "test_globalaveragepool*", "test_globalmaxpool*", "test_lrn*", "test_batchnorm_*",
    "test_relu*", "test_softmax_*", "test_gemm_*", "test_matmul_*", "test_concat_*", "test_add*",
    "test_flatten_*", "test_dropout_*", "test_training_dropout*", "test_sigmoid*", "test_mul*",
)] + ["onnx/backend/test/data/pytorch-converted/*"]
count = 0
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if any(fnmatch.fnmatch(name, p) for p in patterns) and not name.endswith("/"):
            z.extract(name, sys.argv[2])
            count += 1
print(f"onnx conformance data: extracted {count} files")
PY
touch "$marker"
