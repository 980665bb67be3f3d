//! The WebGPU conv2d (WGSL through wgpu) against the f64 reference and the CPU path, natively.
//! In CI this runs on Mesa's lavapipe Vulkan driver; a machine without any adapter fails here
//! rather than skipping, because the GPU kernels must really be tested.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Problem, Rng};
use convlab::backend::cpu::{self, CpuKernel};
use convlab::backend::webgpu::GpuContext;
use convlab::{Conv2dGeometry, Conv2dParams};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new("")).unwrap_or_else(|e| {
        panic!("{e}: install Mesa's Vulkan drivers (apt-get install mesa-vulkan-drivers)")
    })
}

#[test]
fn webgpu_matches_the_reference_and_the_cpu_path() {
    let gpu = context();
    eprintln!("adapter: {:?}", gpu.adapter());
    pollster::block_on(gpu.self_test()).unwrap();
    let mut rng = Rng::new(3);
    for _ in 0..120 {
        let p = Problem::random(&mut rng, 400_000);
        let got = pollster::block_on(gpu.conv2d(&p.geometry, &p.x, &p.filters)).unwrap();
        p.check("webgpu", &got);
        let cpu = cpu::conv2d(&p.geometry, &p.x, &p.filters, CpuKernel::Auto).unwrap();
        let worst = got.iter().zip(&cpu).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        let scale = cpu.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        assert!(
            worst
                <= 1e-5
                    * scale
                    * (p.geometry.fh * p.geometry.fw * p.geometry.in_per_group()) as f32,
            "webgpu and cpu differ by {worst} on {:?}",
            p.geometry
        );
    }
}

#[test]
fn too_large_for_a_binding_is_refused_with_the_limit_named() {
    let gpu = context();
    let max = gpu.limits().max_storage_buffer_binding_size as usize / 4;
    // An output one float over the largest binding: rejected before anything reaches the GPU.
    let side = ((max / 4) as f64).sqrt() as usize + 2;
    let params = Conv2dParams::default();
    // A 3x3 convolution (the direct kernel, which does not split its output).
    let params = Conv2dParams { padding: convlab::Padding::Same, ..params };
    let g = Conv2dGeometry::new("conv2d", &[1, side, side, 1], &[3, 3, 1, 4], &params);
    if let Ok(g) = g {
        let x = vec![0.0; side * side];
        let e = pollster::block_on(gpu.conv2d(&g, &x, &[0.0; 36])).unwrap_err();
        assert!(
            e.message().starts_with("conv2d: argument 'output'")
                && (e.message().contains("maxStorageBufferBindingSize")
                    || e.message().contains("maxBufferSize")),
            "{e}"
        );
    }
}

#[test]
fn a_lost_device_is_reported_not_a_panic() {
    let gpu = context();
    gpu.destroy();
    let g = Conv2dGeometry::new("conv2d", &[1, 4, 4, 1], &[3, 3, 1, 1], &Conv2dParams::default())
        .unwrap();
    let r = pollster::block_on(gpu.conv2d(&g, &[1.0; 16], &[1.0; 9]));
    assert!(r.is_err(), "a destroyed device must not return a result");
}

#[test]
fn a_device_lost_underneath_is_an_error_not_a_panic() {
    // Destroy the device behind the context's back (as a driver reset would) and still get an
    // error, not a panic or a hang. Uses a second context so the flag set by destroy() is unset.
    let gpu = context();
    let g = Conv2dGeometry::new("conv2d", &[1, 4, 4, 1], &[3, 3, 1, 1], &Conv2dParams::default())
        .unwrap();
    gpu.destroy_underneath();
    let r = pollster::block_on(gpu.conv2d(&g, &[1.0; 16], &[1.0; 9]));
    assert!(r.is_err(), "a destroyed device must not return a result");
}

/// Every forward kernel (the 1x1 GEMM, implicit GEMM, direct, grouped and blocked) is exercised, and the backward
/// kernels agree with the CPU path (itself checked against the f64 reference and finite
/// differences in tests/gradients.rs) within the f32 summation bound of their longest sums.
#[test]
fn webgpu_kernels_and_gradients_match_the_cpu_path() {
    use convlab::backend::webgpu::ConvKernel;
    use std::collections::HashSet;
    let gpu = context();
    let mut rng = Rng::new(21);
    let mut seen = HashSet::new();
    let mut pointwise = 0;
    for i in 0..80 {
        let mut p = Problem::random(&mut rng, 200_000);
        if i % 10 == 0 {
            // Make sure 1x1 convolutions come up (the GEMM path).
            let params = Conv2dParams::default();
            let x = [rng.range(1, 3), rng.range(1, 20), rng.range(1, 20), rng.range(1, 40)];
            let f = [1, 1, x[3], rng.range(1, 70)];
            p.geometry = Conv2dGeometry::new("t", &x, &f, &params).unwrap();
            p.params = params;
            p.x = rng.vec(x.iter().product());
            p.filters = rng.vec(f.iter().product());
            pointwise += 1;
        }
        let g = &p.geometry;
        let xt = gpu.upload("t", "x", &g.input_shape(), &p.x).unwrap();
        let wt = gpu.upload("t", "filters", &g.filter_shape(), &p.filters).unwrap();
        let y = pollster::block_on(gpu.conv2d_tensors(g, &xt, &wt)).unwrap();
        p.check("webgpu", &pollster::block_on(gpu.read(&y)).unwrap());
        // Every kernel that can run this problem, whatever this adapter would choose.
        for kernel in [
            ConvKernel::Gemm,
            ConvKernel::ImplicitGemm,
            ConvKernel::Direct,
            ConvKernel::Grouped,
            ConvKernel::Blocked,
        ] {
            if let Ok(y) = pollster::block_on(gpu.conv2d_with(kernel, g, &xt, &wt)) {
                p.check(&format!("webgpu {kernel:?}"), &pollster::block_on(gpu.read(&y)).unwrap());
                seen.insert(kernel);
            }
        }

        let dy = rng.vec(g.output_shape().iter().product());
        let dyt = gpu.upload("t", "dy", &g.output_shape(), &dy).unwrap();
        let (dx, dw) = cpu::conv2d_backward(g, &p.x, &p.filters, &dy).unwrap();
        let db = cpu::conv2d_backward_bias(g, &dy).unwrap();
        let (gdx, gdw) =
            pollster::block_on(gpu.conv2d_backward_tensors(g, &xt, &wt, &dyt)).unwrap();
        let gdb = pollster::block_on(gpu.conv2d_backward_bias(g, &dyt)).unwrap();
        // Longest sums: dx sums fh*fw*out_per_group terms, dw and db batch*oh*ow; inputs and
        // gradients are in [-1, 1], so each term is at most 1 in magnitude.
        let terms_dx = (g.fh * g.fw * g.out_per_group()) as f32;
        let terms_dw = (g.batch * g.out_h * g.out_w) as f32;
        for (what, got, want, terms) in
            [("dx", gdx, dx, terms_dx), ("dw", gdw, dw, terms_dw), ("db", gdb, db, terms_dw)]
        {
            let got = pollster::block_on(gpu.read(&got)).unwrap();
            let bound = 2.0 * terms * terms * f32::EPSILON + 1e-6;
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst <= bound, "{what}: webgpu and cpu differ by {worst} > {bound} on {g:?}");
        }
    }
    assert!(pointwise > 0 && seen.len() == 5, "kernels exercised: {seen:?}");
}

/// On a device whose storage bindings hold only 64 KiB, a batch whose input and output exceed
/// that runs in chunks of whole images, on every kernel, and equals the CPU path (as a batch-64
/// VGG-16 conv layer, 822 MB of output, does on a device with 128 MiB bindings).
#[test]
fn a_batch_larger_than_a_binding_runs_in_chunks_of_images() {
    use convlab::backend::webgpu::ConvKernel;
    let small = 64 << 10;
    let gpu = pollster::block_on(GpuContext::with_limits("", |l| {
        l.max_storage_buffer_binding_size = small
    }))
    .unwrap();
    let mut rng = Rng::new(22);
    // 24 images of 12x12x16 in (36 KiB per 4) and 12x12x40 out: 1.1 MB of output.
    let params = Conv2dParams { padding: convlab::Padding::Same, ..Default::default() };
    let g = Conv2dGeometry::new("conv2d", &[24, 12, 12, 16], &[3, 3, 16, 40], &params).unwrap();
    let x = rng.vec(g.input_shape().iter().product());
    let w = rng.vec(g.filter_shape().iter().product());
    let want = cpu::conv2d(&g, &x, &w, CpuKernel::Scalar).unwrap();
    let xt = gpu.upload("t", "x", &g.input_shape(), &x).unwrap();
    let wt = gpu.upload("t", "filters", &g.filter_shape(), &w).unwrap();
    for kernel in
        [ConvKernel::ImplicitGemm, ConvKernel::Direct, ConvKernel::Grouped, ConvKernel::Blocked]
    {
        let y = pollster::block_on(gpu.conv2d_with(kernel, &g, &xt, &wt)).unwrap();
        let got = pollster::block_on(gpu.read(&y)).unwrap();
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        // 144 terms of magnitude <= 1 each side: within 2 * 144^2 ulp-scale.
        assert!(worst <= 2.0 * 144.0 * 144.0 * f32::EPSILON, "{kernel:?}: differs by {worst}");
    }
}

/// The software adapter's backward kernels (dx as a convolution of dy with the flipped filters
/// on the blocked kernel, dw by `filter_grad`), on shapes that take them (stride 1, undilated
/// columns, out_c a multiple of 4) and a few that do not, against the CPU path with a bound
/// scaled by the largest value (each sum has at most a few hundred terms in [-1, 1]).
#[test]
fn software_backward_kernels_match_the_cpu_path() {
    let gpu = context();
    let mut rng = Rng::new(23);
    let same = Conv2dParams { padding: convlab::Padding::Same, ..Default::default() };
    let cases = [
        ([2, 9, 11, 3], [3, 3, 3, 8], same),
        ([1, 7, 6, 5], [5, 3, 5, 12], Conv2dParams::default()),
        ([2, 10, 9, 4], [3, 3, 4, 4], Conv2dParams { dilations: [2, 1], ..same }),
        ([1, 12, 12, 6], [1, 1, 6, 16], Conv2dParams::default()),
        ([1, 8, 8, 2], [3, 3, 2, 7], same),
        ([2, 9, 9, 4], [3, 3, 4, 8], Conv2dParams { strides: [2, 2], ..same }),
        (
            [1, 6, 7, 3],
            [3, 2, 3, 4],
            Conv2dParams {
                padding: convlab::Padding::Explicit { top: 2, bottom: 0, left: 1, right: 1 },
                ..Default::default()
            },
        ),
    ];
    for (xs, fs, params) in cases {
        let g = Conv2dGeometry::new("conv2d", &xs, &fs, &params).unwrap();
        let x = rng.vec(g.input_shape().iter().product());
        let w = rng.vec(g.filter_shape().iter().product());
        let dy = rng.vec(g.output_shape().iter().product());
        let (want_dx, want_dw) = cpu::conv2d_backward(&g, &x, &w, &dy).unwrap();
        let xt = gpu.upload("t", "x", &g.input_shape(), &x).unwrap();
        let wt = gpu.upload("t", "filters", &g.filter_shape(), &w).unwrap();
        let dyt = gpu.upload("t", "dy", &g.output_shape(), &dy).unwrap();
        let (dx, dw) = pollster::block_on(gpu.conv2d_backward_tensors(&g, &xt, &wt, &dyt)).unwrap();
        for (what, got, want) in [("dx", dx, want_dx), ("dw", dw, want_dw)] {
            let got = pollster::block_on(gpu.read(&got)).unwrap();
            let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst <= 1e-5 * scale, "{what}: differs by {worst} (scale {scale}) on {g:?}");
        }
    }
}
