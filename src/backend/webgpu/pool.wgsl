// Pooling, NHWC, TensorFlow semantics (src/ops/pool.rs): windows clipped to the input (padding
// cells are never pooled, and average pooling divides by the cells inside), the gradient of max
// pooling goes to the first maximum of each window in row-major order. Global pooling reduces
// every [h, w] plane to one value per (image, channel). One invocation per output value, except
// the backward kernels, which gather: one invocation per input value (no float atomics).

struct Params {
    wg_x: u32,
    count: u32,
    batch: u32,
    in_h: u32,
    in_w: u32,
    c: u32,
    ph: u32,
    pw: u32,
    out_h: u32,
    out_w: u32,
    pad_top: u32,
    pad_left: u32,
    sh: u32,
    sw: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn index(wg: vec3<u32>, local: u32) -> u32 {
    return (wg.y * p.wg_x + wg.x) * 64u + local;
}

// The input rows (axis 0) or columns (axis 1) that window `i` covers: [lo, hi).
fn window(axis: u32, i: u32) -> vec2<u32> {
    var pad = p.pad_top;
    var size = p.ph;
    var len = p.in_h;
    var stride = p.sh;
    if (axis == 1u) {
        pad = p.pad_left;
        size = p.pw;
        len = p.in_w;
        stride = p.sw;
    }
    let start = i * stride;
    let lo = select(0u, start - pad, start > pad);
    let end = start + size;
    let hi = min(select(0u, end - pad, end > pad), len);
    return vec2<u32>(lo, max(hi, lo));
}

// Output value `o` as (n, i, j, ch).
fn out_coords(o: u32) -> vec4<u32> {
    let ch = o % p.c;
    var r = o / p.c;
    let j = r % p.out_w;
    r = r / p.out_w;
    return vec4<u32>(r / p.out_h, r % p.out_h, j, ch);
}

fn at(n: u32, y: u32, x: u32, ch: u32) -> u32 {
    return ((n * p.in_h + y) * p.in_w + x) * p.c + ch;
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn max_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let q = out_coords(o);
    let wy = window(0u, q.y);
    let wx = window(1u, q.z);
    var m = 0.0; // replaced by the first cell (windows are never empty)
    var any = false;
    for (var yy = wy.x; yy < wy.y; yy++) {
        for (var xx = wx.x; xx < wx.y; xx++) {
            let v = x[at(q.x, yy, xx, q.w)];
            if (!any || v > m) { m = v; any = true; }
        }
    }
    y[o] = m;
}

@compute @workgroup_size(64)
fn avg_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let q = out_coords(o);
    let wy = window(0u, q.y);
    let wx = window(1u, q.z);
    var s = 0.0;
    for (var yy = wy.x; yy < wy.y; yy++) {
        for (var xx = wx.x; xx < wx.y; xx++) {
            s += x[at(q.x, yy, xx, q.w)];
        }
    }
    y[o] = s / f32((wy.y - wy.x) * (wx.y - wx.x));
}

// The same two kernels four channels at a time, for channel counts divisible by 4: one
// invocation per 4 output pixels of a row by one vec4 of channels. Where the four windows lie
// inside the input (all but the edges), one loop over the window's cells loads a vec4 for each
// pixel: a quarter of the loop steps and index arithmetic per value, which is what a software
// adapter (SwiftShader) pays for. The cells are visited in the same order, so the results are
// the same bit for bit.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

// One output vec4 of (n, oy, ox, channel vec4 ch), any window.
fn pool_one4(n: u32, oy: u32, ox: u32, ch: u32, max: bool) -> vec4<f32> {
    let c4 = p.c / 4u;
    let wy = window(0u, oy);
    let wx = window(1u, ox);
    var m = x4[((n * p.in_h + wy.x) * p.in_w + wx.x) * c4 + ch];
    var s = vec4<f32>(0.0);
    for (var yy = wy.x; yy < wy.y; yy++) {
        for (var xx = wx.x; xx < wx.y; xx++) {
            let v = x4[((n * p.in_h + yy) * p.in_w + xx) * c4 + ch];
            m = select(m, v, v > m);
            s += v;
        }
    }
    if (max) {
        return m;
    }
    return s / f32((wy.y - wy.x) * (wx.y - wx.x));
}

fn pool4(o: u32, max: bool) {
    let c4 = p.c / 4u;
    let ch = o % c4;
    var r = o / c4;
    let tiles = (p.out_w + 3u) / 4u;
    let t = r % tiles;
    r = r / tiles;
    let oy = r % p.out_h;
    let n = r / p.out_h;
    let ox0 = t * 4u;
    let out = ((n * p.out_h + oy) * p.out_w + ox0) * c4 + ch;
    let left = i32(ox0 * p.sw) - i32(p.pad_left);
    let right = i32((ox0 + 3u) * p.sw + p.pw) - i32(p.pad_left);
    if (ox0 + 3u < p.out_w && left >= 0 && right <= i32(p.in_w)) {
        let wy = window(0u, oy);
        let step = p.sw * c4;
        let first = ((n * p.in_h + wy.x) * p.in_w + u32(left)) * c4 + ch;
        var m0 = x4[first];
        var m1 = x4[first + step];
        var m2 = x4[first + 2u * step];
        var m3 = x4[first + 3u * step];
        var s0 = vec4<f32>(0.0);
        var s1 = vec4<f32>(0.0);
        var s2 = vec4<f32>(0.0);
        var s3 = vec4<f32>(0.0);
        let cells = (wy.y - wy.x) * p.pw;
        var row = first;
        var b = first;
        var v = 0u;
        for (var k = 0u; k < cells; k++) {
            let v0 = x4[b];
            let v1 = x4[b + step];
            let v2 = x4[b + 2u * step];
            let v3 = x4[b + 3u * step];
            m0 = select(m0, v0, v0 > m0);
            m1 = select(m1, v1, v1 > m1);
            m2 = select(m2, v2, v2 > m2);
            m3 = select(m3, v3, v3 > m3);
            s0 += v0;
            s1 += v1;
            s2 += v2;
            s3 += v3;
            b += c4;
            v += 1u;
            if (v == p.pw) {
                v = 0u;
                row += p.in_w * c4;
                b = row;
            }
        }
        if (max) {
            y4[out] = m0;
            y4[out + c4] = m1;
            y4[out + 2u * c4] = m2;
            y4[out + 3u * c4] = m3;
        } else {
            let d = f32(cells);
            y4[out] = s0 / d;
            y4[out + c4] = s1 / d;
            y4[out + 2u * c4] = s2 / d;
            y4[out + 3u * c4] = s3 / d;
        }
        return;
    }
    for (var k = 0u; k < 4u; k++) {
        if (ox0 + k < p.out_w) {
            y4[out + k * c4] = pool_one4(n, oy, ox0 + k, ch, max);
        }
    }
}

@compute @workgroup_size(64)
fn max_forward4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    pool4(o, true);
}

@compute @workgroup_size(64)
fn avg_forward4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    pool4(o, false);
}

// Windows along one axis that contain input coordinate `v`: [first, last) of output indices.
fn windows_containing(axis: u32, v: u32) -> vec2<u32> {
    var pad = p.pad_top;
    var size = p.ph;
    var stride = p.sh;
    var outs = p.out_h;
    if (axis == 1u) {
        pad = p.pad_left;
        size = p.pw;
        stride = p.sw;
        outs = p.out_w;
    }
    // Window i covers padded coordinates [i * stride, i * stride + size).
    let padded = v + pad;
    let last = min(padded / stride + 1u, outs);
    var first = 0u;
    if (padded + 1u > size) {
        first = (padded + 1u - size + stride - 1u) / stride;
    }
    return vec2<u32>(first, max(last, first));
}

fn in_coords(i: u32) -> vec4<u32> {
    let ch = i % p.c;
    var r = i / p.c;
    let xx = r % p.in_w;
    r = r / p.in_w;
    return vec4<u32>(r / p.in_h, r % p.in_h, xx, ch);
}

// max_backward: dx from x and dy.
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

@compute @workgroup_size(64)
fn max_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let q = in_coords(i);
    let ri = windows_containing(0u, q.y);
    let rj = windows_containing(1u, q.z);
    var g = 0.0;
    for (var oi = ri.x; oi < ri.y; oi++) {
        for (var oj = rj.x; oj < rj.y; oj++) {
            // The first maximum of window (oi, oj), scanning rows then columns.
            let wy = window(0u, oi);
            let wx = window(1u, oj);
            var best_y = wy.x;
            var best_x = wx.x;
            var m = bx[at(q.x, wy.x, wx.x, q.w)];
            for (var yy = wy.x; yy < wy.y; yy++) {
                for (var xx = wx.x; xx < wx.y; xx++) {
                    let v = bx[at(q.x, yy, xx, q.w)];
                    if (v > m) { m = v; best_y = yy; best_x = xx; }
                }
            }
            if (best_y == q.y && best_x == q.z) {
                g += bdy[((q.x * p.out_h + oi) * p.out_w + oj) * p.c + q.w];
            }
        }
    }
    bdx[i] = g;
}

// avg_backward: dx from dy.
@group(0) @binding(1) var<storage, read> ady: array<f32>;
@group(0) @binding(2) var<storage, read_write> adx: array<f32>;

@compute @workgroup_size(64)
fn avg_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let q = in_coords(i);
    let ri = windows_containing(0u, q.y);
    let rj = windows_containing(1u, q.z);
    var g = 0.0;
    for (var oi = ri.x; oi < ri.y; oi++) {
        for (var oj = rj.x; oj < rj.y; oj++) {
            let wy = window(0u, oi);
            let wx = window(1u, oj);
            let cells = f32((wy.y - wy.x) * (wx.y - wx.x));
            g += ady[((q.x * p.out_h + oi) * p.out_w + oj) * p.c + q.w] / cells;
        }
    }
    adx[i] = g;
}

// Global pooling: one invocation per (n, ch); count = batch * c.
@compute @workgroup_size(64)
fn global_max(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let n = o / p.c;
    let ch = o % p.c;
    var m = x[at(n, 0u, 0u, ch)];
    for (var k = 1u; k < p.in_h * p.in_w; k++) {
        m = max(m, x[(n * p.in_h * p.in_w + k) * p.c + ch]);
    }
    y[o] = m;
}

@compute @workgroup_size(64)
fn global_avg(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let n = o / p.c;
    let ch = o % p.c;
    var s = 0.0;
    for (var k = 0u; k < p.in_h * p.in_w; k++) {
        s += x[(n * p.in_h * p.in_w + k) * p.c + ch];
    }
    y[o] = s / f32(p.in_h * p.in_w);
}

// Global backward: one invocation per (n, ch) writes its whole plane of dx.
@compute @workgroup_size(64)
fn global_max_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let o = index(wg, local);
    if (o >= p.count) { return; }
    let n = o / p.c;
    let ch = o % p.c;
    let plane = p.in_h * p.in_w;
    var best = 0u;
    var m = bx[n * plane * p.c + ch];
    for (var k = 1u; k < plane; k++) {
        let v = bx[(n * plane + k) * p.c + ch];
        if (v > m) { m = v; best = k; }
    }
    for (var k = 0u; k < plane; k++) {
        bdx[(n * plane + k) * p.c + ch] = select(0.0, bdy[o], k == best);
    }
}

@compute @workgroup_size(64)
fn global_avg_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    // count = every input value here: dx = dy / (h * w).
    let q = in_coords(i);
    adx[i] = ady[q.x * p.c + q.w] / f32(p.in_h * p.in_w);
}
