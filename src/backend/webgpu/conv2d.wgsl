// 2-D convolution, tf.nn.conv2d semantics (NHWC input, HWIO filters, zero padding), forward
// (`main`: ungrouped, four output channels per invocation; `grouped`: any groups, including
// depthwise, one output per invocation) and backward (`backward_input`: one input value per
// invocation, gathering the outputs that read it; `backward_filter`: one workgroup per filter
// value, its 64 invocations summing strided output pixels, then a tree in workgroup memory).
//
// The ungrouped forward kernel:
//
// Each invocation computes four consecutive output channels of one output pixel, so each input
// value it reads feeds four multiply-adds and each filter read is one vec4. The filters arrive
// with the output channels padded to a multiple of 4 (by the launcher), so rows are whole vec4s.
// The dispatch is flattened to 2-D (wg_x * y) to stay inside the per-dimension limit.

struct Conv2dShape {
    wg_x: u32,
    count: u32,
    batch: u32,
    in_h: u32,
    in_w: u32,
    in_c: u32,
    fh: u32,
    fw: u32,
    out_c: u32,
    out_c_vec4: u32,
    out_h: u32,
    out_w: u32,
    pad_top: u32,
    pad_left: u32,
    stride_h: u32,
    stride_w: u32,
    dilation_h: u32,
    dilation_w: u32,
    // Input and output channels per group (groups = in_c / in_pg).
    in_pg: u32,
    out_pg: u32,
    // The blocked kernel's (software adapters): the zero-padded input's height and width, input
    // channels in vec4s, output channels in vec4s rounded up to an even count, 8-pixel tiles per
    // output row.
    padded_h: u32,
    padded_w: u32,
    in_c_vec4: u32,
    out_c_vec8: u32,
    tiles: u32,
    // backward_filter: 1 to add to what earlier chunks of images wrote (a batch over one
    // storage binding runs in chunks).
    accumulate: u32,
    spare1: u32,
    spare2: u32,
}

@group(0) @binding(0) var<uniform> shape: Conv2dShape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> filters: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WORKGROUP: u32 = 64u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let group = index % shape.out_c_vec4;
    var rest = index / shape.out_c_vec4;
    let ox = rest % shape.out_w;
    rest = rest / shape.out_w;
    let oy = rest % shape.out_h;
    let n = rest / shape.out_h;

    var acc = vec4<f32>(0.0);
    for (var u = 0u; u < shape.fh; u = u + 1u) {
        let iy = i32(oy * shape.stride_h + u * shape.dilation_h) - i32(shape.pad_top);
        if (iy < 0 || iy >= i32(shape.in_h)) {
            continue;
        }
        for (var v = 0u; v < shape.fw; v = v + 1u) {
            let ix = i32(ox * shape.stride_w + v * shape.dilation_w) - i32(shape.pad_left);
            if (ix < 0 || ix >= i32(shape.in_w)) {
                continue;
            }
            let x_base = ((n * shape.in_h + u32(iy)) * shape.in_w + u32(ix)) * shape.in_c;
            let w_base = (u * shape.fw + v) * shape.in_c * shape.out_c_vec4 + group;
            for (var c = 0u; c < shape.in_c; c = c + 1u) {
                acc = acc + x[x_base + c] * filters[w_base + c * shape.out_c_vec4];
            }
        }
    }
    let out_base = ((n * shape.out_h + oy) * shape.out_w + ox) * shape.out_c + group * 4u;
    let valid = min(4u, shape.out_c - group * 4u);
    for (var k = 0u; k < valid; k = k + 1u) {
        y[out_base + k] = acc[k];
    }
}

// grouped: filters [fh, fw, in_pg, out_c] unpadded; one invocation per output value.
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gw: array<f32>;
@group(0) @binding(3) var<storage, read_write> gy: array<f32>;

@compute @workgroup_size(64)
fn grouped(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let o = index % shape.out_c;
    var rest = index / shape.out_c;
    let ox = rest % shape.out_w;
    rest = rest / shape.out_w;
    let oy = rest % shape.out_h;
    let n = rest / shape.out_h;
    let c0 = (o / shape.out_pg) * shape.in_pg; // the group's first input channel
    var acc = 0.0;
    for (var u = 0u; u < shape.fh; u++) {
        let iy = i32(oy * shape.stride_h + u * shape.dilation_h) - i32(shape.pad_top);
        if (iy < 0 || iy >= i32(shape.in_h)) { continue; }
        for (var v = 0u; v < shape.fw; v++) {
            let ix = i32(ox * shape.stride_w + v * shape.dilation_w) - i32(shape.pad_left);
            if (ix < 0 || ix >= i32(shape.in_w)) { continue; }
            let x_base = ((n * shape.in_h + u32(iy)) * shape.in_w + u32(ix)) * shape.in_c + c0;
            let w_base = (u * shape.fw + v) * shape.in_pg * shape.out_c + o;
            for (var c = 0u; c < shape.in_pg; c++) {
                acc += gx[x_base + c] * gw[w_base + c * shape.out_c];
            }
        }
    }
    gy[index] = acc;
}

// backward_input: dx from dy (binding 1) and the filters (binding 2, unpadded).
@compute @workgroup_size(64)
fn backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let ci = index % shape.in_c;
    var rest = index / shape.in_c;
    let xx = rest % shape.in_w;
    rest = rest / shape.in_w;
    let yy = rest % shape.in_h;
    let n = rest / shape.in_h;
    let grp = ci / shape.in_pg;
    let cl = ci % shape.in_pg;
    var acc = 0.0;
    for (var u = 0u; u < shape.fh; u++) {
        // Output row oy reads input row oy * stride + u * dilation - pad_top = yy.
        let t = i32(yy + shape.pad_top) - i32(u * shape.dilation_h);
        if (t < 0 || u32(t) % shape.stride_h != 0u) { continue; }
        let oy = u32(t) / shape.stride_h;
        if (oy >= shape.out_h) { continue; }
        for (var v = 0u; v < shape.fw; v++) {
            let s = i32(xx + shape.pad_left) - i32(v * shape.dilation_w);
            if (s < 0 || u32(s) % shape.stride_w != 0u) { continue; }
            let ox = u32(s) / shape.stride_w;
            if (ox >= shape.out_w) { continue; }
            let d_base = ((n * shape.out_h + oy) * shape.out_w + ox) * shape.out_c + grp * shape.out_pg;
            let w_base = ((u * shape.fw + v) * shape.in_pg + cl) * shape.out_c + grp * shape.out_pg;
            for (var k = 0u; k < shape.out_pg; k++) {
                acc += gx[d_base + k] * gw[w_base + k];
            }
        }
    }
    gy[index] = acc;
}

var<workgroup> partial: array<f32, 64>;

// backward_filter: dw from x (binding 1) and dy (binding 2); one workgroup per filter value
// (count = filter values * 64).
@compute @workgroup_size(64)
fn backward_filter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let f = wg.y * shape.wg_x + wg.x;
    if (f * WORKGROUP >= shape.count) {
        return;
    }
    let o = f % shape.out_c;
    var rest = f / shape.out_c;
    let cl = rest % shape.in_pg;
    rest = rest / shape.in_pg;
    let v = rest % shape.fw;
    let u = rest / shape.fw;
    let ci = (o / shape.out_pg) * shape.in_pg + cl;
    let pixels = shape.batch * shape.out_h * shape.out_w;
    var acc = 0.0;
    for (var q = local; q < pixels; q += WORKGROUP) {
        let ox = q % shape.out_w;
        let r = q / shape.out_w;
        let oy = r % shape.out_h;
        let n = r / shape.out_h;
        let iy = i32(oy * shape.stride_h + u * shape.dilation_h) - i32(shape.pad_top);
        let ix = i32(ox * shape.stride_w + v * shape.dilation_w) - i32(shape.pad_left);
        if (iy >= 0 && iy < i32(shape.in_h) && ix >= 0 && ix < i32(shape.in_w)) {
            acc += gx[((n * shape.in_h + u32(iy)) * shape.in_w + u32(ix)) * shape.in_c + ci]
                * gw[q * shape.out_c + o];
        }
    }
    partial[local] = acc;
    for (var s = 32u; s > 0u; s = s >> 1u) {
        workgroupBarrier();
        if (local < s) {
            partial[local] += partial[local + s];
        }
    }
    if (local == 0u) {
        gy[f] = select(0.0, gy[f], shape.accumulate != 0u) + partial[0];
    }
}

// implicit_gemm: the convolution as the matrix product y[pixels, out_c] = P[pixels, K] W[K, out_c]
// (K = fh * fw * in_c, W the HWIO filters as they are), tiled exactly like matmul.wgsl: each
// workgroup of 256 invocations computes a 64 x 64 block of outputs (64 pixels x 64 channels),
// each invocation 4 x 4, from 64 x 16 tiles of P and 16 x 64 tiles of W staged in workgroup
// memory as vec4s. P is never built: the tile loader reads each patch value straight from x
// (zero where the window hangs over the padding). Ungrouped only; count = blocks * 64.
var<workgroup> tp: array<array<vec4<f32>, 16>, 16>; // tp[kk][pixel / 4]
var<workgroup> tw: array<array<vec4<f32>, 16>, 16>; // tw[kk][channel / 4]

fn patch_value(pixel: u32, kk: u32, pixels: u32, k: u32) -> f32 {
    if (pixel >= pixels || kk >= k) { return 0.0; }
    let c = kk % shape.in_c;
    let t = kk / shape.in_c;
    let v = t % shape.fw;
    let u = t / shape.fw;
    let ox = pixel % shape.out_w;
    let r = pixel / shape.out_w;
    let oy = r % shape.out_h;
    let n = r / shape.out_h;
    let iy = i32(oy * shape.stride_h + u * shape.dilation_h) - i32(shape.pad_top);
    let ix = i32(ox * shape.stride_w + v * shape.dilation_w) - i32(shape.pad_left);
    if (iy < 0 || iy >= i32(shape.in_h) || ix < 0 || ix >= i32(shape.in_w)) { return 0.0; }
    return gx[((n * shape.in_h + u32(iy)) * shape.in_w + u32(ix)) * shape.in_c + c];
}

fn filter_value(kk: u32, col: u32, k: u32) -> f32 {
    if (kk >= k || col >= shape.out_c) { return 0.0; }
    return gw[kk * shape.out_c + col];
}

@compute @workgroup_size(256)
fn implicit_gemm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let block = wg.y * shape.wg_x + wg.x;
    if (block * WORKGROUP >= shape.count) { return; }
    let pixels = shape.batch * shape.out_h * shape.out_w;
    let k = shape.fh * shape.fw * shape.in_c;
    let blocks_n = (shape.out_c + 63u) / 64u;
    let row0 = (block / blocks_n) * 64u;
    let col0 = (block % blocks_n) * 64u;
    let ty = local / 16u;
    let tx = local % 16u;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < k; k0 += 16u) {
        // Neighbouring invocations read neighbouring k of one pixel: consecutive input
        // channels, contiguous in NHWC.
        let pr = (local / 16u) * 4u;
        let pk = k0 + local % 16u;
        tp[local % 16u][pr / 4u] = vec4<f32>(
            patch_value(row0 + pr, pk, pixels, k),
            patch_value(row0 + pr + 1u, pk, pixels, k),
            patch_value(row0 + pr + 2u, pk, pixels, k),
            patch_value(row0 + pr + 3u, pk, pixels, k),
        );
        let wk = local / 16u;
        let wc = (local % 16u) * 4u;
        tw[wk][wc / 4u] = vec4<f32>(
            filter_value(k0 + wk, col0 + wc, k),
            filter_value(k0 + wk, col0 + wc + 1u, k),
            filter_value(k0 + wk, col0 + wc + 2u, k),
            filter_value(k0 + wk, col0 + wc + 3u, k),
        );
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {
            let pv = tp[kk][ty];
            let wv = tw[kk][tx];
            acc[0] += pv.x * wv;
            acc[1] += pv.y * wv;
            acc[2] += pv.z * wv;
            acc[3] += pv.w * wv;
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let pixel = row0 + ty * 4u + r;
        if (pixel >= pixels) { break; }
        for (var q = 0u; q < 4u; q++) {
            let col = col0 + tx * 4u + q;
            if (col < shape.out_c) {
                gy[pixel * shape.out_c + col] = acc[r][q];
            }
        }
    }
}

// The blocked kernel, for software adapters (SwiftShader), and its two helpers.
//
// A software adapter runs four invocations in the lanes of one CPU vector, and there every load
// from a storage buffer costs about as much as a loop iteration does (2 to 8 ns per invocation,
// measured in Chromium 156 on this machine), while arithmetic is nearly free; bounds tests in the
// inner loop are costly too. So `blocked` reads a zero-padded copy of the input (`pad_input`:
// no bounds tests), with input channels padded to whole vec4s and the filters padded to whole
// vec4s of input and eight-channel groups of output channels (`pad_filters`), and each invocation
// computes 8 output pixels of one row by 8 output channels: per step 8 input vec4s and 8 filter
// vec4s feed 256 multiply-adds. The taps of one filter row and their input channels are
// contiguous in NHWC, so one flat loop runs over every (row, column, channel vec4) step.
// Pixels of the last tile past the row's end read whatever follows (in bounds of the buffer, as
// WebGPU guarantees) and are not stored.

// pad_input: x [n, h, w, in_c] -> [n, padded_h, padded_w, in_c_vec4] vec4s, zeros around.
@group(0) @binding(1) var<storage, read> pin: array<f32>;
@group(0) @binding(2) var<storage, read_write> pout: array<vec4<f32>>;

@compute @workgroup_size(64)
fn pad_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let c4 = index % shape.in_c_vec4;
    var rest = index / shape.in_c_vec4;
    let px = rest % shape.padded_w;
    rest = rest / shape.padded_w;
    let py = rest % shape.padded_h;
    let n = rest / shape.padded_h;
    let iy = i32(py) - i32(shape.pad_top);
    let ix = i32(px) - i32(shape.pad_left);
    var v = vec4<f32>(0.0);
    if (iy >= 0 && iy < i32(shape.in_h) && ix >= 0 && ix < i32(shape.in_w)) {
        let base = ((n * shape.in_h + u32(iy)) * shape.in_w + u32(ix)) * shape.in_c;
        let c0 = c4 * 4u;
        let left = shape.in_c - c0;
        if (left >= 4u) {
            v = vec4<f32>(pin[base + c0], pin[base + c0 + 1u], pin[base + c0 + 2u], pin[base + c0 + 3u]);
        } else {
            for (var k = 0u; k < left; k++) {
                v[k] = pin[base + c0 + k];
            }
        }
    }
    pout[index] = v;
}

// pad_filters: [fh * fw, in_c, out_c] -> [fh * fw, in_c_vec4 * 4, out_c_vec8 * 4] vec4s.
@compute @workgroup_size(64)
fn pad_filters(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let o4 = index % shape.out_c_vec8;
    var rest = index / shape.out_c_vec8;
    let c = rest % (shape.in_c_vec4 * 4u);
    let tap = rest / (shape.in_c_vec4 * 4u);
    var v = vec4<f32>(0.0);
    if (c < shape.in_c) {
        let base = (tap * shape.in_c + c) * shape.out_c;
        for (var k = 0u; k < 4u; k++) {
            let o = o4 * 4u + k;
            if (o < shape.out_c) {
                v[k] = pin[base + o];
            }
        }
    }
    pout[index] = v;
}

// flip_filters: the filters of dx = (dy convolved with the filters turned 180 degrees, input and
// output channels swapped), laid out as `pad_filters` lays out a forward conv's: run with the
// transposed geometry (in_c = the forward out_c, out_c = the forward in_c), it reads HWIO
// [fh, fw, out_c, in_c] of the forward conv and writes [fh * fw, in_c_vec4 * 4, out_c_vec8 * 4].
@compute @workgroup_size(64)
fn flip_filters(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let c4 = index % shape.out_c_vec8;
    var rest = index / shape.out_c_vec8;
    let r = rest % (shape.in_c_vec4 * 4u);
    let tap = rest / (shape.in_c_vec4 * 4u);
    let u = tap / shape.fw;
    let v = tap % shape.fw;
    let source = (shape.fh - 1u - u) * shape.fw + (shape.fw - 1u - v);
    var value = vec4<f32>(0.0);
    if (r < shape.in_c) {
        for (var k = 0u; k < 4u; k++) {
            let c = c4 * 4u + k;
            if (c < shape.out_c) {
                value[k] = pin[(source * shape.out_c + c) * shape.in_c + r];
            }
        }
    }
    pout[index] = value;
}

// blocked: the software adapters' direct kernel.
@group(0) @binding(1) var<storage, read> bx: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bw: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> by: array<f32>;


@compute @workgroup_size(64)
fn blocked(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let o4 = shape.out_c_vec8;
    let pairs = o4 / 2u;
    let g = (index % pairs) * 2u;
    var rest = index / pairs;
    let tile = rest % shape.tiles;
    rest = rest / shape.tiles;
    let oy = rest % shape.out_h;
    let n = rest / shape.out_h;
    let ox0 = tile * 8u;
    let c4n = shape.in_c_vec4;
    let sx = shape.stride_w * c4n;
    var a0 = vec4<f32>(0.0); var b0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var b4 = vec4<f32>(0.0);
    var a5 = vec4<f32>(0.0); var b5 = vec4<f32>(0.0);
    var a6 = vec4<f32>(0.0); var b6 = vec4<f32>(0.0);
    var a7 = vec4<f32>(0.0); var b7 = vec4<f32>(0.0);
    let kn = shape.fw * c4n;
    let total = shape.fh * kn;
    let rowstep = shape.dilation_h * shape.padded_w * c4n;
    var rb = ((n * shape.padded_h + oy * shape.stride_h) * shape.padded_w + ox0 * shape.stride_w) * c4n;
    var b = rb;
    var k = 0u;
    var wb = g;
    for (var t = 0u; t < total; t++) {
        let wa0 = bw[wb];
        let wa1 = bw[wb + o4];
        let wa2 = bw[wb + 2u * o4];
        let wa3 = bw[wb + 3u * o4];
        let wb0 = bw[wb + 1u];
        let wb1 = bw[wb + o4 + 1u];
        let wb2 = bw[wb + 2u * o4 + 1u];
        let wb3 = bw[wb + 3u * o4 + 1u];
        wb += 4u * o4;
        let x0 = bx[b];
        a0 += x0.x * wa0 + x0.y * wa1 + x0.z * wa2 + x0.w * wa3;
        b0 += x0.x * wb0 + x0.y * wb1 + x0.z * wb2 + x0.w * wb3;
        let x1 = bx[b + sx];
        a1 += x1.x * wa0 + x1.y * wa1 + x1.z * wa2 + x1.w * wa3;
        b1 += x1.x * wb0 + x1.y * wb1 + x1.z * wb2 + x1.w * wb3;
        let x2 = bx[b + 2u * sx];
        a2 += x2.x * wa0 + x2.y * wa1 + x2.z * wa2 + x2.w * wa3;
        b2 += x2.x * wb0 + x2.y * wb1 + x2.z * wb2 + x2.w * wb3;
        let x3 = bx[b + 3u * sx];
        a3 += x3.x * wa0 + x3.y * wa1 + x3.z * wa2 + x3.w * wa3;
        b3 += x3.x * wb0 + x3.y * wb1 + x3.z * wb2 + x3.w * wb3;
        let x4 = bx[b + 4u * sx];
        a4 += x4.x * wa0 + x4.y * wa1 + x4.z * wa2 + x4.w * wa3;
        b4 += x4.x * wb0 + x4.y * wb1 + x4.z * wb2 + x4.w * wb3;
        let x5 = bx[b + 5u * sx];
        a5 += x5.x * wa0 + x5.y * wa1 + x5.z * wa2 + x5.w * wa3;
        b5 += x5.x * wb0 + x5.y * wb1 + x5.z * wb2 + x5.w * wb3;
        let x6 = bx[b + 6u * sx];
        a6 += x6.x * wa0 + x6.y * wa1 + x6.z * wa2 + x6.w * wa3;
        b6 += x6.x * wb0 + x6.y * wb1 + x6.z * wb2 + x6.w * wb3;
        let x7 = bx[b + 7u * sx];
        a7 += x7.x * wa0 + x7.y * wa1 + x7.z * wa2 + x7.w * wa3;
        b7 += x7.x * wb0 + x7.y * wb1 + x7.z * wb2 + x7.w * wb3;
        b += 1u;
        k += 1u;
        if (k == kn) {
            k = 0u;
            rb += rowstep;
            b = rb;
        }
    }
    let pixels = min(8u, shape.out_w - ox0);
    let base = ((n * shape.out_h + oy) * shape.out_w + ox0) * shape.out_c + g * 4u;
    store8(base, pixels, shape.out_c - g * 4u, array(a0, a1, a2, a3, a4, a5, a6, a7));
    if (g * 4u + 4u < shape.out_c) {
        store8(base + 4u, pixels, shape.out_c - g * 4u - 4u, array(b0, b1, b2, b3, b4, b5, b6, b7));
    }
}

// Stores up to 8 pixels' vec4s of output channels (`channels` of them valid) at `base`, pixel
// after pixel out_c apart.
fn store8(base: u32, pixels: u32, channels: u32, acc: array<vec4<f32>, 8>) {
    for (var p = 0u; p < pixels; p++) {
        let o = base + p * shape.out_c;
        let a = acc[p];
        if (channels >= 4u) {
            by[o] = a.x;
            by[o + 1u] = a.y;
            by[o + 2u] = a.z;
            by[o + 3u] = a.w;
        } else {
            for (var k = 0u; k < channels; k++) {
                by[o + k] = a[k];
            }
        }
    }
}

// filter_grad: dw for software adapters (ungrouped, out_c a multiple of 4), from the zero-padded
// input (`pad_input`) and dy read as vec4s: one invocation per filter tap by 4 input channels by
// 4 output channels, summing over every output pixel in one flat loop (two vec4 loads feed 16
// multiply-adds; no workgroup reduction: barriers are slow on a software adapter).
@group(0) @binding(1) var<storage, read> gx4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gdy4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> gdw: array<f32>;

@compute @workgroup_size(64)
fn filter_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let index = (wg.y * shape.wg_x + wg.x) * WORKGROUP + local;
    if (index >= shape.count) {
        return;
    }
    let o4n = shape.out_c_vec4;
    let c4n = shape.in_c_vec4;
    let o4 = index % o4n;
    var rest = index / o4n;
    let c4 = rest % c4n;
    let tap = rest / c4n;
    let u = tap / shape.fw;
    let v = tap % shape.fw;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    let xs = shape.stride_w * c4n;
    let pixels = shape.batch * shape.out_h * shape.out_w;
    // The input row of output row (n, oy) for this tap, and the step between output rows.
    let image = shape.padded_h * shape.padded_w * c4n;
    let row_step = shape.stride_h * shape.padded_w * c4n;
    var n = 0u;
    var oy = 0u;
    var ox = 0u;
    var xrow = (u * shape.dilation_h * shape.padded_w + v * shape.dilation_w) * c4n + c4;
    var xb = xrow;
    var db = o4;
    for (var q = 0u; q < pixels; q++) {
        let xv = gx4[xb];
        let d = gdy4[db];
        a0 += xv.x * d;
        a1 += xv.y * d;
        a2 += xv.z * d;
        a3 += xv.w * d;
        xb += xs;
        db += o4n;
        ox += 1u;
        if (ox == shape.out_w) {
            ox = 0u;
            oy += 1u;
            xrow += row_step;
            if (oy == shape.out_h) {
                oy = 0u;
                n += 1u;
                xrow = n * image + (u * shape.dilation_h * shape.padded_w + v * shape.dilation_w) * c4n + c4;
            }
            xb = xrow;
        }
    }
    let c0 = c4 * 4u;
    let base = (tap * shape.in_c + c0) * shape.out_c + o4 * 4u;
    let acc = array(a0, a1, a2, a3);
    for (var j = 0u; j < 4u; j++) {
        if (c0 + j < shape.in_c) {
            let a = acc[j];
            let o = base + j * shape.out_c;
            gdw[o] = a.x;
            gdw[o + 1u] = a.y;
            gdw[o + 2u] = a.z;
            gdw[o + 3u] = a.w;
        }
    }
}
