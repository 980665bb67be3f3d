//! Launcher of `matmul.wgsl`: the tiled matrix multiply behind dense layers (forward and
//! backward) and 1x1 convolutions.

use super::runtime::{u32_of, GpuTensor, KernelSpec};
use super::GpuContext;
use crate::error::{Error, Result};

const MATMUL: KernelSpec = KernelSpec {
    file: "matmul.wgsl",
    source: include_str!("matmul.wgsl"),
    entry: "main",
    inputs: 2,
    outputs: 1,
};

/// The block of C one workgroup computes (`T` in the shader).
const BLOCK: usize = 32;

/// `[rows, cols]` of a rank-2 tensor, transposed if asked.
fn dims(op: &str, arg: &str, t: &GpuTensor, transposed: bool) -> Result<(usize, usize)> {
    match *t.shape() {
        [r, c] => Ok(if transposed { (c, r) } else { (r, c) }),
        _ => Err(Error::invalid(op, arg, format!("expected a matrix, got shape {:?}", t.shape()))),
    }
}

impl GpuContext {
    /// `op(a) op(b)`, `op` a transpose where `trans_a` / `trans_b` say so.
    pub async fn matmul(
        &self,
        op: &str,
        a: &GpuTensor,
        trans_a: bool,
        b: &GpuTensor,
        trans_b: bool,
    ) -> Result<GpuTensor> {
        let (m, k) = dims(op, "a", a, trans_a)?;
        let (k2, n) = dims(op, "b", b, trans_b)?;
        self.matmul_as(op, (a, m, k, trans_a), (b, k2, n, trans_b)).await
    }

    /// [`Self::matmul`] with each operand read as a `[rows, cols]` matrix (after its transpose)
    /// of the same element count: `(tensor, rows, cols, transposed)`.
    pub(crate) async fn matmul_as(
        &self,
        op: &str,
        (a, m, k, trans_a): (&GpuTensor, usize, usize, bool),
        (b, k2, n, trans_b): (&GpuTensor, usize, usize, bool),
    ) -> Result<GpuTensor> {
        if k != k2 {
            return Err(Error::invalid(
                op,
                "b",
                format!("has {k2} rows to multiply, the other operand {k} columns"),
            ));
        }
        for (arg, t, len) in [("a", a, m * k), ("b", b, k * n)] {
            if t.len() != len {
                return Err(Error::invalid(
                    op,
                    arg,
                    format!("{} elements are not a {len}-element matrix", t.len()),
                ));
            }
        }
        let blocks_n = n.div_ceil(BLOCK);
        let blocks = m.div_ceil(BLOCK) as u64 * blocks_n as u64;
        let params = vec![
            0,
            0,
            u32_of(op, "a", m)?,
            u32_of(op, "b", n)?,
            u32_of(op, "a", k)?,
            u32::from(trans_a),
            u32::from(trans_b),
            u32_of(op, "b", blocks_n)?,
        ];
        self.submit(op, |enc| {
            let c = self.alloc(op, "output", &[m, n])?;
            self.launch(enc, &MATMUL, &params, &[a, b], &[&c], blocks * 64)?;
            Ok(c)
        })
        .await
    }

    /// A dense layer `x W (+ bias)` then `activation`: x `[n, in]`, W `[in, out]`.
    pub async fn dense(
        &self,
        x: &GpuTensor,
        w: &GpuTensor,
        bias: Option<&GpuTensor>,
        activation: crate::ops::activation::Activation,
    ) -> Result<GpuTensor> {
        let y = self.matmul("dense", x, false, w, false).await?;
        if bias.is_none() && activation == crate::ops::activation::Activation::Linear {
            return Ok(y);
        }
        self.activation(activation, &y, bias).await
    }

    /// Gradients of `x W + b`: `(dx = dy W^T, dW = x^T dy, db = the column sums of dy)`.
    pub async fn dense_backward(
        &self,
        x: &GpuTensor,
        w: &GpuTensor,
        dy: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor, GpuTensor)> {
        let dx = self.matmul("dense backward", dy, false, w, true).await?;
        let dw = self.matmul("dense backward", x, true, dy, false).await?;
        let db = self.column_sums("dense backward", dy).await?;
        Ok((dx, dw, db))
    }

    /// The sums of each column of a matrix `[rows, cols]` -> `[cols]` (bias gradients), as the
    /// product `1^T t` through the tiled kernel.
    pub async fn column_sums(&self, op: &str, t: &GpuTensor) -> Result<GpuTensor> {
        let (rows, cols) = dims(op, "dy", t, false)?;
        self.column_sums_as(op, t, rows, cols).await
    }

    /// [`Self::column_sums`] of `t` read as `[rows, cols]`.
    pub(crate) async fn column_sums_as(
        &self,
        op: &str,
        t: &GpuTensor,
        rows: usize,
        cols: usize,
    ) -> Result<GpuTensor> {
        let ones = self.upload(op, "dy", &[1, rows], &vec![1.0; rows])?;
        self.matmul_as(op, (&ones, 1, rows, false), (t, rows, cols, false)).await?.reshaped(&[cols])
    }
}
