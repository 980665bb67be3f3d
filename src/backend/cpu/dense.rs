//! Dense layer on the CPU, forward and backward. The forward pass is the register-blocked
//! [`super::gemm`]; the backward loops run along the contiguous axis of the kernel `[in, out]`
//! (the units), so their inner loops are vectorisable axpys and dots.

use super::gemm::{gemm, PackedB, MR};
use super::lanes::F32x4;
use super::{check_len, zeroed};
use crate::error::{Error, Result};
use crate::ops::dense::DenseGeometry;

/// `y = x W + b`.
pub fn dense(g: &DenseGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Result<Vec<f32>> {
    check_len("dense", "x", x.len(), &[g.batch, g.inputs])?;
    check_len("dense", "weights", w.len(), &[g.inputs, g.units])?;
    if let Some(b) = bias {
        if b.len() != g.units {
            return Err(Error::invalid(
                "dense",
                "bias",
                format!("has {} elements, expected {} (one per unit)", b.len(), g.units),
            ));
        }
    }
    let mut y = zeroed("dense", "output", g.batch * g.units)?;
    let packed = PackedB::new("dense", w, g.inputs, g.units)?;
    let k = g.inputs;
    gemm::<F32x4>(g.batch, &packed, bias, &mut y, |row0, rows, buf| {
        for r in 0..rows {
            for (kk, &v) in x[(row0 + r) * k..(row0 + r + 1) * k].iter().enumerate() {
                buf[kk * MR + r] = v;
            }
        }
    });
    Ok(y)
}

/// Gradients of a dense layer: `(dx, dw, db)`.
pub fn dense_backward(
    g: &DenseGeometry,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    check_len("dense backward", "x", x.len(), &[g.batch, g.inputs])?;
    check_len("dense backward", "weights", w.len(), &[g.inputs, g.units])?;
    check_len("dense backward", "dy", dy.len(), &[g.batch, g.units])?;
    let mut dx = zeroed("dense backward", "dx", g.batch * g.inputs)?;
    let mut dw = zeroed("dense backward", "dw", g.inputs * g.units)?;
    let mut db = vec![0.0; g.units];
    for n in 0..g.batch {
        let d = &dy[n * g.units..(n + 1) * g.units];
        for (acc, &v) in db.iter_mut().zip(d) {
            *acc += v;
        }
        for i in 0..g.inputs {
            let wrow = &w[i * g.units..(i + 1) * g.units];
            dx[n * g.inputs + i] = wrow.iter().zip(d).map(|(a, b)| a * b).sum();
            let xv = x[n * g.inputs + i];
            for (acc, &v) in dw[i * g.units..(i + 1) * g.units].iter_mut().zip(d) {
                *acc += xv * v;
            }
        }
    }
    Ok((dx, dw, db))
}

/// LeNet-5's radial-basis output: `y[b, u] = sum over i of (x[b, i] - centers[i, u])^2`, the
/// squared Euclidean distance between the input and each unit's centre (LeCun et al. 1998,
/// eq. 7). Computed directly (84 x 10 in LeNet-5: no GEMM needed).
///
/// # Shapes
/// `x`: `[n, inputs]`, `centers`: `[inputs, units]`, result `[n, units]`.
pub fn rbf(x: &[f32], centers: &[f32], n: usize, inputs: usize, units: usize) -> Result<Vec<f32>> {
    check_len("rbf", "x", x.len(), &[n, inputs])?;
    check_len("rbf", "centers", centers.len(), &[inputs, units])?;
    let mut y = zeroed("rbf", "output", n * units)?;
    for (yr, xr) in y.chunks_exact_mut(units).zip(x.chunks_exact(inputs)) {
        for (xi, cr) in xr.iter().zip(centers.chunks_exact(units)) {
            for (acc, c) in yr.iter_mut().zip(cr) {
                let d = xi - c;
                *acc += d * d;
            }
        }
    }
    Ok(y)
}

/// Gradients of [`rbf`]: `dx[b, i] = sum over u of 2 (x[b, i] - c[i, u]) dy[b, u]` and
/// `dc[i, u] = sum over b of -2 (x[b, i] - c[i, u]) dy[b, u]`.
pub fn rbf_backward(
    x: &[f32],
    centers: &[f32],
    n: usize,
    inputs: usize,
    units: usize,
    dy: &[f32],
) -> Result<(Vec<f32>, Vec<f32>)> {
    check_len("rbf backward", "x", x.len(), &[n, inputs])?;
    check_len("rbf backward", "centers", centers.len(), &[inputs, units])?;
    check_len("rbf backward", "dy", dy.len(), &[n, units])?;
    let mut dx = zeroed("rbf backward", "dx", n * inputs)?;
    let mut dc = zeroed("rbf backward", "dc", inputs * units)?;
    for ((dxr, xr), dyr) in
        dx.chunks_exact_mut(inputs).zip(x.chunks_exact(inputs)).zip(dy.chunks_exact(units))
    {
        for (i, (dxi, xi)) in dxr.iter_mut().zip(xr).enumerate() {
            let (cr, dcr) =
                (&centers[i * units..(i + 1) * units], &mut dc[i * units..(i + 1) * units]);
            for u in 0..units {
                let t = 2.0 * (xi - cr[u]) * dyr[u];
                *dxi += t;
                dcr[u] -= t;
            }
        }
    }
    Ok((dx, dc))
}
