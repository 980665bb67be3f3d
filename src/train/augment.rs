//! Data augmentation as the chapter describes it for AlexNet, applied on the fly per batch with
//! a seed: random shifts, horizontal flips, small rotations, zoom (in and out), contrast and
//! brightness. Every image of a batch gets its own draw.
//!
//! Geometry. With no rotation and no zoom, an image is shifted by whole pixels (and maybe
//! mirrored) by copying, exactly as before rotations existed, so runs that used only shifts
//! and flips are reproduced bit for bit. With rotation or zoom, each output pixel `p` (centred
//! coordinates `(x, y)` about the image's centre `((w - 1) / 2, (h - 1) / 2)`) reads the source
//! at `R(-angle) (p - shift) / scale`, mirrored in `x` when flipped, by bilinear interpolation
//! (one affine transform per image; what falls outside the image reads the fill, the normalised
//! zero pixel). At angle 0 and scale 1 this is the same copy as the shift path.
//!
//! Photometry (after geometry, in pixel units where 0 is black and 1 is white): contrast
//! `p' = (p - m) * f + m`, with `m` the image's mean per channel and `f` drawn from
//! `[1 - contrast, 1 + contrast]` (Keras's `RandomContrast`); brightness `p' = p + d` with `d`
//! from `[-brightness, brightness]` (Keras's `RandomBrightness` on a `[0, 1]` range); then the
//! result is clipped to `[0, 1]`. The batch is normalised, `x = (p - mean) / std`, so a shift
//! of `d` is `d / std` there, and contrast about the mean is the same formula in either unit.
//!
//! Draws per image from one SplitMix64 stream per batch, in order: shift y and shift x
//! (always, as before), then flip, angle, scale, contrast factor and brightness change, each
//! only when its option is on (see [`Augment::draw`]).

use crate::error::{Error, Result};
use crate::nn::weights::SplitMix64;
use crate::tensor::Tensor;

/// Augmentation settings (all off by default).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Augment {
    /// Largest shift in pixels, each axis, each direction (0: none).
    pub max_shift: usize,
    /// Mirror left-right with probability 1/2 (off for digits and text).
    pub flip: bool,
    /// Largest rotation in degrees, either way (0 to 180; 0: none).
    pub rotation: f32,
    /// Largest zoom as a fraction: scales from `1 - zoom` (out) to `1 + zoom` (in); 0 to < 1.
    pub zoom: f32,
    /// Largest contrast change as a fraction (0 to 1).
    pub contrast: f32,
    /// Largest brightness change as a fraction of the pixel range (0 to 1).
    pub brightness: f32,
}

/// One image's geometric transform (see the module docs for the mapping).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// Shift in pixels, `[down, right]`.
    pub shift: [f64; 2],
    /// Mirror left-right.
    pub flip: bool,
    /// Counter-clockwise rotation in degrees (as seen with row 0 at the top).
    pub angle: f64,
    /// Scale (above 1 zooms in).
    pub scale: f64,
}

impl Transform {
    /// The identity.
    pub const IDENTITY: Self = Self { shift: [0.0, 0.0], flip: false, angle: 0.0, scale: 1.0 };
}

/// One image's draw: its transform and its photometric change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Geometry.
    pub transform: Transform,
    /// Contrast factor (1: unchanged).
    pub contrast: f32,
    /// Brightness change in pixel units (0: unchanged).
    pub brightness: f32,
}

/// A uniform draw from `[-max, max]`.
fn symmetric(rng: &mut SplitMix64, max: f64) -> f64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (2.0 * u - 1.0) * max
}

impl Augment {
    /// Checks each option's range; errors name `op` and the option as JavaScript spells it.
    pub fn validate(&self, op: &str) -> Result<()> {
        let check = |name: &str, v: f32, ok: bool, range: &str| {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(Error::invalid(op, name, format!("must be {range}, got {v}")))
            }
        };
        check(
            "rotation",
            self.rotation,
            (0.0..=180.0).contains(&self.rotation),
            "0 to 180 (degrees)",
        )?;
        check("zoom", self.zoom, (0.0..1.0).contains(&self.zoom), "from 0 to below 1")?;
        check("contrast", self.contrast, (0.0..=1.0).contains(&self.contrast), "0 to 1")?;
        check("brightness", self.brightness, (0.0..=1.0).contains(&self.brightness), "0 to 1")
    }

    /// Whether nothing is changed.
    pub fn is_identity(&self) -> bool {
        self.max_shift == 0 && !self.flip && !self.affine() && !self.photometric()
    }

    fn affine(&self) -> bool {
        self.rotation > 0.0 || self.zoom > 0.0
    }

    fn photometric(&self) -> bool {
        self.contrast > 0.0 || self.brightness > 0.0
    }

    /// The next image's draw from `rng` (shift, flip, angle, scale, contrast, brightness; each
    /// only when its option is on, so that adding an option leaves the others' draws alone).
    pub fn draw(&self, rng: &mut SplitMix64) -> Draw {
        let span = 2 * self.max_shift as u64 + 1;
        let dy = (rng.next_u64() % span) as f64 - self.max_shift as f64;
        let dx = (rng.next_u64() % span) as f64 - self.max_shift as f64;
        let flip = self.flip && rng.next_u64() & 1 == 1;
        let angle = if self.rotation > 0.0 { symmetric(rng, self.rotation as f64) } else { 0.0 };
        let scale = if self.zoom > 0.0 { 1.0 + symmetric(rng, self.zoom as f64) } else { 1.0 };
        let contrast = if self.contrast > 0.0 {
            1.0 + symmetric(rng, self.contrast as f64) as f32
        } else {
            1.0
        };
        let brightness =
            if self.brightness > 0.0 { symmetric(rng, self.brightness as f64) as f32 } else { 0.0 };
        Draw { transform: Transform { shift: [dy, dx], flip, angle, scale }, contrast, brightness }
    }

    /// A new batch with each image augmented at random (from `seed`). `normalization` is the
    /// batch's `(mean, std)`: inputs are `(pixel / 255 - mean) / std`.
    pub fn apply_normalised(
        &self,
        x: &Tensor,
        seed: u64,
        normalization: (f32, f32),
    ) -> Result<Tensor> {
        let [n, h, w, c] = match x.shape() {
            &[n, h, w, c] => [n, h, w, c],
            s => return Err(Error::invalid("augment", "x", format!("expected NHWC, got {s:?}"))),
        };
        self.validate("augment")?;
        let (mean, std) = normalization;
        if !(std.is_finite() && std > 0.0 && mean.is_finite()) {
            return Err(Error::invalid(
                "augment",
                "normalization",
                format!("needs a finite mean and a positive std, got ({mean}, {std})"),
            ));
        }
        if self.is_identity() {
            return Ok(x.clone());
        }
        let fill = -mean / std;
        let per = h * w * c;
        let mut rng = SplitMix64::new(seed);
        let mut out = vec![fill; x.data().len()];
        for b in 0..n {
            let d = self.draw(&mut rng);
            let img = &x.data()[b * per..(b + 1) * per];
            let dst = &mut out[b * per..(b + 1) * per];
            if self.affine() {
                transform_image(img, [h, w, c], &d.transform, fill, dst);
            } else {
                shift_image(img, [h, w, c], &d.transform, dst);
            }
            if self.photometric() {
                adjust_image(dst, c, d.contrast, d.brightness, (mean, std));
            }
        }
        Tensor::new("augment", "x", x.shape().to_vec(), out)
    }

    /// [`Augment::apply_normalised`] for a batch normalised with std 1, whose zero pixel is
    /// `fill` (mean `-fill`): the shift/flip-only form's signature.
    pub fn apply(&self, x: &Tensor, seed: u64, fill: f32) -> Result<Tensor> {
        self.apply_normalised(x, seed, (-fill, 1.0))
    }
}

/// Whole-pixel shift and flip by copying (`dst` starts as the fill). `shift` must be whole.
fn shift_image(img: &[f32], [h, w, c]: [usize; 3], t: &Transform, dst: &mut [f32]) {
    let (dy, dx) = (t.shift[0] as isize, t.shift[1] as isize);
    for i in 0..h {
        let si = i as isize - dy;
        if si < 0 || si >= h as isize {
            continue;
        }
        for j in 0..w {
            let sj = if t.flip { w as isize - 1 - (j as isize - dx) } else { j as isize - dx };
            if sj < 0 || sj >= w as isize {
                continue;
            }
            let (s, d) = ((si as usize * w + sj as usize) * c, (i * w + j) * c);
            dst[d..d + c].copy_from_slice(&img[s..s + c]);
        }
    }
}

/// One HWC image through `t` with bilinear sampling into `dst`; source pixels outside the image
/// read `fill`.
///
/// # Shapes
/// `img` and `dst`: `h * w * c` values, HWC.
pub fn transform_image(
    img: &[f32],
    [h, w, c]: [usize; 3],
    t: &Transform,
    fill: f32,
    dst: &mut [f32],
) {
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let (sin, cos) = t.angle.to_radians().sin_cos();
    let inv = 1.0 / t.scale;
    let at = |y: isize, x: isize, k: usize| -> f32 {
        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
            fill
        } else {
            img[(y as usize * w + x as usize) * c + k]
        }
    };
    for i in 0..h {
        for j in 0..w {
            let (u, v) = (j as f64 - cx - t.shift[1], i as f64 - cy - t.shift[0]);
            // R(-angle): the inverse of a counter-clockwise rotation (row 0 at the top, so a
            // counter-clockwise turn on screen is clockwise in (x, y) with y down).
            let mut sx = (cos * u - sin * v) * inv;
            let sy = (sin * u + cos * v) * inv;
            if t.flip {
                sx = -sx;
            }
            let (sx, sy) = (sx + cx, sy + cy);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for k in 0..c {
                let top = at(y0, x0, k) * (1.0 - fx) + at(y0, x0 + 1, k) * fx;
                let bottom = at(y0 + 1, x0, k) * (1.0 - fx) + at(y0 + 1, x0 + 1, k) * fx;
                dst[(i * w + j) * c + k] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
}

/// Contrast then brightness on one normalised HWC image in place, clipped to the pixel range
/// (see the module docs).
pub fn adjust_image(
    img: &mut [f32],
    c: usize,
    contrast: f32,
    brightness: f32,
    (mean, std): (f32, f32),
) {
    let (lo, hi) = (-mean / std, (1.0 - mean) / std);
    let pixels = (img.len() / c.max(1)).max(1);
    for k in 0..c {
        let m = img.iter().skip(k).step_by(c).map(|&v| v as f64).sum::<f64>() / pixels as f64;
        let m = m as f32;
        for v in img.iter_mut().skip(k).step_by(c) {
            *v = ((*v - m) * contrast + m + brightness / std).clamp(lo, hi);
        }
    }
}
