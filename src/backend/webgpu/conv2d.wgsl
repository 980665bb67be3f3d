// Direct 2-D convolution, tf.nn.conv2d semantics (NHWC input, HWIO filters, zero padding).
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
    _pad0: u32,
    _pad1: u32,
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
