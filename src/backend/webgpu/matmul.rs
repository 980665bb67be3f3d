//! Launcher of `matmul.wgsl`: the tiled matrix multiply behind dense layers (forward and
//! backward) and 1x1 convolutions.

use super::runtime::{gcd, u32_of, GpuTensor, KernelSpec};
use super::GpuContext;
use crate::error::{Error, Result};

const MATMUL: KernelSpec = KernelSpec {
    file: "matmul.wgsl",
    source: include_str!("matmul.wgsl"),
    entry: "main",
    inputs: 2,
    outputs: 1,
};

/// The block of C one workgroup computes (`BM` in the shader).
const BLOCK: usize = 64;

/// One launch of the matmul kernel: the product's sizes, the operands' bindings (`None`: the
/// whole tensor; else a range of elements), and the shader's offsets and leading dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Launch {
    m: usize,
    n: usize,
    k: usize,
    a: Option<(usize, usize)>,
    b: Option<(usize, usize)>,
    c: Option<(usize, usize)>,
    lda: usize,
    a_r0: usize,
    a_k0: usize,
    ldb: usize,
    ldc: usize,
    c_col: usize,
    accumulate: bool,
}

/// The largest multiple of the step that keeps `row * rows` elements at binding offsets aligned
/// to `align` elements, within `max` elements; at least one step or an error.
fn chunk_rows(op: &str, arg: &str, row: usize, max: usize, align: usize) -> Result<usize> {
    let step = align / gcd(row, align);
    let rows = (max / row) / step * step;
    if rows == 0 {
        return Err(Error::limit(
            op,
            arg,
            format!(
                "one split of {step} rows of {row} values ({} bytes) is over this device's \
                 maxStorageBufferBindingSize ({} bytes)",
                step * row * 4,
                max * 4
            ),
        ));
    }
    Ok(rows)
}

/// How to run `op(A)[m, k] op(B)[k, n]` within bindings of `max` elements whose offsets are
/// multiples of `align` elements: one launch when everything fits; else B split along k (its
/// rows, contiguous; the launches accumulate) or along n (when B is transposed, its stored rows
/// are C's columns), or C split along m (its rows, with A's rows). What no split can fit is
/// refused with the limit named.
fn plan(
    op: &str,
    (m, k, trans_a): (usize, usize, bool),
    (n, trans_b): (usize, bool),
    max: usize,
    align: usize,
) -> Result<Vec<Launch>> {
    let whole = Launch {
        m,
        n,
        k,
        a: None,
        b: None,
        c: None,
        lda: if trans_a { m } else { k },
        a_r0: 0,
        a_k0: 0,
        ldb: if trans_b { k } else { n },
        ldc: n,
        c_col: 0,
        accumulate: false,
    };
    let (a_fits, b_fits, c_fits) = (m * k <= max, k * n <= max, m * n <= max);
    let too_big = |arg: &str, len: usize| {
        Error::limit(
            op,
            arg,
            format!(
                "needs a {}-byte binding, over this device's maxStorageBufferBindingSize ({} \
                 bytes), and this product cannot be split to fit it",
                len * 4,
                max * 4
            ),
        )
    };
    if a_fits && b_fits && c_fits {
        return Ok(vec![whole]);
    }
    if (a_fits || trans_a) && c_fits && !trans_b {
        // B [k, n]: bind rows k0..k0+kc; A's columns from a_k0, or where A is stored
        // transposed and over a binding ([k, m]: a column sum's ones, x in a weight gradient),
        // the same rows of A; C accumulates.
        let mut kc = chunk_rows(op, "b", n, max, align)?;
        if !a_fits {
            kc = kc.min(chunk_rows(op, "a", m, max, align)?);
            let (sa, sb) = (align / gcd(m, align), align / gcd(n, align));
            let step = sa / gcd(sa, sb) * sb;
            kc = kc / step * step;
            if kc == 0 {
                return Err(too_big("a", m * k));
            }
        }
        return Ok((0..k)
            .step_by(kc)
            .map(|k0| {
                let rows = kc.min(k - k0);
                let (a, a_k0) = if a_fits { (None, k0) } else { (Some((k0 * m, rows * m)), 0) };
                Launch {
                    k: rows,
                    a,
                    b: Some((k0 * n, rows * n)),
                    a_k0,
                    accumulate: k0 > 0,
                    ..whole.clone()
                }
            })
            .collect());
    }
    if a_fits && c_fits && trans_b {
        // B stored [n, k]: bind rows n0..n0+nc, which are C's columns n0..
        let nc = chunk_rows(op, "b", k, max, align)?;
        return Ok((0..n)
            .step_by(nc)
            .map(|n0| {
                let cols = nc.min(n - n0);
                Launch { n: cols, b: Some((n0 * k, cols * k)), c_col: n0, ..whole.clone() }
            })
            .collect());
    }
    if b_fits && (a_fits || !trans_a) {
        // C [m, n]: bind rows m0..m0+mc; A's rows either from a_r0 of the whole A or, stored
        // untransposed, as the same range of its rows.
        let mut mc = chunk_rows(op, "output", n, max, align)?;
        if !a_fits {
            mc = mc.min(chunk_rows(op, "a", k, max, align)?);
            let step = align / gcd(k, align) * (align / gcd(n, align))
                / gcd(align / gcd(k, align), align / gcd(n, align));
            mc = mc / step * step;
            if mc == 0 {
                return Err(too_big("a", m * k));
            }
        }
        return Ok((0..m)
            .step_by(mc)
            .map(|m0| {
                let rows = mc.min(m - m0);
                let (a, a_r0) = if a_fits { (None, m0) } else { (Some((m0 * k, rows * k)), 0) };
                Launch { m: rows, a, a_r0, c: Some((m0 * n, rows * n)), ..whole.clone() }
            })
            .collect());
    }
    let (arg, len) = if !b_fits {
        ("b", k * n)
    } else if !a_fits {
        ("a", m * k)
    } else {
        ("output", m * n)
    };
    Err(too_big(arg, len))
}

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
    /// of the same element count: `(tensor, rows, cols, transposed)`. An operand larger than
    /// one storage binding is split across launches (see [`plan`]): VGG-16's first dense layer
    /// holds 392 MiB of weights, over the 128 MiB binding many devices allow.
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
        let max = (self.max_binding_bytes() / 4) as usize;
        let align = (self.limits().min_storage_buffer_offset_alignment as usize / 4).max(1);
        let launches = plan(op, (m, k, trans_a), (n, trans_b), max, align)?;
        let mut params = Vec::with_capacity(launches.len());
        for l in &launches {
            let blocks_n = l.n.div_ceil(BLOCK);
            let blocks = l.m.div_ceil(BLOCK) as u64 * blocks_n as u64;
            let words = [
                l.m,
                l.n,
                l.k,
                trans_a as usize,
                trans_b as usize,
                blocks_n,
                l.lda,
                l.a_r0,
                l.a_k0,
                l.ldb,
                l.ldc,
                l.c_col,
                l.accumulate as usize,
            ];
            let mut p = vec![0, 0];
            for w in words {
                p.push(u32_of(op, "a", w)?);
            }
            params.push((p, blocks * 64));
        }
        self.submit(op, |enc| {
            let c = self.alloc(op, "output", &[m, n])?;
            for (l, (p, invocations)) in launches.iter().zip(&params) {
                let ab = l.a.map_or(a.whole(), |(s, len)| a.range(s, len));
                let bb = l.b.map_or(b.whole(), |(s, len)| b.range(s, len));
                let cb = l.c.map_or(c.whole(), |(s, len)| c.range(s, len));
                self.launch_bound(enc, &MATMUL, p, &[ab, bb], &[cb], *invocations)?;
            }
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
        // The ones stored as a column ([rows, 1], transposed): rows over one binding split
        // along k with t's.
        let ones = self.upload(op, "dy", &[rows, 1], &vec![1.0; rows])?;
        self.matmul_as(op, (&ones, 1, rows, true), (t, rows, cols, false)).await?.reshaped(&[cols])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (row, column, k) of the product is computed exactly once by the plan's launches
    /// (once per k chunk, the first writing, the rest accumulating), and every binding is within
    /// `max` elements at an aligned offset.
    fn covers(m: usize, k: usize, n: usize, ta: bool, tb: bool, max: usize, align: usize) {
        let launches = plan("t", (m, k, ta), (n, tb), max, align).unwrap();
        let mut seen = vec![0u32; m * n * k];
        for l in &launches {
            for range in [l.a, l.b, l.c].into_iter().flatten() {
                assert!(range.1 <= max && range.0 % align == 0, "{l:?}");
            }
            for r in 0..l.m {
                for c in 0..l.n {
                    for kk in 0..l.k {
                        // Global coordinates: rows from the C binding or a_r0, columns from
                        // c_col or the B binding, k from a_k0.
                        let row = l.c.map_or(0, |(s, _)| s / n)
                            + r
                            + if l.c.is_none() { l.a_r0 } else { 0 };
                        let col = l.c_col + c;
                        // A stored transposed and split binds its rows k0.. (a_k0 = 0).
                        let a_k = match (ta, l.a) {
                            (true, Some((s, _))) => s / m,
                            _ => 0,
                        };
                        let kg = a_k + l.a_k0 + kk;
                        seen[(row * n + col) * k + kg] += 1;
                    }
                }
            }
        }
        assert!(
            seen.iter().all(|&s| s == 1),
            "{m}x{k}x{n} ta={ta} tb={tb} max={max}: {launches:?}"
        );
    }

    #[test]
    fn splits_cover_the_product_once() {
        covers(3, 100, 7, false, false, 1 << 20, 64); // fits: one launch
        covers(3, 300, 7, false, false, 1000, 64); // B split along k
        covers(5, 90, 40, false, true, 3000, 64); // B^T split along n
        covers(100, 4, 30, true, false, 1000, 64); // C split along m, A transposed
        covers(100, 16, 30, false, false, 1000, 64); // C and A split along m
        covers(3, 700, 5, true, false, 1000, 8); // A^T and B split along k (column sums)
    }

    #[test]
    fn what_cannot_be_split_is_refused_naming_the_limit() {
        let e = plan("dense", (10_000, 10_000, false), (10_000, false), 1000, 64).unwrap_err();
        assert!(e.message().contains("maxStorageBufferBindingSize"), "{e}");
    }
}
