//! Data augmentation as the chapter describes it for AlexNet, applied per batch with a seed:
//! random shifts (zero fill) and horizontal flips. (Rotations, zoom and contrast come with
//! the page's augmentation panel.)

use crate::error::{Error, Result};
use crate::nn::weights::SplitMix64;
use crate::tensor::Tensor;

/// Augmentation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Augment {
    /// Largest shift in pixels, each axis, each direction (0: none).
    pub max_shift: usize,
    /// Mirror left-right with probability 1/2 (off for digits and text).
    pub flip: bool,
}

impl Augment {
    /// A new batch with each image shifted and flipped at random (from `seed`); the value
    /// shifted in is `fill` (the normalised zero pixel).
    pub fn apply(&self, x: &Tensor, seed: u64, fill: f32) -> Result<Tensor> {
        let [n, h, w, c] = match x.shape() {
            &[n, h, w, c] => [n, h, w, c],
            s => return Err(Error::invalid("augment", "x", format!("expected NHWC, got {s:?}"))),
        };
        if self.max_shift == 0 && !self.flip {
            return Ok(x.clone());
        }
        let mut rng = SplitMix64::new(seed);
        let span = 2 * self.max_shift as u64 + 1;
        let mut out = vec![fill; x.data().len()];
        for b in 0..n {
            let dy = (rng.next_u64() % span) as isize - self.max_shift as isize;
            let dx = (rng.next_u64() % span) as isize - self.max_shift as isize;
            let flip = self.flip && rng.next_u64() & 1 == 1;
            let img = &x.data()[b * h * w * c..(b + 1) * h * w * c];
            let dst = &mut out[b * h * w * c..(b + 1) * h * w * c];
            for i in 0..h {
                let si = i as isize - dy;
                if si < 0 || si >= h as isize {
                    continue;
                }
                for j in 0..w {
                    let sj =
                        if flip { w as isize - 1 - (j as isize - dx) } else { j as isize - dx };
                    if sj < 0 || sj >= w as isize {
                        continue;
                    }
                    let (s, d) = ((si as usize * w + sj as usize) * c, (i * w + j) * c);
                    dst[d..d + c].copy_from_slice(&img[s..s + c]);
                }
            }
        }
        Tensor::new("augment", "x", x.shape().to_vec(), out)
    }
}
