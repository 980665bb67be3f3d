//! Shared helpers of the integration tests: a seeded generator of random conv problems and the
//! tolerance every fast kernel is held to.
#![allow(dead_code)]

#[cfg(not(target_arch = "wasm32"))]
pub mod keras;
pub mod models;

use convlab::backend::reference;
use convlab::{Conv2dGeometry, Conv2dParams, Padding};

/// The core's seeded generator (SplitMix64: the same sequence on every platform) with the
/// draws the tests need.
pub struct Rng(convlab::nn::weights::SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(convlab::nn::weights::SplitMix64::new(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
    /// Uniform in [-1, 1).
    pub fn signed(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }
    pub fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.signed()).collect()
    }
}

/// One random convolution: geometry, input and filters.
pub struct Problem {
    pub geometry: Conv2dGeometry,
    pub params: Conv2dParams,
    pub x: Vec<f32>,
    pub filters: Vec<f32>,
}

impl Problem {
    /// A random problem within the ranges: stride 1-3, dilation 1-2, same / valid /
    /// explicit padding, odd sizes, 1x1 to 7x7 kernels, 1 to 64 channels, batch 1-3. `budget`
    /// caps multiply-adds so that the f64 reference stays quick.
    pub fn random(rng: &mut Rng, budget: u64) -> Self {
        loop {
            let k = rng.pick(&[1, 1, 2, 3, 3, 5, 7]);
            let (fh, fw) = if rng.range(0, 3) == 0 { (k, rng.pick(&[1, 3, 5])) } else { (k, k) };
            let params = Conv2dParams {
                strides: [rng.range(1, 3), rng.range(1, 3)],
                dilations: [rng.range(1, 2), rng.range(1, 2)],
                padding: match rng.range(0, 2) {
                    0 => Padding::Same,
                    1 => Padding::Valid,
                    _ => Padding::Explicit {
                        top: rng.range(0, 3),
                        bottom: rng.range(0, 3),
                        left: rng.range(0, 3),
                        right: rng.range(0, 3),
                    },
                },
                groups: rng.pick(&[1, 1, 1, 1, 2, 3, 4]),
            };
            let groups = params.groups;
            let x = [
                rng.range(1, 3),
                rng.range(1, 23),
                rng.range(1, 23),
                groups * rng.pick(&[1usize, 2, 3, 4, 5, 8, 13, 16, 32, 64]).div_ceil(groups),
            ];
            let out =
                groups * rng.pick(&[1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32, 64]).div_ceil(groups);
            let f = [fh, fw, x[3] / groups, out];
            let Ok(geometry) = Conv2dGeometry::new("test", &x, &f, &params) else {
                continue;
            };
            if geometry.multiply_adds() > budget {
                continue;
            }
            let xs = rng.vec(x.iter().product());
            let fs = rng.vec(f.iter().product());
            return Self { geometry, params, x: xs, filters: fs };
        }
    }

    /// The f64 reference result and, per output, the sum of |x * w| over its terms.
    pub fn reference(&self) -> (Vec<f64>, Vec<f64>) {
        let x: Vec<f64> = self.x.iter().map(|&v| v as f64).collect();
        let w: Vec<f64> = self.filters.iter().map(|&v| v as f64).collect();
        let ax: Vec<f64> = x.iter().map(|v| v.abs()).collect();
        let aw: Vec<f64> = w.iter().map(|v| v.abs()).collect();
        (reference::conv2d(&self.geometry, &x, &w), reference::conv2d(&self.geometry, &ax, &aw))
    }

    /// Checks `got` against the reference with the worst-case bound of f32 summation.
    ///
    /// Tolerance: a dot product of K terms summed in f32, in any order, with or without fused
    /// multiply-add, is within gamma(K+1) * sum|x*w| of the exact value, gamma(n) = n*u/(1-n*u),
    /// u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, 3.1). That bound is
    /// rigorous, so exceeding it means a wrong index, not rounding.
    pub fn check(&self, what: &str, got: &[f32]) {
        let (want, abs_sum) = self.reference();
        let g = &self.geometry;
        let context = format!("{what} on {:?} with {:?}", self.geometry, self.params);
        assert_within_sum_bound(&context, got, &want, &abs_sum, g.fh * g.fw * g.in_per_group());
    }
}

/// `gamma(n) = n u / (1 - n u)`, `u = 2^-24`: the relative error bound of an f32 sum of `n`
/// products (Higham, Accuracy and Stability of Numerical Algorithms, 3.1).
pub fn gamma(n: usize) -> f64 {
    let u = f32::EPSILON as f64 / 2.0;
    let n = n as f64;
    n * u / (1.0 - n * u)
}

/// Asserts that each f32 result is within `gamma(terms + 1) * abs_sum` of the f64 reference,
/// where `abs_sum` is the sum of the absolute values of the terms. The bound holds for any
/// summation order, with or without fused multiply-add, so exceeding it means a wrong index.
pub fn assert_within_sum_bound(
    what: &str,
    got: &[f32],
    want: &[f64],
    abs_sum: &[f64],
    terms: usize,
) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let g = gamma(terms + 1);
    for (i, ((&a, &b), &s)) in got.iter().zip(want).zip(abs_sum).enumerate() {
        let err = (a as f64 - b).abs();
        let tol = g * s + 1e-30;
        assert!(
            err <= tol,
            "{what}: element {i} is {a}, reference {b} (error {err:e} > bound {tol:e})"
        );
    }
}

/// f32 data as f64.
pub fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Absolute values, as f64.
pub fn abs(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| (x as f64).abs()).collect()
}

/// Every activation, with Keras's default parameters where it has any.
pub const ACTIVATIONS: [convlab::ops::activation::Activation; 9] = {
    use convlab::ops::activation::Activation;
    [
        Activation::Linear,
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu { alpha: 0.3 },
        Activation::Elu { alpha: 1.0 },
        Activation::Selu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
    ]
};
