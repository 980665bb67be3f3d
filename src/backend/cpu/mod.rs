//! The CPU backend: a scalar kernel per op (the contract) and fast paths built on four-lane
//! f32 vectors ([`lanes`]). On wasm32 with `+simd128` the lanes are SIMD128 `v128`s; natively
//! the same fast-path code runs on portable `[f32; 4]` lanes, so its tiling and edge handling are
//! tested by plain `cargo test` too, and its SIMD128 build by the wasm32 tests in Node.

mod activation;
mod combine;
mod conv2d;
mod conv2d_backward;
mod conv2d_backward_gemm;
mod conv2d_gemm;
mod conv2d_tiled;
mod dense;
mod gemm;
pub mod lanes;
mod loss;
mod norm;
mod padded;
mod pool;

pub use activation::{activation_backward, activation_in_place};
pub use combine::{
    add, channel_scale, channel_scale_backward, concat, concat_backward, depth_max_pool,
    depth_max_pool_backward, dropout, dropout_forward, dropout_mask, dropout_mask_from, subsample,
    subsample_backward, zero_pad, zero_pad_backward,
};
pub use dense::{dense, dense_backward, rbf, rbf_backward};
pub use loss::{mean_squared_error, softmax_cross_entropy};
pub use norm::{
    batch_norm, batch_norm_training, batch_norm_training_backward, lrn, lrn_backward, moments,
    BatchNormTraining,
};
pub use pool::{
    avg_pool2d, avg_pool2d_backward, global_avg_pool, global_avg_pool_backward, global_max_pool,
    global_max_pool_backward, max_pool2d, max_pool2d_backward,
};

use crate::error::{Error, Result};
use crate::ops::conv::Conv2dGeometry;

/// Which CPU kernel to run. `Auto` picks the fast path; tests force each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuKernel {
    /// The fastest kernel for the shape.
    #[default]
    Auto,
    /// The scalar contract: plain loops, obviously right.
    Scalar,
    /// The register-tiled direct convolution on four-lane vectors (SIMD128 on wasm32).
    Tiled,
    /// im2col + a 4 x 8 register-blocked matrix multiply (SIMD128 on wasm32).
    Gemm,
}

/// `tf.nn.conv2d` on the CPU.
///
/// # Shapes
/// `x`: `g.input_shape()`, `filters`: `g.filter_shape()`, result: `g.output_shape()`.
/// Slices of other lengths are refused with an error (never a panic).
pub fn conv2d(
    g: &Conv2dGeometry,
    x: &[f32],
    filters: &[f32],
    kernel: CpuKernel,
) -> Result<Vec<f32>> {
    conv2d_rows(g, x, filters, kernel, 0..g.batch * g.out_h)
}

/// Convolutions (forward and backward) this instance of the core has run on the CPU: the
/// browser tests read it to prove that training runs none on the page's thread.
static CONV_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many CPU convolutions (forward or backward) this instance has run.
pub fn conv_calls() -> u64 {
    CONV_CALLS.load(std::sync::atomic::Ordering::Relaxed)
}

fn count_conv() {
    CONV_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Output rows `rows` of `tf.nn.conv2d`, counting the `n * oh` rows of the NHWC output (image
/// `r / oh`, row `r % oh`): `rows.len() * ow * cout` values. Workers split one convolution this
/// way; the values are bit-identical to the same rows of [`conv2d`].
pub fn conv2d_rows(
    g: &Conv2dGeometry,
    x: &[f32],
    filters: &[f32],
    kernel: CpuKernel,
    rows: std::ops::Range<usize>,
) -> Result<Vec<f32>> {
    count_conv();
    check_len("conv2d", "x", x.len(), &g.input_shape())?;
    check_len("conv2d", "filters", filters.len(), &g.filter_shape())?;
    let total = g.batch * g.out_h;
    if rows.start > rows.end || rows.end > total {
        return Err(Error::invalid(
            "conv2d",
            "rows",
            format!("{}..{} is not a range of the output's {total} rows", rows.start, rows.end),
        ));
    }
    let tiled = || conv2d_tiled::conv2d::<lanes::F32x4>(g, x, filters, rows.clone());
    let gemm = || conv2d_gemm::conv2d::<lanes::F32x4>(g, x, filters, rows.clone());
    match kernel {
        // The fast kernels decline grouped (and depthwise) convolutions: their tiles span all
        // output channels of one pixel, which a group structure would break.
        CpuKernel::Tiled if g.groups == 1 => tiled(),
        CpuKernel::Gemm if g.groups == 1 => gemm(),
        // With few filters the GEMM's 8-column panels are mostly padding: on the chapter's demo
        // (2 filters) the tiled kernel took 54 ms against the GEMM's 416 ms (native bench). With
        // many, the GEMM wins where maps are small: in Chromium, tiled everywhere made the
        // chapter's CNN 0.50x TF.js's speed against 0.73-0.89x with the GEMM; on the seed's and
        // ResNet's layers the two were within the run-to-run noise (tiled 0.83 and 0.90x).
        // The tiled kernel's 4-pixel tiles degrade to single pixels on 7- and 3-wide maps.
        CpuKernel::Auto if g.groups == 1 && g.out_c < 8 => tiled(),
        CpuKernel::Auto if g.groups == 1 => gemm(),
        _ => {
            let all = conv2d::conv2d(g, x, filters)?;
            if rows == (0..total) {
                return Ok(all);
            }
            let per_row = g.out_w * g.out_c;
            Ok(all[rows.start * per_row..rows.end * per_row].to_vec())
        }
    }
}

/// Adds a per-channel bias to an NHWC tensor in place (the conv's optional bias).
pub fn add_bias(y: &mut [f32], bias: &[f32]) -> Result<()> {
    if bias.is_empty() || !y.len().is_multiple_of(bias.len()) {
        return Err(Error::invalid(
            "conv2d",
            "bias",
            format!("has {} elements, not one per output channel", bias.len()),
        ));
    }
    for pixel in y.chunks_exact_mut(bias.len()) {
        for (v, &b) in pixel.iter_mut().zip(bias) {
            *v += b;
        }
    }
    Ok(())
}

/// The gradient of a per-channel bias: `dy` summed over every axis but the last.
pub fn conv2d_backward_bias(g: &Conv2dGeometry, dy: &[f32]) -> Result<Vec<f32>> {
    check_len("conv2d backward", "dy", dy.len(), &g.output_shape())?;
    Ok(conv2d_backward::backward_bias(g, dy))
}

/// Gradients of `tf.nn.conv2d`: `(dx, dw)` from the input, the filters and the output gradient.
/// Ungrouped convolutions run as matrix multiplies on the GEMM micro-kernel; grouped ones on
/// the scalar kernels.
///
/// # Shapes
/// `x`: `g.input_shape()`, `filters`: `g.filter_shape()`, `dy`: `g.output_shape()`.
pub fn conv2d_backward(
    g: &Conv2dGeometry,
    x: &[f32],
    filters: &[f32],
    dy: &[f32],
) -> Result<(Vec<f32>, Vec<f32>)> {
    conv2d_backward_with(g, x, filters, dy, CpuKernel::Auto)
}

/// [`conv2d_backward`] with the kernel chosen: `Scalar` forces the scalar loops (the contract),
/// anything else takes the GEMM path where it applies (no groups).
pub fn conv2d_backward_with(
    g: &Conv2dGeometry,
    x: &[f32],
    filters: &[f32],
    dy: &[f32],
    kernel: CpuKernel,
) -> Result<(Vec<f32>, Vec<f32>)> {
    count_conv();
    check_len("conv2d backward", "x", x.len(), &g.input_shape())?;
    check_len("conv2d backward", "filters", filters.len(), &g.filter_shape())?;
    check_len("conv2d backward", "dy", dy.len(), &g.output_shape())?;
    if g.groups == 1 && kernel != CpuKernel::Scalar {
        return Ok((
            conv2d_backward_gemm::backward_input(g, dy, filters)?,
            conv2d_backward_gemm::backward_filter(g, x, dy)?,
        ));
    }
    Ok((
        conv2d_backward::backward_input(g, dy, filters)?,
        conv2d_backward::backward_filter(g, x, dy)?,
    ))
}

pub(crate) fn check_len(op: &str, arg: &str, len: usize, shape: &[usize]) -> Result<()> {
    let want: usize = shape.iter().product();
    if len == want {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            arg,
            format!("data has {len} elements but shape {shape:?} needs {want}"),
        ))
    }
}

/// HWIO filters with the output channels padded with zeros to a multiple of `multiple`, so
/// that every filter row is whole vectors: `([fh, fw, cin / groups, cout_padded], cout_padded)`.
/// Shared by the tiled CPU kernel and the WebGPU launcher.
pub(crate) fn filters_padded_to(
    g: &Conv2dGeometry,
    w: &[f32],
    multiple: usize,
) -> Result<(Vec<f32>, usize)> {
    let padded = g.out_c.div_ceil(multiple) * multiple;
    let rows = g.fh * g.fw * g.in_per_group();
    let mut out = zeroed("conv2d", "packed filters", rows * padded)?;
    for r in 0..rows {
        out[r * padded..r * padded + g.out_c].copy_from_slice(&w[r * g.out_c..(r + 1) * g.out_c]);
    }
    Ok((out, padded))
}

/// A zeroed f32 buffer, or an error naming `op` if the allocator cannot give it (instead of the
/// abort that `vec![0.0; len]` would cause in wasm32 when memory runs out).
pub(crate) fn zeroed(op: &str, what: &str, len: usize) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| Error::limit(op, what, format!("cannot allocate {} MiB", (len * 4) >> 20)))?;
    v.resize(len, 0.0);
    Ok(v)
}
