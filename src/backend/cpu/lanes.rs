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
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::{
        f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_load32_splat, v128_store,
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
}

/// The lanes the fast kernels use on this target.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type F32x4 = simd128::Simd128;
/// The lanes the fast kernels use on this target.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type F32x4 = Portable;

/// True when [`F32x4`] is real SIMD128 (the build that browsers run).
pub const IS_SIMD128: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));
