//! The "Look inside" view's calls on a model: `model.inspect(x, {backend})` (every layer's
//! output with the time it took on the backend that ran it, see [`crate::nn::inspect`]) and
//! `model.gradCam(x, {classIndex, layer})` (see [`crate::nn::gradcam`]; CPU path).
//!
//! Both work on a copy of the model and its weights (`model_and_weights`), and `inspect`
//! uploads the weights to the device on each call: a diagnostic pass, not the fast one.

use js_sys::{Array, Float32Array, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::model::{into_js, JsModel};
use super::{args, js_error, now_ms, numbers, run_on, set};
use crate::error::{Error, Result};
use crate::graph::Model;
use crate::nn::forward::check_input;
use crate::nn::forward_gpu::GpuWeights;
use crate::nn::gradcam::{grad_cam, GradCamOptions};
use crate::nn::inspect::{forward_cpu_timed, forward_gpu_timed, LayerRun};
use crate::tensor::Tensor;

#[wasm_bindgen(typescript_custom_section)]
const TS_INSIDE: &str = r#"
export interface InspectOptions { backend?: BackendName | "auto"; }
/** One layer of `model.inspect`: its output and the time it took (ms; on WebGPU up to its read-back; gpuMs from timestamp queries). */
export interface LayerRun { name: string; className: string; shape: number[]; data: Float32Array; ms: number; gpuMs?: number; }
export interface InspectResult { backend: BackendName; ms: number; layers: LayerRun[]; }
export interface GradCamOptions { classIndex?: number; layer?: string; }
export interface GradCamResult { layer: string; classIndex: number; score: number; logits: Float32Array; channelWeights: Float32Array; camShape: number[]; cam: Float32Array; heatmapShape: number[]; heatmap: Float32Array; backend: "cpu"; ms: number; }
"#;

async fn input_tensor(op: &str, model: &Model, x: &JsValue) -> Result<Tensor> {
    let (shape, data) = args::tensor(op, "x", x)?;
    model_input(op, model, shape, data.into_vec(op, "x").await?)
}

/// [`input_tensor`] for synchronous callers (a kept `x` must be in CPU memory).
fn input_tensor_now(op: &str, model: &Model, x: &JsValue) -> Result<Tensor> {
    let (shape, data) = args::tensor(op, "x", x)?;
    model_input(op, model, shape, data.into_host_vec(op, "x")?)
}

fn model_input(op: &str, model: &Model, shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor> {
    let x = Tensor::new(op, "x", shape, data)?;
    check_input(model, x.shape())?;
    Ok(x)
}

fn layer_run(model: &Model, i: usize, run: &LayerRun) -> Object {
    let node = &model.nodes()[i];
    let o = Object::new();
    set(&o, "name", node.name.as_str());
    set(&o, "className", node.layer.class_name());
    set(&o, "shape", numbers(run.output.shape()));
    set(&o, "data", Float32Array::from(run.output.data()));
    set(&o, "ms", run.ms);
    if let Some(g) = run.gpu_ms {
        set(&o, "gpuMs", g);
    }
    o
}

#[wasm_bindgen(js_class = Model)]
impl JsModel {
    /// Every layer's output for `x` (the input first) and the time each took on the backend
    /// that ran it: `{backend, ms, layers: [{name, className, shape, data, ms, gpuMs?}]}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<InspectResult>")]
    pub fn inspect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
        #[wasm_bindgen(unchecked_param_type = "InspectOptions | undefined")] options: JsValue,
    ) -> Promise {
        const OP: &str = "inspect";
        let pair = self.model_and_weights();
        future_to_promise(async move {
            let start = now_ms();
            let (model, weights) = pair.map_err(into_js)?;
            let options = args::options(OP, &options, &["backend"]).map_err(into_js)?;
            let requested = args::backend(OP, &options).map_err(into_js)?;
            let x = input_tensor(OP, &model, &x).await.map_err(into_js)?;
            let clock: &dyn Fn() -> f64 = &now_ms;
            let (runs, backend) = run_on(
                OP,
                requested,
                async |gpu| {
                    let gw = GpuWeights::upload(&gpu, &model, &weights)?;
                    forward_gpu_timed(&gpu, &model, &gw, &x, clock).await
                },
                async || forward_cpu_timed(&model, &weights, &x, clock),
            )
            .await
            .map_err(into_js)?;
            let layers: Array =
                runs.iter().enumerate().map(|(i, r)| layer_run(&model, i, r)).collect();
            let out = Object::new();
            set(&out, "backend", backend.name());
            set(&out, "ms", now_ms() - start);
            set(&out, "layers", layers);
            Ok(out.into())
        })
    }

    /// Grad-CAM of one image (`x` a batch of one) for `classIndex` (default: the predicted
    /// class) at `layer` (default: the last layer with a spatial output). CPU path.
    #[wasm_bindgen(js_name = gradCam, unchecked_return_type = "GradCamResult")]
    pub fn grad_cam(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
        #[wasm_bindgen(unchecked_param_type = "GradCamOptions | undefined")] options: JsValue,
    ) -> std::result::Result<JsValue, JsError> {
        self.grad_cam_inner(&x, &options).map_err(js_error)
    }
}

impl JsModel {
    fn grad_cam_inner(&self, x: &JsValue, options: &JsValue) -> Result<JsValue> {
        const OP: &str = "gradCam";
        let start = now_ms();
        let (model, weights) = self.model_and_weights()?;
        let options = args::options(OP, options, &["classIndex", "layer"])?;
        let class = args::optional_integer(OP, &options, "classIndex", 0)?;
        let layer = match args::string(OP, &options, "layer")? {
            None => None,
            Some(name) => Some(model.node_index(&name).ok_or_else(|| {
                Error::invalid(OP, "layer", format!("{name:?} is not a layer of this model"))
            })?),
        };
        let x = input_tensor_now(OP, &model, x)?;
        let cam = grad_cam(&model, &weights, &x, GradCamOptions { class, layer })?;
        let out = Object::new();
        set(&out, "layer", model.nodes()[cam.layer].name.as_str());
        set(&out, "classIndex", cam.class as f64);
        set(&out, "score", cam.score);
        set(&out, "logits", Float32Array::from(cam.logits.as_slice()));
        set(&out, "channelWeights", Float32Array::from(cam.channel_weights.as_slice()));
        set(&out, "camShape", numbers(&cam.cam_shape));
        set(&out, "cam", Float32Array::from(cam.cam.as_slice()));
        set(&out, "heatmapShape", numbers(&cam.heatmap_shape));
        set(&out, "heatmap", Float32Array::from(cam.heatmap.as_slice()));
        set(&out, "backend", "cpu");
        set(&out, "ms", now_ms() - start);
        Ok(out.into())
    }
}
