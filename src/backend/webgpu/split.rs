//! Launches split along a tensor's leading units (images, rows, elements) when an operand is
//! larger than one storage binding: VGG-16's first conv output at batch 32 is 411 MB, over the
//! 128 MiB binding many devices allow, and the pooling, activation and gradient of that layer
//! see the same tensor. Each launch binds its units' range of every split operand (offsets kept
//! at the device's `minStorageBufferOffsetAlignment`) and runs as a smaller problem; operands
//! that do not grow with the units (per-channel parameters, filters) are bound whole. Only one
//! unit over a binding is refused, naming the limit. Kernels that reduce over the units
//! (batch statistics, weight gradients) accumulate across the launches (a flag word).

use super::runtime::{gcd, Binding, GpuTensor, KernelSpec};
use super::GpuContext;
use crate::error::{Error, Result};

/// One operand of [`GpuContext::launch_split`].
#[derive(Clone, Copy)]
pub(crate) enum Operand<'a> {
    /// Bound whole in every launch.
    Whole(&'a GpuTensor),
    /// `(arg, tensor, per)`: `per` elements for each unit; each launch binds its units' range.
    Units(&'a str, &'a GpuTensor, usize),
}

/// Units per launch so that every split operand's range fits `max` elements and starts at a
/// multiple of `align` elements; all of them when everything fits. `parts` are `(arg, per)`;
/// `unit` names the unit in the refusal ("image", "row").
pub(crate) fn units_per_launch(
    op: &str,
    unit: &str,
    units: usize,
    parts: &[(&str, usize)],
    max: usize,
    align: usize,
) -> Result<usize> {
    if parts.iter().all(|&(_, per)| units * per <= max) {
        return Ok(units.max(1));
    }
    let align = align.max(1);
    let mut step = 1;
    for &(_, per) in parts {
        let s = align / gcd(per, align);
        step = step / gcd(step, s) * s;
    }
    let fit = parts.iter().map(|&(_, per)| max / per.max(1)).min().unwrap_or(units);
    let chunk = fit / step * step;
    if chunk == 0 {
        let (arg, per) = parts.iter().copied().max_by_key(|&(_, per)| per).unwrap_or(("x", 0));
        let run = step * per * 4;
        let what = if step == 1 {
            format!("one {unit} of it ({run} bytes) is")
        } else {
            format!(
                "{step} {unit}s of it ({run} bytes, the fewest that keep every binding's offset a \
                 multiple of {} bytes) are",
                align * 4
            )
        };
        return Err(Error::limit(
            op,
            arg,
            format!(
                "{what} {} bytes over this device's maxStorageBufferBindingSize ({} bytes): a \
                 launch splits by whole {unit}s",
                run.saturating_sub(max * 4),
                max * 4
            ),
        ));
    }
    Ok(chunk.min(units))
}

impl GpuContext {
    /// Units per launch of an op on this device (see [`units_per_launch`]).
    pub(crate) fn units_per_launch(
        &self,
        op: &str,
        unit: &str,
        units: usize,
        parts: &[(&str, usize)],
    ) -> Result<usize> {
        units_per_launch(
            op,
            unit,
            units,
            parts,
            (self.max_binding_bytes() / 4) as usize,
            (self.limits().min_storage_buffer_offset_alignment as usize / 4).max(1),
        )
    }

    /// Records `spec` over `units` units in as few launches as the bindings allow. `launch`
    /// gives each launch's parameter words and invocation count from `(first unit, units)`;
    /// kernels that reduce over the units accumulate when `first > 0`.
    pub(crate) fn launch_split(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        spec: &KernelSpec,
        (op, unit): (&str, &str),
        units: usize,
        inputs: &[Operand],
        outputs: &[Operand],
        launch: impl Fn(usize, usize) -> Result<(Vec<u32>, u64)>,
    ) -> Result<()> {
        let mut parts = Vec::new();
        for o in inputs.iter().chain(outputs) {
            if let Operand::Units(arg, t, per) = *o {
                if t.len() != units * per {
                    return Err(Error::backend(format!(
                        "webgpu: {op}: {arg} holds {} elements, not {units} {unit}s of {per}",
                        t.len()
                    )));
                }
                parts.push((arg, per));
            }
        }
        let chunk = self.units_per_launch(op, unit, units, &parts)?;
        for first in (0..units).step_by(chunk) {
            let count = chunk.min(units - first);
            let ins: Vec<Binding> = inputs.iter().map(|o| bind(o, units, first, count)).collect();
            let outs: Vec<Binding> = outputs.iter().map(|o| bind(o, units, first, count)).collect();
            let (params, invocations) = launch(first, count)?;
            if invocations > 0 {
                self.launch_bound(encoder, spec, &params, &ins, &outs, invocations)?;
            }
        }
        Ok(())
    }
}

/// The [`GpuContext::launch_split`] callback of a kernel whose parameters do not change with
/// the split: the same words, `per` invocations per unit.
pub(crate) fn each(
    words: &[u32],
    per: usize,
) -> impl Fn(usize, usize) -> Result<(Vec<u32>, u64)> + '_ {
    move |_, n| Ok((words.to_vec(), (n * per) as u64))
}

/// `o`'s binding in the launch over units `first..first + count` of `units`.
fn bind<'t>(o: &Operand<'t>, units: usize, first: usize, count: usize) -> Binding<'t> {
    match *o {
        Operand::Whole(t) => t.whole(),
        Operand::Units(_, t, _) if count == units => t.whole(),
        Operand::Units(_, t, per) => t.range(first * per, count * per),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_split_into_aligned_runs_that_fit() {
        let parts = [("x", 100), ("output", 200)];
        assert_eq!(units_per_launch("t", "image", 64, &parts, 1 << 20, 64).unwrap(), 64);
        let c = units_per_launch("t", "image", 64, &parts, 4000, 64).unwrap();
        assert!(
            c >= 1
                && c * 200 <= 4000
                && (c * 100).is_multiple_of(64)
                && (c * 200).is_multiple_of(64),
            "{c}"
        );
        let e = units_per_launch("maxPool", "image", 4, &[("x", 5056)], 4000, 64).unwrap_err();
        assert!(
            e.message().starts_with("maxPool: argument 'x'") && e.message().contains("one image"),
            "{e}"
        );
        // [n, 10] outputs keep offsets at 64 floats only every 32 images.
        let e =
            units_per_launch("t", "image", 64, &[("x", 3000), ("y", 10)], 4000, 64).unwrap_err();
        assert!(e.message().contains("32 images of it (384000 bytes"), "{e}");
        assert!(e.message().contains("are 368000 bytes over"), "{e}");
        // Single elements split anywhere aligned.
        let c = units_per_launch("t", "element", 100_000, &[("x", 1)], 1000, 64).unwrap();
        assert_eq!(c, 960);
    }
}
