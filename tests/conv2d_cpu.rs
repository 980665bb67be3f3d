//! The CPU conv2d kernels (scalar contract and the tiled SIMD128 path) against the f64
//! reference on random problems. Runs natively and, compiled for wasm32 with `+simd128`, in
//! Node (`cargo test --target wasm32-unknown-unknown`), so the SIMD128 code users run is tested.

mod common;

use common::{Problem, Rng};
use convlab::backend::cpu::{self, lanes, CpuKernel};
use convlab::{Conv2dGeometry, Conv2dParams, Padding};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn scalar_kernel_matches_the_reference() {
    let mut rng = Rng::new(1);
    for _ in 0..150 {
        let p = Problem::random(&mut rng, 400_000);
        let got = cpu::conv2d(&p.geometry, &p.x, &p.filters, CpuKernel::Scalar).unwrap();
        p.check("cpu scalar", &got);
    }
}

#[test]
fn tiled_kernel_matches_the_reference() {
    let mut rng = Rng::new(2);
    for _ in 0..150 {
        let p = Problem::random(&mut rng, 400_000);
        let got = cpu::conv2d(&p.geometry, &p.x, &p.filters, CpuKernel::Tiled).unwrap();
        p.check("cpu tiled", &got);
    }
}

#[test]
fn gemm_kernel_matches_the_reference() {
    let mut rng = Rng::new(4);
    for _ in 0..150 {
        let p = Problem::random(&mut rng, 400_000);
        let got = cpu::conv2d(&p.geometry, &p.x, &p.filters, CpuKernel::Gemm).unwrap();
        p.check("cpu gemm", &got);
    }
}

#[test]
fn any_range_of_output_rows_equals_those_rows_of_the_whole() {
    // Workers split a convolution by output rows; the pieces must be bit-identical.
    let mut rng = Rng::new(5);
    for _ in 0..60 {
        let p = Problem::random(&mut rng, 200_000);
        let g = &p.geometry;
        let total = g.batch * g.out_h;
        let per_row = g.out_w * g.out_c;
        for kernel in [CpuKernel::Auto, CpuKernel::Tiled, CpuKernel::Gemm, CpuKernel::Scalar] {
            let whole = cpu::conv2d(g, &p.x, &p.filters, kernel).unwrap();
            let cut = rng.range(0, total);
            let first = cpu::conv2d_rows(g, &p.x, &p.filters, kernel, 0..cut).unwrap();
            let second = cpu::conv2d_rows(g, &p.x, &p.filters, kernel, cut..total).unwrap();
            assert_eq!(first, whole[..cut * per_row], "{kernel:?} rows 0..{cut} of {g:?}");
            assert_eq!(second, whole[cut * per_row..], "{kernel:?} rows {cut}..{total} of {g:?}");
        }
        let e = cpu::conv2d_rows(g, &p.x, &p.filters, CpuKernel::Auto, 0..total + 1).unwrap_err();
        assert!(e.message().contains("'rows'"), "{e}");
    }
}

#[test]
fn the_wasm_build_runs_real_simd128() {
    // The browser build must test the SIMD128 lanes, not the portable ones.
    assert_eq!(lanes::IS_SIMD128, cfg!(target_arch = "wasm32"));
}

#[test]
fn the_chapters_two_line_filters() {
    // Figure 14-5: a 7x7 vertical-line filter (column 3 ones) and a horizontal-line filter
    // (row 3 ones) over 3 channels, stride 1, "same". On an image that is 1 everywhere, the
    // interior of each map is 7 * 3 = 21 and the corners see only 4 of 7 taps per line.
    let (h, w, c) = (9, 11, 3);
    let mut filters = vec![0.0f32; 7 * 7 * c * 2];
    for r in 0..7 {
        for ch in 0..c {
            filters[((r * 7 + 3) * c + ch) * 2] = 1.0; // filters[:, 3, :, 0] = 1
            filters[((3 * 7 + r) * c + ch) * 2 + 1] = 1.0; // filters[3, :, :, 1] = 1
        }
    }
    let params = Conv2dParams { padding: Padding::Same, ..Default::default() };
    let g = Conv2dGeometry::new("conv2d", &[1, h, w, c], &[7, 7, c, 2], &params).unwrap();
    for kernel in [CpuKernel::Scalar, CpuKernel::Tiled, CpuKernel::Gemm] {
        let out = cpu::conv2d(&g, &vec![1.0; h * w * c], &filters, kernel).unwrap();
        let at = |y: usize, x: usize, k: usize| out[(y * w + x) * 2 + k];
        assert_eq!(at(4, 5, 0), 21.0);
        assert_eq!(at(4, 5, 1), 21.0);
        assert_eq!(at(0, 5, 0), 12.0); // vertical line: rows -3..3, 4 inside
        assert_eq!(at(0, 5, 1), 21.0); // horizontal line at row 0: all 7 columns inside
        assert_eq!(at(4, 0, 1), 12.0);
    }
}

#[test]
fn wrong_lengths_are_errors_not_panics() {
    let params = Conv2dParams::default();
    let g = Conv2dGeometry::new("conv2d", &[1, 4, 4, 2], &[3, 3, 2, 1], &params).unwrap();
    let e = cpu::conv2d(&g, &[0.0; 31], &[0.0; 18], CpuKernel::Tiled).unwrap_err();
    assert!(e.message().contains("'x'") && e.message().contains("31"), "{e}");
}
