// C[m, n] (+)= op(A)[m, k] * op(B)[k, n], op = optional transpose (dense forward: x W; its
// backward: dy W^T and x^T dy). Tiled in workgroup memory (see below). One workgroup per 64 x 64
// block, counted along the flattened grid: count = blocks * 64 (the launcher's unit).
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
    // Blocks of C per row of blocks: ceil(n / 64).
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

// Each workgroup of 256 invocations computes a 64 x 64 block of C; invocation (ty, tx) of the
// 16 x 16 grid computes the 4 x 4 sub-block at rows 4 ty.., columns 4 tx.. (16 accumulators).
// Per step of 16 along k, the block's A (64 x 16) and B (16 x 64) tiles are staged in workgroup
// memory as vec4s, four values per invocation each, with coalesced global reads; each
// invocation then does 16 x 16 multiply-adds from 2 x 16 vec4 reads.
const BM: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> ta: array<array<vec4<f32>, 16>, 16>; // ta[kk][row / 4]: 4 rows of A at kk
var<workgroup> tb: array<array<vec4<f32>, 16>, 16>; // tb[kk][col / 4]: 4 columns of B at kk

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

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    // Uniform control flow: every invocation of a workgroup takes the same branches (the block
    // index is per workgroup), as the barriers require. `count` is blocks * 64.
    let block = wg.y * p.wg_x + wg.x;
    if (block * 64u >= p.count) { return; }
    let row0 = (block / p.blocks_n) * BM;
    let col0 = (block % p.blocks_n) * BM;
    let ty = local / 16u;
    let tx = local % 16u;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // A tile: invocation (ty, tx) loads rows 4 (local / 16).. at column kk = local % 16, so
        // 16 neighbours read 16 consecutive k of one row (untransposed A).
        let ar = (local / 16u) * 4u;
        let ak = local % 16u;
        ta[ak][ar / 4u] = vec4<f32>(
            load_a(row0 + ar, k0 + ak),
            load_a(row0 + ar + 1u, k0 + ak),
            load_a(row0 + ar + 2u, k0 + ak),
            load_a(row0 + ar + 3u, k0 + ak),
        );
        // B tile: invocation loads 4 consecutive columns at kk = local / 16, so 16 neighbours
        // read 64 consecutive columns of one row (untransposed B).
        let bk = local / 16u;
        let bc = (local % 16u) * 4u;
        tb[bk][bc / 4u] = vec4<f32>(
            load_b(k0 + bk, col0 + bc),
            load_b(k0 + bk, col0 + bc + 1u),
            load_b(k0 + bk, col0 + bc + 2u),
            load_b(k0 + bk, col0 + bc + 3u),
        );
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let av = ta[kk][ty];
            let bv = tb[kk][tx];
            acc[0] += av.x * bv;
            acc[1] += av.y * bv;
            acc[2] += av.z * bv;
            acc[3] += av.w * bv;
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let row = row0 + ty * 4u + r;
        if (row >= p.m) { break; }
        for (var q = 0u; q < 4u; q++) {
            let col = col0 + tx * 4u + q;
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
