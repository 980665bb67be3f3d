//! Reading JavaScript arguments into the core's types, with errors that name the op, the
//! argument and the value received. Nothing here trusts the caller: every number is checked to
//! be a finite integer in range before it becomes a `usize`.

use js_sys::{Array, Float32Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::backend::webgpu::{GpuContext, GpuTensor};
use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::tensor::{element_count, Padding};

/// A short description of a JS value for error messages: its JSON text (cut to 80 characters)
/// or its type.
pub fn describe(value: &JsValue) -> String {
    if value.is_undefined() {
        return "undefined".into();
    }
    if value.is_instance_of::<Float32Array>() {
        let len = value.unchecked_ref::<Float32Array>().length();
        return format!("a Float32Array of length {len}");
    }
    if let Some(s) = value.as_string() {
        return format!("{s:?}");
    }
    if let Some(v) = value.as_f64() {
        // JSON would print NaN and the infinities as null; say what was passed.
        return if v.is_nan() {
            "NaN".into()
        } else if v.is_infinite() {
            (if v > 0.0 { "Infinity" } else { "-Infinity" }).into()
        } else {
            format!("{v}")
        };
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| value.js_typeof().as_string().unwrap_or_default());
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A size, stride or padding: a finite integer in `min..=2^31`.
fn integer(op: &str, arg: &str, value: &JsValue, min: u32) -> Result<usize> {
    match value.as_f64() {
        Some(v)
            if v.is_finite() && v.fract() == 0.0 && v >= f64::from(min) && v <= 2_147_483_648.0 =>
        {
            Ok(v as usize)
        }
        _ => Err(Error::invalid(
            op,
            arg,
            format!("expected an integer >= {min}, got {}", describe(value)),
        )),
    }
}

/// The `shape` of a `{shape, data}` argument: an array of at most 8 sizes, each an integer
/// >= 1, whose product is within the tensor cap.
pub fn shape(op: &str, arg: &str, value: &JsValue) -> Result<Vec<usize>> {
    if !value.is_object() {
        return Err(Error::invalid(
            op,
            arg,
            format!("expected {{shape, data}}, got {}", describe(value)),
        ));
    }
    let shape_value = get(value, "shape");
    if !Array::is_array(&shape_value) {
        return Err(Error::invalid(
            op,
            arg,
            format!("shape must be an array of sizes, got {}", describe(&shape_value)),
        ));
    }
    let shape_array: Array = shape_value.unchecked_into();
    if shape_array.length() > 8 {
        return Err(Error::invalid(
            op,
            arg,
            format!("shape has rank {}, at most 8 is supported", shape_array.length()),
        ));
    }
    let mut shape = Vec::new();
    for (axis, dim) in shape_array.iter().enumerate() {
        shape.push(integer(op, &format!("{arg}.shape[{axis}]"), &dim, 1)?);
    }
    element_count(op, arg, &shape)?;
    Ok(shape)
}

/// A tensor argument's values: copied in from JS, or kept in the core ([`super::kept`]), where
/// they may live in CPU memory, on the WebGPU device, or both.
pub enum TensorData {
    /// A copy of `{shape, data}`'s data.
    Copied(Vec<f32>),
    /// A kept tensor, shared with its table entry.
    Kept(super::kept::KeptRef),
}

impl TensorData {
    /// The element count.
    pub fn len(&self) -> usize {
        match self {
            TensorData::Copied(v) => v.len(),
            TensorData::Kept(k) => k.len(),
        }
    }

    /// The values if they are in CPU memory now (synchronous callers: the CPU pool's shares);
    /// a kept tensor that lives only on the device is refused, saying to read it first.
    pub fn host(&self, op: &str, arg: &str) -> Result<&[f32]> {
        match self {
            TensorData::Copied(v) => Ok(v),
            TensorData::Kept(k) => k.host(op, arg),
        }
    }

    /// The values in CPU memory, a kept tensor's read back from the device first if they live
    /// only there (see [`super::kept`]).
    pub async fn values(&self, op: &str, arg: &str) -> Result<&[f32]> {
        match self {
            TensorData::Copied(v) => Ok(v),
            TensorData::Kept(k) => k.values(op, arg).await,
        }
    }

    /// [`Self::into_vec`] for synchronous callers: a kept tensor must be in CPU memory now
    /// (see [`Self::host`]).
    pub fn into_host_vec(self, op: &str, arg: &str) -> Result<Vec<f32>> {
        match self {
            TensorData::Copied(v) => Ok(v),
            TensorData::Kept(k) => Ok(k.host(op, arg)?.to_vec()),
        }
    }

    /// The values as an owned vector (a copy for a kept tensor).
    pub async fn into_vec(self, op: &str, arg: &str) -> Result<Vec<f32>> {
        match self {
            TensorData::Copied(v) => Ok(v),
            TensorData::Kept(k) => Ok(k.values(op, arg).await?.to_vec()),
        }
    }

    /// The values on `gpu`'s device with `shape`: uploaded (a copied tensor, each call), or a
    /// kept tensor's device copy (uploaded once, then reused; a free reshape).
    pub fn on_device(
        &self,
        gpu: &std::rc::Rc<GpuContext>,
        op: &str,
        arg: &str,
        shape: &[usize],
    ) -> Result<GpuTensor> {
        match self {
            TensorData::Copied(v) => gpu.upload(op, arg, shape, v),
            TensorData::Kept(k) => k.on_device(gpu, op, arg, shape),
        }
    }
}

/// `{shape: number[], data: Float32Array | number[]}` into a shape and a copy of the data, or
/// a kept tensor `{shape, kept}` ([`super::kept`]) into its shape and values (no copy).
pub fn tensor(op: &str, arg: &str, value: &JsValue) -> Result<(Vec<usize>, TensorData)> {
    if value.is_object() {
        let kept = get(value, "kept");
        if !kept.is_undefined() {
            let (shape, k) = super::kept::lookup(op, arg, &kept, &get(value, "shape"))?;
            return Ok((shape, TensorData::Kept(k)));
        }
    }
    let shape = shape(op, arg, value)?;
    let count = element_count(op, arg, &shape)?;
    let data = get(value, "data");
    let typed: Float32Array = if data.is_instance_of::<Float32Array>() {
        data.unchecked_into()
    } else if Array::is_array(&data) {
        let array: &Array = data.unchecked_ref();
        // Checked before the length so that a huge array is not walked when it cannot fit.
        if array.length() as usize == count {
            if let Some((i, v)) = array.iter().enumerate().find(|(_, v)| v.as_f64().is_none()) {
                return Err(Error::invalid(
                    op,
                    arg,
                    format!("data[{i}] is {}, not a number", describe(&v)),
                ));
            }
        }
        Float32Array::new(&data)
    } else {
        return Err(Error::invalid(
            op,
            arg,
            format!(
                "data must be a Float32Array (or an array of numbers), got {}",
                describe(&data)
            ),
        ));
    };
    if typed.length() as usize != count {
        return Err(Error::invalid(
            op,
            arg,
            format!("data has {} elements but shape {shape:?} needs {count}", typed.length()),
        ));
    }
    Ok((shape, TensorData::Copied(typed.to_vec())))
}

/// `keep` (a forward op's option): answer the result as a kept tensor. Defaults to false.
pub fn keep(op: &str, options: &JsValue) -> Result<bool> {
    let value = get(options, "keep");
    if value.is_undefined() {
        return Ok(false);
    }
    value.as_bool().ok_or_else(|| {
        Error::invalid(op, "keep", format!("expected true or false, got {}", describe(&value)))
    })
}

/// An options object: `undefined`/`null` or a plain object whose keys are all in `allowed`.
pub fn options(op: &str, value: &JsValue, allowed: &[&str]) -> Result<JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(Object::new().into());
    }
    if !value.is_object() || Array::is_array(value) {
        return Err(Error::invalid(
            op,
            "options",
            format!("expected an object, got {}", describe(value)),
        ));
    }
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(Error::invalid(
                op,
                "options",
                format!("unknown option {key:?}; the options are {}", allowed.join(", ")),
            ));
        }
    }
    Ok(value.clone())
}

/// `strides` / `dilations`: a number, a pair, or TensorFlow's `[1, h, w, 1]`. Defaults to 1.
pub fn pair(op: &str, options: &JsValue, key: &str) -> Result<[usize; 2]> {
    let value = get(options, key);
    if value.is_undefined() {
        return Ok([1, 1]);
    }
    let bad = || {
        Error::invalid(
            op,
            key,
            format!("expected a positive integer or a pair of them, got {}", describe(&value)),
        )
    };
    if value.as_f64().is_some() {
        let v = integer(op, key, &value, 1).map_err(|_| bad())?;
        return Ok([v, v]);
    }
    if !Array::is_array(&value) {
        return Err(bad());
    }
    let items: Vec<JsValue> = value.unchecked_ref::<Array>().iter().collect();
    let ints: Vec<usize> =
        items.iter().map(|v| integer(op, key, v, 1)).collect::<Result<_>>().map_err(|_| bad())?;
    match ints.as_slice() {
        [v] => Ok([*v, *v]),
        [h, w] => Ok([*h, *w]),
        [1, h, w, 1] => Ok([*h, *w]),
        _ => Err(bad()),
    }
}

/// An optional integer option `>= min`, such as `groups`.
pub fn optional_integer(op: &str, options: &JsValue, key: &str, min: u32) -> Result<Option<usize>> {
    let value = get(options, key);
    if value.is_undefined() {
        return Ok(None);
    }
    integer(op, key, &value, min).map(Some)
}

/// An optional number option (finite).
pub fn optional_number(op: &str, options: &JsValue, key: &str) -> Result<Option<f32>> {
    let value = get(options, key);
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(v) if v.is_finite() => Ok(Some(v as f32)),
        _ => Err(Error::invalid(
            op,
            key,
            format!("expected a finite number, got {}", describe(&value)),
        )),
    }
}

/// An optional string option.
pub fn string(op: &str, options: &JsValue, key: &str) -> Result<Option<String>> {
    let value = get(options, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| {
        Error::invalid(op, key, format!("expected a string, got {}", describe(&value)))
    })
}

/// An optional vector option: a Float32Array, an array of numbers, or a tensor (`{shape, data}`
/// or kept).
pub fn vector(op: &str, options: &JsValue, key: &str) -> Result<Option<TensorData>> {
    let value = get(options, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if value.is_instance_of::<Float32Array>() {
        return Ok(Some(TensorData::Copied(value.unchecked_into::<Float32Array>().to_vec())));
    }
    if Array::is_array(&value) {
        let array: &Array = value.unchecked_ref();
        if array.length() as usize > crate::tensor::MAX_TENSOR_ELEMENTS {
            return Err(Error::limit(op, key, "has more elements than the cap"));
        }
        if let Some((i, v)) = array.iter().enumerate().find(|(_, v)| v.as_f64().is_none()) {
            return Err(Error::invalid(
                op,
                key,
                format!("element {i} is {}, not a number", describe(&v)),
            ));
        }
        return Ok(Some(TensorData::Copied(Float32Array::new(&value).to_vec())));
    }
    if value.is_object() && !get(&value, "shape").is_undefined() {
        return Ok(Some(tensor(op, key, &value)?.1));
    }
    Err(Error::invalid(
        op,
        key,
        format!("expected a Float32Array or an array of numbers, got {}", describe(&value)),
    ))
}

/// A required number-or-pair option (such as `poolSize`).
pub fn required_pair(op: &str, options: &JsValue, key: &str) -> Result<[usize; 2]> {
    if get(options, key).is_undefined() {
        return Err(Error::invalid(op, key, "is required (a positive integer or a pair of them)"));
    }
    pair(op, options, key)
}

/// `padding`: "same", "valid" (any case), `[[top, bottom], [left, right]]`, or TensorFlow's
/// four pairs `[[0, 0], [top, bottom], [left, right], [0, 0]]`. Defaults to "valid", as
/// `tf.nn.conv2d` requires it to be given and "valid" is the no-surprise choice.
pub fn padding(op: &str, options: &JsValue) -> Result<Padding> {
    let value = get(options, "padding");
    if value.is_undefined() {
        return Ok(Padding::Valid);
    }
    let bad = || {
        Error::invalid(
            op,
            "padding",
            format!(
                "expected \"same\", \"valid\" or [[top, bottom], [left, right]] of integers >= 0, got {}",
                describe(&value)
            ),
        )
    };
    if let Some(s) = value.as_string() {
        return match s.to_ascii_lowercase().as_str() {
            "same" => Ok(Padding::Same),
            "valid" => Ok(Padding::Valid),
            _ => Err(bad()),
        };
    }
    if !Array::is_array(&value) {
        return Err(bad());
    }
    let mut pairs = Vec::new();
    for item in value.unchecked_ref::<Array>().iter() {
        if !Array::is_array(&item) {
            return Err(bad());
        }
        let ints: Vec<usize> = item
            .unchecked_ref::<Array>()
            .iter()
            .map(|v| integer(op, "padding", &v, 0))
            .collect::<Result<_>>()
            .map_err(|_| bad())?;
        let [a, b] = ints.as_slice() else {
            return Err(bad());
        };
        pairs.push((*a, *b));
    }
    let (rows, cols) = match pairs.as_slice() {
        [r, c] => (*r, *c),
        [(0, 0), r, c, (0, 0)] => (*r, *c),
        _ => return Err(bad()),
    };
    Ok(Padding::Explicit { top: rows.0, bottom: rows.1, left: cols.0, right: cols.1 })
}

/// `backend`: "webgpu", "cpu", or "auto"/absent (`None`: the active backend).
pub fn backend(op: &str, options: &JsValue) -> Result<Option<BackendKind>> {
    let value = get(options, "backend");
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_string().as_deref() {
        Some("auto") => Ok(None),
        Some("cpu") => Ok(Some(BackendKind::Cpu)),
        Some("webgpu") => Ok(Some(BackendKind::WebGpu)),
        _ => Err(Error::invalid(
            op,
            "backend",
            format!("expected \"webgpu\", \"cpu\" or \"auto\", got {}", describe(&value)),
        )),
    }
}
