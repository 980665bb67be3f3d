//! Import of Keras Python code. The scripts in tests/golden/keras_code/ were run by Keras 3
//! (scripts/golden/keras_code.py), which wrote the `model.to_json()` of what each built beside
//! it: convlab's reading of each script must give the spec that the JSON import gives for
//! Keras's own JSON. Also: every zoo model's exported code reads back to the same model (the
//! generated code against real Keras is in tests/keras.rs), bad code gets a message naming its
//! line, and no text panics.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::keras::root;
use convlab::graph::Model;
use convlab::io::keras_code::from_keras_code;
use convlab::io::keras_export::to_keras_code;
use convlab::io::keras_import::from_keras_json;
use proptest::prelude::*;

fn golden(name: &str) -> (String, String) {
    let dir = root().join("tests/golden/keras_code");
    let read = |ext: &str| {
        std::fs::read_to_string(dir.join(format!("{name}.{ext}")))
            .unwrap_or_else(|e| panic!("{name}.{ext}: {e}"))
    };
    (read("py"), read("json"))
}

const SCRIPTS: [&str; 4] =
    ["chapter_fashion", "functional_resnet", "inception_se", "sequential_add"];

#[test]
fn scripts_read_as_keras_built_them() {
    for name in SCRIPTS {
        let (code, json) = golden(name);
        let from_code = from_keras_code(&code).unwrap_or_else(|e| panic!("{name}: {e}"));
        let from_json = from_keras_json(&json).unwrap_or_else(|e| panic!("{name} JSON: {e}"));
        assert_eq!(from_code.to_json(), from_json.to_json(), "{name}");
        Model::from_spec(from_code).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn the_chapters_code_is_the_chapters_model() {
    let m = Model::from_spec(from_keras_code(&golden("chapter_fashion").0).unwrap()).unwrap();
    assert_eq!(m.param_count(), 1_413_834);
    let zoo = Model::from_spec(convlab::zoo::spec("fashion_mnist_cnn").unwrap()).unwrap();
    let shapes = |m: &Model| -> Vec<Vec<usize>> {
        m.nodes().iter().map(|n| n.output_shape.clone()).collect()
    };
    assert_eq!(shapes(&m), shapes(&zoo));
    assert_eq!(m.multiply_adds(), zoo.multiply_adds());
}

#[test]
fn every_zoo_models_exported_code_reads_back() {
    for name in convlab::zoo::names() {
        let m = Model::from_spec(convlab::zoo::spec(name).unwrap()).unwrap();
        let back = from_keras_code(&to_keras_code(&m))
            .and_then(Model::from_spec)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.param_count(), m.param_count(), "{name}");
        assert_eq!(back.trainable_param_count(), m.trainable_param_count(), "{name}");
        assert_eq!(back.multiply_adds(), m.multiply_adds(), "{name}");
        assert_eq!(
            back.nodes()[back.output()].output_shape,
            m.nodes()[m.output()].output_shape,
            "{name}"
        );
    }
}

fn error(code: &str) -> String {
    match from_keras_code(code) {
        Ok(spec) => panic!("accepted:\n{code}\n-> {}", spec.to_json()),
        Err(e) => e.message().to_string(),
    }
}

const HEAD: &str = "import keras\nfrom keras import layers\n";

#[test]
fn what_cannot_be_read_is_refused_with_its_line() {
    let cases: &[(&str, &str)] = &[
        (
            "model = keras.Sequential([keras.Input((8, 8, 1))])\nfor f in [8, 16]:\n    model.add(layers.Conv2D(f, 3))\n",
            "line 4: `for` is not supported",
        ),
        (
            "class ResidualUnit(layers.Layer):\n    pass\nmodel = keras.Sequential([keras.Input((8, 8, 1)), ResidualUnit()])\n",
            "line 5: `ResidualUnit` is a class defined in this code",
        ),
        ("model = keras.Sequential([keras.Input((8, 8, 1)), Conv2D(8, 3)])\n", "line 3: the name 'Conv2D' is not defined"),
        (
            "x = keras.Input((8, 8, 1))\nc = layers.Conv2D(1, 3, padding='same')\ny = c(c(x))\nmodel = keras.Model(x, y)\n",
            "line 5: layer 'conv2d' is called twice (shared weights)",
        ),
        (
            "inner = keras.Sequential([keras.Input((4,)), layers.Dense(2)])\nmodel = keras.Sequential([keras.Input((4,)), inner])\n",
            "line 4: a model inside a Sequential (a nested model)",
        ),
        ("x = 1\n", "no model: the code builds no keras.Sequential"),
        (
            "model = keras.Sequential([layers.Dense(2)])\n",
            "the Sequential model 'sequential' has no input shape",
        ),
        (
            "x = keras.Input((4,))\ny = layers.Dense(4)(x) + x\nmodel = keras.Model(x, y)\n",
            "line 4: `+` on a tensor and a tensor",
        ),
        ("x = keras.Input((4,))\nmodel = keras.Model(x, x[0])\n", "line 4: subscripts"),
        (
            "model = keras.Sequential([keras.Input((4,)),\n    layers.Lambda(lambda t: t * 2)])\n",
            "line 4: `lambda` is not supported",
        ),
        (
            "model = keras.Sequential([keras.Input((4,)), layers.GaussianNoise(0.1)])\n",
            "type GaussianNoise, which convlab does not have (",
        ),
        (
            "model = keras.Sequential([keras.Input((8, 8, 1)),\n  layers.Conv2D(4, 3, padding='middle')])\n",
            "(line 4 of the code)",
        ),
        ("model = keras.Sequential([keras.Input((4,)), layers.Dense(2)\n", "the text ends inside brackets"),
        ("model = keras.Sequential([keras.Input((8, 8, 1)), layers.AveragePooling2D()])\n", "AveragePooling2D needs `pool_size`"),
        ("x = [64] * 10 ** 9\n", "a list of more than 100000 items"),
        ("x = 2 ** 99\n", "the number is too large"),
        ("def f():\n    return f()\nmodel = f()\n", "more than"),
        ("model = keras.Sequential([keras.Input((4,)), layers.Dense(2, name=f'd{1}')])\n", "name is `an f-string`"),
        ("if True:\n    pass\n", "line 3: `if` is not supported"),
        (
            "x = keras.Input((4,))\nmodel = keras.Model(x, layers.Dense(2)(keras.Input((4,))))\n",
            "which is not the model's input",
        ),
        ("  x = 1\n", "unexpected indentation"),
        ("x = keras.applications.MobileNetV2()\nmodel = keras.Sequential([keras.Input((4,)), x])\n", "which builds no layer"),
    ];
    for (body, want) in cases {
        let msg = error(&format!("{HEAD}{body}"));
        assert!(msg.starts_with("Keras"), "{msg}");
        assert!(msg.contains(want), "{body}\nwanted {want:?}\ngot {msg}");
    }
}

#[test]
fn deep_nesting_is_refused_within_a_small_stack() {
    // The browser's wasm stack is about 1 MiB: the depth limit must hold well within it.
    for text in [
        format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000)),
        format!("x = {}1\n", "-".repeat(5000)),
        format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000)),
        format!("x = {}\n", "f(".repeat(3000) + &")".repeat(3000)),
    ] {
        let t = text.clone();
        let r = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || from_keras_code(&t).map(|_| ()).map_err(|e| e.message().to_string()))
            .unwrap()
            .join()
            .expect("no stack overflow");
        let msg = r.expect_err("refused");
        assert!(msg.contains("nested more than") || msg.contains("not defined"), "{msg}");
    }
}

fn mutated() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        ",",
        "=",
        ":",
        "\n",
        "    ",
        "\"",
        "'",
        "#",
        "\\",
        "x",
        "layers.",
        "Conv2D(",
        "keras.Input((4,))",
        "1e9",
        "-",
        "*",
        "**",
        "def f(a, b=1):\n",
        "return ",
        "lambda",
        "None",
        "\u{e9}",
        "\t",
        "model",
        ".add(",
        "'''",
    ]);
    (
        0..SCRIPTS.len(),
        prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, pieces), 1..6),
    )
        .prop_map(|(k, edits)| {
            let mut text: Vec<char> = golden(SCRIPTS[k]).0.chars().collect();
            for (at, cut, piece) in edits {
                let i = at.index(text.len() + 1);
                let end = (i + cut).min(text.len());
                text.splice(i..end, piece.chars());
            }
            text.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn no_arbitrary_text_panics(text in ".{0,300}") {
        let _ = from_keras_code(&text);
    }

    #[test]
    fn no_text_panics(text in mutated()) {
        if let Ok(spec) = from_keras_code(&text) {
            // What is accepted is a valid model.
            prop_assert!(Model::from_spec(spec).is_ok());
        }
    }
}
