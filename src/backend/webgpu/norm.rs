//! Launcher of `norm.wgsl`: batch normalization (inference, training with batch statistics and
//! moving averages, and its gradients) and local response normalization, forward and backward.

use super::runtime::{u32_of, GpuTensor, KernelSpec};
use super::split::{each, Operand::Units, Operand::Whole};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::norm::{BatchNormParams, LrnParams};

const fn spec(entry: &'static str, inputs: usize, outputs: usize) -> KernelSpec {
    KernelSpec { file: "norm.wgsl", source: include_str!("norm.wgsl"), entry, inputs, outputs }
}
const MOMENTS: KernelSpec = spec("moments", 1, 2);
const MOMENTS_PART: KernelSpec = spec("moments_part", 1, 2);
const BN_FOLD: KernelSpec = spec("bn_fold", 4, 1);
const NORMALIZE: KernelSpec = spec("normalize", 2, 1);
const EMA: KernelSpec = spec("ema", 2, 1);
const BN_REDUCE: KernelSpec = spec("bn_reduce", 4, 2);
const BN_DX: KernelSpec = spec("bn_dx", 7, 1);
const LRN: KernelSpec = spec("lrn", 2, 1);
const LRN_BACKWARD: KernelSpec = spec("lrn_backward", 2, 1);

/// What training-mode batch norm returns on the GPU.
pub struct GpuBatchNormTraining {
    /// The normalised output.
    pub y: GpuTensor,
    /// The batch mean per channel.
    pub mean: GpuTensor,
    /// The batch (biased) variance per channel.
    pub variance: GpuTensor,
    /// The updated moving mean.
    pub moving_mean: GpuTensor,
    /// The updated moving variance.
    pub moving_variance: GpuTensor,
}

struct Words {
    /// Rows this launch reads (a chunk's, where a tensor is split).
    rows: usize,
    c: usize,
    eps: f32,
    momentum: f32,
    lrn: Option<LrnParams>,
}

impl Words {
    fn rows(rows: usize, c: usize) -> Self {
        Words { rows, c, eps: 0.0, momentum: 0.0, lrn: None }
    }
}

fn words(op: &str, w: Words) -> Result<Vec<u32>> {
    words_split(op, w, 0, 0)
}

/// [`words`] for one launch of a split reduction: `total` rows in all, `flags` as the shader's.
fn words_split(op: &str, w: Words, total: usize, flags: u32) -> Result<Vec<u32>> {
    let lrn = w.lrn.unwrap_or(LrnParams { depth_radius: 0, bias: 1.0, alpha: 0.0, beta: 0.0 });
    Ok(vec![
        0,
        0,
        u32_of(op, "x", w.rows)?,
        u32_of(op, "x", w.c)?,
        w.eps.to_bits(),
        w.momentum.to_bits(),
        u32_of(op, "depthRadius", lrn.depth_radius)?,
        lrn.bias.to_bits(),
        lrn.alpha.to_bits(),
        lrn.beta.to_bits(),
        u32_of(op, "x", total)?,
        flags,
    ])
}

/// `(rows, channels)` of `x`, with every per-channel vector checked.
fn rows_channels(
    op: &str,
    x: &GpuTensor,
    vectors: &[(&str, &GpuTensor)],
) -> Result<(usize, usize)> {
    let c = match x.shape() {
        [.., c] if x.shape().len() >= 2 => *c,
        _ => {
            return Err(Error::invalid(
                op,
                "x",
                format!("expected channels last (rank >= 2), got {:?}", x.shape()),
            ))
        }
    };
    for (name, v) in vectors {
        if v.shape() != [c] {
            return Err(Error::invalid(
                op,
                name,
                format!("has shape {:?}, expected one value per channel [{c}]", v.shape()),
            ));
        }
    }
    Ok((x.len() / c, c))
}

impl GpuContext {
    /// Per-channel mean and biased variance over every axis but the last.
    pub async fn moments(&self, x: &GpuTensor) -> Result<(GpuTensor, GpuTensor)> {
        const OP: &str = "batchNorm";
        let (rows, c) = rows_channels(OP, x, &[])?;
        let p = words(OP, Words::rows(rows, c))?;
        let split = self.units_per_launch(OP, "row", rows, &[("x", c)])? < rows;
        self.submit(OP, |enc| {
            let mean = self.alloc(OP, "mean", &[c])?;
            let var = self.alloc(OP, "variance", &[c])?;
            if !split {
                self.launch(enc, &MOMENTS, &p, &[x], &[&mean, &var], c as u64 * 64)?;
                return Ok((mean, var));
            }
            // Over one binding: the mean over every chunk of rows, then the variance.
            let (ins, outs) = ([Units("x", x, c)], [Whole(&mean), Whole(&var)]);
            for pass in [0, 2] {
                self.launch_split(
                    enc,
                    &MOMENTS_PART,
                    (OP, "row"),
                    rows,
                    &ins,
                    &outs,
                    |first, n| {
                        let flags = pass | u32::from(first > 0);
                        Ok((words_split(OP, Words::rows(n, c), rows, flags)?, c as u64 * 64))
                    },
                )?;
            }
            Ok((mean, var))
        })
        .await
    }

    /// Inference-mode batch norm with the given statistics.
    #[allow(clippy::too_many_arguments)]
    pub async fn batch_norm(
        &self,
        x: &GpuTensor,
        gamma: &GpuTensor,
        beta: &GpuTensor,
        mean: &GpuTensor,
        variance: &GpuTensor,
        eps: f32,
    ) -> Result<GpuTensor> {
        const OP: &str = "batchNorm";
        BatchNormParams { epsilon: eps, momentum: 0.0 }.validate(OP)?;
        let (rows, c) = rows_channels(
            OP,
            x,
            &[("gamma", gamma), ("beta", beta), ("mean", mean), ("variance", variance)],
        )?;
        let p = words(OP, Words { rows, c, eps, momentum: 0.0, lrn: None })?;
        self.submit(OP, |enc| {
            let packed = self.alloc(OP, "scale", &[2 * c])?;
            self.launch(enc, &BN_FOLD, &p, &[gamma, beta, mean, variance], &[&packed], c as u64)?;
            let y = self.alloc(OP, "output", x.shape())?;
            let (ins, outs) = ([Units("x", x, c), Whole(&packed)], [Units("output", &y, c)]);
            self.launch_split(enc, &NORMALIZE, (OP, "row"), rows, &ins, &outs, each(&p, c))?;
            Ok(y)
        })
        .await
    }

    /// Training-mode batch norm: the batch's statistics normalise `x` and are folded into the
    /// moving averages (`moving = momentum * moving + (1 - momentum) * batch`).
    pub async fn batch_norm_training(
        &self,
        x: &GpuTensor,
        gamma: &GpuTensor,
        beta: &GpuTensor,
        params: &BatchNormParams,
        moving_mean: &GpuTensor,
        moving_variance: &GpuTensor,
    ) -> Result<GpuBatchNormTraining> {
        const OP: &str = "batchNorm";
        params.validate(OP)?;
        let (rows, c) = rows_channels(
            OP,
            x,
            &[("movingMean", moving_mean), ("movingVariance", moving_variance)],
        )?;
        let (mean, variance) = self.moments(x).await?;
        let y = self.batch_norm(x, gamma, beta, &mean, &variance, params.epsilon).await?;
        let p = words(
            OP,
            Words { rows, c, eps: params.epsilon, momentum: params.momentum, lrn: None },
        )?;
        let (moving_mean, moving_variance) = self
            .submit(OP, |enc| {
                let mm = self.alloc(OP, "movingMean", &[c])?;
                let mv = self.alloc(OP, "movingVariance", &[c])?;
                self.launch(enc, &EMA, &p, &[moving_mean, &mean], &[&mm], c as u64)?;
                self.launch(enc, &EMA, &p, &[moving_variance, &variance], &[&mv], c as u64)?;
                Ok((mm, mv))
            })
            .await?;
        Ok(GpuBatchNormTraining { y, mean, variance, moving_mean, moving_variance })
    }

    /// Gradients `(dx, dgamma, dbeta)` of training-mode batch norm, from the batch statistics
    /// its forward pass used.
    #[allow(clippy::too_many_arguments)]
    pub async fn batch_norm_training_backward(
        &self,
        x: &GpuTensor,
        gamma: &GpuTensor,
        mean: &GpuTensor,
        variance: &GpuTensor,
        eps: f32,
        dy: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor, GpuTensor)> {
        const OP: &str = "batchNorm backward";
        let (rows, c) =
            rows_channels(OP, x, &[("gamma", gamma), ("mean", mean), ("variance", variance)])?;
        if dy.shape() != x.shape() {
            return Err(Error::invalid(
                OP,
                "dy",
                format!("has shape {:?}, x has {:?}", dy.shape(), x.shape()),
            ));
        }
        let p = words(OP, Words { rows, c, eps, momentum: 0.0, lrn: None })?;
        self.submit(OP, |enc| {
            let dgamma = self.alloc(OP, "dgamma", &[c])?;
            let dbeta = self.alloc(OP, "dbeta", &[c])?;
            let (xs, dys) = (Units("x", x, c), Units("dy", dy, c));
            let unit = (OP, "row");
            let ins = [xs, dys, Whole(mean), Whole(variance)];
            let outs = [Whole(&dgamma), Whole(&dbeta)];
            // Chunks of rows (over one binding) add to what the earlier ones summed.
            self.launch_split(enc, &BN_REDUCE, unit, rows, &ins, &outs, |first, n| {
                let w = Words { rows: n, c, eps, momentum: 0.0, lrn: None };
                Ok((words_split(OP, w, rows, u32::from(first > 0))?, c as u64 * 64))
            })?;
            let dx = self.alloc(OP, "dx", x.shape())?;
            let ins = [
                xs,
                dys,
                Whole(gamma),
                Whole(mean),
                Whole(variance),
                Whole(&dgamma),
                Whole(&dbeta),
            ];
            let outs = [Units("dx", &dx, c)];
            self.launch_split(enc, &BN_DX, unit, rows, &ins, &outs, each(&p, c))?;
            Ok((dx, dgamma, dbeta))
        })
        .await
    }

    /// `tf.nn.local_response_normalization` over the last axis.
    pub async fn lrn(&self, x: &GpuTensor, params: &LrnParams) -> Result<GpuTensor> {
        const OP: &str = "localResponseNormalization";
        params.validate(OP)?;
        let (rows, c) = rows_channels(OP, x, &[])?;
        let p = words(OP, Words { rows, c, eps: 0.0, momentum: 0.0, lrn: Some(*params) })?;
        self.submit(OP, |enc| {
            let y = self.alloc(OP, "output", x.shape())?;
            // The second binding is unused by this entry point; x fills it.
            let (ins, outs) = ([Units("x", x, c), Units("x", x, c)], [Units("output", &y, c)]);
            self.launch_split(enc, &LRN, (OP, "row"), rows, &ins, &outs, each(&p, c))?;
            Ok(y)
        })
        .await
    }

    /// The gradient of [`Self::lrn`] with respect to `x`.
    pub async fn lrn_backward(
        &self,
        x: &GpuTensor,
        params: &LrnParams,
        dy: &GpuTensor,
    ) -> Result<GpuTensor> {
        const OP: &str = "localResponseNormalization backward";
        params.validate(OP)?;
        let (rows, c) = rows_channels(OP, x, &[])?;
        if dy.shape() != x.shape() {
            return Err(Error::invalid(
                OP,
                "dy",
                format!("has shape {:?}, x has {:?}", dy.shape(), x.shape()),
            ));
        }
        let p = words(OP, Words { rows, c, eps: 0.0, momentum: 0.0, lrn: Some(*params) })?;
        self.submit(OP, |enc| {
            let dx = self.alloc(OP, "dx", x.shape())?;
            let (ins, outs) = ([Units("x", x, c), Units("dy", dy, c)], [Units("dx", &dx, c)]);
            self.launch_split(enc, &LRN_BACKWARD, (OP, "row"), rows, &ins, &outs, each(&p, c))?;
            Ok(dx)
        })
        .await
    }
}
