//! Launcher of `conv2d.wgsl`: convolution on device-resident tensors, forward and backward.
//!
//! Which kernel runs a forward convolution, and why ([`ConvKernel::choose`]), designed for
//! hardware GPUs first and measured on one (bench/results/webgpu-h100-2026-11-26.txt: native
//! wgpu over Vulkan on an NVIDIA H100, `cargo bench --bench webgpu`, GPU time by timestamp
//! queries, run 3):
//! - grouped and depthwise convolutions: the grouped kernel (one output per invocation: a
//!   `vec4` of outputs could straddle two groups);
//! - 1x1, stride 1, unpadded: a plain matrix multiply of the `[n * h * w, in]` input with the
//!   `[in, out]` filters (matmul.wgsl: 64 x 64 blocks, 256 invocations, 4 x 4 outputs each, vec4
//!   tiles in workgroup memory): ResNet's 1x1 layer at 15.6 TFLOP/s (23% of fp32 peak), 2.1x the
//!   direct kernel;
//! - 32 or more filters: the implicit GEMM, the same tiling with its A tiles read straight from
//!   the input as im2col patches (never built): 6.9 to 14 TFLOP/s on the chapter's layers, 1.2 to
//!   1.9x the direct kernel;
//! - fewer filters (the demo's two): the direct kernel, four output channels per invocation (the
//!   filters zero-padded to whole `vec4`s on the device first), where a 64-wide block would be
//!   mostly padding.
//!
//! A software adapter (SwiftShader: Chromium on a machine without a GPU) is another machine: it
//! runs four invocations in the lanes of one CPU vector, a load from a storage buffer costs about
//! what a loop iteration does (2 to 8 ns per invocation, arithmetic nearly free), and workgroup
//! barriers are slow. There the seed's layer took 1,438 to 1,806 ms as implicit GEMM against
//! 1,091 to 1,457 ms direct; the blocked kernel (8 pixels x 8 channels per invocation from a
//! zero-padded copy of the input, one flat loop, no bounds tests: conv2d.wgsl) ran the seed's
//! layer in 347 ms against the direct kernel's 980 to 1,070 ms, and ResNet's 3x3 layer in 73 to
//! 93 ms against 306 to 316 ms (kernels alone, one page, Chromium 156 on this 2-core machine,
//! 2026-11-27). So on software adapters every ungrouped convolution with undilated columns runs
//! blocked (1x1 included), and the rest direct. Their gradients there: dw by `filter_grad` (no
//! workgroup reduction; the chapter's third conv at batch 8: 17.0 s with `backward_filter`, 0.58 s)
//! and, for stride 1, dx on the blocked kernel (dy convolved with the flipped filters).

use super::runtime::{expect_shape, u32_of, GpuTensor, KernelSpec};
use super::split::Operand::{Units, Whole};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::conv::Conv2dGeometry;

const fn spec(entry: &'static str) -> KernelSpec {
    KernelSpec {
        file: "conv2d.wgsl",
        source: include_str!("conv2d.wgsl"),
        entry,
        inputs: 2,
        outputs: 1,
    }
}
const DIRECT: KernelSpec = spec("main");
const IMPLICIT_GEMM: KernelSpec = spec("implicit_gemm");
const GROUPED: KernelSpec = spec("grouped");
const BACKWARD_INPUT: KernelSpec = spec("backward_input");
const BACKWARD_FILTER: KernelSpec = spec("backward_filter");
const BLOCKED: KernelSpec = spec("blocked");
const PAD_INPUT: KernelSpec = KernelSpec { inputs: 1, ..spec("pad_input") };
const PAD_FILTERS: KernelSpec = KernelSpec { inputs: 1, ..spec("pad_filters") };
const FILTER_GRAD: KernelSpec = spec("filter_grad");
const FLIP_FILTERS: KernelSpec = KernelSpec { inputs: 1, ..spec("flip_filters") };
/// The parameter word `backward_filter` reads as its accumulate flag.
const ACCUMULATE: usize = 25;

/// The forward kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvKernel {
    /// 1x1 as a tiled matrix multiply.
    Gemm,
    /// im2col + GEMM without the im2col matrix: patches loaded into workgroup tiles.
    ImplicitGemm,
    /// Direct, four output channels per invocation.
    Direct,
    /// Direct, one output per invocation, any groups.
    Grouped,
    /// Direct, 8 pixels x 8 channels per invocation from a zero-padded copy of the input: for
    /// software adapters (undilated columns, no groups).
    Blocked,
}

impl ConvKernel {
    /// The kernel for `g` on a hardware adapter, and the reason in words.
    pub fn choose(g: &Conv2dGeometry) -> (Self, &'static str) {
        Self::choose_for(g, false)
    }

    /// The kernel for `g` on a software (`true`) or hardware adapter, and the reason.
    pub fn choose_for(g: &Conv2dGeometry, software: bool) -> (Self, &'static str) {
        if g.groups != 1 {
            (Self::Grouped, "grouped or depthwise: one output per invocation")
        } else if software && g.dilations[1] == 1 {
            (
                Self::Blocked,
                "software adapter: blocked direct, 8 pixels x 8 channels per invocation",
            )
        } else if software {
            (Self::Direct, "software adapter, dilated columns: direct, four output channels")
        } else if Self::pointwise(g) {
            (Self::Gemm, "1x1, stride 1: a plain matrix multiply (tiled GEMM)")
        } else if g.out_c >= 32 {
            (
                Self::ImplicitGemm,
                "im2col + GEMM: 64x64 tiles in workgroup memory, 4x4 outputs per invocation",
            )
        } else {
            (Self::Direct, "few filters: direct, four output channels per invocation")
        }
    }

    /// A 1x1, stride-1, unpadded convolution: a matrix multiply as it stands.
    fn pointwise(g: &Conv2dGeometry) -> bool {
        g.fh == 1
            && g.fw == 1
            && g.strides == [1, 1]
            && g.pad_top == 0
            && g.pad_left == 0
            && g.out_h == g.in_h
            && g.out_w == g.in_w
    }
}

fn params(op: &str, g: &Conv2dGeometry) -> Result<Vec<u32>> {
    let b = Blocking::of(g);
    Ok(vec![
        0,
        0,
        u32_of(op, "x", g.batch)?,
        u32_of(op, "x", g.in_h)?,
        u32_of(op, "x", g.in_w)?,
        u32_of(op, "x", g.in_c)?,
        u32_of(op, "filters", g.fh)?,
        u32_of(op, "filters", g.fw)?,
        u32_of(op, "filters", g.out_c)?,
        u32_of(op, "filters", g.out_c.div_ceil(4))?,
        u32_of(op, "output", g.out_h)?,
        u32_of(op, "output", g.out_w)?,
        u32_of(op, "padding", g.pad_top)?,
        u32_of(op, "padding", g.pad_left)?,
        u32_of(op, "strides", g.strides[0])?,
        u32_of(op, "strides", g.strides[1])?,
        u32_of(op, "dilations", g.dilations[0])?,
        u32_of(op, "dilations", g.dilations[1])?,
        u32_of(op, "groups", g.in_per_group())?,
        u32_of(op, "groups", g.out_per_group())?,
        u32_of(op, "padding", b.padded_h)?,
        u32_of(op, "padding", b.padded_w)?,
        u32_of(op, "x", b.in_c_vec4)?,
        u32_of(op, "filters", b.out_c_vec8)?,
        u32_of(op, "output", b.tiles)?,
        0, // accumulate
        0,
        0,
    ])
}

/// The blocked kernel's layout of `g`: the zero-padded input `[n, padded_h, padded_w,
/// in_c_vec4]` (vec4s) covers every tap of every output pixel, the padded filters are
/// `[fh * fw, in_c_vec4 * 4, out_c_vec8 * 4]`, and each output row is `tiles` tiles of 8 pixels.
#[derive(Debug, Clone, Copy)]
struct Blocking {
    padded_h: usize,
    padded_w: usize,
    in_c_vec4: usize,
    out_c_vec8: usize,
    tiles: usize,
}

impl Blocking {
    fn of(g: &Conv2dGeometry) -> Self {
        let reach = |out: usize, stride: usize, taps: usize, dilation: usize| {
            (out - 1) * stride + (taps - 1) * dilation + 1
        };
        Blocking {
            padded_h: (g.in_h + g.pad_top).max(reach(g.out_h, g.strides[0], g.fh, g.dilations[0])),
            padded_w: (g.in_w + g.pad_left).max(reach(g.out_w, g.strides[1], g.fw, g.dilations[1])),
            in_c_vec4: g.in_c.div_ceil(4),
            out_c_vec8: g.out_c.div_ceil(8) * 2,
            tiles: g.out_w.div_ceil(8),
        }
    }

    /// Floats of one padded image.
    fn image(&self) -> usize {
        self.padded_h * self.padded_w * self.in_c_vec4 * 4
    }
}

/// The forward geometry whose output is `g`'s dx, where the blocked kernel can run it: stride 1,
/// undilated columns, no groups, and padding no wider than the filter's reach (so the
/// transposed padding is not negative).
fn transposed(g: &Conv2dGeometry) -> Option<Conv2dGeometry> {
    let reach_h = (g.fh - 1) * g.dilations[0];
    let ok = g.strides == [1, 1]
        && g.dilations[1] == 1
        && g.groups == 1
        && g.pad_top <= reach_h
        && g.pad_left < g.fw;
    ok.then(|| Conv2dGeometry {
        in_h: g.out_h,
        in_w: g.out_w,
        in_c: g.out_c,
        out_c: g.in_c,
        out_h: g.in_h,
        out_w: g.in_w,
        pad_top: reach_h - g.pad_top,
        pad_left: g.fw - 1 - g.pad_left,
        ..*g
    })
}

impl GpuContext {
    /// `tf.nn.conv2d` (grouped and depthwise included) on device tensors: `x` of
    /// `g.input_shape()`, `filters` HWIO of `g.filter_shape()`.
    pub async fn conv2d_tensors(
        &self,
        g: &Conv2dGeometry,
        x: &GpuTensor,
        filters: &GpuTensor,
    ) -> Result<GpuTensor> {
        self.conv2d_with(ConvKernel::choose_for(g, self.adapter().software).0, g, x, filters).await
    }

    /// [`Self::conv2d_tensors`] with the kernel forced (benchmarks and tests compare them). A
    /// kernel that cannot run `g` (a grouped convolution on an ungrouped kernel, a 1x1 GEMM on
    /// another shape) is refused.
    pub async fn conv2d_with(
        &self,
        kernel: ConvKernel,
        g: &Conv2dGeometry,
        x: &GpuTensor,
        filters: &GpuTensor,
    ) -> Result<GpuTensor> {
        const OP: &str = "conv2d";
        expect_shape(OP, "x", x, &g.input_shape())?;
        expect_shape(OP, "filters", filters, &g.filter_shape())?;
        params(OP, g)?; // every size fits the shader's u32s
        let compatible = match kernel {
            ConvKernel::Grouped => true,
            ConvKernel::Gemm => g.groups == 1 && ConvKernel::pointwise(g),
            ConvKernel::Direct | ConvKernel::ImplicitGemm => g.groups == 1,
            ConvKernel::Blocked => g.groups == 1 && g.dilations[1] == 1,
        };
        if !compatible {
            return Err(Error::invalid(OP, "kernel", format!("{kernel:?} cannot run {g:?}")));
        }
        // A padded image that does not fit one binding (4x the input for one channel): the
        // direct kernel, which reads the input as it is.
        let max_floats = (self.max_binding_bytes() / 4) as usize;
        let kernel = match kernel {
            ConvKernel::Blocked if Blocking::of(g).image() > max_floats => ConvKernel::Direct,
            k => k,
        };
        match kernel {
            ConvKernel::Gemm => {
                let rows = g.batch * g.in_h * g.in_w;
                self.matmul_as(OP, (x, rows, g.in_c, false), (filters, g.in_c, g.out_c, false))
                    .await?
                    .reshaped(&g.output_shape())
            }
            ConvKernel::Direct => {
                let vec4s = g.out_c.div_ceil(4);
                let rows = g.fh * g.fw * g.in_c;
                let padded = if vec4s * 4 == g.out_c {
                    None
                } else {
                    let pad = [[0, 0], [0, vec4s * 4 - g.out_c]];
                    Some(self.zero_pad_as(filters, [1, rows, g.out_c, 1], pad).await?)
                };
                let w = padded.as_ref().unwrap_or(filters);
                self.conv_by_images(g, x, w, &DIRECT, |c| {
                    (c.batch * c.out_h * c.out_w) as u64 * vec4s as u64
                })
                .await
            }
            ConvKernel::ImplicitGemm => {
                self.conv_by_images(g, x, filters, &IMPLICIT_GEMM, |c| {
                    let pixels = c.batch * c.out_h * c.out_w;
                    pixels.div_ceil(64) as u64 * c.out_c.div_ceil(64) as u64 * 64
                })
                .await
            }
            ConvKernel::Grouped => {
                self.conv_by_images(g, x, filters, &GROUPED, |c| {
                    c.output_shape().iter().product::<usize>() as u64
                })
                .await
            }
            ConvKernel::Blocked => self.conv_blocked(g, x, filters).await,
        }
    }

    /// The blocked kernel: the filters padded once, then per chunk of whole images (as
    /// [`Self::conv_by_images`]) the chunk's input padded and convolved, all in one submission.
    async fn conv_blocked(
        &self,
        g: &Conv2dGeometry,
        x: &GpuTensor,
        filters: &GpuTensor,
    ) -> Result<GpuTensor> {
        const OP: &str = "conv2d";
        let b = Blocking::of(g);
        let (image_in, image_out) = (g.image_in(), g.image_out());
        let parts = [("x", image_in.max(b.image())), ("output", image_out)];
        let chunk = self.units_per_launch(OP, "image", g.batch, &parts)?;
        let all = params(OP, g)?;
        let padded_filters = g.fh * g.fw * b.in_c_vec4 * 4 * b.out_c_vec8 * 4;
        // The scratch tensors live until the submit is done: released inside it, the pool could
        // destroy them (over its idle cap) before the queue ran the work.
        let w = self.alloc(OP, "filters", &[padded_filters])?;
        let xp = self.alloc(OP, "x", &[chunk * b.image()])?;
        self.submit(OP, |enc| {
            self.launch(enc, &PAD_FILTERS, &all, &[filters], &[&w], padded_filters as u64 / 4)?;
            let y = self.alloc(OP, "output", &g.output_shape())?;
            for b0 in (0..g.batch).step_by(chunk) {
                let part = Conv2dGeometry { batch: chunk.min(g.batch - b0), ..*g };
                let p = params(OP, &part)?;
                let xb = x.range(b0 * image_in, part.batch * image_in);
                let padded = (part.batch * b.image()) as u64;
                self.launch_bound(enc, &PAD_INPUT, &p, &[xb], &[xp.whole()], padded / 4)?;
                let yb = y.range(b0 * image_out, part.batch * image_out);
                let count = (part.batch * g.out_h * b.tiles * b.out_c_vec8 / 2) as u64;
                self.launch_bound(enc, &BLOCKED, &p, &[xp.whole(), w.whole()], &[yb], count)?;
            }
            Ok(y)
        })
        .await
    }

    /// Runs a forward kernel over the batch, in chunks of whole images when the input or the
    /// output is larger than one storage binding (VGG-16's first conv output at batch 64 is
    /// 822 MB): each chunk binds its images' range of both and runs as a smaller batch.
    async fn conv_by_images(
        &self,
        g: &Conv2dGeometry,
        x: &GpuTensor,
        w: &GpuTensor,
        spec: &KernelSpec,
        invocations: impl Fn(&Conv2dGeometry) -> u64,
    ) -> Result<GpuTensor> {
        const OP: &str = "conv2d";
        let (image_in, image_out) = (g.image_in(), g.image_out());
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", &g.output_shape())?;
            let ins = [Units("x", x, image_in), Whole(w)];
            let outs = [Units("output", &y, image_out)];
            self.launch_split(enc, spec, (OP, "image"), g.batch, &ins, &outs, |_, n| {
                let part = Conv2dGeometry { batch: n, ..*g };
                Ok((params(OP, &part)?, invocations(&part)))
            })?;
            Ok(y)
        })
        .await
    }

    /// Gradients of [`Self::conv2d_tensors`]: `(dx, dw)`.
    pub async fn conv2d_backward_tensors(
        &self,
        g: &Conv2dGeometry,
        x: &GpuTensor,
        filters: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor)> {
        const OP: &str = "conv2d backward";
        expect_shape(OP, "x", x, &g.input_shape())?;
        expect_shape(OP, "filters", filters, &g.filter_shape())?;
        expect_shape(OP, "dy", dy, &g.output_shape())?;
        let p = params(OP, g)?;
        let (image_in, image_out) = (g.image_in(), g.image_out());
        let unit = (OP, "image");
        // On a software adapter dw comes from `filter_grad` (a flat loop per tap and 4 x 4
        // channels, no workgroup reduction: the chapter's third conv at batch 8 took 19.7 s with
        // `backward_filter` on SwiftShader) where its operands come in vec4s and fit.
        let b = Blocking::of(g);
        let flat_dw = self.adapter().software
            && g.groups == 1
            && g.out_c.is_multiple_of(4)
            && g.batch * b.image() <= (self.max_binding_bytes() / 4) as usize;
        // And dx, for stride 1, as a forward convolution on the blocked kernel: dy (zero-padded)
        // convolved with the filters turned 180 degrees, channels swapped (`flip_filters`).
        let flipped = self.adapter().software.then(|| transposed(g)).flatten().filter(|t| {
            t.batch * Blocking::of(t).image() <= (self.max_binding_bytes() / 4) as usize
        });
        // Scratch tensors are allocated before the submit so that they outlive it (see
        // conv_blocked).
        let flipped = match flipped {
            Some(t) => {
                let bt = Blocking::of(&t);
                let taps = g.fh * g.fw;
                let w =
                    self.alloc(OP, "filters", &[taps * bt.in_c_vec4 * 4 * bt.out_c_vec8 * 4])?;
                let dyp = self.alloc(OP, "dy", &[t.batch * bt.image()])?;
                Some((t, bt, w, dyp))
            }
            None => None,
        };
        let xp = if flat_dw { Some(self.alloc(OP, "x", &[g.batch * b.image()])?) } else { None };
        self.submit(OP, |enc| {
            let dx = self.alloc(OP, "dx", &g.input_shape())?;
            if let Some((t, bt, w, dyp)) = &flipped {
                let pt = params(OP, t)?;
                self.launch(enc, &FLIP_FILTERS, &pt, &[filters], &[w], w.len() as u64 / 4)?;
                self.launch(enc, &PAD_INPUT, &pt, &[dy], &[dyp], dyp.len() as u64 / 4)?;
                let count = t.batch * t.out_h * bt.tiles * bt.out_c_vec8 / 2;
                self.launch(enc, &BLOCKED, &pt, &[dyp, w], &[&dx], count as u64)?;
            } else {
                // By chunks of images where dy or dx is over one binding.
                let ins = [Units("dy", dy, image_out), Whole(filters)];
                let outs = [Units("dx", &dx, image_in)];
                self.launch_split(enc, &BACKWARD_INPUT, unit, g.batch, &ins, &outs, |_, n| {
                    Ok((params(OP, &Conv2dGeometry { batch: n, ..*g })?, (n * image_in) as u64))
                })?;
            }
            let dw = self.alloc(OP, "dw", &g.filter_shape())?;
            if let Some(xp) = &xp {
                self.launch(enc, &PAD_INPUT, &p, &[x], &[xp], xp.len() as u64 / 4)?;
                let count = g.fh * g.fw * b.in_c_vec4 * g.out_c / 4;
                self.launch(enc, &FILTER_GRAD, &p, &[xp, dy], &[&dw], count as u64)?;
            } else {
                // Chunks of images add to the filter gradient the earlier ones summed.
                let ins = [Units("x", x, image_in), Units("dy", dy, image_out)];
                self.launch_split(
                    enc,
                    &BACKWARD_FILTER,
                    unit,
                    g.batch,
                    &ins,
                    &[Whole(&dw)],
                    |first, n| {
                        let mut words = params(OP, &Conv2dGeometry { batch: n, ..*g })?;
                        words[ACCUMULATE] = u32::from(first > 0);
                        Ok((words, dw.len() as u64 * 64))
                    },
                )?;
            }
            Ok((dx, dw))
        })
        .await
    }

    /// The gradient of a convolution's bias: `dy` summed over every axis but the last.
    pub async fn conv2d_backward_bias(
        &self,
        g: &Conv2dGeometry,
        dy: &GpuTensor,
    ) -> Result<GpuTensor> {
        expect_shape("conv2d backward", "dy", dy, &g.output_shape())?;
        self.column_sums_as("conv2d backward", dy, dy.len() / g.out_c, g.out_c).await
    }
}
