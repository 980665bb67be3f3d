#!/usr/bin/env bash
# setup.sh [build|test]: installs what is missing, skipping what is present.
#   build: the wasm32 target, wasm-bindgen-cli at exactly Cargo.lock's wasm-bindgen version,
#          trunk 0.21.14 (0.22 needs rustc 1.96), the sample photos, Fashion-MNIST and MNIST
#          (scripts/fetch-data.sh), MobileNetV2's ImageNet weights and class names
#          (scripts/fetch-pretrained.sh), and the page's vendored npm files (scripts/vendor.sh: uPlot).
#   test:  all of build, plus Debian's chromium and Mesa's Vulkan drivers (lavapipe, for the
#          native WebGPU tests), the npm dev dependencies (playwright-core, typescript) and the
#          ONNX operator conformance data (from the onnx==1.22.0 wheel), and Keras 3 with jax in
#          .cache/keras-venv (the Keras export and zoo-count tests run Python).
# Only the package registries are used (crates.io, Debian apt, npm, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-build}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component"
done

bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen" ]; then
  # Without --locked: with it, this registry snapshot lacks one pinned dependency.
  cargo install wasm-bindgen-cli@"$bindgen"
fi
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "0.21.14" ]; then
  cargo install --locked trunk@0.21.14
fi

scripts/fetch-photos.sh
scripts/fetch-data.sh
scripts/fetch-pretrained.sh
scripts/vendor.sh

if [ "$what" = test ]; then
  missing=()
  for pkg in chromium mesa-vulkan-drivers libvulkan1 python3-venv; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    need_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive need_root apt-get install -y -qq "${missing[@]}"
  fi
  if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/typescript ] ||
     [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  scripts/fetch-onnx.sh
  scripts/setup-keras.sh
fi
echo "setup ($what): done"
