// Parameter updates of the optimizers (src/train/optimizer.rs has the formulas, as Keras 3
// writes them). One invocation per weight; `w`, `m` and `v` are updated in place. The rule is
// chosen by `kind` (uniform, so every invocation takes the same branch); f0..f7 are the
// step's scalars, computed on the CPU exactly as the CPU path computes them.

struct Params {
    wg_x: u32,
    count: u32,
    kind: u32,
    _pad: u32,
    f0: f32,
    f1: f32,
    f2: f32,
    f3: f32,
    f4: f32,
    f5: f32,
    f6: f32,
    f7: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

// kind 0, SGD:      f0 = lr, f1 = decay
// kind 1, momentum: f0 = lr, f1 = decay, f2 = momentum, f3 = 1 for Nesterov
// kind 2, RMSProp:  f0 = lr, f1 = decay, f2 = rho, f3 = epsilon
// kind 3, Adam:     f0 = alpha (bias-corrected rate), f1 = decay, f2 = beta_1, f3 = beta_2, f4 = epsilon
// kind 4, Nadam:    f0 = lr, f1 = decay, f2 = beta_1, f3 = beta_2, f4 = epsilon, f5 = c_m, f6 = c_g, f7 = c_v
@compute @workgroup_size(64)
fn update(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let i = (wg.y * p.wg_x + wg.x) * 64u + local;
    if (i >= p.count) { return; }
    let wi = w[i];
    let g = g_in[i] + p.f1 * wi;
    switch p.kind {
        case 0u: {
            w[i] = wi - p.f0 * g;
        }
        case 1u: {
            let vel = p.f2 * m[i] - p.f0 * g;
            m[i] = vel;
            if (p.f3 != 0.0) {
                w[i] = wi + (p.f2 * vel - p.f0 * g);
            } else {
                w[i] = wi + vel;
            }
        }
        case 2u: {
            let s = p.f2 * m[i] + (1.0 - p.f2) * g * g;
            m[i] = s;
            w[i] = wi - p.f0 * g / sqrt(s + p.f3);
        }
        case 3u: {
            let mi = m[i] + (1.0 - p.f2) * (g - m[i]);
            let vi = v[i] + (1.0 - p.f3) * (g * g - v[i]);
            m[i] = mi;
            v[i] = vi;
            w[i] = wi - p.f0 * mi / (sqrt(vi) + p.f4);
        }
        default: {
            let mi = m[i] + (1.0 - p.f2) * (g - m[i]);
            let vi = v[i] + (1.0 - p.f3) * (g * g - v[i]);
            m[i] = mi;
            v[i] = vi;
            let m_hat = p.f5 * mi + p.f6 * g;
            let v_hat = p.f7 * vi;
            w[i] = wi - p.f0 * m_hat / (sqrt(v_hat) + p.f4);
        }
    }
}
