//! Import of a Keras `model.to_json()` architecture into a spec.
