//! Every WebGPU op against the CPU path (itself checked against the f64 reference in
//! tests/gradients.rs and tests/conv2d_cpu.rs), on random problems, natively through wgpu on
//! Mesa's lavapipe. Tolerances are relative to the largest magnitude involved: the GPU's
//! `exp` and summation order differ from the CPU's, so 1e-5 of the scale per accumulated term
//! (a few float32 ulps per operation).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Rng, ACTIVATIONS};
use convlab::backend::cpu;
use convlab::backend::webgpu::{GpuContext, GpuTensor};
use convlab::ops::activation::Activation;
use pollster::block_on;

fn context() -> GpuContext {
    block_on(GpuContext::new("")).unwrap_or_else(|e| {
        panic!("{e}: install Mesa's Vulkan drivers (apt-get install mesa-vulkan-drivers)")
    })
}

fn up(gpu: &GpuContext, shape: &[usize], data: &[f32]) -> GpuTensor {
    gpu.upload("test", "x", shape, data).unwrap()
}

fn read(gpu: &GpuContext, t: &GpuTensor) -> Vec<f32> {
    block_on(gpu.read(t)).unwrap()
}

/// Asserts `got` is within `rel` of `want`, relative to the largest |want| (at least 1).
#[track_caller]
fn close(what: &str, got: &[f32], want: &[f32], rel: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * scale,
            "{what}: element {i} is {g}, the CPU path gives {w} (tolerance {})",
            rel * scale
        );
    }
}

#[test]
fn activations_forward_backward_and_bias_match_the_cpu_path() {
    let gpu = context();
    let mut rng = Rng::new(11);
    for a in ACTIVATIONS {
        for _ in 0..4 {
            let (rows, last) = (rng.range(1, 40), rng.range(1, 70));
            let shape = [rows, last];
            // Spread beyond [-6, 6] so that relu6, tanh and sigmoid saturate somewhere.
            let x: Vec<f32> = rng.vec(rows * last).iter().map(|v| v * 9.0).collect();
            let bias = rng.vec(last);
            let xt = up(&gpu, &shape, &x);
            let bt = up(&gpu, &[last], &bias);

            let mut want = x.clone();
            cpu::activation_in_place(a, &mut want, last).unwrap();
            let yt = block_on(gpu.activation(a, &xt, None)).unwrap();
            close(&format!("{} forward", a.name()), &read(&gpu, &yt), &want, 1e-5);

            let mut biased: Vec<f32> =
                x.iter().enumerate().map(|(i, v)| v + bias[i % last]).collect();
            cpu::activation_in_place(a, &mut biased, last).unwrap();
            let ybt = block_on(gpu.activation(a, &xt, Some(&bt))).unwrap();
            close(&format!("{} with bias", a.name()), &read(&gpu, &ybt), &biased, 1e-5);

            let dy = rng.vec(rows * last);
            let dyt = up(&gpu, &shape, &dy);
            let want_dx = cpu::activation_backward(a, &x, &want, &dy, last).unwrap();
            let dxt = block_on(gpu.activation_backward(a, &xt, &yt, &dyt)).unwrap();
            close(&format!("{} backward", a.name()), &read(&gpu, &dxt), &want_dx, 1e-5);
        }
    }
    // Every kernel was compiled once, however often it ran.
    assert!(gpu.pipelines_compiled() <= 5, "{} pipelines", gpu.pipelines_compiled());
    let (reused, created, _) = gpu.pool_stats();
    assert!(reused > created, "the pool reused {reused} buffers and created {created}");
}

#[test]
fn mismatched_shapes_are_refused_before_the_gpu() {
    let gpu = context();
    let x = up(&gpu, &[2, 3], &[0.0; 6]);
    let b = up(&gpu, &[4], &[0.0; 4]);
    let e = block_on(gpu.activation(Activation::Relu, &x, Some(&b))).unwrap_err();
    assert!(e.message().contains("'bias'") && e.message().contains("(3)"), "{e}");
    let e = gpu.upload("relu", "x", &[2, 3], &[0.0; 5]).unwrap_err();
    assert!(e.message().contains("5 elements"), "{e}");
    let e = gpu.upload("relu", "x", &[2, 0], &[]).unwrap_err();
    assert!(e.message().contains("no elements"), "{e}");
}

fn random_pool(rng: &mut Rng) -> convlab::ops::pool::Pool2dGeometry {
    use convlab::ops::pool::{Pool2dGeometry, Pool2dParams};
    use convlab::Padding;
    loop {
        let pool_size = [rng.range(1, 4), rng.range(1, 4)];
        let padding = match rng.range(0, 3) {
            0 => Padding::Same,
            1 => Padding::Valid,
            _ => Padding::Explicit {
                top: rng.range(0, pool_size[0]),
                bottom: rng.range(0, pool_size[0]),
                left: rng.range(0, pool_size[1]),
                right: rng.range(0, pool_size[1]),
            },
        };
        let params =
            Pool2dParams { pool_size, strides: [rng.range(1, 4), rng.range(1, 4)], padding };
        // Channel counts in whole vec4s (the four-channel kernels) and not.
        let c = rng.pick(&[1, 2, 3, 4, 5, 8, 9, 12]);
        let x = [rng.range(1, 3), rng.range(1, 12), rng.range(1, 12), c];
        if let Ok(g) = Pool2dGeometry::new("t", &x, &params) {
            return g;
        }
    }
}

#[test]
fn pooling_forward_and_backward_match_the_cpu_path() {
    use convlab::backend::webgpu::PoolKind;
    let gpu = context();
    let mut rng = Rng::new(12);
    for _ in 0..60 {
        let g = random_pool(&mut rng);
        let x = rng.vec(g.input_shape().iter().product());
        let dy = rng.vec(g.output_shape().iter().product());
        let (xt, dyt) = (up(&gpu, &g.input_shape(), &x), up(&gpu, &g.output_shape(), &dy));
        for kind in [PoolKind::Max, PoolKind::Avg] {
            let (want, want_dx) = match kind {
                PoolKind::Max => (
                    cpu::max_pool2d(&g, &x).unwrap(),
                    cpu::max_pool2d_backward(&g, &x, &dy).unwrap(),
                ),
                PoolKind::Avg => {
                    (cpu::avg_pool2d(&g, &x).unwrap(), cpu::avg_pool2d_backward(&g, &dy).unwrap())
                }
            };
            let y = block_on(gpu.pool2d(kind, &g, &xt)).unwrap();
            close(&format!("{kind:?} pool {g:?}"), &read(&gpu, &y), &want, 1e-6);
            let dx = block_on(gpu.pool2d_backward(kind, &g, &xt, &dyt)).unwrap();
            close(&format!("{kind:?} pool backward {g:?}"), &read(&gpu, &dx), &want_dx, 1e-5);
        }
        let shape = g.input_shape();
        let dyg = rng.vec(shape[0] * shape[3]);
        let dygt = up(&gpu, &[shape[0], shape[3]], &dyg);
        for kind in [PoolKind::Max, PoolKind::Avg] {
            let (want, want_dx) = match kind {
                PoolKind::Max => (
                    cpu::global_max_pool(shape, &x).unwrap(),
                    cpu::global_max_pool_backward(shape, &x, &dyg).unwrap(),
                ),
                PoolKind::Avg => (
                    cpu::global_avg_pool(shape, &x).unwrap(),
                    cpu::global_avg_pool_backward(shape, &dyg).unwrap(),
                ),
            };
            let y = block_on(gpu.global_pool(kind, &xt)).unwrap();
            close(&format!("global {kind:?} {shape:?}"), &read(&gpu, &y), &want, 1e-5);
            let dx = block_on(gpu.global_pool_backward(kind, &xt, &dygt)).unwrap();
            close(&format!("global {kind:?} backward {shape:?}"), &read(&gpu, &dx), &want_dx, 1e-5);
        }
    }
    // A dy of the wrong shape is refused naming the argument.
    let params = convlab::ops::pool::Pool2dParams {
        pool_size: [2, 2],
        strides: [2, 2],
        padding: convlab::Padding::Valid,
    };
    let g = convlab::ops::pool::Pool2dGeometry::new("t", &[1, 4, 4, 2], &params).unwrap();
    let xt = up(&gpu, &g.input_shape(), &rng.vec(32));
    let e = block_on(gpu.pool2d_backward(PoolKind::Max, &g, &xt, &xt)).unwrap_err();
    assert!(e.message().contains("'dy'"), "{e}");
}

#[test]
fn dense_forward_and_backward_match_the_cpu_path() {
    use convlab::ops::dense::DenseGeometry;
    let gpu = context();
    let mut rng = Rng::new(13);
    // Sizes around the 32 x 32 block edges, and the chapter's dense layers.
    let mut cases: Vec<(usize, usize, usize)> =
        vec![(1, 1, 1), (31, 33, 32), (64, 2304, 128), (64, 128, 64), (5, 64, 10)];
    for _ in 0..12 {
        cases.push((rng.range(1, 80), rng.range(1, 90), rng.range(1, 70)));
    }
    for (batch, inputs, units) in cases {
        let g = DenseGeometry::new("dense", &[batch, inputs], &[inputs, units]).unwrap();
        let (x, w, b) = (rng.vec(batch * inputs), rng.vec(inputs * units), rng.vec(units));
        let dy = rng.vec(batch * units);
        let (xt, wt, bt) = (
            up(&gpu, &[batch, inputs], &x),
            up(&gpu, &[inputs, units], &w),
            up(&gpu, &[units], &b),
        );
        let dyt = up(&gpu, &[batch, units], &dy);
        let tol = 1e-6 * inputs.max(batch) as f32;
        let mut want = cpu::dense(&g, &x, &w, Some(&b)).unwrap();
        cpu::activation_in_place(Activation::Relu, &mut want, units).unwrap();
        let y = block_on(gpu.dense(&xt, &wt, Some(&bt), Activation::Relu)).unwrap();
        close(&format!("dense {batch}x{inputs}x{units}"), &read(&gpu, &y), &want, tol);
        let (dx, dw, db) = cpu::dense_backward(&g, &x, &w, &dy).unwrap();
        let (gdx, gdw, gdb) = block_on(gpu.dense_backward(&xt, &wt, &dyt)).unwrap();
        close("dense dx", &read(&gpu, &gdx), &dx, tol);
        close("dense dw", &read(&gpu, &gdw), &dw, tol);
        close("dense db", &read(&gpu, &gdb), &db, tol);
    }
    let a = up(&gpu, &[2, 3], &[0.0; 6]);
    let e = block_on(gpu.matmul("dense", &a, false, &a, false)).unwrap_err();
    assert!(e.message().contains("'b'") && e.message().contains("2 rows"), "{e}");
}

#[test]
fn combining_ops_match_the_cpu_path() {
    let gpu = context();
    let mut rng = Rng::new(14);
    for _ in 0..10 {
        let shape = [rng.range(1, 3), rng.range(1, 9), rng.range(1, 9), rng.range(1, 12)];
        let [n, h, w, c] = shape;
        let len = n * h * w * c;
        let (x, x2, dy) = (rng.vec(len), rng.vec(len), rng.vec(len));
        let (xt, x2t, dyt) = (up(&gpu, &shape, &x), up(&gpu, &shape, &x2), up(&gpu, &shape, &dy));

        let y = block_on(gpu.add(&xt, &x2t)).unwrap();
        close("add", &read(&gpu, &y), &cpu::add(&x, &x2, &shape, &shape).unwrap(), 1e-6);

        // Concatenation of three parts and its split.
        let cs = [c, rng.range(1, 5), rng.range(1, 5)];
        let parts: Vec<Vec<f32>> = cs.iter().map(|&k| rng.vec(n * h * w * k)).collect();
        let parts_t: Vec<GpuTensor> =
            parts.iter().zip(&cs).map(|(p, &k)| up(&gpu, &[n, h, w, k], p)).collect();
        let refs: Vec<&GpuTensor> = parts_t.iter().collect();
        let cat = block_on(gpu.concat(&refs)).unwrap();
        let slices: Vec<&[f32]> = parts.iter().map(|p| p.as_slice()).collect();
        let want = cpu::concat(&slices, &cs).unwrap();
        close("concat", &read(&gpu, &cat), &want, 0.0);
        let back = block_on(gpu.concat_backward(&cat, &cs)).unwrap();
        for (b, p) in back.iter().zip(&parts) {
            close("concat backward", &read(&gpu, b), p, 0.0);
        }

        // Squeeze-and-excitation scaling.
        let s = rng.vec(n * c);
        let st = up(&gpu, &[n, c], &s);
        let y = block_on(gpu.channel_scale(&xt, &st)).unwrap();
        close("channel scale", &read(&gpu, &y), &cpu::channel_scale(&x, &s, n, c).unwrap(), 1e-6);
        let (dx, ds) = block_on(gpu.channel_scale_backward(&xt, &st, &dyt)).unwrap();
        let (wdx, wds) = cpu::channel_scale_backward(&x, &s, n, c, &dy).unwrap();
        close("channel scale dx", &read(&gpu, &dx), &wdx, 1e-6);
        close("channel scale ds", &read(&gpu, &ds), &wds, 1e-5 * (h * w) as f32);

        // Zero padding and its crop.
        let pads = [[rng.range(0, 3), rng.range(0, 3)], [rng.range(0, 3), rng.range(0, 3)]];
        let y = block_on(gpu.zero_pad(&xt, pads)).unwrap();
        let want = cpu::zero_pad(&x, shape, pads).unwrap();
        close("zero pad", &read(&gpu, &y), &want, 0.0);
        let dyp = rng.vec(want.len());
        let dypt = up(&gpu, y.shape(), &dyp);
        let dx = block_on(gpu.zero_pad_backward(&dypt, shape, pads)).unwrap();
        close(
            "zero pad backward",
            &read(&gpu, &dx),
            &cpu::zero_pad_backward(&dyp, shape, pads).unwrap(),
            0.0,
        );

        // Depthwise max pooling over runs of k channels.
        let k = *[3, 2, 1].iter().find(|&&k| c % k == 0).unwrap_or(&1);
        let y = block_on(gpu.depth_max_pool(&xt, k)).unwrap();
        close("depth max pool", &read(&gpu, &y), &cpu::depth_max_pool(&x, c, k).unwrap(), 0.0);
        let dyk = rng.vec(len / k);
        let dykt = up(&gpu, y.shape(), &dyk);
        let dx = block_on(gpu.depth_max_pool_backward(&xt, k, &dykt)).unwrap();
        let want = cpu::depth_max_pool_backward(&x, c, k, &dyk).unwrap();
        close("depth max pool backward", &read(&gpu, &dx), &want, 0.0);

        // Dropout with the CPU's seeded mask.
        let keep = cpu::dropout_mask(len, 0.4, 7).unwrap();
        let mask: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
        let y = block_on(gpu.dropout(&xt, &up(&gpu, &shape, &mask), 0.4)).unwrap();
        close("dropout", &read(&gpu, &y), &cpu::dropout(&x, &keep, 0.4).unwrap(), 1e-6);
    }
    // A pool size that does not divide the channels is refused, naming both.
    let x = up(&gpu, &[1, 1, 1, 5], &[0.0; 5]);
    let e = block_on(gpu.depth_max_pool(&x, 3)).unwrap_err();
    assert!(e.message().contains("3 must divide the 5 channels"), "{e}");
}

#[test]
fn lenet_subsampling_matches_the_cpu_path() {
    use convlab::ops::pool::{Pool2dGeometry, Pool2dParams};
    let gpu = context();
    let mut rng = Rng::new(15);
    let params =
        Pool2dParams { pool_size: [2, 2], strides: [2, 2], padding: convlab::Padding::Valid };
    let g = Pool2dGeometry::new("subsampling", &[2, 28, 28, 6], &params).unwrap();
    let x = rng.vec(2 * 28 * 28 * 6);
    let (coeff, bias) = (rng.vec(6), rng.vec(6));
    let dy = rng.vec(2 * 14 * 14 * 6);
    let xt = up(&gpu, &g.input_shape(), &x);
    let (ct, bt) = (up(&gpu, &[6], &coeff), up(&gpu, &[6], &bias));
    let y = block_on(gpu.subsample(&g, &xt, &ct, &bt)).unwrap();
    close("subsample", &read(&gpu, &y), &cpu::subsample(&g, &x, &coeff, &bias).unwrap(), 1e-6);
    let dyt = up(&gpu, &g.output_shape(), &dy);
    let (dx, dc, db) = block_on(gpu.subsample_backward(&g, &xt, &ct, &dyt)).unwrap();
    let (wdx, wdc, wdb) = cpu::subsample_backward(&g, &x, &coeff, &dy).unwrap();
    close("subsample dx", &read(&gpu, &dx), &wdx, 1e-6);
    close("subsample dcoeff", &read(&gpu, &dc), &wdc, 1e-5 * 392.0);
    close("subsample dbias", &read(&gpu, &db), &wdb, 1e-5 * 392.0);
}

#[test]
fn normalizations_match_the_cpu_path() {
    use convlab::ops::norm::{BatchNormParams, LrnParams};
    let gpu = context();
    let mut rng = Rng::new(16);
    // Include a large batch (rows) to exercise the workgroup reductions.
    let mut shapes = vec![[64, 14, 14, 8]];
    for _ in 0..6 {
        shapes.push([rng.range(1, 5), rng.range(1, 9), rng.range(1, 9), rng.range(1, 20)]);
    }
    for shape in shapes {
        let c = shape[3];
        let len: usize = shape.iter().product();
        let rows = len / c;
        let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 3.0 + 0.5).collect();
        let dy = rng.vec(len);
        let (gamma, beta) = (rng.vec(c), rng.vec(c));
        let mean = rng.vec(c);
        let var: Vec<f32> = rng.vec(c).iter().map(|v| v.abs() + 0.1).collect();
        let (xt, dyt) = (up(&gpu, &shape, &x), up(&gpu, &shape, &dy));
        let (gt, bt) = (up(&gpu, &[c], &gamma), up(&gpu, &[c], &beta));
        let (mt, vt) = (up(&gpu, &[c], &mean), up(&gpu, &[c], &var));
        let tol_sum = 1e-5 * (rows as f32).sqrt().max(1.0);

        let y = block_on(gpu.batch_norm(&xt, &gt, &bt, &mt, &vt, 1e-3)).unwrap();
        let want = cpu::batch_norm(&x, c, &gamma, &beta, &mean, &var, 1e-3).unwrap();
        close("batch norm", &read(&gpu, &y), &want, 1e-5);

        let params = BatchNormParams { epsilon: 1e-3, momentum: 0.9 };
        let (mut mm, mut mv) = (mean.clone(), var.clone());
        let want =
            cpu::batch_norm_training(&x, c, &gamma, &beta, &params, &mut mm, &mut mv).unwrap();
        let got = block_on(gpu.batch_norm_training(&xt, &gt, &bt, &params, &mt, &vt)).unwrap();
        close("batch norm (training) y", &read(&gpu, &got.y), &want.y, 1e-4);
        close("batch mean", &read(&gpu, &got.mean), &want.mean, tol_sum);
        close("batch variance", &read(&gpu, &got.variance), &want.variance, tol_sum);
        close("moving mean", &read(&gpu, &got.moving_mean), &mm, tol_sum);
        close("moving variance", &read(&gpu, &got.moving_variance), &mv, tol_sum);

        let (dx, dg, db) =
            cpu::batch_norm_training_backward(&x, c, &gamma, &want.mean, &want.variance, 1e-3, &dy)
                .unwrap();
        let (wm, wv) = (up(&gpu, &[c], &want.mean), up(&gpu, &[c], &want.variance));
        let (gdx, gdg, gdb) =
            block_on(gpu.batch_norm_training_backward(&xt, &gt, &wm, &wv, 1e-3, &dyt)).unwrap();
        close("batch norm dgamma", &read(&gpu, &gdg), &dg, tol_sum);
        close("batch norm dbeta", &read(&gpu, &gdb), &db, tol_sum);
        close("batch norm dx", &read(&gpu, &gdx), &dx, 1e-4);

        for lrn in
            [LrnParams::ALEXNET, LrnParams { depth_radius: 2, bias: 2.0, alpha: 0.1, beta: 0.75 }]
        {
            let y = block_on(gpu.lrn(&xt, &lrn)).unwrap();
            close("lrn", &read(&gpu, &y), &cpu::lrn(&x, c, &lrn).unwrap(), 1e-5);
            let dx = block_on(gpu.lrn_backward(&xt, &lrn, &dyt)).unwrap();
            close(
                "lrn backward",
                &read(&gpu, &dx),
                &cpu::lrn_backward(&x, c, &lrn, &dy).unwrap(),
                1e-5,
            );
        }
    }
    let x = up(&gpu, &[2, 3], &[1.0; 6]);
    let v = up(&gpu, &[2], &[1.0; 2]);
    let e = block_on(gpu.batch_norm(&x, &v, &v, &v, &v, 1e-3)).unwrap_err();
    assert!(e.message().contains("'gamma'") && e.message().contains("[3]"), "{e}");
}

#[test]
fn losses_match_the_cpu_path() {
    let gpu = context();
    let mut rng = Rng::new(17);
    for _ in 0..6 {
        let (n, classes) = (rng.range(1, 70), rng.range(2, 12));
        let logits: Vec<f32> = rng.vec(n * classes).iter().map(|v| v * 20.0).collect();
        let labels: Vec<u32> = (0..n).map(|_| rng.range(0, classes - 1) as u32).collect();
        let (loss, grad) = cpu::softmax_cross_entropy(&logits, &labels, classes).unwrap();
        let lt = up(&gpu, &[n, classes], &logits);
        let labt = gpu.upload_labels(&labels, classes).unwrap();
        let (gl, gg) = block_on(gpu.softmax_cross_entropy(&lt, &labt)).unwrap();
        close("cross-entropy", &read(&gpu, &gl), &[loss], 1e-5);
        close("cross-entropy gradient", &read(&gpu, &gg), &grad, 1e-6);

        let (y, t) = (rng.vec(n * classes), rng.vec(n * classes));
        let (loss, grad) = cpu::mean_squared_error(&y, &t).unwrap();
        let (gl, gg) = block_on(
            gpu.mean_squared_error(&up(&gpu, &[n, classes], &y), &up(&gpu, &[n, classes], &t)),
        )
        .unwrap();
        close("mse", &read(&gpu, &gl), &[loss], 1e-5);
        close("mse gradient", &read(&gpu, &gg), &grad, 1e-6);
    }
    let e = gpu.upload_labels(&[0, 3], 3).unwrap_err();
    assert!(e.message().contains("label 3 at index 1"), "{e}");
}

/// A device whose storage bindings hold only 64 KiB: dense layers whose weights, input gradient
/// or weight gradient exceed that are split across launches (as VGG-16's 392 MiB first dense
/// layer is on a device with 128 MiB bindings) and still equal the CPU path; what cannot be
/// split is refused naming the limit, never a GPU validation error.
#[test]
fn tensors_larger_than_a_binding_are_split() {
    use convlab::ops::dense::DenseGeometry;
    let small = 64 << 10;
    let gpu = block_on(GpuContext::with_limits("", |l| l.max_storage_buffer_binding_size = small))
        .unwrap();
    assert_eq!(gpu.max_binding_bytes(), small);
    let mut rng = Rng::new(18);
    // Weights 300 x 200 = 240 KB, four bindings' worth.
    let (batch, inputs, units) = (7, 300, 200);
    let g = DenseGeometry::new("dense", &[batch, inputs], &[inputs, units]).unwrap();
    let (x, w, dy) = (rng.vec(batch * inputs), rng.vec(inputs * units), rng.vec(batch * units));
    let (xt, wt) = (up(&gpu, &[batch, inputs], &x), up(&gpu, &[inputs, units], &w));
    let dyt = up(&gpu, &[batch, units], &dy);
    let y = block_on(gpu.dense(&xt, &wt, None, Activation::Linear)).unwrap();
    close("split dense", &read(&gpu, &y), &cpu::dense(&g, &x, &w, None).unwrap(), 1e-6 * 300.0);
    let (dx, dw, _) = cpu::dense_backward(&g, &x, &w, &dy).unwrap();
    let (gdx, gdw, _) = block_on(gpu.dense_backward(&xt, &wt, &dyt)).unwrap();
    close("split dense dx", &read(&gpu, &gdx), &dx, 1e-6 * 300.0);
    close("split dense dw", &read(&gpu, &gdw), &dw, 1e-6 * 300.0);
}

/// The device of [`every_op_splits_a_tensor_larger_than_a_binding`]: storage bindings of 16 KiB
/// (4,096 floats), beside an ordinary one.
fn small_and_ordinary() -> [GpuContext; 2] {
    let small =
        block_on(GpuContext::with_limits("", |l| l.max_storage_buffer_binding_size = 16 << 10))
            .unwrap();
    eprintln!(
        "small device: {} byte bindings, offsets aligned to {} bytes",
        small.max_binding_bytes(),
        small.limits().min_storage_buffer_offset_alignment
    );
    [small, context()]
}

/// Runs `f` on both devices with `inputs` uploaded to each and compares every result: equal
/// bit for bit where `rel` is 0 (the same kernel on ranges of the same data), else within
/// `rel` of the ordinary device's largest magnitude (a reduction summed chunk by chunk).
#[track_caller]
fn same_on_both(
    what: &str,
    devices: &[GpuContext; 2],
    inputs: &[(&[usize], &[f32])],
    rel: f32,
    f: impl Fn(&GpuContext, &[GpuTensor]) -> convlab::error::Result<Vec<GpuTensor>>,
) {
    let [small, big] = devices.each_ref().map(|gpu| {
        let ts: Vec<GpuTensor> = inputs.iter().map(|(shape, data)| up(gpu, shape, data)).collect();
        let outs = f(gpu, &ts).unwrap_or_else(|e| panic!("{what}: {e}"));
        outs.iter().map(|t| read(gpu, t)).collect::<Vec<_>>()
    });
    for (i, (got, want)) in small.iter().zip(&big).enumerate() {
        if rel == 0.0 {
            let same = got.len() == want.len()
                && got.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{what}: result {i} differs between the split and whole launches");
        } else {
            close(
                &format!("{what} (result {i}; the \"CPU path\" here: the ordinary device)"),
                got,
                want,
                rel,
            );
        }
    }
}

/// Every op with an operand over one storage binding splits it by whole images, rows or
/// elements (VGG-16 trained at batch 32 holds 411 MB activations, over the 128 MiB binding
/// many devices allow): on a device with 16 KiB bindings each op gives what an ordinary device
/// gives, bit for bit where nothing is summed across the split; the reductions over the batch
/// (batch statistics, weight and parameter gradients) accumulate across chunks. Only one image
/// over a binding is refused, naming the op and the limit.
#[test]
fn every_op_splits_a_tensor_larger_than_a_binding() {
    use convlab::backend::webgpu::{ParamUpdate, PoolKind, UpdateRule};
    use convlab::ops::conv::{Conv2dGeometry, Conv2dParams};
    use convlab::ops::norm::{BatchNormParams, LrnParams};
    use convlab::ops::pool::{Pool2dGeometry, Pool2dParams};
    let devices = small_and_ordinary();
    let mut rng = Rng::new(31);
    // Six 16x16x8 images: 48 KiB, three bindings' worth; one image is 8 KiB.
    let shape = [6, 16, 16, 8];
    let len: usize = shape.iter().product();
    let (x, x2, dy) = (rng.vec(len), rng.vec(len), rng.vec(len));
    let (bias, s) = (rng.vec(8), rng.vec(6 * 8));
    let xs: &[usize] = &shape;

    for a in [Activation::Relu, Activation::Tanh, Activation::Softmax] {
        same_on_both(a.name(), &devices, &[(xs, &x), (&[8], &bias)], 0.0, |g, t| {
            let y = block_on(g.activation(a, &t[0], Some(&t[1])))?;
            let dx = block_on(g.activation_backward(a, &t[0], &y, &t[0]))?;
            Ok(vec![y, dx])
        });
    }
    same_on_both("add, dropout", &devices, &[(xs, &x), (xs, &x2)], 0.0, |g, t| {
        let mask: Vec<f32> = (0..len).map(|i| (i % 3 != 0) as u8 as f32).collect();
        let keep = g.upload("test", "mask", &shape, &mask)?;
        Ok(vec![block_on(g.add(&t[0], &t[1]))?, block_on(g.dropout(&t[0], &keep, 0.25))?])
    });
    let x4 = rng.vec(len / 2);
    same_on_both("concat", &devices, &[(xs, &x), (&[6, 16, 16, 4], &x4)], 0.0, |g, t| {
        let cat = block_on(g.concat(&[&t[0], &t[1]]))?;
        let mut out = block_on(g.concat_backward(&cat, &[8, 4]))?;
        out.insert(0, cat);
        Ok(out)
    });
    let sum_tol = 1e-5 * 256f32.sqrt();
    same_on_both("channel scale", &devices, &[(xs, &x), (&[6, 8], &s), (xs, &dy)], 0.0, |g, t| {
        let y = block_on(g.channel_scale(&t[0], &t[1]))?;
        let (dx, ds) = block_on(g.channel_scale_backward(&t[0], &t[1], &t[2]))?;
        Ok(vec![y, dx, ds])
    });
    same_on_both(
        "channel affine",
        &devices,
        &[(xs, &x), (&[8], &bias), (&[8], &s[..8])],
        0.0,
        |g, t| Ok(vec![block_on(g.channel_affine("t", &t[0], &t[1], &t[2]))?]),
    );
    let pads = [[1, 1], [1, 0]];
    same_on_both("zero pad", &devices, &[(xs, &x)], 0.0, |g, t| {
        let y = block_on(g.zero_pad(&t[0], pads))?;
        let back = block_on(g.zero_pad_backward(&y, shape, pads))?;
        Ok(vec![y, back])
    });
    same_on_both("depth max pool", &devices, &[(xs, &x), (&[6, 16, 16, 4], &x4)], 0.0, |g, t| {
        let y = block_on(g.depth_max_pool(&t[0], 2))?;
        let dx = block_on(g.depth_max_pool_backward(&t[0], 2, &t[1]))?;
        Ok(vec![y, dx])
    });
    // Pooling with four channels per invocation (8) and one (6).
    // With 32-byte binding offsets a run of 4 images keeps [n, 6] outputs aligned, hence 12x12.
    for (c, hw) in [(8, 16), (6, 12)] {
        let shape = [6, hw, hw, c];
        let x = rng.vec(6 * hw * hw * c);
        let params =
            Pool2dParams { pool_size: [3, 3], strides: [2, 2], padding: convlab::Padding::Same };
        let pg = Pool2dGeometry::new("maxPool", &shape, &params).unwrap();
        let dyp = rng.vec(pg.output_shape().iter().product());
        let ins: &[(&[usize], &[f32])] =
            &[(&shape, &x), (&pg.output_shape(), &dyp), (&[6, c], &x[..6 * c])];
        same_on_both(&format!("pooling, {c} channels"), &devices, ins, 0.0, |g, t| {
            let mut out = Vec::new();
            for kind in [PoolKind::Max, PoolKind::Avg] {
                out.push(block_on(g.pool2d(kind, &pg, &t[0]))?);
                out.push(block_on(g.pool2d_backward(kind, &pg, &t[0], &t[1]))?);
                out.push(block_on(g.global_pool(kind, &t[0]))?);
                out.push(block_on(g.global_pool_backward(kind, &t[0], &t[2]))?);
            }
            Ok(out)
        });
        // LeNet-5's subsampling: its coefficient and bias gradients sum over the batch.
        let sg = Pool2dGeometry::new(
            "subsampling",
            &shape,
            &Pool2dParams { pool_size: [2, 2], strides: [2, 2], padding: convlab::Padding::Valid },
        )
        .unwrap();
        let dys = rng.vec(sg.output_shape().iter().product());
        let ins: &[(&[usize], &[f32])] =
            &[(&shape, &x), (&sg.output_shape(), &dys), (&[c], &x[..c]), (&[c], &x[c..2 * c])];
        same_on_both("subsampling", &devices, ins, sum_tol * 4.0, |g, t| {
            let y = block_on(g.subsample(&sg, &t[0], &t[2], &t[3]))?;
            let (dx, dc, db) = block_on(g.subsample_backward(&sg, &t[0], &t[2], &t[1]))?;
            Ok(vec![y, dx, dc, db])
        });
    }
    // Batch norm: statistics and parameter gradients sum over 1,536 rows, chunk by chunk.
    let rows_tol = 1e-5 * 1536f32.sqrt();
    let xn: Vec<f32> = x.iter().map(|v| v * 3.0 + 0.5).collect();
    let (gamma, beta) = (rng.vec(8), rng.vec(8));
    let ins: &[(&[usize], &[f32])] =
        &[(xs, &xn), (&[8], &gamma), (&[8], &beta), (xs, &dy), (&[8], &[1.0; 8])];
    same_on_both("batch norm", &devices, ins, rows_tol, |g, t| {
        let params = BatchNormParams { epsilon: 1e-3, momentum: 0.9 };
        let b = block_on(g.batch_norm_training(&t[0], &t[1], &t[2], &params, &t[2], &t[4]))?;
        let (dx, dg, db) = block_on(g.batch_norm_training_backward(
            &t[0],
            &t[1],
            &b.mean,
            &b.variance,
            1e-3,
            &t[3],
        ))?;
        Ok(vec![b.y, b.mean, b.variance, b.moving_mean, b.moving_variance, dx, dg, db])
    });
    same_on_both("lrn", &devices, &[(xs, &x), (xs, &dy)], 0.0, |g, t| {
        let y = block_on(g.lrn(&t[0], &LrnParams::ALEXNET))?;
        Ok(vec![y, block_on(g.lrn_backward(&t[0], &LrnParams::ALEXNET, &t[1]))?])
    });
    // Losses: 2,000 rows of 10 logits; their means are column sums (split by the matmul).
    let logits = rng.vec(20_000);
    let labels: Vec<u32> = (0..2000).map(|i| (i * 7 % 10) as u32).collect();
    same_on_both(
        "losses",
        &devices,
        &[(&[2000, 10], &logits), (xs, &x), (xs, &x2)],
        1e-5 * 45.0,
        |g, t| {
            let lab = g.upload_labels(&labels, 10)?;
            let (l, grad) = block_on(g.softmax_cross_entropy(&t[0], &lab))?;
            let (m, mgrad) = block_on(g.mean_squared_error(&t[1], &t[2]))?;
            Ok(vec![l, grad, m, mgrad])
        },
    );
    // An Adam step on a 12,288-weight parameter.
    let ins: &[(&[usize], &[f32])] =
        &[(&[len], &x), (&[len], &dy), (&[len], &x2), (&[len], &x4.repeat(2))];
    same_on_both("optimizer", &devices, ins, 0.0, |g, t| {
        let abs =
            g.upload("t", "v", &[len], &x4.repeat(2).iter().map(|v| v.abs()).collect::<Vec<_>>())?;
        let rule = UpdateRule { kind: 3, f: [1e-2, 1e-3, 0.9, 0.999, 1e-7, 0.0, 0.0, 0.0] };
        block_on(g.apply_updates(&[ParamUpdate { w: &t[0], g: &t[1], m: &t[2], v: &abs, rule }]))?;
        Ok(vec![t[0].view(&[len])?, t[2].view(&[len])?, abs])
    });
    // Convolution gradients: dx by chunks of images, dw summed over them (on the ordinary
    // device the software kernels, on the small one the chunked general ones).
    let same = Conv2dParams { padding: convlab::Padding::Same, ..Default::default() };
    let cg = Conv2dGeometry::new("conv2d", &shape, &[3, 3, 8, 8], &same).unwrap();
    let w = rng.vec(3 * 3 * 8 * 8);
    same_on_both(
        "conv2d backward",
        &devices,
        &[(xs, &x), (&cg.filter_shape(), &w), (xs, &dy)],
        1e-5 * 72.0,
        |g, t| {
            let (dx, dw) = block_on(g.conv2d_backward_tensors(&cg, &t[0], &t[1], &t[2]))?;
            Ok(vec![dx, dw, block_on(g.conv2d_backward_bias(&cg, &t[2]))?])
        },
    );

    // One image over a binding cannot be split by images: refused, naming the op and limit.
    let small = &devices[0];
    let params =
        Pool2dParams { pool_size: [2, 2], strides: [2, 2], padding: convlab::Padding::Valid };
    let pg = Pool2dGeometry::new("maxPool", &[1, 40, 40, 4], &params).unwrap();
    let big = up(small, &[1, 40, 40, 4], &vec![0.5; 6400]);
    let e = block_on(small.pool2d(PoolKind::Max, &pg, &big)).unwrap_err();
    assert!(
        e.message().starts_with("maxPool: argument 'x'")
            && e.message().contains("one image")
            && e.message().contains("maxStorageBufferBindingSize"),
        "{e}"
    );
}

/// Where the adapter has timestamp queries, each submit's passes are timed on the GPU.
#[test]
fn ops_are_timed_on_the_gpu_where_the_adapter_can() {
    let gpu = context();
    let x = up(&gpu, &[256, 256], &vec![0.5; 65536]);
    gpu.take_gpu_ms();
    let _y = block_on(gpu.activation(Activation::Tanh, &x, None)).unwrap();
    let ms = gpu.take_gpu_ms();
    eprintln!("timestamp queries: {}, tanh on 65536 values: {ms:?} ms", gpu.has_timestamps());
    if gpu.has_timestamps() {
        let ms = ms.expect("a timed pass");
        assert!(ms > 0.0 && ms < 10_000.0, "{ms} ms");
        assert_eq!(gpu.take_gpu_ms(), None, "the count restarts");
    } else {
        assert_eq!(ms, None);
    }
}

/// A kept tensor's device copy is lent to each op as a view: the buffer must outlive the
/// handle it came from and go back to the pool only with the last view.
#[test]
fn a_view_shares_the_buffer_until_the_last_handle_goes() {
    let gpu = context();
    let data: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let t = up(&gpu, &[2, 3, 4], &data);
    let v = t.view(&[6, 4]).unwrap();
    assert_eq!(v.shape(), &[6, 4]);
    assert!(t.view(&[5, 5]).is_err(), "a view must keep the element count");
    let idle = |g: &GpuContext| g.pool_stats().2;
    let before = idle(&gpu);
    drop(t);
    assert_eq!(idle(&gpu), before, "the buffer stays on loan while a view holds it");
    // A new tensor of the same size must not get the view's buffer.
    let other = up(&gpu, &[24], &[7.0; 24]);
    assert_eq!(read(&gpu, &v), data);
    drop(other);
    let with_other = idle(&gpu);
    drop(v);
    assert!(idle(&gpu) > with_other, "the last view returns the buffer to the pool");
}
