# convlab: the two commands are `make serve` and `make test`; both install what is missing.
SHELL := /bin/bash
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
# Mesa's lavapipe wants a runtime dir; without one it prints an error per device it opens.
export XDG_RUNTIME_DIR ?= /tmp
PHASE := scripts/phase.sh

.PHONY: bench bench-microkernel serve build pkg test setup setup-test photos fmt lint test-native test-wasm test-browser typecheck clean

## serve: install, build the site (release) and serve it on http://127.0.0.1:8080
serve: build
	@echo "convlab: serving on http://127.0.0.1:8080 (Ctrl-C to stop)"
	trunk serve --release --no-autoreload --address 127.0.0.1 --port 8080

## build: the static site in dist/ (any static host can serve it, from any sub-path)
build: setup
	trunk build --release

## pkg: the core as an npm-style package in pkg/
pkg: setup
	scripts/make-pkg.sh

setup:
	scripts/setup.sh build

setup-test:
	scripts/setup.sh test

photos:
	scripts/fetch-photos.sh

## test: install what the tests need, run every test, print each phase's time
test:
	@rm -f target/phases.txt
	@$(PHASE) "install (setup-test)" scripts/setup.sh test
	@$(PHASE) "fmt --check" cargo fmt --all -- --check
	@$(PHASE) "clippy native" cargo clippy --all-targets --locked -- -D warnings
	@$(PHASE) "clippy wasm32" cargo clippy --all-targets --locked --target wasm32-unknown-unknown -- -D warnings
	@$(PHASE) "native build" cargo test --locked --no-run
	@$(PHASE) "native tests (cpu+webgpu)" cargo test --locked -- --skip onnx_operator_conformance
	@$(PHASE) "ONNX conformance" cargo test --locked --test onnx_conformance -- --nocapture
	@$(PHASE) "wasm32 build" cargo test --locked --target wasm32-unknown-unknown --no-run
	@$(PHASE) "wasm32 tests (node)" cargo test --locked --target wasm32-unknown-unknown
	@$(PHASE) "site build (trunk)" trunk build --release
	@$(PHASE) "pkg build" scripts/make-pkg.sh
	@$(PHASE) "typecheck (tsc)" npx tsc -p www/jsconfig.json
	@$(PHASE) "browser tests (chromium)" node --test --test-concurrency=1 tests/browser/
	@echo; echo "Phase times:"; cat target/phases.txt

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings

test-native:
	cargo test

test-wasm:
	cargo test --target wasm32-unknown-unknown

test-browser: build
	node --test --test-concurrency=1 tests/browser/

typecheck: pkg
	npx tsc -p www/jsconfig.json

clean:
	rm -rf dist pkg target/phases.txt

## bench: benchmark programs (figures, not tests); BENCH_MODES=train (or plain,isolated,webgpu) for one pass
bench: build setup-test
	mkdir -p dist/vendor
	cp node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js \
	   node_modules/@tensorflow/tfjs/dist/tf.min.js \
	   node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js \
	   node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm \
	   node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js \
	   node_modules/@tensorflow/tfjs-backend-webgl/dist/tf-backend-webgl.min.js \
	   node_modules/onnxruntime-web/dist/ort.wasm.min.mjs \
	   node_modules/onnxruntime-web/dist/ort.min.mjs \
	   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs \
	   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm \
	   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.mjs \
	   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.jsep.wasm \
	   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs \
	   node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm dist/vendor/
	node bench/run.mjs
	node bench/kernel-only.mjs
	node bench/demo-conv2d.mjs 9
	node bench/editor.mjs

## bench-microkernel: the GEMM register-block study behind src/backend/cpu/gemm.rs (Chromium)
bench-microkernel: setup-test
	cd bench/microkernel && cargo build --release --target wasm32-unknown-unknown
	node bench/microkernel/run.mjs
