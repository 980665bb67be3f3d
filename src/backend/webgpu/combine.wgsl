// Ops that combine, scale, pad or select tensors (the CPU's combine.rs and the per-channel
// affine behind batch norm and LeNet's subsampling), forward and backward. The parameter words
// are generic; each entry point says what it reads. One invocation per output value unless said.

struct Params {
    wg_x: u32,
    count: u32,
    u0: u32,
    u1: u32,
    u2: u32,
    u3: u32,
    u4: u32,
    u5: u32,
    u6: u32,
    u7: u32,
    f0: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn index(wg: vec3<u32>, local: u32) -> u32 {
    return (wg.y * p.wg_x + wg.x) * 64u + local;
}

// Two inputs, one output.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y2: array<f32>;

// add: y = a + b.
@compute @workgroup_size(64)
fn add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    y2[i] = a[i] + b[i];
}

// channel_scale: y[n, q, k] = a[n, q, k] * b[n, k]; u0 = channels, u1 = pixels per image.
@compute @workgroup_size(64)
fn channel_scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let k = i % p.u0;
    let n = i / (p.u0 * p.u1);
    y2[i] = a[i] * b[n * p.u0 + k];
}

// channel_scale_ds: ds[n, k] = sum over pixels of x[n, q, k] * dy[n, q, k] (a = x, b = dy);
// one invocation per (n, k).
@compute @workgroup_size(64)
fn channel_scale_ds(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let k = o % p.u0;
    let n = o / p.u0;
    var s = 0.0;
    for (var q = 0u; q < p.u1; q++) {
        let i = (n * p.u1 + q) * p.u0 + k;
        s += a[i] * b[i];
    }
    y2[o] = s;
}

// depth_max_backward: a = x, b = dy; one invocation per run of u0 channels writes the run.
@compute @workgroup_size(64)
fn depth_max_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let base = o * p.u0;
    var best = 0u;
    for (var j = 1u; j < p.u0; j++) {
        if (a[base + j] > a[base + best]) { best = j; }
    }
    for (var j = 0u; j < p.u0; j++) {
        y2[base + j] = select(0.0, b[o], j == best);
    }
}

// masked_scale: y = a * b * f0 (dropout: b the 0/1 keep-mask, f0 = 1 / (1 - rate)).
@compute @workgroup_size(64)
fn masked_scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    y2[i] = a[i] * b[i] * p.f0;
}

// Three inputs, one output.
@group(0) @binding(1) var<storage, read> t0: array<f32>;
@group(0) @binding(2) var<storage, read> t1: array<f32>;
@group(0) @binding(3) var<storage, read> t2: array<f32>;
@group(0) @binding(4) var<storage, read_write> y3: array<f32>;

// channel_affine: y = x * scale[k] + shift[k] (t0 = x, t1 = scale, t2 = shift; u0 = channels).
@compute @workgroup_size(64)
fn channel_affine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let k = i % p.u0;
    y3[i] = t0[i] * t1[k] + t2[k];
}

// One input, one output.
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// copy_channels: dst[r, u2 + k] = src[r, k]; u0 = source channels, u1 = destination channels;
// count = rows * u0. Concatenation runs it once per part into the same output.
@compute @workgroup_size(64)
fn copy_channels(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let r = i / p.u0;
    dst[r * p.u1 + p.u2 + i % p.u0] = src[i];
}

// slice_channels: dst[r, k] = src[r, u2 + k]; u0 = source channels, u1 = destination channels;
// count = rows * u1.
@compute @workgroup_size(64)
fn slice_channels(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let r = i / p.u1;
    dst[i] = src[r * p.u0 + p.u2 + i % p.u1];
}

// zero_pad: u0..u3 = n, h, w, c of the input; u4 = top, u5 = left, u6 = out h, u7 = out w.
@compute @workgroup_size(64)
fn zero_pad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let c = p.u3;
    let k = i % c;
    var r = i / c;
    let ox = r % p.u7;
    r = r / p.u7;
    let oy = r % p.u6;
    let n = r / p.u6;
    var v = 0.0;
    if (oy >= p.u4 && oy < p.u4 + p.u1 && ox >= p.u5 && ox < p.u5 + p.u2) {
        v = src[((n * p.u1 + oy - p.u4) * p.u2 + ox - p.u5) * c + k];
    }
    dst[i] = v;
}

// crop (zero_pad's gradient): the same words; one invocation per input value.
@compute @workgroup_size(64)
fn crop(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let c = p.u3;
    let k = i % c;
    var r = i / c;
    let xx = r % p.u2;
    r = r / p.u2;
    let yy = r % p.u1;
    let n = r / p.u1;
    dst[i] = src[((n * p.u6 + yy + p.u4) * p.u7 + xx + p.u5) * c + k];
}

// depth_max: the maximum of each run of u0 channels.
@compute @workgroup_size(64)
fn depth_max(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    var m = src[o * p.u0];
    for (var j = 1u; j < p.u0; j++) { m = max(m, src[o * p.u0 + j]); }
    dst[o] = m;
}
