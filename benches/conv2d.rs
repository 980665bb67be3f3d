//! Native conv2d benchmark (a program that prints figures): the chapter's conv shapes on each CPU
//! kernel (tiled direct, GEMM, and the automatic choice; portable lanes natively, not SIMD128) and on WebGPU through wgpu (Vulkan: lavapipe
//! here, a real GPU where there is one). GPU times are wall time around upload, dispatch and
//! read-back, so they include the PCIe/copy cost a caller pays today (tensors do not stay on the
//! device yet). Median of N runs after a warm-up.
//!
//!     cargo bench --bench conv2d            (N = 5)
//!     CONVLAB_BENCH_RUNS=20 cargo bench --bench conv2d

// Native only: the wasm32 build (clippy --all-targets) gets an empty program.
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

    use convlab::backend::cpu::{self, CpuKernel};
    use convlab::backend::webgpu::GpuContext;
    use convlab::{Conv2dGeometry, Conv2dParams, Padding};

    use super::common::{data, median};

    fn time(runs: usize, mut f: impl FnMut()) -> f64 {
        f();
        median(
            (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        )
    }

    pub fn main() {
        let runs: usize =
            std::env::var("CONVLAB_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
        let same = Conv2dParams { padding: Padding::Same, ..Default::default() };
        let shapes = [
            ("demo [2,427,640,3]*[7,7,3,2]", [2, 427, 640, 3], [7, 7, 3, 2]),
            ("(a) seed [1,150,100,3]*[5,5,3,200]", [1, 150, 100, 3], [5, 5, 3, 200]),
            ("(b) resnet [1,56,56,64]*[3,3,64,64]", [1, 56, 56, 64], [3, 3, 64, 64]),
            ("cnn conv2 [64,14,14,64]*[3,3,64,128]", [64, 14, 14, 64], [3, 3, 64, 128]),
        ];
        let gpu = pollster::block_on(GpuContext::new(""));
        match &gpu {
            Ok(g) => println!("adapter: {:?}", g.adapter()),
            Err(e) => println!("no GPU: {e}"),
        }
        println!(
            "{:<40} {:>10} {:>10} {:>10} {:>12} {:>12}",
            "shape", "tiled ms", "gemm ms", "auto GF/s", "webgpu ms", "webgpu GF/s"
        );
        for (name, x, f) in shapes {
            let g = Conv2dGeometry::new("bench", &x, &f, &same).unwrap();
            let (xs, fs) = (data(x.iter().product(), 1), data(f.iter().product(), 2));
            let flops = 2.0 * g.multiply_adds() as f64;
            let kernel_ms =
                |kernel| time(runs, || drop(cpu::conv2d(&g, &xs, &fs, kernel).unwrap()));
            let (tiled, gemm, auto) = (
                kernel_ms(CpuKernel::Tiled),
                kernel_ms(CpuKernel::Gemm),
                kernel_ms(CpuKernel::Auto),
            );
            let gf = |ms: f64| flops / ms / 1e6;
            let (gpu_ms, gpu_gf) = match gpu.as_ref() {
                Ok(gpu) => {
                    let ms =
                        time(runs, || drop(pollster::block_on(gpu.conv2d(&g, &xs, &fs)).unwrap()));
                    (format!("{ms:.2}"), format!("{:.2}", gf(ms)))
                }
                Err(_) => ("-".into(), "-".into()),
            };
            println!(
                "{name:<40} {tiled:>10.2} {gemm:>10.2} {:>10.2} {gpu_ms:>12} {gpu_gf:>12}",
                gf(auto)
            );
        }
    }
}
