//! Ops that combine or reshape tensors on the CPU, forward and backward: residual add, depth
//! concatenation, per-channel scaling (squeeze-and-excitation), zero padding, depthwise max
//! pooling, LeNet-5's trainable subsampling, and dropout with a seeded mask.

use super::{check_len, zeroed};
use crate::error::{Error, Result};
use crate::ops::pool::Pool2dGeometry;

/// `a + b` for tensors of the same shape (a residual connection). The gradient is `dy` for both.
pub fn add(a: &[f32], b: &[f32], a_shape: &[usize], b_shape: &[usize]) -> Result<Vec<f32>> {
    if a_shape != b_shape {
        return Err(Error::invalid(
            "add",
            "b",
            format!("shape {b_shape:?} differs from a's {a_shape:?}"),
        ));
    }
    check_len("add", "a", a.len(), a_shape)?;
    check_len("add", "b", b.len(), b_shape)?;
    Ok(a.iter().zip(b).map(|(x, y)| x + y).collect())
}

/// Concatenation along the last axis (channels, as an inception module joins its branches).
/// `parts[i]` has `channels[i]` channels; all have the same number of rows.
pub fn concat(parts: &[&[f32]], channels: &[usize]) -> Result<Vec<f32>> {
    let op = "concatenate";
    if parts.is_empty() || parts.len() != channels.len() {
        return Err(Error::invalid(
            op,
            "inputs",
            format!("{} tensors with {} channel counts", parts.len(), channels.len()),
        ));
    }
    let rows = parts[0].len() / channels[0].max(1);
    for (i, (p, &c)) in parts.iter().zip(channels).enumerate() {
        if c == 0 || p.len() != rows * c {
            return Err(Error::invalid(
                op,
                &format!("inputs[{i}]"),
                format!("has {} elements, expected {rows} rows of {c} channels", p.len()),
            ));
        }
    }
    let total: usize = channels.iter().sum();
    let mut out = zeroed(op, "output", rows * total)?;
    for (r, row) in out.chunks_exact_mut(total).enumerate() {
        let mut offset = 0;
        for (p, &c) in parts.iter().zip(channels) {
            row[offset..offset + c].copy_from_slice(&p[r * c..(r + 1) * c]);
            offset += c;
        }
    }
    Ok(out)
}

/// The gradient of [`concat`]: `dy` split back into the parts.
pub fn concat_backward(dy: &[f32], channels: &[usize]) -> Result<Vec<Vec<f32>>> {
    let total: usize = channels.iter().sum();
    if total == 0 || !dy.len().is_multiple_of(total) {
        return Err(Error::invalid(
            "concatenate backward",
            "dy",
            format!("{} elements are not rows of {total}", dy.len()),
        ));
    }
    let rows = dy.len() / total;
    let mut parts: Vec<Vec<f32>> = channels.iter().map(|&c| Vec::with_capacity(rows * c)).collect();
    for row in dy.chunks_exact(total) {
        let mut offset = 0;
        for (p, &c) in parts.iter_mut().zip(channels) {
            p.extend_from_slice(&row[offset..offset + c]);
            offset += c;
        }
    }
    Ok(parts)
}

fn check_scale(op: &str, x: &[f32], s: &[f32], n: usize, c: usize) -> Result<usize> {
    if n == 0 || c == 0 || !x.len().is_multiple_of(n * c) {
        return Err(Error::invalid(
            op,
            "x",
            format!("{} elements are not {n} images of whole {c}-channel pixels", x.len()),
        ));
    }
    if s.len() != n * c {
        return Err(Error::invalid(
            op,
            "scale",
            format!("has {} elements, expected [batch {n}, channels {c}]", s.len()),
        ));
    }
    Ok(x.len() / (n * c))
}

/// `y[n, p, c] = x[n, p, c] * s[n, c]`: each image's channels scaled by its own vector (the
/// squeeze-and-excitation block's last step).
pub fn channel_scale(x: &[f32], s: &[f32], n: usize, c: usize) -> Result<Vec<f32>> {
    let pixels = check_scale("channelScale", x, s, n, c)?;
    let mut y = zeroed("channelScale", "output", x.len())?;
    for b in 0..n {
        let sv = &s[b * c..(b + 1) * c];
        let range = b * pixels * c..(b + 1) * pixels * c;
        for (yr, xr) in y[range.clone()].chunks_exact_mut(c).zip(x[range].chunks_exact(c)) {
            for k in 0..c {
                yr[k] = xr[k] * sv[k];
            }
        }
    }
    Ok(y)
}

/// Gradients of [`channel_scale`]: `(dx, ds)`.
pub fn channel_scale_backward(
    x: &[f32],
    s: &[f32],
    n: usize,
    c: usize,
    dy: &[f32],
) -> Result<(Vec<f32>, Vec<f32>)> {
    let pixels = check_scale("channelScale backward", x, s, n, c)?;
    check_len("channelScale backward", "dy", dy.len(), &[x.len()])?;
    let mut dx = zeroed("channelScale backward", "dx", x.len())?;
    let mut ds = vec![0.0f32; n * c];
    for b in 0..n {
        let range = b * pixels * c..(b + 1) * pixels * c;
        let (sv, dsv) = (&s[b * c..(b + 1) * c], &mut ds[b * c..(b + 1) * c]);
        for ((out, xr), dr) in dx[range.clone()]
            .chunks_exact_mut(c)
            .zip(x[range.clone()].chunks_exact(c))
            .zip(dy[range].chunks_exact(c))
        {
            for k in 0..c {
                out[k] = dr[k] * sv[k];
                dsv[k] += dr[k] * xr[k];
            }
        }
    }
    Ok((dx, ds))
}

/// Zero padding of `[n, h, w, c]` by `[[top, bottom], [left, right]]`.
pub fn zero_pad(x: &[f32], shape: [usize; 4], pads: [[usize; 2]; 2]) -> Result<Vec<f32>> {
    check_len("zeroPadding", "x", x.len(), &shape)?;
    let [n_, h, w, c] = shape;
    let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
    crate::tensor::element_count("zeroPadding", "output", &[n_, oh, ow, c])?;
    let mut out = zeroed("zeroPadding", "output", n_ * oh * ow * c)?;
    for n in 0..n_ {
        for y in 0..h {
            let dst = ((n * oh + y + pads[0][0]) * ow + pads[1][0]) * c;
            let src = (n * h + y) * w * c;
            out[dst..dst + w * c].copy_from_slice(&x[src..src + w * c]);
        }
    }
    Ok(out)
}

/// The gradient of [`zero_pad`]: the padded gradient cropped back to `shape`.
pub fn zero_pad_backward(dy: &[f32], shape: [usize; 4], pads: [[usize; 2]; 2]) -> Result<Vec<f32>> {
    let [n_, h, w, c] = shape;
    let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
    check_len("zeroPadding backward", "dy", dy.len(), &[n_, oh, ow, c])?;
    let mut dx = zeroed("zeroPadding backward", "dx", n_ * h * w * c)?;
    for n in 0..n_ {
        for y in 0..h {
            let src = ((n * oh + y + pads[0][0]) * ow + pads[1][0]) * c;
            let dst = (n * h + y) * w * c;
            dx[dst..dst + w * c].copy_from_slice(&dy[src..src + w * c]);
        }
    }
    Ok(dx)
}

fn check_depth_pool(x: &[f32], c: usize, k: usize) -> Result<()> {
    let op = "depthMaxPool";
    if k == 0 || c == 0 || !c.is_multiple_of(k) {
        return Err(Error::invalid(
            op,
            "poolSize",
            format!("{k} must divide the {c} channels (the pool takes whole runs of channels)"),
        ));
    }
    if !x.len().is_multiple_of(c) {
        return Err(Error::invalid(
            op,
            "x",
            format!("{} elements are not whole {c}-channel pixels", x.len()),
        ));
    }
    Ok(())
}

/// Depthwise max pooling, `tf.nn.max_pool(ksize=(1,1,1,k), strides=(1,1,1,k))`: the maximum of
/// each run of `k` channels, `c / k` channels out. `k` must divide `c`.
pub fn depth_max_pool(x: &[f32], c: usize, k: usize) -> Result<Vec<f32>> {
    check_depth_pool(x, c, k)?;
    Ok(x.chunks_exact(k).map(|run| run.iter().cloned().fold(f32::NEG_INFINITY, f32::max)).collect())
}

/// The gradient of [`depth_max_pool`]: to the first maximum of each run.
pub fn depth_max_pool_backward(x: &[f32], c: usize, k: usize, dy: &[f32]) -> Result<Vec<f32>> {
    check_depth_pool(x, c, k)?;
    check_len("depthMaxPool backward", "dy", dy.len(), &[x.len() / k])?;
    let mut dx = zeroed("depthMaxPool backward", "dx", x.len())?;
    for (o, run) in x.chunks_exact(k).enumerate() {
        let best = (1..k).fold(0, |b, i| if run[i] > run[b] { i } else { b });
        dx[o * k + best] += dy[o];
    }
    Ok(dx)
}

/// LeNet-5's subsampling (S2, S4): `coeff[c] * avg_pool(x) + bias[c]` per map.
pub fn subsample(g: &Pool2dGeometry, x: &[f32], coeff: &[f32], bias: &[f32]) -> Result<Vec<f32>> {
    let c = g.channels;
    crate::ops::norm::check_channels(
        "subsampling",
        c,
        c,
        &[("coefficient", coeff.len()), ("bias", bias.len())],
    )?;
    let mut y = super::avg_pool2d(g, x)?;
    for pixel in y.chunks_exact_mut(c) {
        for k in 0..c {
            pixel[k] = coeff[k] * pixel[k] + bias[k];
        }
    }
    Ok(y)
}

/// Gradients of [`subsample`]: `(dx, dcoeff, dbias)`.
pub fn subsample_backward(
    g: &Pool2dGeometry,
    x: &[f32],
    coeff: &[f32],
    dy: &[f32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let c = g.channels;
    let avg = super::avg_pool2d(g, x)?;
    check_len("subsampling backward", "dy", dy.len(), &g.output_shape())?;
    let (mut dcoeff, mut dbias) = (vec![0.0f32; c], vec![0.0f32; c]);
    let mut scaled = dy.to_vec();
    for ((dp, ap), sp) in
        dy.chunks_exact(c).zip(avg.chunks_exact(c)).zip(scaled.chunks_exact_mut(c))
    {
        for k in 0..c {
            dcoeff[k] += dp[k] * ap[k];
            dbias[k] += dp[k];
            sp[k] *= coeff[k];
        }
    }
    Ok((super::avg_pool2d_backward(g, &scaled)?, dcoeff, dbias))
}

/// A seeded keep-mask for dropout: each element kept with probability `1 - rate`. The same
/// seed gives the same mask on every platform (SplitMix64, 24-bit uniforms).
pub fn dropout_mask(len: usize, rate: f32, seed: u64) -> Result<Vec<bool>> {
    dropout_mask_from(len, rate, seed, 0)
}

/// Elements `start..start + len` of the mask [`dropout_mask`] makes from `seed` (SplitMix64 is
/// a counter: element `k` depends only on `seed` and `k`). A shard of a batch takes its slice of
/// the whole batch's mask, so data-parallel training drops what one worker would.
pub fn dropout_mask_from(len: usize, rate: f32, seed: u64, start: usize) -> Result<Vec<bool>> {
    if !(0.0..1.0).contains(&rate) {
        return Err(Error::invalid("dropout", "rate", format!("must be in [0, 1), got {rate}")));
    }
    let mut state = seed.wrapping_add((start as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    Ok((0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let u = ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32;
            u >= rate
        })
        .collect())
}

/// Dropout with a keep-mask: kept values scaled by `1 / (1 - rate)`, the rest zeroed. Applied
/// to `dy` with the same mask it is its own gradient; at inference dropout is the identity and
/// is not called.
pub fn dropout(x: &[f32], keep: &[bool], rate: f32) -> Result<Vec<f32>> {
    if keep.len() != x.len() {
        return Err(Error::invalid(
            "dropout",
            "mask",
            format!("has {} elements, x {}", keep.len(), x.len()),
        ));
    }
    let scale = 1.0 / (1.0 - rate);
    Ok(x.iter().zip(keep).map(|(v, &k)| if k { v * scale } else { 0.0 }).collect())
}

/// A dropout layer's forward pass: in training, a seeded mask applied with the `1 / (1 - rate)`
/// scale; at inference, the identity (and an all-kept mask). Returns `(y, keep)`.
pub fn dropout_forward(
    x: &[f32],
    rate: f32,
    training: bool,
    seed: u64,
) -> Result<(Vec<f32>, Vec<bool>)> {
    let keep = if training { dropout_mask(x.len(), rate, seed)? } else { vec![true; x.len()] };
    let y = if training { dropout(x, &keep, rate)? } else { x.to_vec() };
    Ok((y, keep))
}
