//! Launcher of `combine.wgsl`: residual add, depth concatenation and its split, per-channel
//! scaling (squeeze-and-excitation) and affine maps (batch norm, LeNet-5's subsampling), zero
//! padding and its crop, depthwise max pooling, and dropout's masked scale.

use super::pool::PoolKind;
use super::runtime::{expect_shape, u32_of, GpuTensor, KernelSpec};
use super::split::{each, Operand::Units, Operand::Whole};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::pool::Pool2dGeometry;

const fn spec(entry: &'static str, inputs: usize) -> KernelSpec {
    KernelSpec {
        file: "combine.wgsl",
        source: include_str!("combine.wgsl"),
        entry,
        inputs,
        outputs: 1,
    }
}
const ADD: KernelSpec = spec("add", 2);
const CHANNEL_SCALE: KernelSpec = spec("channel_scale", 2);
const CHANNEL_SCALE_DS: KernelSpec = spec("channel_scale_ds", 2);
const DEPTH_MAX_BACKWARD: KernelSpec = spec("depth_max_backward", 2);
const MASKED_SCALE: KernelSpec = spec("masked_scale", 2);
const CHANNEL_AFFINE: KernelSpec = spec("channel_affine", 3);
const COPY_CHANNELS: KernelSpec = spec("copy_channels", 1);
const SLICE_CHANNELS: KernelSpec = spec("slice_channels", 1);
const ZERO_PAD: KernelSpec = spec("zero_pad", 1);
const CROP: KernelSpec = spec("crop", 1);
const DEPTH_MAX: KernelSpec = spec("depth_max", 1);

/// The shader's generic words: `u0..u7` then `f0`.
fn words(op: &str, u: &[usize], f0: f32) -> Result<Vec<u32>> {
    let mut w = vec![0, 0];
    for (i, &v) in u.iter().enumerate() {
        w.push(u32_of(op, &format!("size {i}"), v)?);
    }
    w.resize(10, 0);
    w.push(f0.to_bits());
    Ok(w)
}

fn channels(op: &str, arg: &str, t: &GpuTensor) -> Result<usize> {
    t.shape().last().copied().filter(|_| t.shape().len() >= 2).ok_or_else(|| {
        Error::invalid(op, arg, format!("expected a rank >= 2 tensor, got {:?}", t.shape()))
    })
}

fn rank4(op: &str, t: &GpuTensor) -> Result<[usize; 4]> {
    match *t.shape() {
        [n, h, w, c] => Ok([n, h, w, c]),
        _ => Err(Error::invalid(
            op,
            "x",
            format!("expected rank 4 [batch, height, width, channels], got {:?}", t.shape()),
        )),
    }
}

impl GpuContext {
    /// `a + b` (same shapes: a residual connection).
    pub async fn add(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor> {
        expect_shape("add", "b", b, a.shape())?;
        let p = words("add", &[], 0.0)?;
        self.submit("add", |enc| {
            let y = self.alloc("add", "output", a.shape())?;
            let (ins, outs) = ([Units("a", a, 1), Units("b", b, 1)], [Units("output", &y, 1)]);
            self.launch_split(enc, &ADD, ("add", "element"), y.len(), &ins, &outs, each(&p, 1))?;
            Ok(y)
        })
        .await
    }

    /// Concatenation along the last axis; every part has the same leading dimensions.
    pub async fn concat(&self, parts: &[&GpuTensor]) -> Result<GpuTensor> {
        const OP: &str = "concatenate";
        let first = parts.first().ok_or_else(|| Error::invalid(OP, "inputs", "none given"))?;
        let lead = &first.shape()[..first.shape().len().saturating_sub(1)];
        let mut total = 0;
        for (i, t) in parts.iter().enumerate() {
            let c = channels(OP, &format!("inputs[{i}]"), t)?;
            if &t.shape()[..t.shape().len() - 1] != lead {
                return Err(Error::invalid(
                    OP,
                    &format!("inputs[{i}]"),
                    format!(
                        "has shape {:?}, which differs from {:?} before the last axis",
                        t.shape(),
                        first.shape()
                    ),
                ));
            }
            total += c;
        }
        let rows: usize = lead.iter().product();
        let mut shape = lead.to_vec();
        shape.push(total);
        let mut plans = Vec::new();
        let mut offset = 0;
        for t in parts {
            let c = *t.shape().last().unwrap_or(&1);
            plans.push((words(OP, &[c, total, offset], 0.0)?, c));
            offset += c;
        }
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", &shape)?;
            for (i, (t, (p, c))) in parts.iter().zip(&plans).enumerate() {
                let (ins, outs) =
                    ([Units(&format!("inputs[{i}]"), t, *c)], [Units("output", &y, total)]);
                self.launch_split(
                    enc,
                    &COPY_CHANNELS,
                    (OP, "row"),
                    rows,
                    &ins,
                    &outs,
                    each(p, *c),
                )?;
            }
            Ok(y)
        })
        .await
    }

    /// The gradient of [`Self::concat`]: `dy` split into parts of `channels` each.
    pub async fn concat_backward(
        &self,
        dy: &GpuTensor,
        channels_of: &[usize],
    ) -> Result<Vec<GpuTensor>> {
        const OP: &str = "concatenate backward";
        let total = channels(OP, "dy", dy)?;
        if channels_of.iter().sum::<usize>() != total || channels_of.contains(&0) {
            return Err(Error::invalid(
                OP,
                "channels",
                format!("{channels_of:?} do not split dy's {total} channels"),
            ));
        }
        let lead = &dy.shape()[..dy.shape().len() - 1];
        let rows: usize = lead.iter().product();
        self.submit(OP, |enc| {
            let mut out = Vec::new();
            let mut offset = 0;
            for &c in channels_of {
                let mut shape = lead.to_vec();
                shape.push(c);
                let part = self.alloc(OP, "dx", &shape)?;
                let p = words(OP, &[total, c, offset], 0.0)?;
                let (ins, outs) = ([Units("dy", dy, total)], [Units("dx", &part, c)]);
                self.launch_split(
                    enc,
                    &SLICE_CHANNELS,
                    (OP, "row"),
                    rows,
                    &ins,
                    &outs,
                    each(&p, c),
                )?;
                out.push(part);
                offset += c;
            }
            Ok(out)
        })
        .await
    }

    /// `y[n, ..., k] = x[n, ..., k] * s[n, k]` (squeeze-and-excitation's scaling).
    pub async fn channel_scale(&self, x: &GpuTensor, s: &GpuTensor) -> Result<GpuTensor> {
        const OP: &str = "channelScale";
        let (n, c, pixels) = scale_dims(OP, x, s)?;
        let p = words(OP, &[c, pixels], 0.0)?;
        let image = pixels * c;
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", x.shape())?;
            let (ins, outs) =
                ([Units("x", x, image), Units("scale", s, c)], [Units("output", &y, image)]);
            self.launch_split(enc, &CHANNEL_SCALE, (OP, "image"), n, &ins, &outs, each(&p, image))?;
            Ok(y)
        })
        .await
    }

    /// Gradients of [`Self::channel_scale`]: `(dx, ds)`.
    pub async fn channel_scale_backward(
        &self,
        x: &GpuTensor,
        s: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor)> {
        const OP: &str = "channelScale backward";
        let (n, c, pixels) = scale_dims(OP, x, s)?;
        expect_shape(OP, "dy", dy, x.shape())?;
        let p = words(OP, &[c, pixels], 0.0)?;
        self.submit(OP, |enc| {
            let dx = self.alloc(OP, "dx", x.shape())?;
            let ds = self.alloc(OP, "ds", &[n, c])?;
            let image = pixels * c;
            let unit = (OP, "image");
            let (ins, outs) =
                ([Units("dy", dy, image), Units("scale", s, c)], [Units("dx", &dx, image)]);
            self.launch_split(enc, &CHANNEL_SCALE, unit, n, &ins, &outs, each(&p, image))?;
            let (ins, outs) =
                ([Units("x", x, image), Units("dy", dy, image)], [Units("ds", &ds, c)]);
            self.launch_split(enc, &CHANNEL_SCALE_DS, unit, n, &ins, &outs, each(&p, c))?;
            Ok((dx, ds))
        })
        .await
    }

    /// `y = x * scale[k] + shift[k]` over the last axis.
    pub async fn channel_affine(
        &self,
        op: &str,
        x: &GpuTensor,
        scale: &GpuTensor,
        shift: &GpuTensor,
    ) -> Result<GpuTensor> {
        let c = channels(op, "x", x)?;
        expect_shape(op, "scale", scale, &[c])?;
        expect_shape(op, "shift", shift, &[c])?;
        let p = words(op, &[c], 0.0)?;
        self.submit(op, |enc| {
            let y = self.alloc(op, "output", x.shape())?;
            let ins = [Units("x", x, c), Whole(scale), Whole(shift)];
            let outs = [Units("output", &y, c)];
            self.launch_split(
                enc,
                &CHANNEL_AFFINE,
                (op, "row"),
                x.len() / c,
                &ins,
                &outs,
                each(&p, c),
            )?;
            Ok(y)
        })
        .await
    }

    /// Zero padding of `[n, h, w, c]` by `[[top, bottom], [left, right]]`.
    pub async fn zero_pad(&self, x: &GpuTensor, pads: [[usize; 2]; 2]) -> Result<GpuTensor> {
        let shape = rank4("zeroPadding", x)?;
        self.zero_pad_as(x, shape, pads).await
    }

    /// [`Self::zero_pad`] of `x` read as `shape` (same element count).
    pub(crate) async fn zero_pad_as(
        &self,
        x: &GpuTensor,
        shape: [usize; 4],
        pads: [[usize; 2]; 2],
    ) -> Result<GpuTensor> {
        const OP: &str = "zeroPadding";
        let [n, h, w, c] = shape;
        if n * h * w * c != x.len() {
            return Err(Error::invalid(OP, "x", format!("{} elements are not {shape:?}", x.len())));
        }
        let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
        crate::tensor::element_count(OP, "output", &[n, oh, ow, c])?;
        let p = words(OP, &[n, h, w, c, pads[0][0], pads[1][0], oh, ow], 0.0)?;
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", &[n, oh, ow, c])?;
            let (ins, outs) = ([Units("x", x, h * w * c)], [Units("output", &y, oh * ow * c)]);
            self.launch_split(
                enc,
                &ZERO_PAD,
                (OP, "image"),
                n,
                &ins,
                &outs,
                each(&p, oh * ow * c),
            )?;
            Ok(y)
        })
        .await
    }

    /// The gradient of [`Self::zero_pad`]: `dy` cropped back to `shape`.
    pub async fn zero_pad_backward(
        &self,
        dy: &GpuTensor,
        shape: [usize; 4],
        pads: [[usize; 2]; 2],
    ) -> Result<GpuTensor> {
        const OP: &str = "zeroPadding backward";
        let [n, h, w, c] = shape;
        let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
        expect_shape(OP, "dy", dy, &[n, oh, ow, c])?;
        let p = words(OP, &[n, h, w, c, pads[0][0], pads[1][0], oh, ow], 0.0)?;
        self.submit(OP, |enc| {
            let dx = self.alloc(OP, "dx", &shape)?;
            let (ins, outs) = ([Units("dy", dy, oh * ow * c)], [Units("dx", &dx, h * w * c)]);
            self.launch_split(enc, &CROP, (OP, "image"), n, &ins, &outs, each(&p, h * w * c))?;
            Ok(dx)
        })
        .await
    }

    /// Depthwise max pooling: the maximum of each run of `k` channels (`k` divides them).
    pub async fn depth_max_pool(&self, x: &GpuTensor, k: usize) -> Result<GpuTensor> {
        const OP: &str = "depthMaxPool";
        let c = depth_pool_check(OP, x, k)?;
        let mut shape = x.shape().to_vec();
        *shape.last_mut().unwrap_or(&mut 0) = c / k;
        let p = words(OP, &[k], 0.0)?;
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", &shape)?;
            let (ins, outs) = ([Units("x", x, c)], [Units("output", &y, c / k)]);
            self.launch_split(
                enc,
                &DEPTH_MAX,
                (OP, "row"),
                x.len() / c,
                &ins,
                &outs,
                each(&p, c / k),
            )?;
            Ok(y)
        })
        .await
    }

    /// The gradient of [`Self::depth_max_pool`]: to the first maximum of each run.
    pub async fn depth_max_pool_backward(
        &self,
        x: &GpuTensor,
        k: usize,
        dy: &GpuTensor,
    ) -> Result<GpuTensor> {
        const OP: &str = "depthMaxPool backward";
        let c = depth_pool_check(OP, x, k)?;
        let mut shape = x.shape().to_vec();
        *shape.last_mut().unwrap_or(&mut 0) = c / k;
        expect_shape(OP, "dy", dy, &shape)?;
        let p = words(OP, &[k], 0.0)?;
        self.submit(OP, |enc| {
            let dx = self.alloc(OP, "dx", x.shape())?;
            let (ins, outs) = ([Units("x", x, c), Units("dy", dy, c / k)], [Units("dx", &dx, c)]);
            let rows = x.len() / c;
            self.launch_split(
                enc,
                &DEPTH_MAX_BACKWARD,
                (OP, "row"),
                rows,
                &ins,
                &outs,
                each(&p, c / k),
            )?;
            Ok(dx)
        })
        .await
    }

    /// Dropout with a keep-mask (1.0 kept, 0.0 dropped): kept values scaled by
    /// `1 / (1 - rate)`. Applied to `dy` with the same mask it is its own gradient. The mask
    /// comes from the CPU's seeded generator, so both backends drop the same units.
    pub async fn dropout(&self, x: &GpuTensor, keep: &GpuTensor, rate: f32) -> Result<GpuTensor> {
        const OP: &str = "dropout";
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::invalid(OP, "rate", format!("must be in [0, 1), got {rate}")));
        }
        expect_shape(OP, "mask", keep, x.shape())?;
        let p = words(OP, &[], 1.0 / (1.0 - rate))?;
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", x.shape())?;
            let (ins, outs) =
                ([Units("x", x, 1), Units("mask", keep, 1)], [Units("output", &y, 1)]);
            self.launch_split(
                enc,
                &MASKED_SCALE,
                (OP, "element"),
                x.len(),
                &ins,
                &outs,
                each(&p, 1),
            )?;
            Ok(y)
        })
        .await
    }

    /// LeNet-5's subsampling: `coeff[k] * avg_pool(x) + bias[k]`.
    pub async fn subsample(
        &self,
        g: &Pool2dGeometry,
        x: &GpuTensor,
        coeff: &GpuTensor,
        bias: &GpuTensor,
    ) -> Result<GpuTensor> {
        let avg = self.pool2d(PoolKind::Avg, g, x).await?;
        self.channel_affine("subsampling", &avg, coeff, bias).await
    }

    /// Gradients of [`Self::subsample`]: `(dx, dcoeff, dbias)`.
    pub async fn subsample_backward(
        &self,
        g: &Pool2dGeometry,
        x: &GpuTensor,
        coeff: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor, GpuTensor)> {
        const OP: &str = "subsampling backward";
        let c = g.channels;
        expect_shape(OP, "coefficient", coeff, &[c])?;
        expect_shape(OP, "dy", dy, &g.output_shape())?;
        let avg = self.pool2d(PoolKind::Avg, g, x).await?;
        let (n, pixels) = (g.batch, g.out_h * g.out_w);
        // Seen as [n, pixels, c] with the coefficients repeated per image ([n, c], by the
        // product ones[n, 1] coeff[1, c]: exact), dx's scaling and the per-image sums of
        // avg * dy are channel_scale's backward; dcoeff sums those over the images.
        let ones = self.upload(OP, "coefficient", &[n, 1], &vec![1.0; n])?;
        let coeff_rows = self.matmul_as(OP, (&ones, n, 1, false), (coeff, 1, c, false)).await?;
        let (scaled, ds) = self
            .channel_scale_backward(
                &avg.reshaped(&[n, pixels, c])?,
                &coeff_rows.reshaped(&[n, c])?,
                &dy.view(&[n, pixels, c])?,
            )
            .await?;
        let dcoeff = self.column_sums(OP, &ds).await?;
        let dbias = self.column_sums(OP, &dy.view(&[n * pixels, c])?).await?;
        let dx =
            self.pool2d_backward(PoolKind::Avg, g, x, &scaled.reshaped(&g.output_shape())?).await?;
        Ok((dx, dcoeff, dbias))
    }

    /// A copy of `t` with another shape of the same size.
    pub async fn copy_as(&self, op: &str, t: &GpuTensor, shape: &[usize]) -> Result<GpuTensor> {
        let len: usize = shape.iter().product();
        if len != t.len() {
            return Err(Error::invalid(
                op,
                "shape",
                format!("{shape:?} does not hold {} elements", t.len()),
            ));
        }
        self.submit(op, |enc| {
            let y = self.alloc(op, "output", shape)?;
            enc.copy_buffer_to_buffer(t.buf.buffer(), 0, y.buf.buffer(), 0, len as u64 * 4);
            Ok(y)
        })
        .await
    }
}

fn scale_dims(op: &str, x: &GpuTensor, s: &GpuTensor) -> Result<(usize, usize, usize)> {
    let c = channels(op, "x", x)?;
    let n = x.shape()[0];
    expect_shape(op, "scale", s, &[n, c])?;
    Ok((n, c, x.len() / (n * c)))
}

fn depth_pool_check(op: &str, x: &GpuTensor, k: usize) -> Result<usize> {
    let c = *x.shape().last().unwrap_or(&0);
    if k == 0 || c == 0 || !c.is_multiple_of(k) {
        return Err(Error::invalid(
            op,
            "poolSize",
            format!("{k} must divide the {c} channels (the pool takes whole runs of channels)"),
        ));
    }
    Ok(c)
}
