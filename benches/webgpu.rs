//! Native WebGPU benchmark (a program that prints figures): the chapter's conv shapes and a
//! VGG-sized dense layer on the WebGPU kernels through wgpu (Vulkan: lavapipe here, a real GPU
//! where there is one), with the tensors resident on the device, as a model keeps them. Each
//! shape: upload once, 3 warm-up runs, then the median of N runs of the GPU time measured by
//! timestamp queries (wall time around submit-and-wait where the adapter has none), GFLOP/s
//! (2 x multiply-adds), and the fraction of the GPU's fp32 peak when `CONVLAB_GPU_PEAK_TFLOPS`
//! gives it (an H100 SXM: 67). Each convolution is timed on the kernel the automatic choice
//! picks (marked *) and on the other kernels that can run it.
//!
//!     cargo bench --bench webgpu
//!     CONVLAB_BENCH_RUNS=20 CONVLAB_GPU_PEAK_TFLOPS=67 cargo bench --bench webgpu

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::Instant;

    use convlab::backend::webgpu::{ConvKernel, GpuContext};
    use convlab::ops::activation::Activation;
    use convlab::{Conv2dGeometry, Conv2dParams, Padding};
    use pollster::block_on;

    use super::common::{data, median};

    /// Median ms of `run` (GPU time if measured, else wall time).
    fn time(gpu: &GpuContext, runs: usize, mut run: impl FnMut()) -> (f64, &'static str) {
        for _ in 0..3 {
            run();
        }
        let mut gpu_ms = Vec::new();
        let mut wall = Vec::new();
        for _ in 0..runs {
            gpu.take_gpu_ms();
            let t = Instant::now();
            run();
            wall.push(t.elapsed().as_secs_f64() * 1e3);
            if let Some(ms) = gpu.take_gpu_ms() {
                gpu_ms.push(ms);
            }
        }
        if gpu_ms.len() == runs {
            (median(gpu_ms), "timestamps")
        } else {
            (median(wall), "wall")
        }
    }

    pub fn main() {
        let runs: usize =
            std::env::var("CONVLAB_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
        let peak: Option<f64> =
            std::env::var("CONVLAB_GPU_PEAK_TFLOPS").ok().and_then(|v| v.parse().ok());
        let gpu = match block_on(GpuContext::new("")) {
            Ok(g) => g,
            Err(e) => {
                println!("no WebGPU device: {e}");
                return;
            }
        };
        println!(
            "adapter: {} ({}), timestamp queries: {}, median of {runs}",
            gpu.adapter().name,
            gpu.adapter().api,
            gpu.has_timestamps()
        );
        println!(
            "{:<44} {:<13} {:>10} {:>9} {:>8}  timed by",
            "workload", "kernel", "ms", "GFLOP/s", "of peak"
        );
        let same = Conv2dParams { padding: Padding::Same, ..Default::default() };
        let convs: Vec<(&str, [usize; 4], [usize; 4])> = vec![
            ("(a) seed conv 150x100x3, 200 5x5", [1, 150, 100, 3], [5, 5, 3, 200]),
            ("(b) ResNet 3x3 56x56x64 -> 64", [1, 56, 56, 64], [3, 3, 64, 64]),
            ("(b) at batch 64", [64, 56, 56, 64], [3, 3, 64, 64]),
            ("CNN conv1 7x7 28x28x1 -> 64, batch 64", [64, 28, 28, 1], [7, 7, 1, 64]),
            ("CNN conv2 3x3 14x14x64 -> 128, batch 64", [64, 14, 14, 64], [3, 3, 64, 128]),
            ("CNN conv4 3x3 7x7x128 -> 256, batch 64", [64, 7, 7, 128], [3, 3, 128, 256]),
            ("ResNet 1x1 56x56x64 -> 256, batch 64", [64, 56, 56, 64], [1, 1, 64, 256]),
        ];
        let row = |name: &str, kernel: &str, ms: f64, flops: f64, how: &str| {
            let gflops = flops / ms / 1e6;
            let of_peak = peak.map_or("-".to_string(), |p| format!("{:.1}%", gflops / (p * 10.0)));
            println!("{name:<44} {kernel:<13} {ms:>10.3} {gflops:>9.1} {of_peak:>8}  {how}");
        };
        for (name, xs, fs) in convs {
            let g = Conv2dGeometry::new("bench", &xs, &fs, &same).expect("a valid shape");
            let x = gpu.upload("bench", "x", &xs, &data(xs.iter().product(), 1)).unwrap();
            let w = gpu.upload("bench", "w", &fs, &data(fs.iter().product(), 2)).unwrap();
            // The automatic choice first, then the other ungrouped kernels for comparison.
            let chosen = ConvKernel::choose_for(&g, gpu.adapter().software).0;
            let mut kernels = vec![chosen];
            for k in [
                ConvKernel::Direct,
                ConvKernel::ImplicitGemm,
                ConvKernel::Gemm,
                ConvKernel::Grouped,
                ConvKernel::Blocked,
            ] {
                let pointwise = ConvKernel::choose(&g).0 == ConvKernel::Gemm;
                if k != chosen && (k != ConvKernel::Gemm || pointwise) {
                    kernels.push(k);
                }
            }
            for kernel in kernels {
                let (ms, how) = time(&gpu, runs, || {
                    block_on(gpu.conv2d_with(kernel, &g, &x, &w)).unwrap();
                });
                let label =
                    if kernel == chosen { format!("{kernel:?}*") } else { format!("{kernel:?}") };
                let name = if kernel == chosen { name } else { "" };
                row(name, &label, ms, 2.0 * g.multiply_adds() as f64, how);
            }
        }
        // VGG-16's first dense layer: 25088 x 4096 weights (392 MiB), batch 64.
        let (batch, inputs, units) = (64, 25088, 4096);
        let x = gpu.upload("bench", "x", &[batch, inputs], &data(batch * inputs, 3)).unwrap();
        let w = gpu.upload("bench", "w", &[inputs, units], &data(inputs * units, 4)).unwrap();
        let (ms, how) = time(&gpu, runs, || {
            block_on(gpu.dense(&x, &w, None, Activation::Linear)).unwrap();
        });
        let split = if (inputs * units * 4) as u64 > gpu.max_binding_bytes() {
            "split"
        } else {
            "one binding"
        };
        row(
            &format!("VGG-16 fc1 25088 -> 4096, batch 64 ({split})"),
            "Gemm",
            ms,
            2.0 * (batch * inputs * units) as f64,
            how,
        );
    }
}
