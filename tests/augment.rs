//! Augmentation: identity when off, the shift/flip path unchanged bit for bit, rotation and
//! zoom by their geometry, contrast and brightness by hand-computed values, seeds, and one draw
//! per image.

use convlab::nn::weights::SplitMix64;
use convlab::train::augment::{adjust_image, transform_image, Augment, Transform};
use convlab::Tensor;

fn batch(n: usize, h: usize, w: usize, c: usize) -> Tensor {
    let data = (0..n * h * w * c).map(|v| ((v * 37) % 101) as f32 / 50.0 - 1.0).collect();
    Tensor::new("t", "x", vec![n, h, w, c], data).unwrap()
}

/// The shift/flip augmentation exactly as it was before rotations and zoom came (commit
/// fd37ab2): runs that used it must not change.
fn shift_flip_as_before(
    max_shift: usize,
    flip: bool,
    x: &Tensor,
    seed: u64,
    fill: f32,
) -> Vec<f32> {
    let [n, h, w, c] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let mut rng = SplitMix64::new(seed);
    let span = 2 * max_shift as u64 + 1;
    let mut out = vec![fill; x.data().len()];
    for b in 0..n {
        let dy = (rng.next_u64() % span) as isize - max_shift as isize;
        let dx = (rng.next_u64() % span) as isize - max_shift as isize;
        let flip = flip && rng.next_u64() & 1 == 1;
        let img = &x.data()[b * h * w * c..(b + 1) * h * w * c];
        let dst = &mut out[b * h * w * c..(b + 1) * h * w * c];
        for i in 0..h {
            let si = i as isize - dy;
            if si < 0 || si >= h as isize {
                continue;
            }
            for j in 0..w {
                let sj = if flip { w as isize - 1 - (j as isize - dx) } else { j as isize - dx };
                if sj < 0 || sj >= w as isize {
                    continue;
                }
                let (s, d) = ((si as usize * w + sj as usize) * c, (i * w + j) * c);
                dst[d..d + c].copy_from_slice(&img[s..s + c]);
            }
        }
    }
    out
}

#[test]
fn all_off_is_the_identity() {
    let x = batch(3, 5, 4, 2);
    for seed in [0, 7, u64::MAX] {
        assert_eq!(Augment::default().apply_normalised(&x, seed, (0.3, 0.2)).unwrap(), x);
    }
}

#[test]
fn shifts_and_flips_are_bit_identical_to_before() {
    let x = batch(6, 7, 9, 3);
    let (mean, std) = (0.2860f32, 0.3530f32);
    for (max_shift, flip) in [(2, true), (1, false), (0, true), (3, true)] {
        let a = Augment { max_shift, flip, ..Augment::default() };
        for seed in [1u64, 42, 0xA24B_AED4 * 7] {
            let y = a.apply_normalised(&x, seed, (mean, std)).unwrap();
            let before = shift_flip_as_before(max_shift, flip, &x, seed, -mean / std);
            assert!(y.data().iter().zip(&before).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}

#[test]
fn the_affine_path_at_angle_zero_is_the_shift_path() {
    // The bilinear sampler reads whole-pixel positions exactly: angle 0 and scale 1 with a
    // whole shift and a flip copy the same pixels as the shift path.
    let x = batch(1, 6, 5, 2);
    for (dy, dx, flip) in [(1.0, -2.0, true), (0.0, 0.0, false), (-3.0, 1.0, false)] {
        let t = Transform { shift: [dy, dx], flip, angle: 0.0, scale: 1.0 };
        let mut out = vec![-9.0; x.data().len()];
        transform_image(x.data(), [6, 5, 2], &t, -9.0, &mut out);
        let mut want = vec![-9.0; x.data().len()];
        for i in 0..6isize {
            for j in 0..5isize {
                let (si, sj) =
                    (i - dy as isize, if flip { 4 - (j - dx as isize) } else { j - dx as isize });
                if (0..6).contains(&si) && (0..5).contains(&sj) {
                    for k in 0..2 {
                        want[((i * 5 + j) * 2) as usize + k] =
                            x.data()[((si * 5 + sj) * 2) as usize + k];
                    }
                }
            }
        }
        assert_eq!(out, want, "shift ({dy}, {dx}), flip {flip}");
    }
}

#[test]
fn a_quarter_turn_is_a_transpose_and_a_flip() {
    // Counter-clockwise by 90 degrees: out[i][j] = in[j][n - 1 - i] (numpy's rot90), for odd
    // and even sizes (the centre is between pixels for even ones) and two channels.
    for n in [5usize, 4] {
        let img: Vec<f32> = (0..n * n * 2).map(|v| v as f32).collect();
        let mut out = vec![0.0; img.len()];
        let t = Transform { angle: 90.0, ..Transform::IDENTITY };
        transform_image(&img, [n, n, 2], &t, -1.0, &mut out);
        for i in 0..n {
            for j in 0..n {
                for k in 0..2 {
                    let want = img[(j * n + (n - 1 - i)) * 2 + k];
                    let got = out[(i * n + j) * 2 + k];
                    // cos(90 degrees) is 6e-17 in f64, not 0: a few ulps of interpolation.
                    assert!((got - want).abs() < 1e-4, "n {n} ({i}, {j}, {k}): {got} vs {want}");
                }
            }
        }
        let t = Transform { angle: -90.0, ..Transform::IDENTITY };
        transform_image(&img, [n, n, 2], &t, -1.0, &mut out);
        assert!(
            (out[0] - img[((n - 1) * n) * 2]).abs() < 1e-4,
            "clockwise: out[0][0] = in[n-1][0]"
        );
    }
}

#[test]
fn zoom_keeps_the_centre_pixel() {
    let x = batch(8, 7, 9, 3);
    let centre = (3 * 9 + 4) * 3;
    let a = Augment { zoom: 0.5, ..Augment::default() };
    let y = a.apply_normalised(&x, 11, (0.5, 0.25)).unwrap();
    assert_ne!(y, x, "zoom changed the images");
    for b in 0..8 {
        let at = b * 7 * 9 * 3 + centre;
        assert_eq!(&y.data()[at..at + 3], &x.data()[at..at + 3], "image {b}");
    }
    // Zoom in by 2: the pixel one right of the centre reads half way between the centre and
    // its right neighbour.
    let img: Vec<f32> = (0..49).map(|v| v as f32).collect();
    let mut out = vec![0.0; 49];
    transform_image(
        &img,
        [7, 7, 1],
        &Transform { scale: 2.0, ..Transform::IDENTITY },
        0.0,
        &mut out,
    );
    assert_eq!(out[3 * 7 + 3], 24.0);
    assert!((out[3 * 7 + 4] - 24.5).abs() < 1e-6, "{}", out[3 * 7 + 4]);
    // Zoom out by 2: the corner reads from outside, the fill.
    transform_image(
        &img,
        [7, 7, 1],
        &Transform { scale: 0.5, ..Transform::IDENTITY },
        -3.0,
        &mut out,
    );
    assert_eq!(out[0], -3.0);
    assert_eq!(out[3 * 7 + 4], 26.0, "one right of the centre reads two right");
}

#[test]
fn contrast_and_brightness_follow_their_formulas() {
    // Pixel units (mean 0, std 1): image mean 0.5; contrast 1.5, brightness +0.1:
    // (p - 0.5) * 1.5 + 0.5 + 0.1, clipped to [0, 1].
    let mut img = vec![0.2, 0.4, 0.6, 0.8];
    adjust_image(&mut img, 1, 1.5, 0.1, (0.0, 1.0));
    let want = [0.15, 0.45, 0.75, 1.0];
    assert!(img.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{img:?}");
    // The same image normalised with mean 0.5, std 0.25: the results are the same pixels,
    // normalised ((p - 0.5) / 0.25), and the clip is at pixel 1 = 2.0.
    let mut img = vec![-1.2, -0.4, 0.4, 1.2];
    adjust_image(&mut img, 1, 1.5, 0.1, (0.5, 0.25));
    let want = [-1.4, -0.2, 1.0, 2.0];
    assert!(img.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5), "{img:?}");
    // Two channels: each about its own mean (0.3 and 0.7); contrast 0.5, darker by 0.2 with a
    // clip at 0.
    let mut img = vec![0.1, 0.6, 0.5, 0.8];
    adjust_image(&mut img, 2, 0.5, -0.2, (0.0, 1.0));
    let want = [0.0, 0.45, 0.2, 0.55];
    assert!(img.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{img:?}");
}

#[test]
fn brightness_moves_each_image_by_one_amount_within_its_range() {
    let (mean, std) = (0.5f32, 0.25f32);
    // Pixels 0.25..0.75 (normalised -1..1), so a change of at most 0.2 never clips.
    let data = (0..4 * 16).map(|v| (v % 16) as f32 / 7.5 - 1.0).collect();
    let x = Tensor::new("t", "x", vec![4, 4, 4, 1], data).unwrap();
    let a = Augment { brightness: 0.2, ..Augment::default() };
    let y = a.apply_normalised(&x, 5, (mean, std)).unwrap();
    let mut deltas = Vec::new();
    for b in 0..4 {
        let d: Vec<f32> = (0..16).map(|i| y.data()[b * 16 + i] - x.data()[b * 16 + i]).collect();
        assert!(d.iter().all(|v| (v - d[0]).abs() < 1e-5), "one change per image: {d:?}");
        assert!(d[0].abs() <= 0.2 / std + 1e-6);
        deltas.push(d[0]);
    }
    deltas.dedup();
    assert_eq!(deltas.len(), 4, "each image its own change");
}

#[test]
fn seeded_and_one_draw_per_image() {
    let one = batch(1, 9, 9, 1);
    let x = Tensor::new("t", "x", vec![6, 9, 9, 1], one.data().repeat(6)).unwrap();
    let a = Augment {
        max_shift: 1,
        flip: true,
        rotation: 15.0,
        zoom: 0.1,
        contrast: 0.2,
        brightness: 0.1,
    };
    let y = a.apply_normalised(&x, 3, (0.1, 0.3)).unwrap();
    assert_eq!(a.apply_normalised(&x, 3, (0.1, 0.3)).unwrap(), y, "the same seed, the same batch");
    assert_ne!(a.apply_normalised(&x, 4, (0.1, 0.3)).unwrap(), y, "another seed, another batch");
    let images: Vec<&[f32]> = y.data().chunks(81).collect();
    for i in 0..6 {
        for j in i + 1..6 {
            assert_ne!(images[i], images[j], "images {i} and {j} of one batch drew alike");
        }
    }
    // Every value stays in the pixel range [0, 1] (normalised: [-1/3, 3]).
    assert!(y.data().iter().all(|&v| (-0.1 / 0.3 - 1e-6..=0.9 / 0.3 + 1e-6).contains(&v)));
}

#[test]
fn out_of_range_options_are_named() {
    let x = batch(1, 4, 4, 1);
    let cases = [
        (Augment { rotation: 181.0, ..Augment::default() }, "'rotation'"),
        (Augment { rotation: -1.0, ..Augment::default() }, "'rotation'"),
        (Augment { zoom: 1.0, ..Augment::default() }, "'zoom'"),
        (Augment { contrast: 1.5, ..Augment::default() }, "'contrast'"),
        (Augment { brightness: f32::NAN, ..Augment::default() }, "'brightness'"),
    ];
    for (a, name) in cases {
        let e = a.apply_normalised(&x, 0, (0.0, 1.0)).unwrap_err();
        assert!(e.message().contains(name), "{e}");
        assert!(a.validate("Trainer").unwrap_err().message().starts_with("Trainer: argument"));
    }
    let e = Augment::default().apply_normalised(&batch(1, 4, 4, 1), 0, (0.0, 0.0)).unwrap_err();
    assert!(e.message().contains("std"), "{e}");
    let flat = Tensor::new("t", "x", vec![4, 4], vec![0.0; 16]).unwrap();
    assert!(Augment::default().apply(&flat, 0, 0.0).unwrap_err().message().contains("NHWC"));
}
