//! Four f32 lanes: SIMD128 `v128` on wasm32 with `+simd128`, a portable `[f32; 4]` elsewhere.
//!
//! Fast kernels are written once against [`Lanes`]. wasm SIMD128 has no fused multiply-add
//! (that is relaxed-simd), so `mul_add` is a multiply then an add on both implementations, and
//! the two round identically.

/// Four f32 lanes and the few operations the kernels need.
pub trait Lanes: Copy {
    /// All lanes zero.
    fn zero() -> Self;
    /// All lanes `v`.
    fn splat(v: f32) -> Self;
    /// Loads four consecutive floats.
    ///
    /// # Safety
    /// `p` must be valid for reading four `f32`s (no alignment needed).
    unsafe fn load(p: *const f32) -> Self;
    /// All lanes `*p`: one load-and-broadcast (wasm's `v128.load32_splat`, a single
    /// `vbroadcastss` in V8) rather than a scalar load and a shuffle.
    ///
    /// # Safety
    /// `p` must be valid for reading one `f32`.
    unsafe fn load_splat(p: *const f32) -> Self;
    /// Stores four consecutive floats.
    ///
    /// # Safety
    /// `p` must be valid for writing four `f32`s (no alignment needed).
    unsafe fn store(self, p: *mut f32);
    /// `self + a * b`, lane by lane (multiply, then add: two roundings).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// The 4 x 4 transpose: lane `j` of vector `i` becomes lane `i` of vector `j`.
    fn transpose4(rows: [Self; 4]) -> [Self; 4];
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::{
        f32x4_add, f32x4_mul, f32x4_splat, i32x4_shuffle, v128, v128_load, v128_load32_splat,
        v128_store,
    };

    /// A SIMD128 vector of four f32.
    #[derive(Clone, Copy)]
    pub struct Simd128(v128);

    impl super::Lanes for Simd128 {
        #[inline(always)]
        fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            Self(f32x4_splat(v))
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees 16 readable bytes; v128_load has no alignment need.
            Self(unsafe { v128_load(p.cast()) })
        }
        #[inline(always)]
        unsafe fn load_splat(p: *const f32) -> Self {
            // SAFETY: the caller guarantees 4 readable bytes.
            Self(unsafe { v128_load32_splat(p.cast()) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees 16 writable bytes.
            unsafe { v128_store(p.cast(), self.0) }
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        fn transpose4([a, b, c, d]: [Self; 4]) -> [Self; 4] {
            // Interleave the low and high halves of pairs (V8: unpcklps/unpckhps), then join
            // 64-bit halves (movlhps/movhlps): 8 shuffles.
            let ab_lo = i32x4_shuffle::<0, 4, 1, 5>(a.0, b.0);
            let ab_hi = i32x4_shuffle::<2, 6, 3, 7>(a.0, b.0);
            let cd_lo = i32x4_shuffle::<0, 4, 1, 5>(c.0, d.0);
            let cd_hi = i32x4_shuffle::<2, 6, 3, 7>(c.0, d.0);
            [
                Self(i32x4_shuffle::<0, 1, 4, 5>(ab_lo, cd_lo)),
                Self(i32x4_shuffle::<2, 3, 6, 7>(ab_lo, cd_lo)),
                Self(i32x4_shuffle::<0, 1, 4, 5>(ab_hi, cd_hi)),
                Self(i32x4_shuffle::<2, 3, 6, 7>(ab_hi, cd_hi)),
            ]
        }
    }
}

/// Four f32 in plain Rust: the lanes of native builds (LLVM vectorises them with SSE/NEON).
#[derive(Clone, Copy)]
pub struct Portable([f32; 4]);

impl Lanes for Portable {
    #[inline(always)]
    fn zero() -> Self {
        Self([0.0; 4])
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Self([v; 4])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees four readable floats.
        Self(unsafe { p.cast::<[f32; 4]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn load_splat(p: *const f32) -> Self {
        // SAFETY: the caller guarantees one readable float.
        Self([unsafe { *p }; 4])
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees four writable floats.
        unsafe { p.cast::<[f32; 4]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut r = self.0;
        for l in 0..4 {
            r[l] += a.0[l] * b.0[l];
        }
        Self(r)
    }
    #[inline(always)]
    fn transpose4(rows: [Self; 4]) -> [Self; 4] {
        std::array::from_fn(|j| Self(std::array::from_fn(|i| rows[i].0[j])))
    }
}

/// The lanes the fast kernels use on this target.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type F32x4 = simd128::Simd128;
/// The lanes the fast kernels use on this target.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type F32x4 = Portable;

/// True when [`F32x4`] is real SIMD128 (the build that browsers run).
pub const IS_SIMD128: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

#[cfg(test)]
mod tests {
    use super::{F32x4, Lanes};

    /// The lanes of this target (natively the portable ones; SIMD128's shuffles are exercised
    /// on wasm32 by tests/conv2d_cpu.rs, whose GEMM kernel packs with them).
    #[test]
    fn transpose4_moves_lane_j_of_vector_i_to_lane_i_of_vector_j() {
        let m: [[f32; 4]; 4] =
            std::array::from_fn(|i| std::array::from_fn(|j| (10 * i + j) as f32));
        // SAFETY: every row holds four floats.
        let rows: [F32x4; 4] = std::array::from_fn(|i| unsafe { F32x4::load(m[i].as_ptr()) });
        for (j, v) in F32x4::transpose4(rows).into_iter().enumerate() {
            let mut got = [0.0f32; 4];
            // SAFETY: got holds four floats.
            unsafe { v.store(got.as_mut_ptr()) };
            assert_eq!(got, std::array::from_fn(|i| (10 * i + j) as f32), "vector {j}");
        }
    }
}
