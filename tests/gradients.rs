//! Every backward pass of the f64 reference against central finite differences, and the CPU
//! backward kernels against the reference.
//!
//! For an op `f` and a random upstream gradient `g`, the scalar `L(x) = g . f(x)` has gradient
//! `backward(g)`; each component is compared with `(L(x + h e_i) - L(x - h e_i)) / 2h`, h = 1e-6.
//! Central differences are exact to O(h^2) for smooth functions, plus rounding of about
//! 1e-16 |L| / h; the tolerance 1e-6 (1 + |grad|) leaves a wide margin for both while any wrong
//! index or sign misses by orders of magnitude. Inputs avoid the kinks (relu at 0, ties in max).

mod common;

use common::{abs, assert_within_sum_bound, wide, Rng, ACTIVATIONS};
use convlab::backend::{cpu, reference};
use convlab::ops::dense::DenseGeometry;
use convlab::ops::pool::{Pool2dGeometry, Pool2dParams};
use convlab::{Conv2dGeometry, Conv2dParams, Padding};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Checks `analytic` (d/dx of upstream . f(x)) against central differences.
fn grad_check(
    what: &str,
    x: &[f64],
    upstream: &[f64],
    analytic: &[f64],
    f: impl Fn(&[f64]) -> Vec<f64>,
) {
    assert_eq!(analytic.len(), x.len(), "{what}: gradient length");
    let h = 1e-6;
    let mut probe = x.to_vec();
    for i in 0..x.len() {
        probe[i] = x[i] + h;
        let plus = dot(upstream, &f(&probe));
        probe[i] = x[i] - h;
        let minus = dot(upstream, &f(&probe));
        probe[i] = x[i];
        let numeric = (plus - minus) / (2.0 * h);
        let tol = 1e-6 * (1.0 + analytic[i].abs());
        assert!(
            (numeric - analytic[i]).abs() <= tol,
            "{what}: d/dx[{i}] analytic {} vs numeric {numeric}",
            analytic[i]
        );
    }
}

fn random(rng: &mut Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.signed() as f64).collect()
}

/// Values in [-1, 1] at least 0.01 from zero (away from relu's kink).
fn away_from_zero(rng: &mut Rng, len: usize) -> Vec<f64> {
    (0..len)
        .map(|_| {
            let v = rng.signed() as f64;
            if v.abs() < 0.01 {
                v.signum() * 0.5 + v
            } else {
                v
            }
        })
        .collect()
}

fn conv_cases() -> Vec<Conv2dGeometry> {
    let same = Padding::Same;
    let explicit = Padding::Explicit { top: 2, bottom: 0, left: 1, right: 1 };
    // x shape, filter shape, strides, dilations, padding, groups
    let cases = [
        ([2, 5, 6, 3], [3, 3, 3, 2], [1, 1], [1, 1], same, 1),
        ([1, 7, 6, 2], [3, 2, 2, 3], [2, 3], [1, 1], same, 1),
        ([1, 8, 7, 2], [2, 3, 2, 2], [1, 1], [2, 2], Padding::Valid, 1),
        ([2, 5, 5, 1], [3, 3, 1, 4], [2, 1], [1, 1], explicit, 1),
        ([1, 6, 5, 4], [3, 3, 2, 6], [1, 1], [1, 1], same, 2),
        // 2 * 19 * 19 = 722 output pixels: the GEMM path's dx runs in blocks of 256.
        ([2, 19, 19, 3], [3, 3, 3, 5], [1, 1], [1, 1], same, 1),
    ];
    let mut geometries: Vec<Conv2dGeometry> = cases
        .iter()
        .map(|&(x, f, strides, dilations, padding, groups)| {
            let params = Conv2dParams { strides, dilations, padding, groups };
            Conv2dGeometry::new("t", &x, &f, &params).unwrap()
        })
        .collect();
    // Depthwise with a channel multiplier of 2.
    let params = Conv2dParams { strides: [2, 1], padding: same, ..Default::default() };
    geometries.push(Conv2dGeometry::depthwise("t", &[1, 6, 5, 3], &[3, 3, 3, 2], &params).unwrap());
    geometries
}

#[test]
fn conv2d_gradients() {
    let mut rng = Rng::new(21);
    for g in conv_cases() {
        let x = random(&mut rng, g.input_shape().iter().product());
        let w = random(&mut rng, g.filter_shape().iter().product());
        let dy = random(&mut rng, g.output_shape().iter().product());
        let dx = reference::conv2d_backward_input(&g, &dy, &w);
        grad_check("conv2d dx", &x, &dy, &dx, |x| reference::conv2d(&g, x, &w));
        let dw = reference::conv2d_backward_filter(&g, &x, &dy);
        grad_check("conv2d dw", &w, &dy, &dw, |w| reference::conv2d(&g, &x, w));
        let db = reference::conv2d_backward_bias(&g, &dy);
        grad_check("conv2d db", &vec![0.0; g.out_c], &dy, &db, |b| {
            let mut y = reference::conv2d(&g, &x, &w);
            y.iter_mut().enumerate().for_each(|(i, v)| *v += b[i % g.out_c]);
            y
        });

        // CPU kernels against the reference: dx sums fh*fw*cout terms per cell, dw n*oh*ow.
        let (xf, wf, dyf): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            x.iter().map(|&v| v as f32).collect(),
            w.iter().map(|&v| v as f32).collect(),
            dy.iter().map(|&v| v as f32).collect(),
        );
        for kernel in [cpu::CpuKernel::Scalar, cpu::CpuKernel::Auto] {
            let (dx32, dw32) = cpu::conv2d_backward_with(&g, &xf, &wf, &dyf, kernel).unwrap();
            let (xw, ww, dyw) = (wide(&xf), wide(&wf), wide(&dyf));
            assert_within_sum_bound(
                "cpu conv2d dx",
                &dx32,
                &reference::conv2d_backward_input(&g, &dyw, &ww),
                &reference::conv2d_backward_input(&g, &abs(&dyf), &abs(&wf)),
                g.fh * g.fw * g.out_per_group(),
            );
            assert_within_sum_bound(
                "cpu conv2d dw",
                &dw32,
                &reference::conv2d_backward_filter(&g, &xw, &dyw),
                &reference::conv2d_backward_filter(&g, &abs(&xf), &abs(&dyf)),
                g.batch * g.out_h * g.out_w,
            );
        }
    }
}

fn pool_cases() -> Vec<Pool2dGeometry> {
    [
        ([2, 6, 6, 3], [2, 2], [2, 2], Padding::Valid),
        ([1, 7, 5, 2], [3, 3], [2, 2], Padding::Same),
        ([1, 5, 8, 4], [3, 2], [1, 3], Padding::Same),
        ([1, 6, 6, 1], [3, 3], [2, 1], Padding::Explicit { top: 1, bottom: 2, left: 0, right: 1 }),
    ]
    .iter()
    .map(|&(x, pool_size, strides, padding)| {
        Pool2dGeometry::new("t", &x, &Pool2dParams { pool_size, strides, padding }).unwrap()
    })
    .collect()
}

#[test]
fn pooling_gradients() {
    let mut rng = Rng::new(22);
    for g in pool_cases() {
        let x = random(&mut rng, g.input_shape().iter().product());
        let dy = random(&mut rng, g.output_shape().iter().product());
        let dx = reference::max_pool2d_backward(&g, &x, &dy);
        grad_check("max_pool dx", &x, &dy, &dx, |x| reference::max_pool2d(&g, x));
        let dx = reference::avg_pool2d_backward(&g, &dy);
        grad_check("avg_pool dx", &x, &dy, &dx, |x| reference::avg_pool2d(&g, x));

        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let dyf: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
        // Max pooling picks values: exact. Its gradient adds at most a window's worth of dy.
        let max32 = cpu::max_pool2d(&g, &xf).unwrap();
        assert_eq!(wide(&max32), reference::max_pool2d(&g, &wide(&xf)), "cpu max_pool");
        let window = g.ph * g.pw;
        assert_within_sum_bound(
            "cpu max_pool dx",
            &cpu::max_pool2d_backward(&g, &xf, &dyf).unwrap(),
            &reference::max_pool2d_backward(&g, &wide(&xf), &wide(&dyf)),
            &reference::max_pool2d_backward(&g, &wide(&xf), &abs(&dyf)),
            window,
        );
        assert_within_sum_bound(
            "cpu avg_pool",
            &cpu::avg_pool2d(&g, &xf).unwrap(),
            &reference::avg_pool2d(&g, &wide(&xf)),
            &reference::avg_pool2d(&g, &abs(&xf)),
            window + 1,
        );
        assert_within_sum_bound(
            "cpu avg_pool dx",
            &cpu::avg_pool2d_backward(&g, &dyf).unwrap(),
            &reference::avg_pool2d_backward(&g, &wide(&dyf)),
            &reference::avg_pool2d_backward(&g, &abs(&dyf)),
            window + 1,
        );
    }
}

#[test]
fn global_pooling_gradients() {
    let mut rng = Rng::new(23);
    let shape = [2, 3, 4, 5];
    let x = random(&mut rng, 120);
    let dy = random(&mut rng, 10);
    let dx = reference::global_avg_pool_backward(shape, &dy);
    grad_check("global_avg_pool", &x, &dy, &dx, |x| reference::global_avg_pool(shape, x));
    let dx = reference::global_max_pool_backward(shape, &x, &dy);
    grad_check("global_max_pool", &x, &dy, &dx, |x| reference::global_max_pool(shape, x));

    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let dyf: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
    assert_eq!(
        wide(&cpu::global_max_pool(shape, &xf).unwrap()),
        reference::global_max_pool(shape, &wide(&xf))
    );
    assert_eq!(
        wide(&cpu::global_max_pool_backward(shape, &xf, &dyf).unwrap()),
        reference::global_max_pool_backward(shape, &wide(&xf), &wide(&dyf))
    );
    assert_within_sum_bound(
        "cpu global_avg_pool",
        &cpu::global_avg_pool(shape, &xf).unwrap(),
        &reference::global_avg_pool(shape, &wide(&xf)),
        &reference::global_avg_pool(shape, &abs(&xf)),
        13,
    );
    assert_within_sum_bound(
        "cpu global_avg_pool dx",
        &cpu::global_avg_pool_backward(shape, &dyf).unwrap(),
        &reference::global_avg_pool_backward(shape, &wide(&dyf)),
        &reference::global_avg_pool_backward(shape, &abs(&dyf)),
        2,
    );
}

#[test]
fn activation_gradients() {
    let mut rng = Rng::new(24);
    let last = 7;
    for a in ACTIVATIONS {
        // Scale to [-8, 8] to cross relu6's upper kink too, keeping away from 0 and 6.
        let x: Vec<f64> = away_from_zero(&mut rng, 35)
            .into_iter()
            .map(|v| if (v * 8.0 - 6.0).abs() < 0.05 { v * 7.0 } else { v * 8.0 })
            .collect();
        let dy = random(&mut rng, 35);
        let dx = reference::activation_backward(a, &x, &dy, last);
        grad_check(a.name(), &x, &dy, &dx, |x| reference::activation(a, x, last));

        // CPU: element-wise results within a few ulps (f32 exp/tanh are correctly rounded to
        // about 1 ulp; the composed formulas add a few roundings): 8 u relative + 1e-7 absolute.
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let dyf: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
        let mut y = xf.clone();
        cpu::activation_in_place(a, &mut y, last).unwrap();
        let want = reference::activation(a, &wide(&xf), last);
        let close = |what: &str, got: &[f32], want: &[f64], rel: f64| {
            for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g as f64 - w).abs() <= rel * w.abs() + 1e-6,
                    "{} {what}[{i}]: {g} vs {w}",
                    a.name()
                );
            }
        };
        close("forward", &y, &want, 8.0 * f32::EPSILON as f64);
        let dx32 = cpu::activation_backward(a, &xf, &y, &dyf, last).unwrap();
        close(
            "backward",
            &dx32,
            &reference::activation_backward(a, &wide(&xf), &wide(&dyf), last),
            1e-5,
        );
    }
}

#[test]
fn dense_gradients() {
    let mut rng = Rng::new(25);
    let g = DenseGeometry::new("t", &[3, 7], &[7, 5]).unwrap();
    let x = random(&mut rng, 21);
    let w = random(&mut rng, 35);
    let b = random(&mut rng, 5);
    let dy = random(&mut rng, 15);
    let (dx, dw, db) = reference::dense_backward(&g, &x, &w, &dy);
    grad_check("dense dx", &x, &dy, &dx, |x| reference::dense(&g, x, &w, Some(&b)));
    grad_check("dense dw", &w, &dy, &dw, |w| reference::dense(&g, &x, w, Some(&b)));
    grad_check("dense db", &b, &dy, &db, |b| reference::dense(&g, &x, &w, Some(b)));

    let f = |v: &[f64]| -> Vec<f32> { v.iter().map(|&x| x as f32).collect() };
    let (xf, wf, bf, dyf) = (f(&x), f(&w), f(&b), f(&dy));
    let y = cpu::dense(&g, &xf, &wf, Some(&bf)).unwrap();
    let abs_y = reference::dense(&g, &abs(&xf), &abs(&wf), Some(&abs(&bf)));
    assert_within_sum_bound(
        "cpu dense",
        &y,
        &reference::dense(&g, &wide(&xf), &wide(&wf), Some(&wide(&bf))),
        &abs_y,
        8,
    );
    let (dx32, dw32, db32) = cpu::dense_backward(&g, &xf, &wf, &dyf).unwrap();
    let want = reference::dense_backward(&g, &wide(&xf), &wide(&wf), &wide(&dyf));
    let bound = reference::dense_backward(&g, &abs(&xf), &abs(&wf), &abs(&dyf));
    assert_within_sum_bound("cpu dense dx", &dx32, &want.0, &bound.0, 5);
    assert_within_sum_bound("cpu dense dw", &dw32, &want.1, &bound.1, 3);
    assert_within_sum_bound("cpu dense db", &db32, &want.2, &bound.2, 3);
}

#[test]
fn loss_gradients() {
    let mut rng = Rng::new(26);
    let classes = 6;
    let logits: Vec<f64> = random(&mut rng, 4 * classes).iter().map(|v| v * 5.0).collect();
    let labels = [0usize, 5, 2, 2];
    let (_, grad) = reference::softmax_cross_entropy(&logits, &labels, classes);
    grad_check("softmax cross-entropy", &logits, &[1.0], &grad, |z| {
        vec![reference::softmax_cross_entropy(z, &labels, classes).0]
    });
    let y = random(&mut rng, 9);
    let t = random(&mut rng, 9);
    let (_, grad) = reference::mean_squared_error(&y, &t);
    grad_check("mse", &y, &[1.0], &grad, |y| vec![reference::mean_squared_error(y, &t).0]);

    let zf: Vec<f32> = logits.iter().map(|&v| v as f32).collect();
    let labels32: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
    let (loss, g32) = cpu::softmax_cross_entropy(&zf, &labels32, classes).unwrap();
    let (want_loss, want_grad) = reference::softmax_cross_entropy(&wide(&zf), &labels, classes);
    assert!((loss as f64 - want_loss).abs() <= 1e-6 * (1.0 + want_loss), "{loss} vs {want_loss}");
    for (a, b) in g32.iter().zip(&want_grad) {
        assert!((*a as f64 - b).abs() <= 1e-6, "{a} vs {b}");
    }
    let e = cpu::softmax_cross_entropy(&zf, &[0, 6, 1, 1], classes).unwrap_err();
    assert!(e.message().contains("label 6 at index 1"), "{e}");
}

#[test]
fn the_chapters_max_pool_example() {
    // Figure 14-8: a 2x2 max pool, stride 2; the lower-left window holds 1, 5, 3, 2 -> 5.
    let g = Pool2dGeometry::new(
        "maxPool",
        &[1, 4, 4, 1],
        &Pool2dParams { pool_size: [2, 2], strides: [2, 2], padding: Padding::Valid },
    )
    .unwrap();
    #[rustfmt::skip]
    let x = [0.0, 0.0, 0.0, 0.0,
             0.0, 0.0, 0.0, 0.0,
             1.0, 5.0, 0.0, 0.0,
             3.0, 2.0, 0.0, 0.0];
    assert_eq!(cpu::max_pool2d(&g, &x).unwrap(), vec![0.0, 0.0, 5.0, 0.0]);
}

/// f32 results whose computation is a handful of roundings on values of the reference's size
/// (statistics come from f64 sums): within 1e-5 of the largest reference value.
fn close_to_scale(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g as f64 - w).abs() <= 1e-5 * scale, "{what}[{i}]: {g} vs {w} (scale {scale})");
    }
}

fn narrow(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[test]
fn batch_norm_gradients() {
    let mut rng = Rng::new(27);
    let c = 3;
    let x: Vec<f64> = random(&mut rng, 4 * 2 * c).iter().map(|v| v * 2.0 + 0.5).collect();
    let gamma = random(&mut rng, c);
    let beta = random(&mut rng, c);
    let dy = random(&mut rng, x.len());
    let eps = 1e-3;
    let (dx, dgamma, dbeta) = reference::batch_norm_training_backward(&x, c, &gamma, eps, &dy);
    grad_check("batch_norm (training) dx", &x, &dy, &dx, |x| {
        reference::batch_norm_training(x, c, &gamma, &beta, eps)
    });
    grad_check("batch_norm dgamma", &gamma, &dy, &dgamma, |g| {
        reference::batch_norm_training(&x, c, g, &beta, eps)
    });
    grad_check("batch_norm dbeta", &beta, &dy, &dbeta, |b| {
        reference::batch_norm_training(&x, c, &gamma, b, eps)
    });
    let (mean, var) = reference::moments(&x, c);
    let (dx_inf, _, _) =
        reference::batch_norm_inference_backward(&x, c, &gamma, &mean, &var, eps, &dy);
    grad_check("batch_norm (inference) dx", &x, &dy, &dx_inf, |x| {
        reference::batch_norm(x, c, &gamma, &beta, &mean, &var, eps)
    });

    // CPU: the moving averages after one step, the output and the gradients.
    let (xf, gf, bf, dyf) = (narrow(&x), narrow(&gamma), narrow(&beta), narrow(&dy));
    let params = convlab::ops::norm::BatchNormParams { epsilon: eps as f32, momentum: 0.9 };
    let (mut mm, mut mv) = (vec![0.0f32; c], vec![1.0f32; c]);
    let out = cpu::batch_norm_training(&xf, c, &gf, &bf, &params, &mut mm, &mut mv).unwrap();
    let (mean, var) = reference::moments(&wide(&xf), c);
    close_to_scale("cpu batch mean", &out.mean, &mean);
    close_to_scale("cpu batch variance", &out.variance, &var);
    close_to_scale("cpu moving mean", &mm, &mean.iter().map(|m| 0.1 * m).collect::<Vec<_>>());
    close_to_scale(
        "cpu moving variance",
        &mv,
        &var.iter().map(|v| 0.9 + 0.1 * v).collect::<Vec<_>>(),
    );
    let want_y = reference::batch_norm_training(&wide(&xf), c, &wide(&gf), &wide(&bf), eps);
    close_to_scale("cpu batch_norm", &out.y, &want_y);
    let (dx32, dg32, db32) =
        cpu::batch_norm_training_backward(&xf, c, &gf, &out.mean, &out.variance, eps as f32, &dyf)
            .unwrap();
    let want = reference::batch_norm_training_backward(&wide(&xf), c, &wide(&gf), eps, &wide(&dyf));
    close_to_scale("cpu batch_norm dx", &dx32, &want.0);
    close_to_scale("cpu batch_norm dgamma", &dg32, &want.1);
    close_to_scale("cpu batch_norm dbeta", &db32, &want.2);
}

#[test]
fn lrn_gradients() {
    let mut rng = Rng::new(28);
    let c = 7;
    let x: Vec<f64> = random(&mut rng, 3 * c).iter().map(|v| v * 3.0).collect();
    let dy = random(&mut rng, x.len());
    // Large alpha so the normalisation matters (AlexNet's 2e-5 barely moves the output).
    for (r, bias, alpha, beta) in [(1, 1.0, 0.3, 0.75), (2, 2.0, 0.1, 0.5), (0, 1.0, 1.0, 1.0)] {
        let dx = reference::lrn_backward(&x, c, r, bias, alpha, beta, &dy);
        grad_check("lrn dx", &x, &dy, &dx, |x| reference::lrn(x, c, r, bias, alpha, beta));
        let p = convlab::ops::norm::LrnParams {
            depth_radius: r,
            bias: bias as f32,
            alpha: alpha as f32,
            beta: beta as f32,
        };
        let (xf, dyf) = (narrow(&x), narrow(&dy));
        let y = cpu::lrn(&xf, c, &p).unwrap();
        close_to_scale("cpu lrn", &y, &reference::lrn(&wide(&xf), c, r, bias, alpha, beta));
        let dx32 = cpu::lrn_backward(&xf, c, &p, &dyf).unwrap();
        close_to_scale(
            "cpu lrn dx",
            &dx32,
            &reference::lrn_backward(&wide(&xf), c, r, bias, alpha, beta, &wide(&dyf)),
        );
    }
}

#[test]
fn combining_ops_gradients() {
    let mut rng = Rng::new(29);
    // Residual add: the gradient is dy for both inputs.
    let (a, b) = (random(&mut rng, 12), random(&mut rng, 12));
    let dy = random(&mut rng, 12);
    grad_check("add da", &a, &dy, &dy, |a| reference::add(a, &b));
    let sum = cpu::add(&narrow(&a), &narrow(&b), &[3, 4], &[3, 4]).unwrap();
    assert_eq!(sum, narrow(&a).iter().zip(narrow(&b)).map(|(x, y)| x + y).collect::<Vec<_>>());
    let e = cpu::add(&narrow(&a), &narrow(&b), &[3, 4], &[4, 3]).unwrap_err();
    assert!(e.message().contains("shape [4, 3] differs from a's [3, 4]"), "{e}");

    // Concatenate along depth (an inception module's join).
    let channels = [2, 3, 1];
    let parts: Vec<Vec<f64>> = channels.iter().map(|&c| random(&mut rng, 4 * c)).collect();
    let refs: Vec<&[f64]> = parts.iter().map(|p| p.as_slice()).collect();
    let y = reference::concat(&refs, &channels);
    let dy = random(&mut rng, y.len());
    let back = reference::concat_backward(&dy, &channels);
    for (i, part) in parts.iter().enumerate() {
        grad_check("concat", part, &dy, &back[i], |p| {
            let mut r = refs.clone();
            r[i] = p;
            reference::concat(&r, &channels)
        });
    }
    let parts32: Vec<Vec<f32>> = parts.iter().map(|p| narrow(p)).collect();
    let refs32: Vec<&[f32]> = parts32.iter().map(|p| p.as_slice()).collect();
    assert_eq!(
        wide(&cpu::concat(&refs32, &channels).unwrap()),
        reference::concat(
            &parts
                .iter()
                .map(|p| wide(&narrow(p)))
                .collect::<Vec<_>>()
                .iter()
                .map(|p| p.as_slice())
                .collect::<Vec<_>>(),
            &channels
        )
    );
    let split = cpu::concat_backward(&narrow(&dy), &channels).unwrap();
    for (s, r) in split.iter().zip(&back) {
        assert_eq!(wide(s), wide(&narrow(r)));
    }

    // Squeeze-and-excitation's per-channel scale.
    let (n, c) = (2, 3);
    let x = random(&mut rng, n * 4 * c);
    let s = random(&mut rng, n * c);
    let dy = random(&mut rng, x.len());
    let (dx, ds) = reference::channel_scale_backward(&x, &s, n, c, &dy);
    grad_check("channel_scale dx", &x, &dy, &dx, |x| reference::channel_scale(x, &s, n, c));
    grad_check("channel_scale ds", &s, &dy, &ds, |s| reference::channel_scale(&x, s, n, c));
    let (xf, sf, dyf) = (narrow(&x), narrow(&s), narrow(&dy));
    let y32 = cpu::channel_scale(&xf, &sf, n, c).unwrap();
    assert_eq!(
        wide(&y32),
        reference::channel_scale(&wide(&xf), &wide(&sf), n, c)
            .iter()
            .map(|v| *v as f32 as f64)
            .collect::<Vec<_>>()
    );
    let (dx32, ds32) = cpu::channel_scale_backward(&xf, &sf, n, c, &dyf).unwrap();
    let want = reference::channel_scale_backward(&wide(&xf), &wide(&sf), n, c, &wide(&dyf));
    close_to_scale("cpu channel_scale dx", &dx32, &want.0);
    close_to_scale("cpu channel_scale ds", &ds32, &want.1);
    assert!(cpu::channel_scale(&xf, &sf[..5], n, c).unwrap_err().message().contains("'scale'"));
}

#[test]
fn padding_depth_pool_subsampling_and_dropout_gradients() {
    let mut rng = Rng::new(30);
    let shape = [2, 3, 4, 2];
    let pads = [[1, 2], [0, 3]];
    let x = random(&mut rng, 48);
    let y = reference::zero_pad(&x, shape, pads);
    assert_eq!(y.len(), 2 * 6 * 7 * 2);
    let dy = random(&mut rng, y.len());
    let dx = reference::zero_pad_backward(&dy, shape, pads);
    grad_check("zero_pad", &x, &dy, &dx, |x| reference::zero_pad(x, shape, pads));
    assert_eq!(wide(&cpu::zero_pad(&narrow(&x), shape, pads).unwrap()), wide(&narrow(&y)));
    assert_eq!(
        wide(&cpu::zero_pad_backward(&narrow(&dy), shape, pads).unwrap()),
        wide(&narrow(&dx))
    );

    // Depthwise max pooling over runs of 3 of 6 channels; 4 does not divide 6.
    let x = random(&mut rng, 5 * 6);
    let dy = random(&mut rng, 10);
    let dx = reference::depth_max_pool_backward(&x, 3, &dy);
    grad_check("depth_max_pool", &x, &dy, &dx, |x| reference::depth_max_pool(x, 3));
    let xf = narrow(&x);
    assert_eq!(
        wide(&cpu::depth_max_pool(&xf, 6, 3).unwrap()),
        reference::depth_max_pool(&wide(&xf), 3)
    );
    assert_eq!(
        wide(&cpu::depth_max_pool_backward(&xf, 6, 3, &narrow(&dy)).unwrap()),
        wide(&narrow(&dx))
    );
    let e = cpu::depth_max_pool(&xf, 6, 4).unwrap_err();
    assert_eq!(e.message(), "depthMaxPool: argument 'poolSize': 4 must divide the 6 channels (the pool takes whole runs of channels)");

    // LeNet-5's subsampling: 2x2 average times a coefficient plus a bias, per map.
    let g = Pool2dGeometry::new(
        "subsampling",
        &[1, 4, 6, 3],
        &Pool2dParams { pool_size: [2, 2], strides: [2, 2], padding: Padding::Valid },
    )
    .unwrap();
    let x = random(&mut rng, 72);
    let (coeff, bias) = (random(&mut rng, 3), random(&mut rng, 3));
    let dy = random(&mut rng, 18);
    let (dx, dcoeff, dbias) = reference::subsample_backward(&g, &x, &coeff, &dy);
    grad_check("subsample dx", &x, &dy, &dx, |x| reference::subsample(&g, x, &coeff, &bias));
    grad_check("subsample dcoeff", &coeff, &dy, &dcoeff, |c| {
        reference::subsample(&g, &x, c, &bias)
    });
    grad_check("subsample dbias", &bias, &dy, &dbias, |b| reference::subsample(&g, &x, &coeff, b));
    let (xf, cf, bf, dyf) = (narrow(&x), narrow(&coeff), narrow(&bias), narrow(&dy));
    close_to_scale(
        "cpu subsample",
        &cpu::subsample(&g, &xf, &cf, &bf).unwrap(),
        &reference::subsample(&g, &wide(&xf), &wide(&cf), &wide(&bf)),
    );
    let got = cpu::subsample_backward(&g, &xf, &cf, &dyf).unwrap();
    let want = reference::subsample_backward(&g, &wide(&xf), &wide(&cf), &wide(&dyf));
    close_to_scale("cpu subsample dx", &got.0, &want.0);
    close_to_scale("cpu subsample dcoeff", &got.1, &want.1);
    close_to_scale("cpu subsample dbias", &got.2, &want.2);

    // Dropout: the same seed gives the same mask; the kept fraction is near 1 - rate; kept
    // values are scaled by 1 / (1 - rate); with the mask fixed it is linear, so it is its own
    // gradient.
    let mask = cpu::dropout_mask(10_000, 0.5, 42).unwrap();
    assert_eq!(mask, cpu::dropout_mask(10_000, 0.5, 42).unwrap());
    assert_ne!(mask, cpu::dropout_mask(10_000, 0.5, 43).unwrap());
    let kept = mask.iter().filter(|&&k| k).count();
    assert!((4_800..=5_200).contains(&kept), "kept {kept} of 10000 at rate 0.5");
    let x = random(&mut rng, 20);
    let dy = random(&mut rng, 20);
    let keep = &mask[..20];
    grad_check("dropout", &x, &dy, &reference::dropout(&dy, keep, 0.5), |x| {
        reference::dropout(x, keep, 0.5)
    });
    assert_eq!(
        wide(&cpu::dropout(&narrow(&x), keep, 0.5).unwrap()),
        reference::dropout(&wide(&narrow(&x)), keep, 0.5)
    );
    assert!(cpu::dropout_mask(4, 1.0, 0).unwrap_err().message().contains("[0, 1)"));
    assert!(cpu::dropout_mask(4, 0.0, 0).unwrap().iter().all(|&k| k));
}
