// C[m, n] (+)= op(A)[m, k] * op(B)[k, n], op = optional transpose (dense forward: x W; its
// backward: dy W^T and x^T dy). Tiled in workgroup memory: each workgroup of 64 invocations
// computes a 32 x 32 block of C, each invocation a 4 x 4 sub-block (16 accumulators), reading
// A and B in 32 x 32 tiles that every invocation helps load. One workgroup per block, counted
// along the flattened grid: count = blocks * 64.
//
// Offsets and leading dimensions let the launcher split an operand larger than one binding
// across launches: A is indexed from row a_r0 and column a_k0 of its stored matrix (row length
// lda), B from the start of its binding (row length ldb), C at column c_col of rows of length
// ldc, and `accumulate` adds to C instead of writing it (a split along k).

struct Params {
    wg_x: u32,
    count: u32,
    m: u32,
    n: u32,
    k: u32,
    trans_a: u32,
    trans_b: u32,
    // Blocks of C per row of blocks: ceil(n / 32).
    blocks_n: u32,
    lda: u32,
    a_r0: u32,
    a_k0: u32,
    ldb: u32,
    ldc: u32,
    c_col: u32,
    accumulate: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const T: u32 = 32u;
var<workgroup> ta: array<array<f32, 32>, 32>; // ta[kk][row]
var<workgroup> tb: array<array<f32, 32>, 32>; // tb[kk][col]

fn load_a(row: u32, kk: u32) -> f32 {
    if (row >= p.m || kk >= p.k) { return 0.0; }
    if (p.trans_a != 0u) { return a[(kk + p.a_k0) * p.lda + row + p.a_r0]; }
    return a[(row + p.a_r0) * p.lda + kk + p.a_k0];
}

fn load_b(kk: u32, col: u32) -> f32 {
    if (kk >= p.k || col >= p.n) { return 0.0; }
    if (p.trans_b != 0u) { return b[col * p.ldb + kk]; }
    return b[kk * p.ldb + col];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    // Uniform control flow: every invocation of a workgroup takes the same branches (the block
    // index is per workgroup), as the barriers require.
    let block = wg.y * p.wg_x + wg.x;
    if (block * 64u >= p.count) { return; }
    let row0 = (block / p.blocks_n) * T;
    let col0 = (block % p.blocks_n) * T;
    let tr = (local / 8u) * 4u; // this invocation's 4 rows within the block
    let tc = (local % 8u) * 4u; // and 4 columns
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += T) {
        // 32 x 32 values per tile, 16 per invocation.
        for (var e = local; e < T * T; e += 64u) {
            let i = e / T;
            let j = e % T;
            ta[j][i] = load_a(row0 + i, k0 + j);
            tb[i][j] = load_b(k0 + i, col0 + j);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < T; kk++) {
            let av = vec4<f32>(ta[kk][tr], ta[kk][tr + 1u], ta[kk][tr + 2u], ta[kk][tr + 3u]);
            let bv = vec4<f32>(tb[kk][tc], tb[kk][tc + 1u], tb[kk][tc + 2u], tb[kk][tc + 3u]);
            acc[0] += av.x * bv;
            acc[1] += av.y * bv;
            acc[2] += av.z * bv;
            acc[3] += av.w * bv;
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let row = row0 + tr + r;
        if (row >= p.m) { break; }
        for (var q = 0u; q < 4u; q++) {
            let col = col0 + tc + q;
            if (col < p.n) {
                let at = row * p.ldc + p.c_col + col;
                if (p.accumulate != 0u) {
                    c[at] += acc[r][q];
                } else {
                    c[at] = acc[r][q];
                }
            }
        }
    }
}
