//! Keras Python code that builds the same model as a spec.
