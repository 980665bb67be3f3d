// Batch normalization (per-channel statistics, folding them into a scale and shift, the
// normalisation, the moving averages, the training-mode gradients) and local response
// normalization (tf.nn.local_response_normalization over the last axis), as the CPU's norm.rs.
// The per-channel reductions run one workgroup per channel: 64 invocations sum strided rows,
// then a tree in workgroup memory (so the error grows with log(rows), not rows).

struct Params {
    wg_x: u32,
    count: u32,
    rows: u32,
    c: u32,
    // batch norm: epsilon; LRN: depth radius (as bits of a u32 in `radius`).
    eps: f32,
    momentum: f32,
    radius: u32,
    bias: f32,
    alpha: f32,
    beta: f32,
    // The split reductions (a tensor over one storage binding, in chunks of `rows` rows): every
    // row's count, and flags (bit 0: add to what earlier chunks wrote; bit 1: moments_part's
    // second pass).
    total: u32,
    flags: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn index(wg: vec3<u32>, local: u32) -> u32 {
    return (wg.y * p.wg_x + wg.x) * 64u + local;
}

var<workgroup> red_a: array<f32, 64>;
var<workgroup> red_b: array<f32, 64>;

// Sums red_a and red_b over the workgroup into element 0 (every invocation must call it).
fn reduce2(local: u32) {
    for (var s = 32u; s > 0u; s = s >> 1u) {
        workgroupBarrier();
        if (local < s) {
            red_a[local] += red_a[local + s];
            red_b[local] += red_b[local + s];
        }
    }
    workgroupBarrier();
}

// moments: x -> mean, var (biased), one workgroup per channel (count = c * 64).
@group(0) @binding(1) var<storage, read> mx: array<f32>;
@group(0) @binding(2) var<storage, read_write> m_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> m_var: array<f32>;

@compute @workgroup_size(64)
fn moments(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let k = wg.y * p.wg_x + wg.x;
    if (k * 64u >= p.count) { return; }
    var s = 0.0;
    for (var r = local; r < p.rows; r += 64u) { s += mx[r * p.c + k]; }
    red_a[local] = s;
    red_b[local] = 0.0;
    reduce2(local);
    let mean = red_a[0] / f32(p.rows);
    workgroupBarrier();
    var q = 0.0;
    for (var r = local; r < p.rows; r += 64u) {
        let d = mx[r * p.c + k] - mean;
        q += d * d;
    }
    red_a[local] = q;
    red_b[local] = 0.0;
    reduce2(local);
    if (local == 0u) {
        m_mean[k] = mean;
        m_var[k] = red_a[0] / f32(p.rows);
    }
}

// moments_part: one chunk of the split statistics: the first pass adds sum(x) / total to the
// mean, the second sum((x - mean)^2) / total to the variance. Same bindings as moments.
@compute @workgroup_size(64)
fn moments_part(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let k = wg.y * p.wg_x + wg.x;
    if (k * 64u >= p.count) { return; }
    let second = (p.flags & 2u) != 0u;
    var s = 0.0;
    if (second) {
        let mean = m_mean[k];
        for (var r = local; r < p.rows; r += 64u) {
            let d = mx[r * p.c + k] - mean;
            s += d * d;
        }
    } else {
        for (var r = local; r < p.rows; r += 64u) { s += mx[r * p.c + k]; }
    }
    red_a[local] = s;
    red_b[local] = 0.0;
    reduce2(local);
    if (local == 0u) {
        let add = (p.flags & 1u) != 0u;
        let part = red_a[0] / f32(p.total);
        if (second) {
            m_var[k] = select(0.0, m_var[k], add) + part;
        } else {
            m_mean[k] = select(0.0, m_mean[k], add) + part;
        }
    }
}

// bn_fold: scale = gamma / sqrt(var + eps), shift = beta - mean * scale, packed [scale | shift].
@group(0) @binding(1) var<storage, read> f_gamma: array<f32>;
@group(0) @binding(2) var<storage, read> f_beta: array<f32>;
@group(0) @binding(3) var<storage, read> f_mean: array<f32>;
@group(0) @binding(4) var<storage, read> f_var: array<f32>;
@group(0) @binding(5) var<storage, read_write> f_packed: array<f32>;

@compute @workgroup_size(64)
fn bn_fold(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let k = index(wg, local);
    if (k >= p.count) { return; }
    let scale = f_gamma[k] / sqrt(f_var[k] + p.eps);
    f_packed[k] = scale;
    f_packed[p.c + k] = f_beta[k] - f_mean[k] * scale;
}

// normalize: y = x * packed[k] + packed[c + k].
@group(0) @binding(1) var<storage, read> n_x: array<f32>;
@group(0) @binding(2) var<storage, read> n_packed: array<f32>;
@group(0) @binding(3) var<storage, read_write> n_y: array<f32>;

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let k = i % p.c;
    n_y[i] = n_x[i] * n_packed[k] + n_packed[p.c + k];
}

// ema: moving' = momentum * moving + (1 - momentum) * batch.
@compute @workgroup_size(64)
fn ema(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    n_y[i] = p.momentum * n_x[i] + (1.0 - p.momentum) * n_packed[i];
}

// bn_reduce: dgamma = sum dy * (x - mean) / sqrt(var + eps), dbeta = sum dy; a workgroup per
// channel (flags bit 0: added to what earlier chunks of rows wrote).
@group(0) @binding(1) var<storage, read> r_x: array<f32>;
@group(0) @binding(2) var<storage, read> r_dy: array<f32>;
@group(0) @binding(3) var<storage, read> r_mean: array<f32>;
@group(0) @binding(4) var<storage, read> r_var: array<f32>;
@group(0) @binding(5) var<storage, read_write> r_dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> r_dbeta: array<f32>;

@compute @workgroup_size(64)
fn bn_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let k = wg.y * p.wg_x + wg.x;
    if (k * 64u >= p.count) { return; }
    let istd = 1.0 / sqrt(r_var[k] + p.eps);
    var g = 0.0;
    var b = 0.0;
    for (var r = local; r < p.rows; r += 64u) {
        let i = r * p.c + k;
        g += r_dy[i] * (r_x[i] - r_mean[k]) * istd;
        b += r_dy[i];
    }
    red_a[local] = g;
    red_b[local] = b;
    reduce2(local);
    if (local == 0u) {
        let add = (p.flags & 1u) != 0u;
        r_dgamma[k] = select(0.0, r_dgamma[k], add) + red_a[0];
        r_dbeta[k] = select(0.0, r_dbeta[k], add) + red_b[0];
    }
}

// bn_dx: dx = gamma * istd / m * (m * dy - dbeta - xhat * dgamma), m = rows (every row).
@group(0) @binding(1) var<storage, read> d_x: array<f32>;
@group(0) @binding(2) var<storage, read> d_dy: array<f32>;
@group(0) @binding(3) var<storage, read> d_gamma: array<f32>;
@group(0) @binding(4) var<storage, read> d_mean: array<f32>;
@group(0) @binding(5) var<storage, read> d_var: array<f32>;
@group(0) @binding(6) var<storage, read> d_dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> d_dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> d_dx: array<f32>;

@compute @workgroup_size(64)
fn bn_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let k = i % p.c;
    let m = f32(p.rows);
    let istd = 1.0 / sqrt(d_var[k] + p.eps);
    let xhat = (d_x[i] - d_mean[k]) * istd;
    d_dx[i] = d_gamma[k] * istd / m * (m * d_dy[i] - d_dbeta[k] - xhat * d_dgamma[k]);
}

// LRN. s(k) = bias + alpha * sum of x^2 over channels [k - radius, k + radius] of the row.
fn lrn_scale(row: u32, k: u32) -> f32 {
    let lo = select(0u, k - p.radius, k > p.radius);
    let hi = min(k + p.radius, p.c - 1u);
    var s = 0.0;
    for (var j = lo; j <= hi; j++) {
        let v = n_x[row * p.c + j];
        s += v * v;
    }
    return p.bias + p.alpha * s;
}

// lrn: y = x * s^-beta (n_x = x, n_packed unused but bound, n_y = y).
@compute @workgroup_size(64)
fn lrn(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let k = i % p.c;
    n_y[i] = n_x[i] * pow(lrn_scale(i / p.c, k), -p.beta);
}

// lrn_backward (n_x = x, n_packed = dy, n_y = dx):
// dx_j = dy_j s_j^-beta - 2 alpha beta x_j sum over i in window(j) of dy_i x_i s_i^(-beta-1).
@compute @workgroup_size(64)
fn lrn_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let idx = index(wg, local);
    if (idx >= p.count) { return; }
    let j = idx % p.c;
    let row = idx / p.c;
    let lo = select(0u, j - p.radius, j > p.radius);
    let hi = min(j + p.radius, p.c - 1u);
    var cross = 0.0;
    for (var i = lo; i <= hi; i++) {
        let at = row * p.c + i;
        cross += n_packed[at] * n_x[at] * pow(lrn_scale(row, i), -p.beta - 1.0);
    }
    n_y[idx] = n_packed[idx] * pow(lrn_scale(row, j), -p.beta) - 2.0 * p.alpha * p.beta * n_x[idx] * cross;
}
