//! Launcher of `activation.wgsl`: activations (with an optional per-channel bias first) and
//! softmax over the last axis, forward and backward, on device-resident tensors.

use super::runtime::{GpuTensor, KernelSpec};
use super::split::{each, Operand};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::ops::activation::{Activation, SELU_ALPHA, SELU_SCALE};

const fn spec(entry: &'static str, inputs: usize) -> KernelSpec {
    KernelSpec {
        file: "activation.wgsl",
        source: include_str!("activation.wgsl"),
        entry,
        inputs,
        outputs: 1,
    }
}
const FORWARD: KernelSpec = spec("forward", 1);
const BIAS_FORWARD: KernelSpec = spec("bias_forward", 2);
const BACKWARD: KernelSpec = spec("backward", 3);
const SOFTMAX_FORWARD: KernelSpec = spec("softmax_forward", 1);
const SOFTMAX_BACKWARD: KernelSpec = spec("softmax_backward", 3);

/// The shader's `Params` after `wg_x` and `count`.
fn params(a: Activation, last: usize) -> Result<Vec<u32>> {
    let (kind, alpha) = match a {
        Activation::Linear => (0, 0.0),
        Activation::Relu => (1, 0.0),
        Activation::Relu6 => (2, 0.0),
        Activation::LeakyRelu { alpha } => (3, alpha),
        Activation::Elu { alpha } => (4, alpha),
        Activation::Selu => (5, 0.0),
        Activation::Sigmoid => (6, 0.0),
        Activation::Tanh => (7, 0.0),
        Activation::Softmax => (0, 0.0),
    };
    Ok(vec![
        0,
        0,
        kind,
        super::runtime::u32_of(a.name(), "x", last)?,
        alpha.to_bits(),
        (SELU_ALPHA as f32).to_bits(),
        (SELU_SCALE as f32).to_bits(),
        0,
    ])
}

fn last_axis(op: &str, x: &GpuTensor) -> Result<usize> {
    x.shape()
        .last()
        .copied()
        .filter(|&l| l > 0)
        .ok_or_else(|| Error::invalid(op, "x", format!("shape {:?} has no last axis", x.shape())))
}

impl GpuContext {
    /// `a(x + bias)`, bias one value per channel (the last axis) when given; softmax normalises
    /// each run of the last axis.
    pub async fn activation(
        &self,
        a: Activation,
        x: &GpuTensor,
        bias: Option<&GpuTensor>,
    ) -> Result<GpuTensor> {
        let op = a.name();
        let last = last_axis(op, x)?;
        if let Some(b) = bias {
            if b.len() != last {
                return Err(Error::invalid(
                    op,
                    "bias",
                    format!("has {} elements, expected one per channel ({last})", b.len()),
                ));
            }
        }
        let p = params(a, last)?;
        let rows = x.len() / last;
        // Split by rows of the last axis where a tensor is over one binding; softmax runs one
        // invocation per row, the rest one per value.
        self.submit(op, |enc| {
            let y = self.alloc(op, "output", x.shape())?;
            let xs = Operand::Units("x", x, last);
            let ys = Operand::Units("output", &y, last);
            let unit = (op, "row");
            match (a, bias) {
                (Activation::Softmax, None) => {
                    self.launch_split(
                        enc,
                        &SOFTMAX_FORWARD,
                        unit,
                        rows,
                        &[xs],
                        &[ys],
                        each(&p, 1),
                    )?;
                }
                (Activation::Softmax, Some(b)) => {
                    // Bias first (linear), then the row-wise softmax.
                    let t = self.alloc(op, "output", x.shape())?;
                    let ts = Operand::Units("output", &t, last);
                    let lin = params(Activation::Linear, last)?;
                    let (ins, outs) = ([xs, Operand::Whole(b)], [ts]);
                    self.launch_split(
                        enc,
                        &BIAS_FORWARD,
                        unit,
                        rows,
                        &ins,
                        &outs,
                        each(&lin, last),
                    )?;
                    self.launch_split(
                        enc,
                        &SOFTMAX_FORWARD,
                        unit,
                        rows,
                        &[ts],
                        &[ys],
                        each(&p, 1),
                    )?;
                }
                (_, None) => {
                    self.launch_split(enc, &FORWARD, unit, rows, &[xs], &[ys], each(&p, last))?
                }
                (_, Some(b)) => {
                    let ins = [xs, Operand::Whole(b)];
                    self.launch_split(enc, &BIAS_FORWARD, unit, rows, &ins, &[ys], each(&p, last))?
                }
            }
            Ok(y)
        })
        .await
    }

    /// The gradient with respect to the activation's input, from its input `x`, output `y`
    /// and upstream gradient `dy` (all one shape).
    pub async fn activation_backward(
        &self,
        a: Activation,
        x: &GpuTensor,
        y: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<GpuTensor> {
        let op = a.name();
        let last = last_axis(op, x)?;
        for (arg, t) in [("y", y), ("dy", dy)] {
            if t.shape() != x.shape() {
                return Err(Error::invalid(
                    op,
                    arg,
                    format!("has shape {:?}, x has {:?}", t.shape(), x.shape()),
                ));
            }
        }
        let p = params(a, last)?;
        let rows = x.len() / last;
        // One invocation per row for softmax, per value otherwise.
        let (spec, per) =
            if a == Activation::Softmax { (&SOFTMAX_BACKWARD, 1) } else { (&BACKWARD, last) };
        self.submit(op, |enc| {
            let dx = self.alloc(op, "dx", x.shape())?;
            let ins = [
                Operand::Units("x", x, last),
                Operand::Units("y", y, last),
                Operand::Units("dy", dy, last),
            ];
            let outs = [Operand::Units("dx", &dx, last)];
            self.launch_split(enc, spec, (op, "row"), rows, &ins, &outs, |_, n| {
                Ok((p.clone(), (n * per) as u64))
            })?;
            Ok(dx)
        })
        .await
    }
}
