//! The ONNX operator conformance tests (onnx==1.22.0's `backend/test/data/node` and
//! `pytorch-converted`, extracted to .cache/onnx by scripts/fetch-onnx.sh, which `make test`
//! runs) against convlab's kernels, on both backends: the CPU path, then WebGPU (natively
//! through wgpu on Mesa's lavapipe). Every 2-D float case of the ops the chapter needs runs;
//! each case convlab's ops cannot express is listed with the reason, and the counts are printed.
//!
//! Tolerance: the ONNX backend test runner's own, `|got - want| <= 1e-7 + 1e-3 |want|`
//! (onnx/backend/test/runner, `assert_allclose(rtol=1e-3, atol=1e-7)`).
//! Layouts: ONNX is NCHW with OIHW weights; inputs are moved to NHWC/HWIO before the kernel
//! and the outputs back, so the kernels run exactly as convlab uses them.
#![cfg(not(target_arch = "wasm32"))]

mod onnx;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use convlab::backend::cpu::{self, CpuKernel};
use convlab::backend::webgpu::{GpuContext, PoolKind};
use convlab::ops::activation::Activation;
use convlab::ops::dense::DenseGeometry;
use convlab::ops::norm::{BatchNormParams, LrnParams};
use convlab::ops::pool::{Pool2dGeometry, Pool2dParams};
use convlab::ops::reshape::flatten_shape;
use convlab::{Conv2dGeometry, Conv2dParams, Padding};
use onnx::layout::{broadcast, channels_first, channels_last, oihw_to_hwio, transpose};
use onnx::proto::{Model, Node, Tensor, BOOL, FLOAT};

/// What a case came to.
enum Outcome {
    /// Outputs as (dims, data); bool outputs as floats 0/1.
    Ran(Vec<(Vec<usize>, Vec<f32>)>),
    Skip(String),
}

type Run = Result<Outcome, String>;

fn skip(reason: impl Into<String>) -> Run {
    Ok(Outcome::Skip(reason.into()))
}

fn err(e: convlab::Error) -> String {
    e.message().to_string()
}

/// The backend a pass runs on: each method is the CPU function of the same name, or the same op
/// on the GPU (inputs uploaded, result read back).
struct Exec<'a> {
    gpu: Option<&'a GpuContext>,
}

type Out = Result<Vec<f32>, convlab::Error>;
/// Training-mode batch norm's outputs: `(y, moving mean, moving variance)`.
type TrainingOut = Result<(Vec<f32>, Vec<f32>, Vec<f32>), convlab::Error>;

impl Exec<'_> {
    fn gpu_run(
        &self,
        gpu: &GpuContext,
        f: impl AsyncFnOnce(&GpuContext) -> Result<convlab::backend::webgpu::GpuTensor, convlab::Error>,
    ) -> Out {
        pollster::block_on(async { gpu.read(&f(gpu).await?).await })
    }

    fn conv2d(&self, g: &Conv2dGeometry, x: &[f32], w: &[f32]) -> Out {
        match self.gpu {
            None => cpu::conv2d(g, x, w, CpuKernel::Auto),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload("conv2d", "x", &g.input_shape(), x)?;
                let wt = gpu.upload("conv2d", "filters", &g.filter_shape(), w)?;
                gpu.conv2d_tensors(g, &xt, &wt).await
            }),
        }
    }

    fn pool(&self, g: &Pool2dGeometry, x: &[f32], max: bool) -> Out {
        match self.gpu {
            None if max => cpu::max_pool2d(g, x),
            None => cpu::avg_pool2d(g, x),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload("pool", "x", &g.input_shape(), x)?;
                gpu.pool2d(if max { PoolKind::Max } else { PoolKind::Avg }, g, &xt).await
            }),
        }
    }

    fn global_pool(&self, shape: [usize; 4], x: &[f32], max: bool) -> Out {
        match self.gpu {
            None if max => cpu::global_max_pool(shape, x),
            None => cpu::global_avg_pool(shape, x),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload("pool", "x", &shape, x)?;
                gpu.global_pool(if max { PoolKind::Max } else { PoolKind::Avg }, &xt).await
            }),
        }
    }

    fn lrn(&self, x: &[f32], c: usize, p: &LrnParams) -> Out {
        match self.gpu {
            None => cpu::lrn(x, c, p),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload("lrn", "x", &[x.len() / c, c], x)?;
                gpu.lrn(&xt, p).await
            }),
        }
    }

    fn batch_norm(&self, x: &[f32], c: usize, v: [&[f32]; 4], eps: f32) -> Out {
        let [gamma, beta, mean, var] = v;
        match self.gpu {
            None => cpu::batch_norm(x, c, gamma, beta, mean, var, eps),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let up = |d: &[f32], shape: &[usize]| gpu.upload("batchNorm", "x", shape, d);
                let xt = up(x, &[x.len() / c, c])?;
                let (g, b, m, s) =
                    (up(gamma, &[c])?, up(beta, &[c])?, up(mean, &[c])?, up(var, &[c])?);
                gpu.batch_norm(&xt, &g, &b, &m, &s, eps).await
            }),
        }
    }

    /// Training-mode batch norm: `(y, moving mean, moving variance)`.
    fn batch_norm_training(
        &self,
        x: &[f32],
        c: usize,
        v: [&[f32]; 4],
        params: &BatchNormParams,
    ) -> TrainingOut {
        let [gamma, beta, mean, var] = v;
        match self.gpu {
            None => {
                let (mut mm, mut mv) = (mean.to_vec(), var.to_vec());
                let out = cpu::batch_norm_training(x, c, gamma, beta, params, &mut mm, &mut mv)?;
                Ok((out.y, mm, mv))
            }
            Some(gpu) => pollster::block_on(async {
                let up = |d: &[f32], shape: &[usize]| gpu.upload("batchNorm", "x", shape, d);
                let xt = up(x, &[x.len() / c, c])?;
                let (g, b, m, s) =
                    (up(gamma, &[c])?, up(beta, &[c])?, up(mean, &[c])?, up(var, &[c])?);
                let out = gpu.batch_norm_training(&xt, &g, &b, params, &m, &s).await?;
                Ok((
                    gpu.read(&out.y).await?,
                    gpu.read(&out.moving_mean).await?,
                    gpu.read(&out.moving_variance).await?,
                ))
            }),
        }
    }

    fn activation(&self, a: Activation, x: &[f32], last: usize) -> Out {
        match self.gpu {
            None => {
                let mut y = x.to_vec();
                cpu::activation_in_place(a, &mut y, last)?;
                Ok(y)
            }
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload(a.name(), "x", &[x.len() / last, last], x)?;
                gpu.activation(a, &xt, None).await
            }),
        }
    }

    fn zero_pad(&self, x: &[f32], shape: [usize; 4], pads: [[usize; 2]; 2]) -> Out {
        match self.gpu {
            None => cpu::zero_pad(x, shape, pads),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload("zeroPadding", "x", &shape, x)?;
                gpu.zero_pad(&xt, pads).await
            }),
        }
    }

    fn dense(&self, g: &DenseGeometry, x: &[f32], w: &[f32]) -> Out {
        match self.gpu {
            None => cpu::dense(g, x, w, None),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let xt = gpu.upload("dense", "x", &[g.batch, g.inputs], x)?;
                let wt = gpu.upload("dense", "weights", &[g.inputs, g.units], w)?;
                gpu.dense(&xt, &wt, None, Activation::Linear).await
            }),
        }
    }

    fn concat(&self, parts: &[&[f32]], channels: &[usize]) -> Out {
        match self.gpu {
            None => cpu::concat(parts, channels),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let rows = parts[0].len() / channels[0];
                let ts = parts
                    .iter()
                    .zip(channels)
                    .map(|(p, &c)| gpu.upload("concatenate", "x", &[rows, c], p))
                    .collect::<Result<Vec<_>, _>>()?;
                gpu.concat(&ts.iter().collect::<Vec<_>>()).await
            }),
        }
    }

    /// `a + b` or `a * b`, element-wise (same lengths).
    fn elementwise(&self, a: &[f32], b: &[f32], add: bool) -> Out {
        let n = a.len();
        match self.gpu {
            None if add => cpu::add(a, b, &[n], &[n]),
            None => cpu::channel_scale(a, b, n, 1),
            Some(gpu) => self.gpu_run(gpu, async |gpu| {
                let (at, bt) =
                    (gpu.upload("add", "a", &[n, 1], a)?, gpu.upload("add", "b", &[n, 1], b)?);
                if add {
                    gpu.add(&at, &bt).await
                } else {
                    gpu.channel_scale(&at, &bt).await
                }
            }),
        }
    }
}

fn data_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/onnx/onnx/backend/test/data");
    assert!(
        root.join("node").is_dir(),
        "the ONNX conformance data is missing at {}: run scripts/fetch-onnx.sh (make test does)",
        root.display()
    );
    root
}

/// The ONNX padding attributes of a 2-D window op as convlab's Padding.
fn padding(node: &Node) -> Result<Padding, String> {
    match node.string("auto_pad").as_deref().unwrap_or("NOTSET") {
        "SAME_UPPER" => Ok(Padding::Same),
        "VALID" => Ok(Padding::Valid),
        "SAME_LOWER" => Err("auto_pad SAME_LOWER puts the odd pad first; TensorFlow's \"same\" (SAME_UPPER) puts it last".into()),
        _ => {
            let p = node.ints("pads").unwrap_or_else(|| vec![0; 4]);
            if p.len() != 4 {
                return Err(format!("{}-D pads", p.len() / 2));
            }
            let u = |i: usize| p[i] as usize;
            Ok(Padding::Explicit { top: u(0), left: u(1), bottom: u(2), right: u(3) })
        }
    }
}

fn pair(node: &Node, name: &str) -> [usize; 2] {
    match node.ints(name) {
        Some(v) if v.len() == 2 => [v[0] as usize, v[1] as usize],
        _ => [1, 1],
    }
}

fn float_input(inputs: &[Tensor], i: usize) -> Result<&Tensor, String> {
    let t = inputs.get(i).ok_or(format!("missing input {i}"))?;
    if t.data_type != FLOAT {
        return Err(format!("data type {}", t.data_type));
    }
    Ok(t)
}

fn conv(ex: &Exec, node: &Node, inputs: &[Tensor]) -> Run {
    let (x, w) = (float_input(inputs, 0)?, float_input(inputs, 1)?);
    if x.dims.len() != 4 {
        return skip(format!("{}-D convolution (convlab's conv is 2-D)", x.dims.len() - 2));
    }
    let padding = match padding(node) {
        Ok(p) => p,
        Err(why) => return skip(why),
    };
    let params = Conv2dParams {
        strides: pair(node, "strides"),
        dilations: pair(node, "dilations"),
        padding,
        groups: node.int("group", 1) as usize,
    };
    let [n, c, h, wd] = [x.dims[0], x.dims[1], x.dims[2], x.dims[3]];
    let hwio = [w.dims[2], w.dims[3], w.dims[1], w.dims[0]];
    let g = Conv2dGeometry::new("conv2d", &[n, h, wd, c], &hwio, &params).map_err(err)?;
    let xs = channels_last(&x.f32s()?, &x.dims);
    let ws = oihw_to_hwio(&w.f32s()?, &w.dims);
    let mut y = ex.conv2d(&g, &xs, &ws).map_err(err)?;
    // The scalar contract must agree too.
    let scalar = cpu::conv2d(&g, &xs, &ws, CpuKernel::Scalar).map_err(err)?;
    if let Some(b) = inputs.get(2) {
        let bias = b.f32s()?;
        cpu::add_bias(&mut y, &bias).map_err(err)?;
        let mut s = scalar;
        cpu::add_bias(&mut s, &bias).map_err(err)?;
        compare("scalar kernel", &s, &y)?;
    } else {
        compare("scalar kernel", &scalar, &y)?;
    }
    let out = [n, g.out_c, g.out_h, g.out_w];
    Ok(Outcome::Ran(vec![(out.to_vec(), channels_first(&y, &out))]))
}

fn pool(ex: &Exec, node: &Node, inputs: &[Tensor], max: bool) -> Run {
    let x = match float_input(inputs, 0) {
        Ok(x) => x,
        Err(why) => return skip(why),
    };
    if x.dims.len() != 4 {
        return skip(format!("{}-D pooling (convlab's pooling is 2-D)", x.dims.len() - 2));
    }
    if node.outputs.len() > 1 {
        return skip("the argmax indices output (MaxPool with 2 outputs)");
    }
    if node.int("ceil_mode", 0) != 0 {
        return skip("ceil_mode=1 (TensorFlow's output sizes round down)");
    }
    if pair(node, "dilations") != [1, 1] {
        return skip("dilated pooling (Keras and tf.nn pooling have none)");
    }
    if !max && node.int("count_include_pad", 0) != 0 {
        return skip("count_include_pad=1 (TensorFlow averages only the cells inside the input)");
    }
    let padding = match padding(node) {
        Ok(p) => p,
        Err(why) => return skip(why),
    };
    let params = Pool2dParams {
        pool_size: pair(node, "kernel_shape"),
        strides: pair(node, "strides"),
        padding,
    };
    let [n, c, h, w] = [x.dims[0], x.dims[1], x.dims[2], x.dims[3]];
    let g = match Pool2dGeometry::new("pool", &[n, h, w, c], &params) {
        Ok(g) => g,
        Err(e) if e.message().contains("smaller than the pool size") => {
            return skip("padding as large as the window (a window of padding only)")
        }
        Err(e) => return Err(err(e)),
    };
    let xs = channels_last(&x.f32s()?, &x.dims);
    let y = ex.pool(&g, &xs, max).map_err(err)?;
    let out = [n, c, g.out_h, g.out_w];
    Ok(Outcome::Ran(vec![(out.to_vec(), channels_first(&y, &out))]))
}

fn global_pool(ex: &Exec, inputs: &[Tensor], max: bool) -> Run {
    let x = float_input(inputs, 0)?;
    if x.dims.len() != 4 {
        return skip(format!("{}-D global pooling", x.dims.len() - 2));
    }
    let [n, c, h, w] = [x.dims[0], x.dims[1], x.dims[2], x.dims[3]];
    let xs = channels_last(&x.f32s()?, &x.dims);
    let y = ex.global_pool([n, h, w, c], &xs, max).map_err(err)?;
    Ok(Outcome::Ran(vec![(vec![n, c, 1, 1], y)]))
}

fn lrn(ex: &Exec, node: &Node, inputs: &[Tensor]) -> Run {
    let x = float_input(inputs, 0)?;
    let size = node.int("size", 1) as usize;
    if size.is_multiple_of(2) {
        return skip("an even LRN window (asymmetric around the channel)");
    }
    // ONNX divides alpha by the window size; TensorFlow does not.
    let p = LrnParams {
        depth_radius: (size - 1) / 2,
        bias: node.float("bias", 1.0),
        alpha: node.float("alpha", 1e-4) / size as f32,
        beta: node.float("beta", 0.75),
    };
    let xs = channels_last(&x.f32s()?, &x.dims);
    let y = ex.lrn(&xs, x.dims[1], &p).map_err(err)?;
    Ok(Outcome::Ran(vec![(x.dims.clone(), channels_first(&y, &x.dims))]))
}

fn batch_norm(ex: &Exec, node: &Node, inputs: &[Tensor]) -> Run {
    let x = float_input(inputs, 0)?;
    let v = |i| float_input(inputs, i).and_then(|t| t.f32s());
    let (gamma, beta, mean, var) = (v(1)?, v(2)?, v(3)?, v(4)?);
    let c = x.dims[1];
    let eps = node.float("epsilon", 1e-5);
    let xs = channels_last(&x.f32s()?, &x.dims);
    if node.int("training_mode", 0) == 0 {
        let y = ex.batch_norm(&xs, c, [&gamma, &beta, &mean, &var], eps).map_err(err)?;
        return Ok(Outcome::Ran(vec![(x.dims.clone(), channels_first(&y, &x.dims))]));
    }
    let params = BatchNormParams { epsilon: eps, momentum: node.float("momentum", 0.9) };
    let (y, mm, mv) =
        ex.batch_norm_training(&xs, c, [&gamma, &beta, &mean, &var], &params).map_err(err)?;
    Ok(Outcome::Ran(vec![
        (x.dims.clone(), channels_first(&y, &x.dims)),
        (vec![c], mm),
        (vec![c], mv),
    ]))
}

fn activation(ex: &Exec, node: &Node, inputs: &[Tensor], a: Activation, opset: i64) -> Run {
    let x = float_input(inputs, 0)?;
    let mut data = x.f32s()?;
    let rank = x.dims.len() as i64;
    if a != Activation::Softmax {
        let len = data.len();
        let y = ex.activation(a, &data, len).map_err(err)?;
        return Ok(Outcome::Ran(vec![(x.dims.clone(), y)]));
    }
    let default_axis = if opset >= 13 { -1 } else { 1 };
    let axis = node.int("axis", default_axis);
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    let inner: usize = x.dims[axis..].iter().product();
    if opset < 13 || axis + 1 == x.dims.len() {
        // Before opset 13 softmax ran over everything from `axis` on, as rows; since, over one
        // axis, which is the last here: rows either way.
        let y = ex.activation(a, &data, inner).map_err(err)?;
        return Ok(Outcome::Ran(vec![(x.dims.clone(), y)]));
    }
    // Softmax over an inner axis: move it last, normalise, move it back.
    let (outer, len, after) = (data.len() / inner, x.dims[axis], inner / x.dims[axis]);
    let mut moved = vec![0.0; data.len()];
    #[allow(clippy::needless_range_loop)]
    for o in 0..outer {
        for k in 0..len {
            for p in 0..after {
                moved[(o * after + p) * len + k] = data[(o * len + k) * after + p];
            }
        }
    }
    let moved = ex.activation(a, &moved, len).map_err(err)?;
    for o in 0..outer {
        for k in 0..len {
            for p in 0..after {
                data[(o * len + k) * after + p] = moved[(o * after + p) * len + k];
            }
        }
    }
    Ok(Outcome::Ran(vec![(x.dims.clone(), data)]))
}

fn selu(ex: &Exec, node: &Node, inputs: &[Tensor], opset: i64) -> Run {
    // convlab's SELU has Klambauer et al.'s fixed constants (as Keras); ONNX's are attributes.
    let (alpha, gamma) = (node.float("alpha", 1.673_263_2), node.float("gamma", 1.050_701));
    if (alpha - 1.673_263_2).abs() > 1e-6 || (gamma - 1.050_701).abs() > 1e-6 {
        return skip(format!("SELU with other constants (alpha {alpha}, gamma {gamma})"));
    }
    activation(ex, node, inputs, Activation::Selu, opset)
}

fn pad(ex: &Exec, node: &Node, inputs: &[Tensor]) -> Run {
    let x = float_input(inputs, 0)?;
    let mode = node.string("mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return skip(format!("{mode} padding (ZeroPadding2D pads with zeros)"));
    }
    // Opset < 11 carries pads and value as attributes; later ones as inputs.
    let pads = match node.ints("pads") {
        Some(p) => p,
        None => inputs.get(1).map(|t| t.ints.clone()).unwrap_or_default(),
    };
    let value = node.float("value", 0.0);
    if x.dims.len() != 4 || pads.len() != 8 || value != 0.0 {
        return skip("padding other than zeros around the rows and columns of a 4-D tensor");
    }
    if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 || pads.iter().any(|&p| p < 0) {
        return skip("padding of the batch or channel axes, or negative (cropping) pads");
    }
    let [n, c, h, w] = [x.dims[0], x.dims[1], x.dims[2], x.dims[3]];
    let p = [[pads[2] as usize, pads[6] as usize], [pads[3] as usize, pads[7] as usize]];
    let y = ex.zero_pad(&channels_last(&x.f32s()?, &x.dims), [n, h, w, c], p).map_err(err)?;
    let out = [n, c, h + p[0][0] + p[0][1], w + p[1][0] + p[1][1]];
    Ok(Outcome::Ran(vec![(out.to_vec(), channels_first(&y, &out))]))
}

fn gemm(ex: &Exec, node: &Node, inputs: &[Tensor]) -> Run {
    let (a, b) = (float_input(inputs, 0)?, float_input(inputs, 1)?);
    if a.dims.len() != 2 || b.dims.len() != 2 {
        return skip(format!(
            "{}-D x {}-D MatMul (dense takes [batch, features] x [in, units])",
            a.dims.len(),
            b.dims.len()
        ));
    }
    let (mut ad, mut bd) = (a.f32s()?, b.f32s()?);
    let (mut am, mut bm) = (a.dims.clone(), b.dims.clone());
    if node.int("transA", 0) != 0 {
        ad = transpose(&ad, am[0], am[1]);
        am.reverse();
    }
    if node.int("transB", 0) != 0 {
        bd = transpose(&bd, bm[0], bm[1]);
        bm.reverse();
    }
    let g = DenseGeometry::new("dense", &am, &bm).map_err(err)?;
    let mut y = ex.dense(&g, &ad, &bd).map_err(err)?;
    let (alpha, beta) = (node.float("alpha", 1.0), node.float("beta", 1.0));
    let target = [g.batch, g.units];
    let c = match inputs.get(2) {
        Some(c) => broadcast(&c.f32s()?, &c.dims, &target).ok_or("C does not broadcast")?,
        None => vec![0.0; y.len()],
    };
    y.iter_mut().zip(&c).for_each(|(v, c)| *v = alpha * *v + beta * c);
    Ok(Outcome::Ran(vec![(target.to_vec(), y)]))
}

fn concat(ex: &Exec, node: &Node, inputs: &[Tensor]) -> Run {
    let rank = inputs[0].dims.len() as i64;
    let axis = node.int("axis", 0);
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    // Concatenation along `axis` is concatenation along the last axis of each input viewed as
    // [prod(dims[..axis]), dims[axis] * prod(dims[axis + 1..])].
    let inner: usize = inputs[0].dims[axis + 1..].iter().product();
    let data: Vec<Vec<f32>> = inputs.iter().map(|t| t.f32s()).collect::<Result<_, _>>()?;
    let channels: Vec<usize> = inputs.iter().map(|t| t.dims[axis] * inner).collect();
    let parts: Vec<&[f32]> = data.iter().map(|d| d.as_slice()).collect();
    let y = ex.concat(&parts, &channels).map_err(err)?;
    let mut dims = inputs[0].dims.clone();
    dims[axis] = inputs.iter().map(|t| t.dims[axis]).sum();
    Ok(Outcome::Ran(vec![(dims, y)]))
}

fn elementwise(ex: &Exec, inputs: &[Tensor], add: bool) -> Run {
    let (a, b) = (&inputs[0], &inputs[1]);
    if a.data_type != FLOAT || b.data_type != FLOAT {
        return skip(format!("integer tensors (data type {})", a.data_type));
    }
    let target = if a.dims.len() >= b.dims.len() { a.dims.clone() } else { b.dims.clone() };
    let ad = broadcast(&a.f32s()?, &a.dims, &target).ok_or("a does not broadcast")?;
    let bd = broadcast(&b.f32s()?, &b.dims, &target).ok_or("b does not broadcast")?;
    // Multiplication is the per-channel scale with one channel per element.
    let y = ex.elementwise(&ad, &bd, add).map_err(err)?;
    Ok(Outcome::Ran(vec![(target, y)]))
}

fn flatten(node: &Node, inputs: &[Tensor]) -> Run {
    let x = float_input(inputs, 0)?;
    let dims = flatten_shape("flatten", &x.dims, node.int("axis", 1)).map_err(err)?;
    Ok(Outcome::Ran(vec![(dims.to_vec(), x.f32s()?)]))
}

fn dropout(node: &Node, inputs: &[Tensor]) -> Run {
    let x = float_input(inputs, 0)?;
    let ratio = match inputs.get(1) {
        Some(r) if r.data_type == FLOAT => r.f32s()?[0],
        _ => node.float("ratio", 0.5),
    };
    let training =
        inputs.get(2).is_some_and(|t| t.data_type == BOOL && t.bools().first() == Some(&true));
    if training && ratio > 0.0 {
        return skip("a random training mask drawn by the reference implementation's generator");
    }
    let (y, keep) = cpu::dropout_forward(&x.f32s()?, ratio, training, 0).map_err(err)?;
    let mut outs = vec![(x.dims.clone(), y)];
    if node.outputs.len() > 1 {
        outs.push((x.dims.clone(), keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect()));
    }
    Ok(Outcome::Ran(outs))
}

fn run_node(ex: &Exec, node: &Node, inputs: &[Tensor], opset: i64) -> Run {
    match node.op_type.as_str() {
        "Conv" => conv(ex, node, inputs),
        "MaxPool" => pool(ex, node, inputs, true),
        "AveragePool" => pool(ex, node, inputs, false),
        "GlobalAveragePool" => global_pool(ex, inputs, false),
        "GlobalMaxPool" => global_pool(ex, inputs, true),
        "LRN" => lrn(ex, node, inputs),
        "BatchNormalization" => batch_norm(ex, node, inputs),
        "Relu" => activation(ex, node, inputs, Activation::Relu, opset),
        "Sigmoid" => activation(ex, node, inputs, Activation::Sigmoid, opset),
        "Softmax" => activation(ex, node, inputs, Activation::Softmax, opset),
        "Tanh" => activation(ex, node, inputs, Activation::Tanh, opset),
        "Elu" => {
            activation(ex, node, inputs, Activation::Elu { alpha: node.float("alpha", 1.0) }, opset)
        }
        "LeakyRelu" => activation(
            ex,
            node,
            inputs,
            Activation::LeakyRelu { alpha: node.float("alpha", 0.01) },
            opset,
        ),
        "Selu" => selu(ex, node, inputs, opset),
        "Pad" => pad(ex, node, inputs),
        "Gemm" | "MatMul" => gemm(ex, node, inputs),
        "Concat" => concat(ex, node, inputs),
        "Add" => elementwise(ex, inputs, true),
        "Mul" => elementwise(ex, inputs, false),
        "Flatten" => flatten(node, inputs),
        "Dropout" => dropout(node, inputs),
        other => skip(format!("op {other} is not among the chapter's ops")),
    }
}

/// `|got - want| <= 1e-7 + 1e-3 |want|`, the ONNX backend runner's tolerance.
fn compare(what: &str, got: &[f32], want: &[f32]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        // NaN anywhere fails: the comparison is written so that it must be true to pass.
        let within = (g - w).abs() <= 1e-7 + 1e-3 * w.abs();
        if !within {
            return Err(format!("{what}[{i}] = {g}, expected {w}"));
        }
    }
    Ok(())
}

/// Runs one test directory: Ok(None) when it passed, Ok(Some(reason)) when skipped.
fn run_case(ex: &Exec, dir: &Path) -> Result<Option<String>, String> {
    let model = Model::parse(&std::fs::read(dir.join("model.onnx")).map_err(|e| e.to_string())?)?;
    if model.nodes.len() != 1 {
        let ops: Vec<&str> = model.nodes.iter().map(|n| n.op_type.as_str()).collect();
        return Ok(Some(format!(
            "a graph of {} nodes ({}), not a single op",
            ops.len(),
            ops.join(", ")
        )));
    }
    let node = &model.nodes[0];
    let data = dir.join("test_data_set_0");
    let read = |name: String| -> Result<Tensor, String> {
        Tensor::parse(&std::fs::read(data.join(name)).map_err(|e| e.to_string())?)
    };
    // Graph inputs: initializers (weights in pytorch-converted models) or input_K.pb in order.
    let initial: HashMap<&str, &Tensor> =
        model.initializers.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut fed = 0;
    let mut values: HashMap<String, Tensor> = HashMap::new();
    for name in &model.inputs {
        if let Some(t) = initial.get(name.as_str()) {
            values.insert(name.clone(), (*t).clone());
        } else {
            values.insert(name.clone(), read(format!("input_{fed}.pb"))?);
            fed += 1;
        }
    }
    for t in &model.initializers {
        values.entry(t.name.clone()).or_insert_with(|| t.clone());
    }
    let inputs: Vec<Tensor> = node
        .inputs
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| values.get(n).cloned().ok_or(format!("input {n} not found")))
        .collect::<Result<_, _>>()?;
    let outputs = match run_node(ex, node, &inputs, model.opset)? {
        Outcome::Skip(why) => return Ok(Some(why)),
        Outcome::Ran(outputs) => outputs,
    };
    for (k, (dims, got)) in outputs.iter().enumerate() {
        let want = read(format!("output_{k}.pb"))?;
        if &want.dims != dims {
            return Err(format!("output {k}: shape {dims:?}, expected {:?}", want.dims));
        }
        let want_data = if want.data_type == BOOL {
            want.bools().iter().map(|&b| if b { 1.0 } else { 0.0 }).collect()
        } else {
            want.f32s()?
        };
        compare(&format!("output {k}"), got, &want_data)?;
    }
    Ok(None)
}

/// Runs every case on one backend and prints the counts; returns the number passed.
fn conformance(ex: &Exec, name: &str) -> usize {
    let root = data_root();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for sub in ["node", "pytorch-converted"] {
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.join("model.onnx").is_file() {
                dirs.push(path);
            }
        }
    }
    dirs.sort();
    let mut per_op: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut failed = Vec::new();
    for dir in &dirs {
        let case = dir.file_name().unwrap().to_string_lossy().into_owned();
        let op = Model::parse(&std::fs::read(dir.join("model.onnx")).unwrap())
            .map(|m| m.nodes.first().map(|n| n.op_type.clone()).unwrap_or_default())
            .unwrap_or_default();
        let entry = per_op.entry(op).or_default();
        match run_case(ex, dir) {
            Ok(None) => entry.0 += 1,
            Ok(Some(why)) => {
                entry.1 += 1;
                skipped.push(format!("{case}: {why}"));
            }
            Err(why) => failed.push(format!("{case}: {why}")),
        }
    }
    println!("ONNX conformance (onnx 1.22.0) on {name}: per first op, passed / skipped");
    for (op, (pass, skip)) in &per_op {
        println!("  {op:<20} {pass:>3} passed {skip:>3} skipped");
    }
    println!("skipped on {name}, with the reason:");
    for s in &skipped {
        println!("  {s}");
    }
    let passed: usize = per_op.values().map(|v| v.0).sum();
    println!(
        "ONNX conformance on {name}: {passed} passed, {} failed, {} skipped",
        failed.len(),
        skipped.len()
    );
    assert!(failed.is_empty(), "failed cases on {name}:\n{}", failed.join("\n"));
    // The suite must really run: the chapter's 2-D float cases are well over a hundred.
    assert!(passed >= 100, "only {passed} cases ran on {name}; is the data complete?");
    passed
}

#[test]
fn onnx_operator_conformance() {
    let on_cpu = conformance(&Exec { gpu: None }, "the CPU path");
    let gpu = pollster::block_on(GpuContext::new("")).unwrap_or_else(|e| {
        panic!("{e}: install Mesa's Vulkan drivers (apt-get install mesa-vulkan-drivers)")
    });
    let on_gpu =
        conformance(&Exec { gpu: Some(&gpu) }, &format!("WebGPU ({})", gpu.adapter().name));
    // The same cases run on both: each backend has every kernel the runner calls.
    assert_eq!(on_cpu, on_gpu, "the two backends passed different numbers of cases");
}
