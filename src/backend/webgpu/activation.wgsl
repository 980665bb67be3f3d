// Activations, elementwise (with an optional per-channel bias first), and softmax over the last
// axis, forward and backward. `kind` selects the function (see ACT_* and activation.rs);
// formulas as the CPU path (src/ops/activation.rs).

struct Params {
    wg_x: u32,
    count: u32,
    kind: u32,
    // Channels of the bias (the last axis) or the softmax row length.
    last: u32,
    alpha: f32,
    selu_alpha: f32,
    selu_scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

const ACT_LINEAR: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_RELU6: u32 = 2u;
const ACT_LEAKY_RELU: u32 = 3u;
const ACT_ELU: u32 = 4u;
const ACT_SELU: u32 = 5u;
const ACT_SIGMOID: u32 = 6u;
const ACT_TANH: u32 = 7u;

fn index(wg: vec3<u32>, local: u32) -> u32 {
    return (wg.y * p.wg_x + wg.x) * 64u + local;
}

// tanh from one exponential of a non-positive number: never overflows.
fn stable_tanh(v: f32) -> f32 {
    let t = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - t) / (1.0 + t);
}

fn stable_sigmoid(v: f32) -> f32 {
    if (v >= 0.0) {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

// e^v - 1 without cancellation near 0 (WGSL has no expm1).
fn expm1(v: f32) -> f32 {
    if (abs(v) < 1e-3) {
        return v + 0.5 * v * v + v * v * v / 6.0;
    }
    return exp(v) - 1.0;
}

fn act(v: f32) -> f32 {
    switch p.kind {
        case ACT_RELU: { return max(v, 0.0); }
        case ACT_RELU6: { return clamp(v, 0.0, 6.0); }
        case ACT_LEAKY_RELU: { return select(p.alpha * v, v, v > 0.0); }
        case ACT_ELU: { return select(p.alpha * expm1(v), v, v > 0.0); }
        case ACT_SELU: { return p.selu_scale * select(p.selu_alpha * expm1(v), v, v > 0.0); }
        case ACT_SIGMOID: { return stable_sigmoid(v); }
        case ACT_TANH: { return stable_tanh(v); }
        default: { return v; }
    }
}

// d act / dx, from the input x and the output y.
fn act_grad(x: f32, y: f32) -> f32 {
    switch p.kind {
        case ACT_RELU: { return select(0.0, 1.0, x > 0.0); }
        case ACT_RELU6: { return select(0.0, 1.0, x > 0.0 && x < 6.0); }
        case ACT_LEAKY_RELU: { return select(p.alpha, 1.0, x > 0.0); }
        case ACT_ELU: { return select(y + p.alpha, 1.0, x > 0.0); }
        case ACT_SELU: { return select(y + p.selu_scale * p.selu_alpha, p.selu_scale, x > 0.0); }
        case ACT_SIGMOID: { return y * (1.0 - y); }
        case ACT_TANH: { return 1.0 - y * y; }
        default: { return 1.0; }
    }
}

// forward: y = act(x)
@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read_write> fy: array<f32>;

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    fy[i] = act(fx[i]);
}

// bias_forward: y = act(x + bias[i % last])
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> by: array<f32>;

@compute @workgroup_size(64)
fn bias_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    by[i] = act(bx[i] + bias[i % p.last]);
}

// backward: dx = dy * act'(x) (from x and y)
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> gdy: array<f32>;
@group(0) @binding(4) var<storage, read_write> gdx: array<f32>;

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    gdx[i] = gdy[i] * act_grad(gx[i], gy[i]);
}

// softmax_forward: one invocation per row of `last` values (count = rows), max subtracted.
@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let r = index(wg, local);
    if (r >= p.count) { return; }
    let base = r * p.last;
    var m = fx[base];
    for (var k = 1u; k < p.last; k++) { m = max(m, fx[base + k]); }
    var sum = 0.0;
    for (var k = 0u; k < p.last; k++) {
        let e = exp(fx[base + k] - m);
        fy[base + k] = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    for (var k = 0u; k < p.last; k++) { fy[base + k] = fy[base + k] * inv; }
}

// softmax_backward: dx = y * (dy - sum(y * dy)) per row (x unused, bound for the layout).
@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let r = index(wg, local);
    if (r >= p.count) { return; }
    let base = r * p.last;
    var dot = 0.0;
    for (var k = 0u; k < p.last; k++) { dot += gy[base + k] * gdy[base + k]; }
    for (var k = 0u; k < p.last; k++) { gdx[base + k] = gy[base + k] * (gdy[base + k] - dot); }
}
