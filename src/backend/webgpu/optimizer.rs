//! Launcher of `optimizer.wgsl`: one optimisation step's parameter updates on the device,
//! every parameter of the step recorded into one command encoder. The backend knows rules and
//! their scalars, not optimizers: `crate::train::optimizer` turns a step into [`UpdateRule`]s.

use super::runtime::{expect_shape, KernelSpec};
use super::split::{each, Operand::Units};
use super::{GpuContext, GpuTensor};
use crate::error::{Error, Result};

const UPDATE: KernelSpec = KernelSpec {
    file: "optimizer.wgsl",
    source: include_str!("optimizer.wgsl"),
    entry: "update",
    inputs: 1,
    outputs: 3,
};

/// One update rule and its scalars (the shader's `kind` and `f0..f7`, documented there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateRule {
    /// 0 SGD, 1 momentum (Nesterov when `f[3] != 0`), 2 RMSProp, 3 Adam, 4 Nadam.
    pub kind: u32,
    /// The step's scalars.
    pub f: [f32; 8],
}

/// One parameter's update: its weights, gradient and two state slots (unused slots may be
/// any tensor of the same length; they are left as they are).
pub struct ParamUpdate<'a> {
    /// The weights, updated in place.
    pub w: &'a GpuTensor,
    /// Their gradient.
    pub g: &'a GpuTensor,
    /// First state slot (velocity, mean square, first moment).
    pub m: &'a GpuTensor,
    /// Second state slot (second moment).
    pub v: &'a GpuTensor,
    /// The rule (weight decay differs between kernels and biases).
    pub rule: UpdateRule,
}

impl GpuContext {
    /// Applies every update of one step, in one submission.
    pub async fn apply_updates(&self, updates: &[ParamUpdate<'_>]) -> Result<()> {
        const OP: &str = "optimizer";
        for (i, u) in updates.iter().enumerate() {
            if u.rule.kind > 4 {
                return Err(Error::invalid(OP, "rule", format!("unknown kind {}", u.rule.kind)));
            }
            let arg = format!("gradient {i}");
            expect_shape(OP, &arg, u.g, u.w.shape())?;
            if u.m.len() != u.w.len() || u.v.len() != u.w.len() {
                return Err(Error::invalid(OP, "slots", format!("update {i}: slot sizes differ")));
            }
        }
        self.submit(OP, |enc| {
            for u in updates {
                let mut words = vec![0, 0, u.rule.kind, 0];
                words.extend(u.rule.f.iter().map(|f| f.to_bits()));
                // Elementwise: a parameter over one binding (VGG-16's first dense layer)
                // updates in aligned runs.
                let ins = [Units("gradient", u.g, 1)];
                let outs = [Units("weights", u.w, 1), Units("slot", u.m, 1), Units("slot", u.v, 1)];
                self.launch_split(
                    enc,
                    &UPDATE,
                    (OP, "element"),
                    u.w.len(),
                    &ins,
                    &outs,
                    each(&words, 1),
                )?;
            }
            Ok(())
        })
        .await
    }
}
