//! Launcher of `pool.wgsl`: max and average pooling, global pooling, forward and backward, on
//! device-resident tensors. Shapes are checked here, before anything reaches the GPU.

use super::runtime::{expect_shape, u32_of, GpuTensor, KernelSpec};
use super::split::Operand::Units;
use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::pool::Pool2dGeometry;

const fn spec(entry: &'static str, inputs: usize) -> KernelSpec {
    KernelSpec { file: "pool.wgsl", source: include_str!("pool.wgsl"), entry, inputs, outputs: 1 }
}
const MAX_FORWARD: KernelSpec = spec("max_forward", 1);
const AVG_FORWARD: KernelSpec = spec("avg_forward", 1);
const MAX_FORWARD4: KernelSpec = spec("max_forward4", 1);
const AVG_FORWARD4: KernelSpec = spec("avg_forward4", 1);
const MAX_BACKWARD: KernelSpec = spec("max_backward", 2);
const AVG_BACKWARD: KernelSpec = spec("avg_backward", 1);
const GLOBAL_MAX: KernelSpec = spec("global_max", 1);
const GLOBAL_AVG: KernelSpec = spec("global_avg", 1);
const GLOBAL_MAX_BACKWARD: KernelSpec = spec("global_max_backward", 2);
const GLOBAL_AVG_BACKWARD: KernelSpec = spec("global_avg_backward", 1);

/// Which pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// The window's maximum.
    Max,
    /// The mean of the window's cells inside the input.
    Avg,
}

fn params(op: &str, g: &Pool2dGeometry) -> Result<Vec<u32>> {
    Ok(vec![
        0,
        0,
        u32_of(op, "x", g.batch)?,
        u32_of(op, "x", g.in_h)?,
        u32_of(op, "x", g.in_w)?,
        u32_of(op, "x", g.channels)?,
        u32_of(op, "poolSize", g.ph)?,
        u32_of(op, "poolSize", g.pw)?,
        u32_of(op, "output", g.out_h)?,
        u32_of(op, "output", g.out_w)?,
        u32_of(op, "padding", g.pad_top)?,
        u32_of(op, "padding", g.pad_left)?,
        u32_of(op, "strides", g.strides[0])?,
        u32_of(op, "strides", g.strides[1])?,
    ])
}

/// A global pool's input seen as a pooling geometry (one window the size of the map).
fn global_geometry(op: &str, x: &GpuTensor) -> Result<Pool2dGeometry> {
    let &[n, h, w, c] = x.shape() else {
        return Err(Error::invalid(
            op,
            "x",
            format!("expected rank 4 [batch, height, width, channels], got {:?}", x.shape()),
        ));
    };
    Ok(Pool2dGeometry {
        batch: n,
        in_h: h,
        in_w: w,
        channels: c,
        ph: h,
        pw: w,
        out_h: 1,
        out_w: 1,
        pad_top: 0,
        pad_left: 0,
        strides: [1, 1],
    })
}

impl GpuContext {
    /// Max or average pooling of `x` (`g.input_shape()`).
    pub async fn pool2d(
        &self,
        kind: PoolKind,
        g: &Pool2dGeometry,
        x: &GpuTensor,
    ) -> Result<GpuTensor> {
        // Four channels per invocation where the channels come in whole vec4s.
        let by4 = g.channels.is_multiple_of(4);
        let (op, spec) = match (kind, by4) {
            (PoolKind::Max, false) => ("maxPool", &MAX_FORWARD),
            (PoolKind::Avg, false) => ("avgPool", &AVG_FORWARD),
            (PoolKind::Max, true) => ("maxPool", &MAX_FORWARD4),
            (PoolKind::Avg, true) => ("avgPool", &AVG_FORWARD4),
        };
        expect_shape(op, "x", x, &g.input_shape())?;
        let out = g.output_shape();
        // by4: one invocation per 4 pixels of a row by one vec4 of channels.
        let per_image = if by4 {
            g.out_h * g.out_w.div_ceil(4) * g.channels / 4
        } else {
            g.out_h * g.out_w * g.channels
        };
        self.submit(op, |enc| {
            let y = self.alloc(op, "output", &out)?;
            let ins = [Units("x", x, g.image_in())];
            let outs = [Units("output", &y, g.image_out())];
            self.launch_split(enc, spec, (op, "image"), g.batch, &ins, &outs, |_, n| {
                Ok((params(op, &Pool2dGeometry { batch: n, ..*g })?, (n * per_image) as u64))
            })?;
            Ok(y)
        })
        .await
    }

    /// The gradient of [`Self::pool2d`] with respect to `x` (max pooling needs `x`).
    pub async fn pool2d_backward(
        &self,
        kind: PoolKind,
        g: &Pool2dGeometry,
        x: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<GpuTensor> {
        let op = match kind {
            PoolKind::Max => "maxPool backward",
            PoolKind::Avg => "avgPool backward",
        };
        expect_shape(op, "x", x, &g.input_shape())?;
        expect_shape(op, "dy", dy, &g.output_shape())?;
        let (image_in, image_out) = (g.image_in(), g.image_out());
        self.submit(op, |enc| {
            let dx = self.alloc(op, "dx", &g.input_shape())?;
            let outs = [Units("dx", &dx, image_in)];
            let launch =
                |_, n| Ok((params(op, &Pool2dGeometry { batch: n, ..*g })?, (n * image_in) as u64));
            let dys = Units("dy", dy, image_out);
            let unit = (op, "image");
            match kind {
                PoolKind::Max => {
                    let ins = [Units("x", x, image_in), dys];
                    self.launch_split(enc, &MAX_BACKWARD, unit, g.batch, &ins, &outs, launch)?
                }
                PoolKind::Avg => {
                    self.launch_split(enc, &AVG_BACKWARD, unit, g.batch, &[dys], &outs, launch)?
                }
            }
            Ok(dx)
        })
        .await
    }

    /// Global max or average pooling `[n, h, w, c] -> [n, c]`.
    pub async fn global_pool(&self, kind: PoolKind, x: &GpuTensor) -> Result<GpuTensor> {
        let (op, spec) = match kind {
            PoolKind::Max => ("globalMaxPool", &GLOBAL_MAX),
            PoolKind::Avg => ("globalAvgPool", &GLOBAL_AVG),
        };
        let g = global_geometry(op, x)?;
        let c = g.channels;
        self.submit(op, |enc| {
            let y = self.alloc(op, "output", &[g.batch, c])?;
            let (ins, outs) = ([Units("x", x, g.image_in())], [Units("output", &y, c)]);
            self.launch_split(enc, spec, (op, "image"), g.batch, &ins, &outs, |_, n| {
                Ok((params(op, &Pool2dGeometry { batch: n, ..g })?, (n * c) as u64))
            })?;
            Ok(y)
        })
        .await
    }

    /// The gradient of [`Self::global_pool`] (max pooling's goes to each plane's first maximum).
    pub async fn global_pool_backward(
        &self,
        kind: PoolKind,
        x: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<GpuTensor> {
        let op = match kind {
            PoolKind::Max => "globalMaxPool backward",
            PoolKind::Avg => "globalAvgPool backward",
        };
        let g = global_geometry(op, x)?;
        expect_shape(op, "dy", dy, &[g.batch, g.channels])?;
        let (image, c) = (g.image_in(), g.channels);
        self.submit(op, |enc| {
            let dx = self.alloc(op, "dx", x.shape())?;
            let outs = [Units("dx", &dx, image)];
            let dys = Units("dy", dy, c);
            let unit = (op, "image");
            // Max: one invocation per plane (n, channel); average: per value.
            let launch = |per: usize| {
                move |_, n| Ok((params(op, &Pool2dGeometry { batch: n, ..g })?, (n * per) as u64))
            };
            match kind {
                PoolKind::Max => {
                    let ins = [Units("x", x, image), dys];
                    self.launch_split(
                        enc,
                        &GLOBAL_MAX_BACKWARD,
                        unit,
                        g.batch,
                        &ins,
                        &outs,
                        launch(c),
                    )?
                }
                PoolKind::Avg => self.launch_split(
                    enc,
                    &GLOBAL_AVG_BACKWARD,
                    unit,
                    g.batch,
                    &[dys],
                    &outs,
                    launch(image),
                )?,
            }
            Ok(dx)
        })
        .await
    }
}
