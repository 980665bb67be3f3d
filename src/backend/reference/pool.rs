//! Pooling, forward and backward, in f64.

use crate::ops::pool::Pool2dGeometry;

/// Index of `[n, y, x, c]` in an NHWC tensor of height `h`, width `w`, `ch` channels.
fn at(h: usize, w: usize, ch: usize, n: usize, y: usize, x: usize, c: usize) -> usize {
    ((n * h + y) * w + x) * ch + c
}

/// For each output, the input index of its window's maximum (the first one, in row-major
/// order, when several cells tie).
fn argmax(g: &Pool2dGeometry, x: &[f64]) -> Vec<usize> {
    let [n_, oh, ow, c_] = g.output_shape();
    let mut out = Vec::with_capacity(n_ * oh * ow * c_);
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                for c in 0..c_ {
                    let mut best: Option<usize> = None;
                    for y in g.window(0, i) {
                        for xx in g.window(1, j) {
                            let k = at(g.in_h, g.in_w, c_, n, y, xx, c);
                            if best.is_none_or(|b| x[k] > x[b]) {
                                best = Some(k);
                            }
                        }
                    }
                    // Geometry validation guarantees every window holds at least one cell.
                    out.push(best.expect("non-empty pooling window"));
                }
            }
        }
    }
    out
}

/// Max pooling: the largest cell of each window (padding cells never count).
pub fn max_pool2d(g: &Pool2dGeometry, x: &[f64]) -> Vec<f64> {
    argmax(g, x).into_iter().map(|k| x[k]).collect()
}

/// Gradient of max pooling: each output's gradient goes to the cell that won its window.
pub fn max_pool2d_backward(g: &Pool2dGeometry, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; x.len()];
    for (o, k) in argmax(g, x).into_iter().enumerate() {
        dx[k] += dy[o];
    }
    dx
}

/// Average pooling over the window's cells inside the input (padding excluded from the count).
pub fn avg_pool2d(g: &Pool2dGeometry, x: &[f64]) -> Vec<f64> {
    let [n_, oh, ow, c_] = g.output_shape();
    let mut out = Vec::with_capacity(n_ * oh * ow * c_);
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                for c in 0..c_ {
                    let (mut sum, mut count) = (0.0, 0.0);
                    for y in g.window(0, i) {
                        for xx in g.window(1, j) {
                            sum += x[at(g.in_h, g.in_w, c_, n, y, xx, c)];
                            count += 1.0;
                        }
                    }
                    out.push(sum / count);
                }
            }
        }
    }
    out
}

/// Gradient of average pooling: each output's gradient is shared equally by its window's cells.
pub fn avg_pool2d_backward(g: &Pool2dGeometry, dy: &[f64]) -> Vec<f64> {
    let [n_, oh, ow, c_] = g.output_shape();
    let mut dx = vec![0.0; g.input_shape().iter().product()];
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                for c in 0..c_ {
                    let cells = (g.window(0, i).len() * g.window(1, j).len()) as f64;
                    let share = dy[((n * oh + i) * ow + j) * c_ + c] / cells;
                    for y in g.window(0, i) {
                        for xx in g.window(1, j) {
                            dx[at(g.in_h, g.in_w, c_, n, y, xx, c)] += share;
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Global average pooling `[n, h, w, c] -> [n, c]`.
pub fn global_avg_pool(shape: [usize; 4], x: &[f64]) -> Vec<f64> {
    let [n_, h, w, c_] = shape;
    let mut out = vec![0.0; n_ * c_];
    for n in 0..n_ {
        for c in 0..c_ {
            let mut sum = 0.0;
            for y in 0..h {
                for xx in 0..w {
                    sum += x[at(h, w, c_, n, y, xx, c)];
                }
            }
            out[n * c_ + c] = sum / (h * w) as f64;
        }
    }
    out
}

/// Gradient of global average pooling: `dy[n, c] / (h * w)` to every cell.
pub fn global_avg_pool_backward(shape: [usize; 4], dy: &[f64]) -> Vec<f64> {
    let [n_, h, w, c_] = shape;
    let mut dx = vec![0.0; n_ * h * w * c_];
    for n in 0..n_ {
        for y in 0..h {
            for xx in 0..w {
                for c in 0..c_ {
                    dx[at(h, w, c_, n, y, xx, c)] = dy[n * c_ + c] / (h * w) as f64;
                }
            }
        }
    }
    dx
}

fn global_argmax(shape: [usize; 4], x: &[f64]) -> Vec<usize> {
    let [n_, h, w, c_] = shape;
    let mut out = Vec::with_capacity(n_ * c_);
    for n in 0..n_ {
        for c in 0..c_ {
            let mut best = at(h, w, c_, n, 0, 0, c);
            for y in 0..h {
                for xx in 0..w {
                    let k = at(h, w, c_, n, y, xx, c);
                    if x[k] > x[best] {
                        best = k;
                    }
                }
            }
            out.push(best);
        }
    }
    out
}

/// Global max pooling `[n, h, w, c] -> [n, c]`.
pub fn global_max_pool(shape: [usize; 4], x: &[f64]) -> Vec<f64> {
    global_argmax(shape, x).into_iter().map(|k| x[k]).collect()
}

/// Gradient of global max pooling: to the first maximum of each map.
pub fn global_max_pool_backward(shape: [usize; 4], x: &[f64], dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; x.len()];
    for (o, k) in global_argmax(shape, x).into_iter().enumerate() {
        dx[k] += dy[o];
    }
    dx
}
