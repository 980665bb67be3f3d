//! Optimizers, as Keras 3 defines them (keras/src/optimizers/*.py), with a learning-rate
//! schedule and L2 weight decay on kernels.
//!
//! For a parameter `w` with gradient `g` at step `t` (from 1), learning rate `lr`:
//! - SGD: `v = momentum * v - lr * g`; `w += v`, or with Nesterov `w += momentum * v - lr * g`
//!   (momentum 0: `w -= lr * g`).
//! - RMSProp: `s = rho * s + (1 - rho) * g^2`; `w -= lr * g / sqrt(s + epsilon)` (Keras 3 puts
//!   epsilon inside the root here, unlike Adam).
//! - Adam: `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
//!   `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)` (Keras's form of the
//!   bias correction, epsilon outside the corrected root).
//! - Nadam (Dozat 2016 as Keras 3 writes it): momentum schedule
//!   `u_t = b1 * (1 - 0.5 * 0.96^t)` (Keras 3; Keras 2 had `0.96^(0.004 t)`), `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
//!   `m_hat = u_{t+1} m / (1 - prod u_1..u_{t+1}) + (1 - u_t) g / (1 - prod u_1..u_t)`,
//!   `v_hat = v / (1 - b2^t)`, `w -= lr * m_hat / (sqrt(v_hat) + epsilon)`.
//!
//! Weight decay adds `decay * w` to the gradient of kernels (not biases, batch-norm scales or
//! shifts), as an L2 penalty `decay / 2 * |w|^2` in the loss would.

use crate::error::{Error, Result};

/// Which update rule, with its hyper-parameters (Keras's defaults in [`OptimizerKind::keras`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum.
    Sgd {
        /// Momentum (0 for plain SGD).
        momentum: f32,
        /// Nesterov's look-ahead form.
        nesterov: bool,
    },
    /// RMSProp.
    RmsProp {
        /// Decay of the squared-gradient average.
        rho: f32,
        /// Added to the root.
        epsilon: f32,
    },
    /// Adam.
    Adam {
        /// First-moment decay.
        beta_1: f32,
        /// Second-moment decay.
        beta_2: f32,
        /// Added to the root.
        epsilon: f32,
    },
    /// Nadam (Adam with Nesterov momentum).
    Nadam {
        /// First-moment decay.
        beta_1: f32,
        /// Second-moment decay.
        beta_2: f32,
        /// Added to the root.
        epsilon: f32,
    },
}

impl OptimizerKind {
    /// Keras's defaults for "sgd", "momentum" (0.9), "nesterov" (0.9), "rmsprop", "adam",
    /// "nadam".
    pub fn keras(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "sgd" => Self::Sgd { momentum: 0.0, nesterov: false },
            "momentum" => Self::Sgd { momentum: 0.9, nesterov: false },
            "nesterov" => Self::Sgd { momentum: 0.9, nesterov: true },
            "rmsprop" => Self::RmsProp { rho: 0.9, epsilon: 1e-7 },
            "adam" => Self::Adam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
            "nadam" => Self::Nadam { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
            _ => {
                return Err(Error::invalid(
                    "optimizer",
                    "name",
                    format!("unknown optimizer {name:?}; use sgd, momentum, nesterov, rmsprop, adam or nadam"),
                ))
            }
        })
    }

    /// Values of state per parameter.
    pub fn slots(self) -> usize {
        match self {
            Self::Sgd { momentum: 0.0, .. } => 0,
            Self::Sgd { .. } | Self::RmsProp { .. } => 1,
            Self::Adam { .. } | Self::Nadam { .. } => 2,
        }
    }
}

/// How the learning rate changes with the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Multiplied by `factor` every `every` steps.
    Step {
        /// Steps between drops.
        every: u64,
        /// Factor of each drop.
        factor: f32,
    },
    /// Cosine decay from the rate to `floor` times it over `steps` steps (Loshchilov and
    /// Hutter 2017, without restarts), then `floor` times it.
    Cosine {
        /// Length of the decay.
        steps: u64,
        /// Final fraction of the rate.
        floor: f32,
    },
}

impl Schedule {
    /// The factor applied to the base rate at `step` (counting from 0).
    pub fn factor(self, step: u64) -> f32 {
        match self {
            Self::Constant => 1.0,
            Self::Step { every, factor } => {
                factor.powi((step / every.max(1)).min(i32::MAX as u64) as i32)
            }
            Self::Cosine { steps, floor } => {
                let p = (step as f64 / steps.max(1) as f64).min(1.0);
                let c = 0.5 * (1.0 + (std::f64::consts::PI * p).cos());
                (floor as f64 + (1.0 - floor as f64) * c) as f32
            }
        }
    }
}

/// An optimizer's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Base learning rate.
    pub learning_rate: f32,
    /// Its schedule.
    pub schedule: Schedule,
    /// L2 weight decay on kernels (0: none).
    pub weight_decay: f32,
}

/// An optimizer's state for one parameter tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Slots {
    /// First slot (velocity, mean square, first moment).
    pub a: Vec<f32>,
    /// Second slot (second moment).
    pub b: Vec<f32>,
}

/// An optimizer: settings, step count and per-parameter state.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    /// Settings.
    pub config: OptimizerConfig,
    /// Steps taken.
    pub step: u64,
    /// Nadam's running product of momentum factors.
    pub nadam_product: f64,
    /// State per parameter, in the order [`Optimizer::update`] is called.
    pub slots: Vec<Slots>,
}

impl Optimizer {
    /// A fresh optimizer.
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
            return Err(Error::invalid(
                "optimizer",
                "learningRate",
                format!("must be a positive number, got {}", config.learning_rate),
            ));
        }
        if !(config.weight_decay.is_finite() && config.weight_decay >= 0.0) {
            return Err(Error::invalid(
                "optimizer",
                "weightDecay",
                format!("must be a number >= 0, got {}", config.weight_decay),
            ));
        }
        Ok(Self { config, step: 0, nadam_product: 1.0, slots: Vec::new() })
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f32 {
        self.config.learning_rate * self.config.schedule.factor(self.step)
    }

    /// Starts a step: every [`Optimizer::update`] until the next `begin_step` uses its
    /// count and rate.
    pub fn begin_step(&mut self) -> StepParams {
        self.step += 1;
        let t = self.step as f64;
        let lr = (self.config.learning_rate * self.config.schedule.factor(self.step - 1)) as f64;
        let mut p = StepParams { lr, t, nadam: None };
        if let OptimizerKind::Nadam { beta_1, .. } = self.config.kind {
            let b1 = beta_1 as f64;
            let u = |t: f64| b1 * (1.0 - 0.5 * 0.96f64.powf(t));
            let (u_t, u_next) = (u(t), u(t + 1.0));
            let product = self.nadam_product * u_t;
            self.nadam_product = product;
            p.nadam = Some((u_t, u_next, product, product * u_next));
        }
        p
    }

    /// Updates parameter `index` (its slots are created on first use) in place.
    pub fn update(
        &mut self,
        index: usize,
        p: &StepParams,
        w: &mut [f32],
        g: &[f32],
        decay: bool,
    ) -> Result<()> {
        if w.len() != g.len() {
            return Err(Error::invalid(
                "optimizer",
                "gradient",
                format!("{} values for {} weights", g.len(), w.len()),
            ));
        }
        let r = self.rule(p, decay);
        while self.slots.len() <= index {
            self.slots.push(Slots { a: Vec::new(), b: Vec::new() });
        }
        let slots = &mut self.slots[index];
        let n = self.config.kind.slots();
        if n >= 1 && slots.a.len() != w.len() {
            slots.a = vec![0.0; w.len()];
        }
        if n >= 2 && slots.b.len() != w.len() {
            slots.b = vec![0.0; w.len()];
        }
        let [lr, wd, c2, c3, c4, c5, c6, c7] = r.f;
        match r.kind {
            0 => {
                for (w, &g) in w.iter_mut().zip(g) {
                    *w -= lr * (g + wd * *w);
                }
            }
            1 => {
                let (momentum, nesterov) = (c2, c3 != 0.0);
                for ((w, &g), v) in w.iter_mut().zip(g).zip(slots.a.iter_mut()) {
                    let g = g + wd * *w;
                    *v = momentum * *v - lr * g;
                    *w += if nesterov { momentum * *v - lr * g } else { *v };
                }
            }
            2 => {
                let (rho, epsilon) = (c2, c3);
                for ((w, &g), s) in w.iter_mut().zip(g).zip(slots.a.iter_mut()) {
                    let g = g + wd * *w;
                    *s = rho * *s + (1.0 - rho) * g * g;
                    *w -= lr * g / (*s + epsilon).sqrt();
                }
            }
            3 => {
                // `lr` is Adam's bias-corrected rate here.
                let (beta_1, beta_2, epsilon) = (c2, c3, c4);
                for (((w, &g), m), v) in
                    w.iter_mut().zip(g).zip(slots.a.iter_mut()).zip(slots.b.iter_mut())
                {
                    let g = g + wd * *w;
                    *m += (1.0 - beta_1) * (g - *m);
                    *v += (1.0 - beta_2) * (g * g - *v);
                    *w -= lr * *m / (v.sqrt() + epsilon);
                }
            }
            _ => {
                let (beta_1, beta_2, epsilon, c_m, c_g, c_v) = (c2, c3, c4, c5, c6, c7);
                for (((w, &g), m), v) in
                    w.iter_mut().zip(g).zip(slots.a.iter_mut()).zip(slots.b.iter_mut())
                {
                    let g = g + wd * *w;
                    *m += (1.0 - beta_1) * (g - *m);
                    *v += (1.0 - beta_2) * (g * g - *v);
                    let m_hat = c_m * *m + c_g * g;
                    let v_hat = c_v * *v;
                    *w -= lr * m_hat / (v_hat.sqrt() + epsilon);
                }
            }
        }
        Ok(())
    }
}

impl Optimizer {
    /// The update of one parameter in this step: the rule and its scalars, shared by the CPU
    /// loop above and the WebGPU kernel (src/backend/webgpu/optimizer.wgsl), so both paths
    /// follow the same formulas (they differ only in rounding: the GPU may fuse multiply-adds).
    pub fn rule(&self, p: &StepParams, decay: bool) -> crate::backend::webgpu::UpdateRule {
        let wd = if decay { self.config.weight_decay } else { 0.0 };
        let lr = p.lr as f32;
        let (kind, f) = match self.config.kind {
            OptimizerKind::Sgd { momentum: 0.0, .. } => (0, [lr, wd, 0.0, 0.0, 0.0]),
            OptimizerKind::Sgd { momentum, nesterov } => {
                (1, [lr, wd, momentum, if nesterov { 1.0 } else { 0.0 }, 0.0])
            }
            OptimizerKind::RmsProp { rho, epsilon } => (2, [lr, wd, rho, epsilon, 0.0]),
            OptimizerKind::Adam { beta_1, beta_2, epsilon } => {
                let (b1, b2) = (beta_1 as f64, beta_2 as f64);
                let alpha = (p.lr * (1.0 - b2.powf(p.t)).sqrt() / (1.0 - b1.powf(p.t))) as f32;
                (3, [alpha, wd, beta_1, beta_2, epsilon])
            }
            OptimizerKind::Nadam { beta_1, beta_2, epsilon } => {
                let (u_t, u_next, product, product_next) = p.nadam.unwrap_or((0.0, 0.0, 1.0, 1.0));
                let c_m = (u_next / (1.0 - product_next)) as f32;
                let c_g = ((1.0 - u_t) / (1.0 - product)) as f32;
                let c_v = (1.0 / (1.0 - (beta_2 as f64).powf(p.t))) as f32;
                let f = [lr, wd, beta_1, beta_2, epsilon, c_m, c_g, c_v];
                return crate::backend::webgpu::UpdateRule { kind: 4, f };
            }
        };
        let mut all = [0.0f32; 8];
        all[..5].copy_from_slice(&f);
        crate::backend::webgpu::UpdateRule { kind, f: all }
    }
}

/// The per-step values every parameter's update shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepParams {
    /// Learning rate of this step.
    pub lr: f64,
    /// Step number, from 1.
    pub t: f64,
    /// Nadam's `(u_t, u_{t+1}, prod u_1..u_t, prod u_1..u_{t+1})`.
    pub nadam: Option<(f64, f64, f64, f64)>,
}
