#!/usr/bin/env bash
# Builds pkg/: the core as an npm-style package (wasm-bindgen --target web, .d.ts, package.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo build --release --lib --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --typescript --out-dir pkg target/wasm32-unknown-unknown/release/convlab.wasm
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
cat > pkg/package.json <<JSON
{
  "name": "convlab",
  "version": "$version",
  "description": "convlab's core: CNN kernels (WebGPU and wasm SIMD128) for the browser.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "convlab.js",
  "module": "convlab.js",
  "types": "convlab.d.ts",
  "files": ["convlab.js", "convlab.d.ts", "convlab_bg.wasm", "convlab_bg.wasm.d.ts"],
  "sideEffects": ["./snippets/*"]
}
JSON
echo "pkg: $(ls pkg | tr '\n' ' ')"
