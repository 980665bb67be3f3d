//! Models from JavaScript: `Model.fromSpec`, `fromUrl`, `fromKerasJson`, and on a model `spec`,
//! `summary`, `summaryText`, `toUrl`, `toKerasCode`, `predict` and `featureMaps`; plus the zoo
//! (`zooNames`, `zooSpec`, which core.js publishes as `convlab.zoo`).
//!
//! Weights are initialised (seeded, Keras's defaults) on the first prediction, and uploaded to
//! the WebGPU device once; a later device loss re-runs the call on the CPU with the same
//! weights. Specs and summaries cross to JS as JSON text parsed by `JSON.parse` (plain objects,
//! and counts past 2^53 stay numbers instead of failing).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{args, js_error, now_ms, op_result, run_on, set, state};
use crate::backend::webgpu::GpuContext;
use crate::error::{Error, Result};
use crate::graph::{self, summary, ModelSpec, SummaryOptions};
use crate::io::{keras_code, keras_export, keras_import, url};
use crate::nn::forward::forward_cpu;
use crate::nn::forward_gpu::{forward_gpu, GpuWeights};
use crate::nn::Weights;
use crate::tensor::Tensor;

#[wasm_bindgen(typescript_custom_section)]
const TS_MODEL: &str = r#"
/** A model spec: see the README's "Model format". */
export type ModelSpec = { format: "convlab-model"; version: number; name?: string; input: { name?: string; shape: number[] }; blocks?: Record<string, unknown>; layers: unknown[]; output?: string };
export interface SummaryOptions { batch?: number; optimizer?: "sgd" | "momentum" | "nesterov" | "rmsprop" | "adam" | "nadam"; }
export interface LayerSummary { name: string; className: string; block: string | null; inputs: string[]; outputShape: number[]; params: number; trainableParams: number; macs: number; activationBytes: number; batchActivationBytes: number; }
export interface ModelSummary {
  name: string; batch: number; optimizer: string; layers: LayerSummary[];
  totals: { params: number; trainableParams: number; nonTrainableParams: number; macs: number; activationBytes: number; batchActivationBytes: number; weightBytes: number; gradientBytes: number; optimizerBytes: number; backwardBytes: number; trainingBytes: number };
  warnings: string[];
}
export interface PredictOptions { backend?: BackendName | "auto"; }
export interface FeatureMapOptions { layers?: string[]; backend?: BackendName | "auto"; }
"#;

struct Inner {
    model: Rc<graph::Model>,
    weights: Option<Rc<Weights>>,
    gpu_weights: Option<(Rc<GpuContext>, Rc<GpuWeights>)>,
}

/// A validated model (see the module docs).
#[wasm_bindgen(js_name = Model)]
pub struct JsModel {
    inner: Rc<RefCell<Inner>>,
}

fn json_to_js(text: &str) -> Result<JsValue> {
    js_sys::JSON::parse(text).map_err(|_| Error::backend("could not hand JSON to JavaScript"))
}

/// A spec given as a JSON string or a plain object.
fn spec_text(op: &str, value: &JsValue) -> Result<String> {
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    if !value.is_object() {
        return Err(Error::invalid(
            op,
            "spec",
            format!("expected an object or JSON text, got {}", args::describe(value)),
        ));
    }
    js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()).ok_or_else(|| {
        Error::invalid(op, "spec", "could not be turned into JSON (a cycle, or a BigInt?)")
    })
}

impl JsModel {
    fn new(model: graph::Model) -> Self {
        Self {
            inner: Rc::new(RefCell::new(Inner {
                model: Rc::new(model),
                weights: None,
                gpu_weights: None,
            })),
        }
    }
}

#[wasm_bindgen(js_class = Model)]
impl JsModel {
    /// Validates a spec (object or JSON text) and infers every shape.
    #[wasm_bindgen(js_name = fromSpec)]
    pub fn from_spec(
        #[wasm_bindgen(unchecked_param_type = "ModelSpec | string")] spec: JsValue,
    ) -> std::result::Result<JsModel, JsError> {
        let text = spec_text("Model.fromSpec", &spec).map_err(js_error)?;
        graph::Model::from_json(&text).map(Self::new).map_err(js_error)
    }

    /// The model a share link carries (a URL, `#model=...` or `model=...`).
    #[wasm_bindgen(js_name = fromUrl)]
    pub fn from_url(link: &str) -> std::result::Result<JsModel, JsError> {
        let spec = url::from_link(link).map_err(js_error)?;
        graph::Model::from_spec(spec)
            .map(Self::new)
            .map_err(|e| JsError::new(&format!("link: {}", e.message())))
    }

    /// The architecture of a Keras `model.to_json()` (text or parsed object).
    #[wasm_bindgen(js_name = fromKerasJson)]
    pub fn from_keras_json(
        #[wasm_bindgen(unchecked_param_type = "string | object")] json: JsValue,
    ) -> std::result::Result<JsModel, JsError> {
        let text = spec_text("Model.fromKerasJson", &json).map_err(js_error)?;
        let spec = keras_import::from_keras_json(&text).map_err(js_error)?;
        graph::Model::from_spec(spec).map(Self::new).map_err(js_error)
    }

    /// The model that Keras Python code builds (`keras.Sequential([...])`, the Functional API,
    /// `model.add(...)`), read without running Python: see `io::keras_code`.
    #[wasm_bindgen(js_name = fromKerasCode)]
    pub fn from_keras_code(code: &str) -> std::result::Result<JsModel, JsError> {
        let spec = keras_code::from_keras_code(code).map_err(js_error)?;
        graph::Model::from_spec(spec).map(Self::new).map_err(js_error)
    }

    /// The spec as a plain object.
    #[wasm_bindgen(unchecked_return_type = "ModelSpec")]
    pub fn spec(&self) -> std::result::Result<JsValue, JsError> {
        json_to_js(&self.inner.borrow().model.spec().to_json()).map_err(js_error)
    }

    /// Per-layer shapes, parameters, multiply-adds and memory, totals and training memory.
    #[wasm_bindgen(unchecked_return_type = "ModelSummary")]
    pub fn summary(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SummaryOptions | undefined")] options: JsValue,
    ) -> std::result::Result<JsValue, JsError> {
        let s = self.summarize(&options).map_err(js_error)?;
        json_to_js(&serde_json::to_string(&s).unwrap_or_default()).map_err(js_error)
    }

    /// The summary as text, laid out like Keras's `model.summary()`.
    #[wasm_bindgen(js_name = summaryText)]
    pub fn summary_text(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SummaryOptions | undefined")] options: JsValue,
    ) -> std::result::Result<String, JsError> {
        self.summarize(&options).map(|s| summary::summary_text(&s)).map_err(js_error)
    }

    /// The spec as indented JSON text (for a file to download).
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.borrow().model.spec().to_json_pretty()
    }

    /// The share-link fragment, `#model=1.<data>`.
    #[wasm_bindgen(js_name = toUrl)]
    pub fn to_url(&self) -> String {
        format!("#{}", url::to_fragment(self.inner.borrow().model.spec()))
    }

    /// Keras 3 Python code that builds the same model.
    #[wasm_bindgen(js_name = toKerasCode)]
    pub fn to_keras_code(&self) -> String {
        keras_export::to_keras_code(&self.inner.borrow().model)
    }

    /// Runs the model on a batch `x` (`{shape: [n, ...input], data}`): `{shape, data, backend, ms}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<OpResult>")]
    pub fn predict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PredictOptions | undefined")] options: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let start = now_ms();
            let options = args::options("predict", &options, &["backend"]).map_err(into_js)?;
            let (out, _, backend) =
                run(&inner, "predict", &x, &options, &[]).await.map_err(into_js)?;
            Ok(op_result(out.shape(), out.data(), backend, now_ms() - start))
        })
    }

    /// Each named layer's output for `x` (default: every layer but the input):
    /// `{name: {shape, data, backend, ms}}` (`ms` is the whole pass's time, on each).
    #[wasm_bindgen(js_name = featureMaps, unchecked_return_type = "Promise<Record<string, OpResult>>")]
    pub fn feature_maps(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FeatureMapOptions | undefined")] options: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let start = now_ms();
            let op = "featureMaps";
            let options = args::options(op, &options, &["layers", "backend"]).map_err(into_js)?;
            let keep = layer_indices(&inner.borrow().model, &options).map_err(into_js)?;
            let (_, maps, backend) = run(&inner, op, &x, &options, &keep).await.map_err(into_js)?;
            let out = Object::new();
            let model = &inner.borrow().model;
            let ms = now_ms() - start;
            for (&i, map) in keep.iter().zip(&maps) {
                set(&out, &model.nodes()[i].name, op_result(map.shape(), map.data(), backend, ms));
            }
            Ok(out.into())
        })
    }

    /// The weights as a safetensors file (initialised first if the model has none yet).
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> std::result::Result<Vec<u8>, JsError> {
        let (model, weights) = self.model_and_weights().map_err(js_error)?;
        crate::io::safetensors::save(&model, &weights).map_err(js_error)
    }

    /// Replaces the weights with a safetensors file's (names, shapes and dtypes checked; the
    /// error names each tensor at fault).
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: &[u8]) -> std::result::Result<(), JsError> {
        let mut b = self.inner.borrow_mut();
        let weights = crate::io::safetensors::load(&b.model, bytes).map_err(js_error)?;
        b.weights = Some(Rc::new(weights));
        b.gpu_weights = None;
        Ok(())
    }

    /// Accuracy, loss and confusion matrix on a data set (inference mode, CPU path).
    #[wasm_bindgen(unchecked_return_type = "EvaluationResult")]
    pub fn evaluate(
        &self,
        data: &super::training::JsDataset,
    ) -> std::result::Result<JsValue, JsError> {
        let (model, weights) = self.model_and_weights().map_err(js_error)?;
        super::training::evaluation(&model, &weights, &data.inner)
    }

    /// Names of the layers in topological order (the input first).
    #[wasm_bindgen(js_name = layerNames)]
    pub fn layer_names(&self) -> Vec<String> {
        self.inner.borrow().model.nodes().iter().map(|n| n.name.clone()).collect()
    }

    /// A copy of the model and its weights (initialised on first use).
    pub(super) fn model_and_weights(&self) -> Result<(graph::Model, Weights)> {
        let mut b = self.inner.borrow_mut();
        if b.weights.is_none() {
            let w = Weights::init(&b.model, 0)?;
            b.weights = Some(Rc::new(w));
        }
        let weights =
            b.weights.as_ref().map(|w| (**w).clone()).unwrap_or(Weights { values: Vec::new() });
        Ok(((*b.model).clone(), weights))
    }

    fn summarize(&self, options: &JsValue) -> Result<summary::Summary> {
        const OP: &str = "summary";
        let options = args::options(OP, options, &["batch", "optimizer"])?;
        let batch = args::optional_integer(OP, &options, "batch", 1)?.unwrap_or(32);
        let optimizer = args::string(OP, &options, "optimizer")?.unwrap_or_else(|| "adam".into());
        let optimizer_slots = crate::train::OptimizerKind::keras(&optimizer)?.slots() as u64;
        let max_buffer_bytes = state::with(|s| s.gpu.as_ref().map(|g| g.limits().max_buffer_size));
        graph::summarize(
            &self.inner.borrow().model,
            SummaryOptions { batch: batch as u64, optimizer, optimizer_slots, max_buffer_bytes },
        )
    }
}

pub(super) fn into_js(e: Error) -> JsValue {
    js_error(e).into()
}

fn layer_indices(model: &graph::Model, options: &JsValue) -> Result<Vec<usize>> {
    let layers = js_sys::Reflect::get(options, &"layers".into()).unwrap_or(JsValue::UNDEFINED);
    if layers.is_undefined() {
        return Ok((1..model.nodes().len()).collect());
    }
    let array: js_sys::Array = layers.dyn_into().map_err(|v| {
        Error::invalid(
            "featureMaps",
            "layers",
            format!("expected an array of layer names, got {}", args::describe(&v)),
        )
    })?;
    array
        .iter()
        .map(|v| {
            let name = v.as_string().unwrap_or_default();
            model.node_index(&name).ok_or_else(|| {
                Error::invalid(
                    "featureMaps",
                    "layers",
                    format!("{} is not a layer of this model", args::describe(&v)),
                )
            })
        })
        .collect()
}

/// One forward pass on the requested or active backend, with the weights made on first use.
async fn run(
    inner: &Rc<RefCell<Inner>>,
    op: &str,
    x: &JsValue,
    options: &JsValue,
    keep: &[usize],
) -> Result<(Tensor, Vec<Tensor>, crate::backend::BackendKind)> {
    let requested = args::backend(op, options)?;
    let (shape, data) = args::tensor(op, "x", x)?;
    let x = Tensor::new(op, "x", shape, data.into_vec(op, "x").await?)?;
    crate::nn::forward::check_input(&inner.borrow().model, x.shape())?;
    let weights = {
        let mut b = inner.borrow_mut();
        if b.weights.is_none() {
            let w = Weights::init(&b.model, 0)?;
            b.weights = Some(Rc::new(w));
        }
        Rc::clone(b.weights.as_ref().expect("just set"))
    };
    let ((y, maps), backend) = run_on(
        op,
        requested,
        async |gpu| {
            let gw = gpu_weights(inner, &gpu, &weights)?;
            let model = Rc::clone(&inner.borrow().model);
            forward_gpu(&gpu, &model, &gw, &x, keep).await
        },
        async || forward_cpu(&inner.borrow().model, &weights, &x, keep),
    )
    .await?;
    Ok((y, maps, backend))
}

/// The model's weights on `gpu`, uploaded on first use (and again on a new device).
fn gpu_weights(
    inner: &Rc<RefCell<Inner>>,
    gpu: &Rc<GpuContext>,
    weights: &Weights,
) -> Result<Rc<GpuWeights>> {
    let mut b = inner.borrow_mut();
    if let Some((device, w)) = &b.gpu_weights {
        if Rc::ptr_eq(device, gpu) {
            return Ok(Rc::clone(w));
        }
    }
    let uploaded = Rc::new(GpuWeights::upload(gpu, &b.model, weights)?);
    b.gpu_weights = Some((Rc::clone(gpu), Rc::clone(&uploaded)));
    Ok(uploaded)
}

/// The zoo's model names.
#[wasm_bindgen(js_name = zooNames)]
pub fn zoo_names() -> Vec<String> {
    crate::zoo::names().iter().map(|s| s.to_string()).collect()
}

/// A zoo model's spec as a plain object.
#[wasm_bindgen(js_name = zooSpec, unchecked_return_type = "ModelSpec")]
pub fn zoo_spec(name: &str) -> std::result::Result<JsValue, JsError> {
    let spec: ModelSpec = crate::zoo::spec(name).ok_or_else(|| {
        JsError::new(&format!(
            "zoo: no model named {name:?}; the zoo has {}",
            crate::zoo::names().join(", ")
        ))
    })?;
    json_to_js(&spec.to_json()).map_err(js_error)
}
