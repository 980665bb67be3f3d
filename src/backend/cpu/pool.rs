//! Pooling on the CPU, forward and backward. Channels are innermost (NHWC), so each window cell
//! updates a contiguous run of `c` accumulators, which the compiler vectorises.

use super::zeroed;
use crate::error::Result;
use crate::ops::pool::Pool2dGeometry;

/// Max pooling. See [`crate::ops::pool`].
pub fn max_pool2d(g: &Pool2dGeometry, x: &[f32]) -> Result<Vec<f32>> {
    super::check_len("maxPool", "x", x.len(), &g.input_shape())?;
    let [n_, oh, ow, c] = g.output_shape();
    let mut out = zeroed("maxPool", "output", n_ * oh * ow * c)?;
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                let o = ((n * oh + i) * ow + j) * c;
                let acc = &mut out[o..o + c];
                acc.fill(f32::NEG_INFINITY);
                for y in g.window(0, i) {
                    for xx in g.window(1, j) {
                        let s = ((n * g.in_h + y) * g.in_w + xx) * c;
                        for (a, &v) in acc.iter_mut().zip(&x[s..s + c]) {
                            *a = if v > *a { v } else { *a };
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Gradient of max pooling: each output's gradient goes to the first maximum of its window.
pub fn max_pool2d_backward(g: &Pool2dGeometry, x: &[f32], dy: &[f32]) -> Result<Vec<f32>> {
    super::check_len("maxPool backward", "x", x.len(), &g.input_shape())?;
    super::check_len("maxPool backward", "dy", dy.len(), &g.output_shape())?;
    let [n_, oh, ow, c] = g.output_shape();
    let mut dx = zeroed("maxPool backward", "dx", x.len())?;
    let mut best = vec![0usize; c];
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                let first =
                    ((n * g.in_h + g.window(0, i).start) * g.in_w + g.window(1, j).start) * c;
                for (k, b) in best.iter_mut().enumerate() {
                    *b = first + k;
                }
                for y in g.window(0, i) {
                    for xx in g.window(1, j) {
                        let s = ((n * g.in_h + y) * g.in_w + xx) * c;
                        for (k, b) in best.iter_mut().enumerate() {
                            if x[s + k] > x[*b] {
                                *b = s + k;
                            }
                        }
                    }
                }
                let o = ((n * oh + i) * ow + j) * c;
                for (k, &b) in best.iter().enumerate() {
                    dx[b] += dy[o + k];
                }
            }
        }
    }
    Ok(dx)
}

/// Average pooling (padding cells excluded from the count, as TensorFlow).
pub fn avg_pool2d(g: &Pool2dGeometry, x: &[f32]) -> Result<Vec<f32>> {
    super::check_len("avgPool", "x", x.len(), &g.input_shape())?;
    let [n_, oh, ow, c] = g.output_shape();
    let mut out = zeroed("avgPool", "output", n_ * oh * ow * c)?;
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                let o = ((n * oh + i) * ow + j) * c;
                let acc = &mut out[o..o + c];
                for y in g.window(0, i) {
                    for xx in g.window(1, j) {
                        let s = ((n * g.in_h + y) * g.in_w + xx) * c;
                        for (a, &v) in acc.iter_mut().zip(&x[s..s + c]) {
                            *a += v;
                        }
                    }
                }
                let cells = (g.window(0, i).len() * g.window(1, j).len()) as f32;
                for a in acc.iter_mut() {
                    *a /= cells;
                }
            }
        }
    }
    Ok(out)
}

/// Gradient of average pooling: each output's gradient shared by its window's cells.
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &[f32]) -> Result<Vec<f32>> {
    super::check_len("avgPool backward", "dy", dy.len(), &g.output_shape())?;
    let [n_, oh, ow, c] = g.output_shape();
    let mut dx = zeroed("avgPool backward", "dx", g.input_shape().iter().product())?;
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                let o = ((n * oh + i) * ow + j) * c;
                let cells = (g.window(0, i).len() * g.window(1, j).len()) as f32;
                for y in g.window(0, i) {
                    for xx in g.window(1, j) {
                        let s = ((n * g.in_h + y) * g.in_w + xx) * c;
                        for (d, &v) in dx[s..s + c].iter_mut().zip(&dy[o..o + c]) {
                            *d += v / cells;
                        }
                    }
                }
            }
        }
    }
    Ok(dx)
}

/// Global average pooling `[n, h, w, c] -> [n, c]`.
pub fn global_avg_pool(shape: [usize; 4], x: &[f32]) -> Result<Vec<f32>> {
    global(shape, x, "globalAvgPool", 0.0, |a, v| a + v, |a, cells| a / cells)
}

/// Global max pooling `[n, h, w, c] -> [n, c]`.
pub fn global_max_pool(shape: [usize; 4], x: &[f32]) -> Result<Vec<f32>> {
    global(shape, x, "globalMaxPool", f32::NEG_INFINITY, |a, v| if v > a { v } else { a }, |a, _| a)
}

fn global(
    shape: [usize; 4],
    x: &[f32],
    op: &str,
    init: f32,
    step: impl Fn(f32, f32) -> f32,
    finish: impl Fn(f32, f32) -> f32,
) -> Result<Vec<f32>> {
    super::check_len(op, "x", x.len(), &shape)?;
    let [n_, h, w, c] = shape;
    let mut out = vec![init; n_ * c];
    for n in 0..n_ {
        let acc = &mut out[n * c..(n + 1) * c];
        for cell in x[n * h * w * c..(n + 1) * h * w * c].chunks_exact(c) {
            for (a, &v) in acc.iter_mut().zip(cell) {
                *a = step(*a, v);
            }
        }
        for a in acc.iter_mut() {
            *a = finish(*a, (h * w) as f32);
        }
    }
    Ok(out)
}

/// Gradient of global average pooling: `dy[n, c] / (h * w)` to every cell of map `c`.
pub fn global_avg_pool_backward(shape: [usize; 4], dy: &[f32]) -> Result<Vec<f32>> {
    super::check_len("globalAvgPool backward", "dy", dy.len(), &[shape[0], shape[3]])?;
    let [n_, h, w, c] = shape;
    let mut dx = zeroed("globalAvgPool backward", "dx", n_ * h * w * c)?;
    let cells = (h * w) as f32;
    for n in 0..n_ {
        let d = &dy[n * c..(n + 1) * c];
        for cell in dx[n * h * w * c..(n + 1) * h * w * c].chunks_exact_mut(c) {
            for (a, &v) in cell.iter_mut().zip(d) {
                *a = v / cells;
            }
        }
    }
    Ok(dx)
}

/// Gradient of global max pooling: to the first maximum of each map.
pub fn global_max_pool_backward(shape: [usize; 4], x: &[f32], dy: &[f32]) -> Result<Vec<f32>> {
    super::check_len("globalMaxPool backward", "x", x.len(), &shape)?;
    super::check_len("globalMaxPool backward", "dy", dy.len(), &[shape[0], shape[3]])?;
    let [n_, h, w, c] = shape;
    let mut dx = zeroed("globalMaxPool backward", "dx", x.len())?;
    for n in 0..n_ {
        let base = n * h * w * c;
        let mut best: Vec<usize> = (0..c).map(|k| base + k).collect();
        for s in (base..base + h * w * c).step_by(c) {
            for (k, b) in best.iter_mut().enumerate() {
                if x[s + k] > x[*b] {
                    *b = s + k;
                }
            }
        }
        for (k, &b) in best.iter().enumerate() {
            dx[b] += dy[n * c + k];
        }
    }
    Ok(dx)
}
