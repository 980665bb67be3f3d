//! conv2d against TensorFlow: `tf.nn.conv2d` outputs recorded by scripts/golden/conv2d_tf.py
//! (TensorFlow 2.21, seeded inputs) in tests/golden/conv2d_tf.json: "same" with the odd pad
//! after, strides, dilations, explicit padding, 1x1, deep 3x3, the chapter's line filters,
//! grouped convolutions and `tf.nn.depthwise_conv2d` with channel multipliers.
//! Runs natively (CPU kernels and WebGPU on lavapipe) and in Node for wasm32 (SIMD128).

use convlab::backend::cpu::{self, CpuKernel};
use convlab::backend::reference;
use convlab::{Conv2dGeometry, Conv2dParams, Padding};
use serde::Deserialize;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[derive(Deserialize)]
struct Golden {
    tensorflow: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x_shape: Vec<usize>,
    x: Vec<f32>,
    filter_shape: Vec<usize>,
    filters: Vec<f32>,
    strides: [usize; 2],
    padding: serde_json::Value,
    dilations: [usize; 2],
    y_shape: Vec<usize>,
    y: Vec<f32>,
    groups: usize,
    depthwise: bool,
}

impl Case {
    fn geometry(&self) -> Conv2dGeometry {
        let padding = match &self.padding {
            serde_json::Value::String(s) if s == "SAME" => Padding::Same,
            serde_json::Value::String(s) if s == "VALID" => Padding::Valid,
            v => {
                let p: [[usize; 2]; 2] =
                    serde_json::from_value(v.clone()).expect("explicit padding");
                Padding::Explicit { top: p[0][0], bottom: p[0][1], left: p[1][0], right: p[1][1] }
            }
        };
        let params = Conv2dParams {
            strides: self.strides,
            dilations: self.dilations,
            padding,
            groups: if self.depthwise { 1 } else { self.groups },
        };
        let geometry = if self.depthwise {
            Conv2dGeometry::depthwise("depthwiseConv2d", &self.x_shape, &self.filter_shape, &params)
        } else {
            Conv2dGeometry::new("conv2d", &self.x_shape, &self.filter_shape, &params)
        };
        let geometry = geometry.expect(&self.name);
        assert_eq!(geometry.groups, self.groups, "{}: groups", self.name);
        geometry
    }

    /// Both TensorFlow and the kernel are within gamma(K+1) * sum|x*w| of the exact value
    /// (f32 summation in any order, Higham 3.1), so they differ by at most twice that.
    fn check(&self, what: &str, got: &[f32]) {
        let g = self.geometry();
        assert_eq!(g.output_shape().to_vec(), self.y_shape, "{what} {}: output shape", self.name);
        let ax: Vec<f64> = self.x.iter().map(|v| v.abs() as f64).collect();
        let aw: Vec<f64> = self.filters.iter().map(|v| v.abs() as f64).collect();
        let abs_sum = reference::conv2d(&g, &ax, &aw);
        let k = (g.fh * g.fw * g.in_per_group() + 1) as f64;
        let u = f32::EPSILON as f64 / 2.0;
        let gamma = k * u / (1.0 - k * u);
        for (i, ((&a, &b), &s)) in got.iter().zip(&self.y).zip(&abs_sum).enumerate() {
            let tol = 2.0 * gamma * s + 1e-30;
            let err = (a as f64 - b as f64).abs();
            assert!(
                err <= tol,
                "{what} {}: output {i} is {a}, TensorFlow {b} (error {err:e} > {tol:e})",
                self.name
            );
        }
    }
}

fn golden() -> Golden {
    serde_json::from_str(include_str!("golden/conv2d_tf.json")).expect("golden file parses")
}

#[test]
fn cpu_kernels_match_tensorflow() {
    let golden = golden();
    assert!(golden.tensorflow.starts_with('2'), "recorded with TensorFlow {}", golden.tensorflow);
    assert_eq!(golden.cases.len(), 16);
    for case in &golden.cases {
        let g = case.geometry();
        let kernels =
            [("scalar", CpuKernel::Scalar), ("tiled", CpuKernel::Tiled), ("gemm", CpuKernel::Gemm)];
        for (what, kernel) in kernels {
            let got = cpu::conv2d(&g, &case.x, &case.filters, kernel).unwrap();
            case.check(what, &got);
        }
    }
}

#[test]
fn the_reference_matches_tensorflow() {
    // The oracle itself is checked against TensorFlow, so that every test built on it is too.
    for case in &golden().cases {
        let g = case.geometry();
        let x: Vec<f64> = case.x.iter().map(|&v| v as f64).collect();
        let w: Vec<f64> = case.filters.iter().map(|&v| v as f64).collect();
        let got: Vec<f32> = reference::conv2d(&g, &x, &w).iter().map(|&v| v as f32).collect();
        case.check("reference", &got);
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn webgpu_matches_tensorflow() {
    let gpu = pollster::block_on(convlab::backend::webgpu::GpuContext::new(""))
        .unwrap_or_else(|e| panic!("{e}: install mesa-vulkan-drivers"));
    for case in golden().cases.iter().filter(|c| c.groups == 1) {
        let got = pollster::block_on(gpu.conv2d(&case.geometry(), &case.x, &case.filters)).unwrap();
        case.check("webgpu", &got);
    }
}
