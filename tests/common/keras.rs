//! Running Keras 3 (the jax backend in .cache/keras-venv, installed by scripts/setup-keras.sh)
//! from the tests: one Python process per test, which prints a `RESULT <json>` line per case.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python; fails (never skips) with what to run when the venv is missing.
pub fn python() -> PathBuf {
    let python = root().join(".cache/keras-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-keras.sh (it installs Keras 3 and jax there)",
        python.display()
    );
    python
}

/// Runs `script input` under Keras (jax on the CPU) and returns the `RESULT` lines' JSON,
/// checking there are `expected` of them. A failing script fails the test with its output.
pub fn run_driver(script: &Path, input: &Path, expected: usize) -> Vec<Value> {
    let out = Command::new(python())
        .arg(script)
        .arg(input)
        .env("KERAS_BACKEND", "jax")
        .env("JAX_PLATFORMS", "cpu")
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .output()
        .expect("run the Keras venv's python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed: {}\n{stdout}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), expected, "{stdout}");
    results
}
