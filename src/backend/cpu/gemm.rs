//! A register-blocked matrix multiply `C[m, n] = A[m, k] B[k, n] (+ bias[n])` on four-lane
//! vectors: the workhorse of convolution (A = the im2col patches, B = the HWIO filters, which
//! are already `[fh * fw * cin, cout]` row-major) and of dense layers (A = x, B = the kernel).
//!
//! Algorithm (the GotoBLAS/BLIS micro-kernel idea, without cache blocking over k, which the
//! chapter's layers do not need): B is packed once into panels of `NR = 8` columns,
//! `[panel][k][8]`; A is packed `MR = 4` rows at a time, interleaved `[k][4]`, by a caller
//! supplied closure (so a convolution can build its im2col rows on the fly). The micro-kernel
//! keeps a 4 x 8 block of C in 8 vector accumulators, which start from the bias; per step of k
//! it loads 2 vectors of B and broadcasts 4 values of A (`v128.load32_splat`), for 8 vector
//! multiply-adds. Full blocks are stored as whole vectors.
//!
//! Why 4 x 8 and not a bigger block: V8 compiles wasm SIMD to x86's 16 xmm registers and keeps
//! one as scratch, and SIMD128 has no fused multiply-add, so each multiply-add needs a temporary.
//! A 6 x 8 block (12 accumulators + 2 B + 1 A + 1 temporary = 16) therefore spills 4
//! accumulators to the stack on every step of k (seen in V8's `--print-wasm-code` output), and
//! in headless Chromium 156 its isolated micro-kernel ran at 17-23 GFLOP/s against 25-39 for
//! 4 x 8 (3 x 8 and 2 x 16 measured like 4 x 8; 5 x 8, 3 x 12 and 4 x 12 like 6 x 8). In the
//! benchmark the switch took the ResNet layer from 0.90x to 1.09x TensorFlow.js's speed.
//!
//! Addressing: the kernel steps one pointer into A and one into B per step of k and loads at
//! constant offsets from them, and the wasm build turns off LLVM's loop strength reduction
//! (`.cargo/config.toml`), so that every offset lands in a load's `offset` immediate: V8 then
//! emits `[memory + pointer + offset]` operands and no address arithmetic per load. With the
//! offsets as `i32.add`s (k-indexed loads, or strength reduction on) each step of k carried 4
//! extra `lea`s among ~31 instructions; isolated, the kernel went from 36 to 41.5 GFLOP/s.

use super::lanes::Lanes;
use super::zeroed;
use crate::error::Result;

/// Rows of A (and C) per micro-kernel call.
pub const MR: usize = 4;
/// Four-lane vectors of B (and C) per panel.
const NV: usize = 2;
/// Columns of B (and C) per panel.
pub const NR: usize = 4 * NV;

/// B packed into panels of [`NR`] columns, zero-padded on the right.
pub struct PackedB {
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl PackedB {
    /// Packs row-major `b` `[k, n]`.
    pub fn new(op: &str, b: &[f32], k: usize, n: usize) -> Result<Self> {
        let panels = n.div_ceil(NR);
        let mut data = zeroed(op, "packed weights", panels * k * NR)?;
        for p in 0..panels {
            let cols = NR.min(n - p * NR);
            for kk in 0..k {
                let src = kk * n + p * NR;
                let dst = (p * k + kk) * NR;
                data[dst..dst + cols].copy_from_slice(&b[src..src + cols]);
            }
        }
        Ok(Self { data, k, n })
    }
}

/// `out[m, n] = A B (+ bias)`, A supplied by `pack_a(first_row, rows, buffer)`, which must
/// write rows `first_row..first_row + rows` of A into `buffer` as `buffer[kk * MR + r]`
/// (rows beyond `rows` are left zero by the caller's contract: the buffer is cleared first).
pub fn gemm<V: Lanes>(
    m: usize,
    b: &PackedB,
    bias: Option<&[f32]>,
    out: &mut [f32],
    mut pack_a: impl FnMut(usize, usize, &mut [f32]),
) {
    let (k, n) = (b.k, b.n);
    debug_assert!(out.len() >= m * n);
    let panels = n.div_ceil(NR);
    // The accumulators start from the bias (zero-padded to whole panels), so adding it costs
    // nothing per element.
    let mut init = vec![0.0f32; panels * NR];
    if let Some(bias) = bias {
        init[..n].copy_from_slice(&bias[..n]);
    }
    let mut a = vec![0.0f32; k * MR];
    let mut row0 = 0;
    while row0 < m {
        let rows = MR.min(m - row0);
        if rows < MR {
            a.fill(0.0);
        }
        pack_a(row0, rows, &mut a);
        for p in 0..panels {
            let panel = &b.data[p * k * NR..(p + 1) * k * NR];
            let bias = &init[p * NR..(p + 1) * NR];
            // SAFETY: `a` holds k * MR floats, `panel` k * NR and `bias` NR, as micro_kernel
            // reads.
            let acc = unsafe { micro_kernel::<V>(a.as_ptr(), panel.as_ptr(), bias.as_ptr(), k) };
            store(&acc, out, row0, rows, p * NR, NR.min(n - p * NR), n);
        }
        row0 += MR;
    }
}

/// The `MR x NR` block `A[MR, k] B[k, NR]`.
///
/// # Safety
/// `a` must be readable for `k * MR` floats, `b` for `k * NR` and `init` (the accumulators'
/// starting values, one row of `NR`) for `NR`.
#[inline(always)]
unsafe fn micro_kernel<V: Lanes>(
    a: *const f32,
    b: *const f32,
    init: *const f32,
    k: usize,
) -> [[V; NV]; MR] {
    let mut acc = [[V::zero(); NV]; MR];
    // The accumulators are locals that the loop names one by one (a macro writes it out), so
    // that nothing obliges the compilers to keep them in memory; in Chromium this and an
    // array-indexed loop measured alike (about 37 ms on the seed's layer).
    macro_rules! kernel {
        ($($r:literal: $($c:ident),+);+) => {{
            // SAFETY: init is readable for NR = 4 * NV floats.
            let start: [V; NV] = std::array::from_fn(|j| unsafe { V::load(init.add(4 * j)) });
            $(let mut j = 0; $(let mut $c = start[j]; j += 1;)+ let _ = j;)+
            // Two pointers stepped once per step of k, every load at a constant offset from
            // one of them: LLVM then writes the offsets into the loads' `offset` immediates
            // and V8 addresses `[memory + pointer + offset]` directly. Indexing by `kk` instead
            // made each load's address a separate `i32.add` (a `lea` in V8's code: 4 of the
            // ~31 instructions per step).
            let (mut ap, mut bp) = (a, b);
            for _ in 0..k {
                // SAFETY: the loop runs k times, so ap stays within a's k * MR floats and bp
                // within b's k * NR, as the caller guarantees.
                unsafe {
                    let bv: [V; NV] = std::array::from_fn(|j| V::load(bp.add(4 * j)));
                    $(
                        let av = V::load_splat(ap.add($r));
                        let mut j = 0;
                        $( $c = $c.mul_add(av, bv[j]); j += 1; )+
                        let _ = j;
                    )+
                    ap = ap.add(MR);
                    bp = bp.add(NR);
                }
            }
            let mut r = 0;
            $( let mut j = 0; $( acc[r][j] = $c; j += 1; )+ let _ = j; r += 1; )+
            let _ = r;
        }};
    }
    kernel!(0: c00, c01; 1: c10, c11; 2: c20, c21; 3: c30, c31);
    acc
}

/// Writes the valid `rows x cols` corner of the block at `(row0, col0)`: whole vectors
/// straight into `out` when the panel is full, through a small buffer at the ragged edge.
#[inline(always)]
fn store<V: Lanes>(
    acc: &[[V; NV]; MR],
    out: &mut [f32],
    row0: usize,
    rows: usize,
    col0: usize,
    cols: usize,
    n: usize,
) {
    for (r, row) in acc.iter().enumerate().take(rows) {
        let dst = &mut out[(row0 + r) * n + col0..(row0 + r) * n + col0 + cols];
        if cols == NR {
            for (j, v) in row.iter().enumerate() {
                // SAFETY: dst holds NR = 4 * NV floats; j * 4 + 4 <= NR.
                unsafe { v.store(dst.as_mut_ptr().add(j * 4)) };
            }
        } else {
            let mut lanes = [0.0f32; NR];
            for (j, v) in row.iter().enumerate() {
                // SAFETY: lanes holds NR = 4 * NV floats; j * 4 + 4 <= NR.
                unsafe { v.store(lanes.as_mut_ptr().add(j * 4)) };
            }
            dst.copy_from_slice(&lanes[..cols]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::lanes::Portable;

    #[test]
    fn matches_a_naive_product_on_ragged_sizes() {
        for (m, k, n) in [(1, 1, 1), (5, 3, 13), (4, 7, 12), (9, 2, 25), (3, 11, 7)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
            let bias: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let packed = PackedB::new("t", &b, k, n).unwrap();
            let mut out = vec![0.0; m * n];
            gemm::<Portable>(m, &packed, Some(&bias), &mut out, |row0, rows, buf| {
                for r in 0..rows {
                    for kk in 0..k {
                        buf[kk * MR + r] = a[(row0 + r) * k + kk];
                    }
                }
            });
            for i in 0..m {
                for j in 0..n {
                    let want: f32 =
                        bias[j] + (0..k).map(|kk| a[i * k + kk] * b[kk * n + j]).sum::<f32>();
                    assert_eq!(out[i * n + j], want, "({m},{k},{n}) at ({i},{j})");
                }
            }
        }
    }
}
