// Losses, as the CPU's loss.rs: softmax cross-entropy from logits with integer labels (stored
// as exact f32 values), one invocation per row, computed as logsumexp(z) - z[label]; and mean
// squared error, one invocation per element. Each writes its terms already divided by the
// count, so that their sum (matmul.wgsl's column sums) is the mean.

struct Params {
    wg_x: u32,
    count: u32,
    classes: u32,
    // Rows (cross-entropy) or elements (mean squared error) in all: a tensor over one storage
    // binding runs in chunks, each with its own count.
    total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> terms: array<f32>;

fn index(wg: vec3<u32>, local: u32) -> u32 {
    return (wg.y * p.wg_x + wg.x) * 64u + local;
}

// a = logits [n, classes], b = labels [n]; count = this chunk's rows.
@compute @workgroup_size(64)
fn softmax_cross_entropy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let r = index(wg, local);
    if (r >= p.count) { return; }
    let base = r * p.classes;
    let n = f32(p.total);
    var m = a[base];
    for (var k = 1u; k < p.classes; k++) { m = max(m, a[base + k]); }
    var sum = 0.0;
    for (var k = 0u; k < p.classes; k++) {
        let e = exp(a[base + k] - m);
        grad[base + k] = e;
        sum += e;
    }
    let label = u32(b[r]);
    terms[r] = (m + log(sum) - a[base + label]) / n;
    for (var k = 0u; k < p.classes; k++) {
        grad[base + k] = grad[base + k] / (sum * n) - select(0.0, 1.0 / n, k == label);
    }
}

// a = prediction, b = target; count = this chunk's elements.
@compute @workgroup_size(64)
fn mean_squared_error(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = index(wg, local);
    if (i >= p.count) { return; }
    let d = a[i] - b[i];
    let len = f32(p.total);
    grad[i] = 2.0 * d / len;
    terms[i] = d * d / len;
}
