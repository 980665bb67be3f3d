//! Tensors kept in the core between calls: `convlab.keep({shape, data})` copies a tensor into
//! the core once and answers `{shape, kept}`, which every op takes wherever it takes
//! `{shape, data}`, without copying the data in again; an op with `{keep: true}` answers its
//! result the same way instead of copying it out. This is what TensorFlow.js's and ONNX Runtime
//! Web's tensors do (their data stays in their wasm heap, or on their GPU, between ops): a chain
//! of layers then copies only its input in and its last output out.
//!
//! The values live in a table of this instance of the core, keyed by a number; only
//! `convlab.dispose(t)` frees an entry (as TensorFlow.js's `dispose`): a handle that is copied
//! or reshaped names the same entry, so freeing on garbage collection of one object could free
//! what another still uses.
//!
//! **Where the values live.** An entry holds a CPU copy, a device copy, or both:
//! - `keep(x)` and an op kept on the CPU path make a CPU copy. The first op on WebGPU that uses
//!   it uploads it once and caches the device copy in the entry, for that [`GpuContext`] only
//!   (a copy made on another context, one dropped after a failure, is never used again).
//! - An op on WebGPU with `keep: true` leaves its result on the device and reads nothing back:
//!   the entry holds only the device copy. Its CPU values are read back (asynchronously) and
//!   cached the first time something needs them: `convlab.read`, an op on the CPU path, the
//!   CPU pool ([`ensure_on_cpu`]).
//! - When the device is lost, an entry with a CPU copy goes on working on the CPU path; one that
//!   lived only on the device cannot be recovered, and what uses it rejects saying so (as
//!   TensorFlow.js's WebGPU tensors, whose values also live only on the GPU).
//!
//! Kept tensors never change, so the two copies never disagree.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Float32Array, Object};
use wasm_bindgen::prelude::*;

use super::args::{self, TensorData};
use super::{js_error, numbers, set, state};
use crate::backend::webgpu::{GpuContext, GpuTensor};
use crate::error::{Error, ErrorKind, Result};

/// A kept tensor: its shape and its values on the CPU, on the device, or both.
pub struct Kept {
    shape: Vec<usize>,
    len: usize,
    /// The values in CPU memory, once there (set once: kept tensors never change).
    host: OnceCell<Vec<f32>>,
    /// The values on a WebGPU device, once uploaded there or computed there.
    device: RefCell<Option<DeviceCopy>>,
}

/// A kept tensor's copy on a device, and the context it belongs to.
struct DeviceCopy {
    gpu: Weak<GpuContext>,
    tensor: GpuTensor,
}

/// A kept tensor as an op's argument: the entry and its number (for messages).
pub struct KeptRef {
    id: u32,
    kept: Rc<Kept>,
}

#[derive(Default)]
struct Table {
    next: u32,
    entries: HashMap<u32, Rc<Kept>>,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

fn insert(kept: Kept) -> u32 {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let kept = Rc::new(kept);
        // Ids are not reused while the table holds them: skip the (unlikely) taken ones after
        // the counter wraps.
        loop {
            t.next = t.next.wrapping_add(1);
            let id = t.next;
            if id != 0 && !t.entries.contains_key(&id) {
                t.entries.insert(id, kept);
                return id;
            }
        }
    })
}

/// Stores `data` (CPU memory) and answers the handle `{shape, kept}`.
pub fn keep(shape: &[usize], data: Vec<f32>) -> JsValue {
    let host = OnceCell::new();
    let len = data.len();
    let _ = host.set(data);
    let id = insert(Kept { shape: shape.to_vec(), len, host, device: RefCell::new(None) });
    handle(shape, id)
}

/// Stores a tensor that an op left on `gpu`'s device (nothing is read back) and answers the
/// handle `{shape, kept}`.
pub fn keep_on_device(
    shape: &[usize],
    tensor: GpuTensor,
    gpu: Weak<GpuContext>,
) -> Result<JsValue> {
    let tensor = tensor.reshaped(shape)?;
    let len = tensor.len();
    let device = RefCell::new(Some(DeviceCopy { gpu, tensor }));
    let id = insert(Kept { shape: shape.to_vec(), len, host: OnceCell::new(), device });
    Ok(handle(shape, id))
}

fn handle(shape: &[usize], id: u32) -> JsValue {
    let out = Object::new();
    set(&out, "shape", numbers(shape));
    set(&out, "kept", id);
    out.into()
}

/// The kept tensor `id` names, for argument `arg` of `op`, and the shape to read it with: the
/// kept one, or `shape` if given, which may be any shape of the same element count (a reshape
/// that copies nothing, as `tf.reshape`, on the CPU and on the device alike).
pub fn lookup(op: &str, arg: &str, id: &JsValue, shape: &JsValue) -> Result<(Vec<usize>, KeptRef)> {
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
    let kept = KeptRef { id: key, kept };
    if shape.is_undefined() {
        return Ok((kept.kept.shape.clone(), kept));
    }
    let given = args::shape(op, arg, &handle_shape(shape))?;
    if given.iter().product::<usize>() != kept.kept.len {
        return Err(Error::invalid(
            op,
            arg,
            format!(
                "shape {given:?} does not fit the kept tensor's {} elements (shape {:?})",
                kept.kept.len, kept.kept.shape
            ),
        ));
    }
    Ok((given, kept))
}

impl KeptRef {
    /// The element count.
    pub fn len(&self) -> usize {
        self.kept.len
    }

    /// The values, if they are in CPU memory now.
    pub fn host(&self, op: &str, arg: &str) -> Result<&[f32]> {
        self.kept.host.get().map(Vec::as_slice).ok_or_else(|| {
            Error::invalid(
                op,
                arg,
                format!(
                    "kept tensor {} is on the WebGPU device only and has not been read back \
                     (await convlab.read(t) first)",
                    self.id
                ),
            )
        })
    }

    /// The values in CPU memory, read back from the device (once; then cached) if they are
    /// only there. A device that is gone, or fails the read-back, rejects naming the tensor.
    pub async fn values(&self, op: &str, arg: &str) -> Result<&[f32]> {
        if let Some(v) = self.kept.host.get() {
            return Ok(v);
        }
        let Some((gpu, tensor)) = self.device_copy(op, arg)? else {
            // Unreachable: an entry holds at least one copy.
            return Err(self.lost(op, arg, "no copy of its values is left".into()));
        };
        let data = match gpu.read(&tensor).await {
            Ok(data) => data,
            Err(e) if e.kind() == ErrorKind::Backend => {
                let why = format!("dropped after a failure: {}", e.message());
                state::with(|s| {
                    if s.gpu.as_ref().is_some_and(|g| Rc::ptr_eq(g, &gpu)) {
                        s.drop_gpu(why.clone());
                    }
                });
                return Err(self.lost(op, arg, why));
            }
            Err(e) => return Err(e),
        };
        // Another call may have read it back meanwhile: the values are the same.
        let _ = self.kept.host.set(data);
        Ok(self.kept.host.get().map(Vec::as_slice).unwrap_or_default())
    }

    /// The tensor on `gpu`'s device, seen with `shape`: the cached device copy, or the CPU
    /// copy uploaded once and cached.
    pub fn on_device(
        &self,
        gpu: &Rc<GpuContext>,
        op: &str,
        arg: &str,
        shape: &[usize],
    ) -> Result<GpuTensor> {
        let current = Rc::downgrade(gpu);
        if let Some(copy) = self.kept.device.borrow().as_ref() {
            if Weak::ptr_eq(&copy.gpu, &current) {
                return copy.tensor.view(shape);
            }
        }
        let Some(host) = self.kept.host.get() else {
            return Err(self.lost(op, arg, lost_reason()));
        };
        let tensor = gpu.upload(op, arg, &self.kept.shape, host)?;
        let view = tensor.view(shape)?;
        *self.kept.device.borrow_mut() = Some(DeviceCopy { gpu: current, tensor });
        Ok(view)
    }

    /// The device copy (seen with the kept shape) and its context, when there is one; the
    /// "lost" error when it was made on a context that is no longer the page's.
    fn device_copy(&self, op: &str, arg: &str) -> Result<Option<(Rc<GpuContext>, GpuTensor)>> {
        let copy = self.kept.device.borrow();
        let Some(copy) = copy.as_ref() else { return Ok(None) };
        let current = state::with(|s| s.gpu.clone());
        match (copy.gpu.upgrade(), current) {
            (Some(gpu), Some(now)) if Rc::ptr_eq(&gpu, &now) => {
                Ok(Some((gpu, copy.tensor.view(&self.kept.shape)?)))
            }
            _ => Err(self.lost(op, arg, lost_reason())),
        }
    }

    fn lost(&self, op: &str, arg: &str, why: String) -> Error {
        Error::invalid(
            op,
            arg,
            format!(
                "kept tensor {} lived only on the WebGPU device, which was lost ({why}); its \
                 values cannot be recovered (read what must outlive the device with \
                 convlab.read first)",
                self.id
            ),
        )
    }
}

/// Why the device that a copy was made on is no longer the page's.
fn lost_reason() -> String {
    state::with(|s| match (&s.gpu, &s.gpu_problem) {
        (None, Some(why)) => why.clone(),
        (None, None) => "WebGPU is not open".into(),
        (Some(_), _) => "a new device replaced it".into(),
    })
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

/// `convlab.read(t)`: a kept tensor's values as `{shape, data}` (a copy; the tensor stays
/// kept). A tensor that lives only on the WebGPU device is read back first (and its values
/// cached in the core).
#[wasm_bindgen(js_name = read, unchecked_return_type = "Tensor & {data: Float32Array}")]
pub async fn read_tensor(
    #[wasm_bindgen(unchecked_param_type = "KeptTensor")] t: JsValue,
) -> std::result::Result<JsValue, JsError> {
    let (shape, data) = args::tensor("read", "t", &t).map_err(js_error)?;
    let values = data.values("read", "t").await.map_err(js_error)?;
    let out = Object::new();
    set(&out, "shape", numbers(&shape));
    set(&out, "data", Float32Array::from(values));
    Ok(out.into())
}

/// Makes sure a kept tensor's values are in CPU memory (read back from the device if they are
/// only there), so that the synchronous internals (`conv2dRows`, `readInto`) can use it. The
/// CPU pool calls it. Not part of `convlab`.
#[doc(hidden)]
#[wasm_bindgen(js_name = ensureOnCpu)]
pub async fn ensure_on_cpu(
    #[wasm_bindgen(unchecked_param_type = "KeptTensor")] t: JsValue,
) -> std::result::Result<(), JsError> {
    let (_, data) = args::tensor("read", "t", &t).map_err(js_error)?;
    data.values("read", "t").await.map_err(js_error)?;
    Ok(())
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
    let values = data.host("readInto", "t").map_err(js_error)?;
    super::copy_into("readInto", values, out, offset).map_err(js_error)
}

/// `convlab.dispose(t)`: frees a kept tensor, both its CPU copy and its device copy, whose
/// buffer goes back to the pool (true), or says it was not kept (false).
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

/// How many tensors are kept, and their floats (for tests and the memory readout), wherever
/// they live.
#[wasm_bindgen(js_name = keptCount)]
pub fn kept_count() -> Vec<f64> {
    TABLE.with(|t| {
        let t = t.borrow();
        vec![t.entries.len() as f64, t.entries.values().map(|k| k.len as f64).sum()]
    })
}
