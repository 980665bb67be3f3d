//! Tensors kept in the core between calls: `convlab.keep({shape, data})` copies a tensor into
//! the core once and answers `{shape, kept}`, which every op takes wherever it takes
//! `{shape, data}`, without copying the data in again; an op with `{keep: true}` answers its
//! result the same way instead of copying it out. This is what TensorFlow.js's and ONNX Runtime
//! Web's tensors do (their data stays in their wasm heap between ops): a chain of layers then
//! copies only its input in and its last output out.
//!
//! The values live in a table of this instance of the core, keyed by a number; only
//! `convlab.dispose(t)` frees an entry (as TensorFlow.js's `dispose`): a handle that is copied
//! or reshaped names the same entry, so freeing on garbage collection of one object could free
//! what another still uses.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Float32Array, Object};
use wasm_bindgen::prelude::*;

use super::args::{self, TensorData};
use super::{js_error, numbers, set};
use crate::error::{Error, Result};

/// A kept tensor's shape and values.
pub struct Kept {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(Default)]
struct Table {
    next: u32,
    entries: HashMap<u32, Rc<Kept>>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// Stores `data` and answers the handle `{shape, kept}`.
pub fn keep(shape: &[usize], data: Vec<f32>) -> JsValue {
    let id = TABLE.with(|t| {
        let mut t = t.borrow_mut();
        // Ids are not reused while the table holds them: skip the (unlikely) taken ones after
        // the counter wraps.
        loop {
            t.next = t.next.wrapping_add(1);
            let id = t.next;
            if id != 0 && !t.entries.contains_key(&id) {
                t.entries.insert(id, Rc::new(Kept { shape: shape.to_vec(), data }));
                return id;
            }
        }
    });
    handle(shape, id)
}

fn handle(shape: &[usize], id: u32) -> JsValue {
    let out = Object::new();
    set(&out, "shape", numbers(shape));
    set(&out, "kept", id);
    out.into()
}

/// The kept tensor `id` names, for argument `arg` of `op`, and the shape to read it with: the
/// kept one, or `shape` if given, which may be any shape of the same element count (a reshape
/// that copies nothing, as `tf.reshape`).
pub fn lookup(
    op: &str,
    arg: &str,
    id: &JsValue,
    shape: &JsValue,
) -> Result<(Vec<usize>, Rc<Kept>)> {
    let key = id
        .as_f64()
        .filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= f64::from(u32::MAX))
        .ok_or_else(|| {
            Error::invalid(
                op,
                arg,
                format!("kept must be the number convlab.keep gave, got {}", args::describe(id)),
            )
        })? as u32;
    let kept = TABLE.with(|t| t.borrow().entries.get(&key).cloned()).ok_or_else(|| {
        Error::invalid(op, arg, format!("kept tensor {key} was disposed (or never kept here)"))
    })?;
    if shape.is_undefined() {
        return Ok((kept.shape.clone(), kept));
    }
    let given = args::shape(op, arg, &handle_shape(shape))?;
    if given.iter().product::<usize>() != kept.data.len() {
        return Err(Error::invalid(
            op,
            arg,
            format!(
                "shape {given:?} does not fit the kept tensor's {} elements (shape {:?})",
                kept.data.len(),
                kept.shape
            ),
        ));
    }
    Ok((given, kept))
}

/// `{shape}` for [`args::shape`], which reads a tensor-like object.
fn handle_shape(shape: &JsValue) -> JsValue {
    let probe = Object::new();
    set(&probe, "shape", shape.clone());
    probe.into()
}

/// `convlab.keep(x)`: copies `{shape, data}` into the core once; answers `{shape, kept}`.
/// A kept tensor given again is answered as it is.
#[wasm_bindgen(js_name = keep, unchecked_return_type = "KeptTensor")]
pub fn keep_tensor(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
) -> std::result::Result<JsValue, JsError> {
    let (shape, data) = args::tensor("keep", "x", &x).map_err(js_error)?;
    Ok(match data {
        TensorData::Kept(_) => x,
        TensorData::Copied(v) => keep(&shape, v),
    })
}

/// `convlab.read(t)`: a kept tensor's values as `{shape, data}` (a copy; the tensor stays kept).
#[wasm_bindgen(js_name = read, unchecked_return_type = "Tensor")]
pub fn read_tensor(
    #[wasm_bindgen(unchecked_param_type = "KeptTensor")] t: JsValue,
) -> std::result::Result<JsValue, JsError> {
    let (shape, data) = args::tensor("read", "t", &t).map_err(js_error)?;
    let out = Object::new();
    set(&out, "shape", numbers(&shape));
    set(&out, "data", Float32Array::from(&data[..]));
    Ok(out.into())
}

/// Copies a kept tensor's values into `out` from element `offset` on (the CPU pool joins the
/// calling thread's share into the result a worker allocated). Not part of `convlab`.
#[doc(hidden)]
#[wasm_bindgen(js_name = readInto)]
pub fn read_into(
    #[wasm_bindgen(unchecked_param_type = "KeptTensor")] t: JsValue,
    out: &Float32Array,
    offset: u32,
) -> std::result::Result<(), JsError> {
    let (_, data) = args::tensor("readInto", "t", &t).map_err(js_error)?;
    super::copy_into("readInto", &data, out, offset).map_err(js_error)
}

/// `convlab.dispose(t)`: frees a kept tensor (true) or says it was not kept (false).
#[wasm_bindgen(js_name = dispose)]
pub fn dispose_tensor(
    #[wasm_bindgen(unchecked_param_type = "KeptTensor | number")] t: JsValue,
) -> bool {
    let id = if t.is_object() { args::get(&t, "kept") } else { t };
    match id.as_f64() {
        Some(v) if v.fract() == 0.0 && v >= 1.0 && v <= f64::from(u32::MAX) => {
            TABLE.with(|table| table.borrow_mut().entries.remove(&(v as u32)).is_some())
        }
        _ => false,
    }
}

/// How many tensors are kept, and their floats (for tests and the memory readout).
#[wasm_bindgen(js_name = keptCount)]
pub fn kept_count() -> Vec<f64> {
    TABLE.with(|t| {
        let t = t.borrow();
        vec![t.entries.len() as f64, t.entries.values().map(|k| k.data.len() as f64).sum()]
    })
}
