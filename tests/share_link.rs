//! The share link: exact round trips, compact links for every zoo model after an edit, and a
//! decoder that answers every malformed link with a message (proptest over arbitrary bytes
//! and over damaged real links; the cases that once failed stay in tests/corpus/links/).
#![cfg(not(target_arch = "wasm32"))]

use convlab::graph::{Model, ModelSpec};
use convlab::io::url::{from_link, to_fragment};
use proptest::prelude::*;

fn small_spec() -> ModelSpec {
    ModelSpec::from_json(
        r#"{"format": "convlab-model", "version": 1, "name": "t", "input": {"shape": [28, 28, 1]},
            "layers": [
              {"name": "c1", "class_name": "Conv2D", "config": {"filters": 8, "kernel_size": 3, "activation": "relu", "padding": [[1, 1], [1, 1]]}},
              {"class_name": "MaxPool2D"},
              {"class_name": "Dropout", "config": {"rate": 0.25}},
              {"class_name": "Flatten"},
              {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}
            ]}"#,
    )
    .unwrap()
}

#[test]
fn a_link_gives_back_the_same_spec() {
    let spec = small_spec();
    let link = format!("https://example.org/convlab/#{}", to_fragment(&spec));
    assert_eq!(from_link(&link).unwrap(), spec);
    assert_eq!(from_link(&to_fragment(&spec)).unwrap(), spec);
    assert!(Model::from_spec(from_link(&link).unwrap()).is_ok());
}

/// "Every zoo model, after editing any one layer, fits in a link of at most 2,000 characters":
/// each layer (top-level entries and the layers of every block definition) is edited in turn,
/// by the edit that compresses worst (a new 24-character name, and one more filter or unit),
/// and the longest link is checked.
#[test]
fn every_zoo_model_fits_in_2000_characters_after_any_one_edit() {
    fn edit(entry: &mut convlab::graph::EntrySpec) {
        entry.name = Some("an_edited_layer_name_xyz".into());
        if let Some(config) = entry.config.as_mut() {
            for key in ["filters", "units"] {
                if let Some(v) = config.get_mut(key).filter(|v| v.is_u64()) {
                    *v = serde_json::json!(v.as_u64().unwrap() + 1);
                }
            }
        }
    }
    for &name in convlab::zoo::names() {
        let spec = convlab::zoo::spec(name).unwrap();
        let before = format!("#{}", to_fragment(&spec)).len();
        let mut longest = 0;
        let mut edits = 0;
        let mut check = |edited: ModelSpec| {
            let link = format!("#{}", to_fragment(&edited));
            longest = longest.max(link.len());
            assert_eq!(from_link(&link).unwrap(), edited, "{name}");
            edits += 1;
        };
        for i in 0..spec.layers.len() {
            let mut edited = spec.clone();
            edit(&mut edited.layers[i]);
            check(edited);
        }
        for (block, def) in &spec.blocks {
            for i in 0..def.layers.len() {
                let mut edited = spec.clone();
                edit(&mut edited.blocks.get_mut(block).unwrap().layers[i]);
                check(edited);
            }
        }
        println!("{name}: {before} characters, at most {longest} after any one of {edits} edits");
        assert!(longest <= 2000, "{name}: a link of {longest} characters after an edit");
    }
}

fn message(link: &str) -> String {
    from_link(link).map(|_| "accepted".to_string()).unwrap_or_else(|e| e.message().to_string())
}

#[test]
fn malformed_links_get_messages() {
    let good = to_fragment(&small_spec());
    assert!(message("#nothing=here").contains("no 'model=' part"));
    assert!(message("#model=abc").contains("no version"));
    assert!(message(&good.replacen("model=1.", "model=9.", 1)).contains("newer convlab"));
    assert!(message(&good.replacen("model=1.", "model=0.", 1)).contains("not one convlab has used"));
    assert!(message(&good[..good.len() / 2]).contains("cut short"));
    assert!(message(&format!("{good}!!")).contains("base64url"));
    // A "zip bomb": 100 MB of zeros compresses to a short link.
    let zeros = vec![b' '; 100 << 20];
    let bomb = miniz_oxide::deflate::compress_to_vec(&zeros, 10);
    use base64::Engine;
    let link =
        format!("#model=1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bomb));
    assert!(message(&link).contains("expands past"), "{}", message(&link));
    // Deep nesting stops at the JSON parser's recursion limit.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let link = format!(
        "#model=1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(miniz_oxide::deflate::compress_to_vec(deep.as_bytes(), 10))
    );
    assert!(message(&link).contains("not valid JSON"), "{}", message(&link));
}

/// Every file in tests/corpus/links/ is a link that once broke a decoder (or is built to); each
/// must give an error message, never a panic or an accepted model.
#[test]
fn the_corpus_of_bad_links_is_refused() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/links");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let result = from_link(text.trim()).and_then(Model::from_spec);
        assert!(result.is_err(), "{}: accepted", path.display());
        n += 1;
    }
    assert!(n >= 5, "corpus has {n} files");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = from_link(&s);
        let _ = from_link(&format!("#model=1.{s}"));
    }

    #[test]
    fn arbitrary_bytes_after_the_prefix_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        use base64::Engine;
        let link = format!("#model=1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
        let _ = from_link(&link).and_then(Model::from_spec);
        // The same bytes as a raw DEFLATE stream's content.
        let packed = miniz_oxide::deflate::compress_to_vec(&bytes, 6);
        let link = format!("#model=1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(packed));
        let _ = from_link(&link).and_then(Model::from_spec);
    }

    #[test]
    fn damaged_real_links_never_panic(cut in 0usize..2000, flip in 0usize..2000, ch in "[A-Za-z0-9_-]") {
        let name = convlab::zoo::names()[flip % convlab::zoo::names().len().max(1)];
        let link = to_fragment(&convlab::zoo::spec(name).unwrap());
        let cut = cut % link.len();
        let _ = from_link(&link[..cut]).and_then(Model::from_spec);
        let mut damaged = link.clone();
        let at = 8 + flip % (link.len() - 8);
        damaged.replace_range(at..at + 1, &ch);
        let _ = from_link(&damaged).and_then(Model::from_spec);
    }

    #[test]
    fn specs_with_random_hyperparameters_round_trip_or_explain(
        filters in 1u64..2_000_000, k in 0u64..40, s in 0u64..5, h in 1u64..300, units in 0u64..5000,
    ) {
        let json = format!(r#"{{"format": "convlab-model", "version": 1, "input": {{"shape": [{h}, {h}, 3]}},
            "layers": [{{"class_name": "Conv2D", "config": {{"filters": {filters}, "kernel_size": {k}, "strides": {s}}}}},
                       {{"class_name": "Flatten"}}, {{"class_name": "Dense", "config": {{"units": {units}}}}}]}}"#);
        let spec = ModelSpec::from_json(&json).unwrap();
        prop_assert_eq!(from_link(&to_fragment(&spec)).unwrap(), spec.clone());
        match Model::from_spec(spec) {
            Ok(m) => prop_assert!(m.param_count() > 0),
            Err(e) => prop_assert!(e.message().contains("layer '") || e.message().contains("model"), "{}", e),
        }
    }
}
