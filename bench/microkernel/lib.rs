//! Register blocks of the GEMM micro-kernel, each alone with its operands in L1: the upper bound
//! of what a GEMM built on it can reach in this browser. `rows x (4 * vectors)` accumulators;
//! every step of k loads `vectors` vectors of B and broadcasts `rows` values of A
//! (`v128.load32_splat`, the loadsplat kernels) or shuffles them out of one loaded vector of A
//! (XNNPACK's "splat" kernels), then multiplies and adds (SIMD128 has no fused multiply-add).
//! The bumpsplat kernels step two pointers and load at constant offsets (see gemm.rs).
#![no_std]
use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

const LEN: usize = 16 * 1024;
static mut A: [f32; LEN] = [0.0; LEN];
static mut B: [f32; LEN] = [0.0; LEN];

/// Fills the operands (so that the compiler cannot fold them away).
#[no_mangle]
pub unsafe extern "C" fn init(v: f32) {
    let (a, b) = (core::ptr::addr_of_mut!(A) as *mut f32, core::ptr::addr_of_mut!(B) as *mut f32);
    for i in 0..LEN {
        *a.add(i) = v * i as f32;
        *b.add(i) = v / (1.0 + i as f32);
    }
}

#[inline(always)]
unsafe fn loadsplat<const R: usize, const V: usize>(k: usize, iters: usize) -> f32 {
    let (a, b) = (core::ptr::addr_of!(A) as *const f32, core::ptr::addr_of!(B) as *const f32);
    let mut s = 0.0;
    for it in 0..iters {
        let mut acc = [[f32x4_splat(it as f32); V]; R];
        for kk in 0..k {
            let bp = b.add(kk * 4 * V);
            let bv: [v128; V] = core::array::from_fn(|j| v128_load(bp.add(4 * j) as *const v128));
            for r in 0..R {
                let av = v128_load32_splat(a.add(kk * R + r) as *const u32);
                for j in 0..V {
                    acc[r][j] = f32x4_add(acc[r][j], f32x4_mul(av, bv[j]));
                }
            }
        }
        for row in acc {
            for v in row {
                s += f32x4_extract_lane::<0>(v);
            }
        }
    }
    s
}

#[inline(always)]
unsafe fn shufflesplat<const R: usize>(k: usize, iters: usize) -> f32 {
    let (a, b) = (core::ptr::addr_of!(A) as *const f32, core::ptr::addr_of!(B) as *const f32);
    let mut s = 0.0;
    for it in 0..iters {
        let mut acc = [[f32x4_splat(it as f32); 2]; R];
        let mut kk = 0;
        while kk + 4 <= k {
            let va: [v128; R] = core::array::from_fn(|r| v128_load(a.add(r * k + kk) as *const v128));
            macro_rules! lane {
                ($l:literal) => {
                    let bp = b.add((kk + $l) * 8);
                    let (b0, b1) = (v128_load(bp as *const v128), v128_load(bp.add(4) as *const v128));
                    for r in 0..R {
                        let sp = i32x4_shuffle::<$l, $l, $l, $l>(va[r], va[r]);
                        acc[r][0] = f32x4_add(acc[r][0], f32x4_mul(sp, b0));
                        acc[r][1] = f32x4_add(acc[r][1], f32x4_mul(sp, b1));
                    }
                };
            }
            lane!(0);
            lane!(1);
            lane!(2);
            lane!(3);
            kk += 4;
        }
        for row in acc {
            for v in row {
                s += f32x4_extract_lane::<0>(v);
            }
        }
    }
    s
}


/// The loadsplat kernel with pointers bumped once per step of k and constant offsets from
/// them, so that LLVM folds the offsets into the loads' `offset` immediates (V8 then addresses
/// `[base + index + offset]` directly instead of computing each address with a `lea`).
#[inline(always)]
unsafe fn bumped<const R: usize, const V: usize>(k: usize, iters: usize) -> f32 {
    let mut s = 0.0;
    for it in 0..iters {
        let mut acc = [[f32x4_splat(it as f32); V]; R];
        let mut ap = core::ptr::addr_of!(A) as *const f32;
        let mut bp = core::ptr::addr_of!(B) as *const f32;
        let end = ap.add(k * R);
        while ap < end {
            let bv: [v128; V] = core::array::from_fn(|j| v128_load(bp.add(4 * j) as *const v128));
            for r in 0..R {
                let av = v128_load32_splat(ap.add(r) as *const u32);
                for j in 0..V {
                    acc[r][j] = f32x4_add(acc[r][j], f32x4_mul(av, bv[j]));
                }
            }
            ap = ap.add(R);
            bp = bp.add(4 * V);
        }
        for row in acc {
            for v in row {
                s += f32x4_extract_lane::<0>(v);
            }
        }
    }
    s
}

macro_rules! export {
    ($($name:ident = $body:expr;)+) => {$(
        #[no_mangle]
        pub unsafe extern "C" fn $name(k: usize, iters: usize) -> f32 {
            $body(k, iters)
        }
    )+};
}
export! {
    loadsplat_6x8 = loadsplat::<6, 2>;
    loadsplat_5x8 = loadsplat::<5, 2>;
    loadsplat_4x8 = loadsplat::<4, 2>;
    loadsplat_3x8 = loadsplat::<3, 2>;
    loadsplat_2x16 = loadsplat::<2, 4>;
    loadsplat_3x12 = loadsplat::<3, 3>;
    loadsplat_4x12 = loadsplat::<4, 3>;
    shufflesplat_4x8 = shufflesplat::<4>;
    shufflesplat_6x8 = shufflesplat::<6>;
    bumpsplat_4x8 = bumped::<4, 2>;
    bumpsplat_5x8 = bumped::<5, 2>;
    bumpsplat_6x8 = bumped::<6, 2>;
    bumpsplat_3x8 = bumped::<3, 2>;
    bumpsplat_2x16 = bumped::<2, 4>;
}

/// The same loadsplat kernel with relaxed-simd's fused multiply-add (`f32x4.relaxed_madd`), which
/// needs no temporary register: compiled only with `+relaxed-simd` (not part of SIMD128).
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
unsafe fn relaxed<const R: usize, const V: usize>(k: usize, iters: usize) -> f32 {
    let (a, b) = (core::ptr::addr_of!(A) as *const f32, core::ptr::addr_of!(B) as *const f32);
    let mut s = 0.0;
    for it in 0..iters {
        let mut acc = [[f32x4_splat(it as f32); V]; R];
        for kk in 0..k {
            let bp = b.add(kk * 4 * V);
            let bv: [v128; V] = core::array::from_fn(|j| v128_load(bp.add(4 * j) as *const v128));
            for r in 0..R {
                let av = v128_load32_splat(a.add(kk * R + r) as *const u32);
                for j in 0..V {
                    acc[r][j] = f32x4_relaxed_madd(av, bv[j], acc[r][j]);
                }
            }
        }
        for row in acc {
            for v in row {
                s += f32x4_extract_lane::<0>(v);
            }
        }
    }
    s
}
#[cfg(target_feature = "relaxed-simd")]
export! {
    fmasplat_4x8 = relaxed::<4, 2>;
    fmasplat_6x8 = relaxed::<6, 2>;
    fmasplat_3x16 = relaxed::<3, 4>;
}
