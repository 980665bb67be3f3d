//! Trains the chapter's Fashion-MNIST CNN with the core's own CPU code, resumably: the run
//! directory keeps the weights and optimizer state (safetensors) and a progress file after
//! every 200 steps and every epoch, and a restarted run continues where the last checkpoint
//! left off (the same batch order, the same masks: a resumed run equals an uninterrupted one).
//!
//! ```sh
//! nice cargo run --release --example train_fashion -- [--epochs 20] [--run target/fashion-run]
//!     [--data /usr/share/datasets/fashion-mnist] [--batch 32] [--seed 42] [--backend cpu|webgpu]
//!     [--limit N]   (only the first N training images: a quick smoke run)
//!     [--workers N] (CPU: N threads, each computing the gradients of a contiguous share of
//!                    every batch, added in order and applied once: the one-thread run's curve
//!                    to rounding, as the browser's shard workers do)
//! ```
//! `--backend webgpu` runs every step on the GPU through wgpu (natively: Vulkan), with the
//! same batches, masks, augmentation and update formulas (src/train/gpu.rs); weights and
//! optimizer state come back to the CPU for each checkpoint.
//! Data: Debian's `dataset-fashion-mnist` (`apt-get install dataset-fashion-mnist`).
//! Recipe (the playground's default for this model): the chapter's Nadam (learning rate 1e-3)
//! and batch 32 with the last 5,000 training images held out, plus a cosine learning-rate decay
//! to 1% over the run and random shifts of up to 2 pixels with horizontal flips.
//! Each epoch prints and appends to `progress.jsonl`: losses, accuracies on the training
//! batches, the validation set and the full 10,000-image test set, wall time, samples/second.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use convlab::graph::Model;
use convlab::io::safetensors;
use convlab::nn::weights::Weights;
use convlab::train::augment::Augment;
use convlab::train::checkpoint::{restore_slots, slot_weights};
use convlab::train::data::{maybe_gunzip, shuffled};
use convlab::train::trainer::evaluate;
use convlab::train::{Dataset, Optimizer, OptimizerConfig, OptimizerKind, Schedule, Trainer};

struct Args {
    data: PathBuf,
    run: PathBuf,
    epochs: u64,
    batch: usize,
    seed: u64,
    webgpu: bool,
    limit: Option<usize>,
    workers: usize,
}

fn args() -> Args {
    let mut a = Args {
        data: "/usr/share/datasets/fashion-mnist".into(),
        run: "target/fashion-run".into(),
        epochs: 20,
        batch: 32,
        seed: 42,
        webgpu: false,
        limit: None,
        workers: 1,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--data" => a.data = value.into(),
            "--run" => a.run = value.into(),
            "--epochs" => a.epochs = value.parse().expect("--epochs N"),
            "--batch" => a.batch = value.parse().expect("--batch N"),
            "--seed" => a.seed = value.parse().expect("--seed N"),
            "--backend" => a.webgpu = value == "webgpu",
            "--limit" => a.limit = Some(value.parse().expect("--limit N")),
            "--workers" => a.workers = value.parse::<usize>().expect("--workers N").max(1),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn load(dir: &Path, images: &str, labels: &str) -> Dataset {
    let read = |name: &str| {
        let path = [format!("{name}.gz"), name.to_string()]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists());
        let path = path.unwrap_or_else(|| {
            panic!("{name}(.gz) not in {}: apt-get install dataset-fashion-mnist", dir.display())
        });
        let bytes = fs::read(&path).unwrap();
        maybe_gunzip(name, &bytes).unwrap().into_owned()
    };
    // Fashion-MNIST's training-set pixel mean and standard deviation (of pixel / 255).
    Dataset::from_idx(images, &read(images), labels, &read(labels), 10, (0.2860, 0.3530)).unwrap()
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Progress {
    epoch: u64,
    step_in_epoch: usize,
    optimizer_step: u64,
    nadam_product: f64,
    seconds: f64,
}

fn checkpoint(run: &Path, t: &Trainer, progress: &Progress) {
    let write = |name: &str, bytes: Vec<u8>| {
        let tmp = run.join(format!("{name}.tmp"));
        fs::write(&tmp, bytes).unwrap();
        fs::rename(&tmp, run.join(name)).unwrap(); // atomic: a kill never leaves half a file
    };
    write("weights.safetensors", safetensors::save(&t.model, &t.weights).unwrap());
    write(
        "slots_a.safetensors",
        safetensors::save(&t.model, &slot_weights(&t.model, &t.optimizer, false)).unwrap(),
    );
    write(
        "slots_b.safetensors",
        safetensors::save(&t.model, &slot_weights(&t.model, &t.optimizer, true)).unwrap(),
    );
    write("progress.json", serde_json::to_vec_pretty(progress).unwrap());
}

fn main() {
    let a = args();
    fs::create_dir_all(&a.run).unwrap();
    let train_all = load(&a.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    let test = load(&a.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    let (mut train, valid) = train_all.split_last(5000).unwrap();
    if let Some(n) = a.limit {
        train = train.split_last(train.len() - n.min(train.len() - 1)).unwrap().0;
    }
    let model = Model::from_spec(convlab::zoo::spec("fashion_mnist_cnn").unwrap()).unwrap();
    let steps_per_epoch = train.len() / a.batch;
    let config = OptimizerConfig {
        kind: OptimizerKind::keras("nadam").unwrap(),
        learning_rate: 1e-3,
        schedule: Schedule::Cosine { steps: a.epochs * steps_per_epoch as u64, floor: 0.01 },
        weight_decay: 0.0,
    };
    let augment = Augment { max_shift: 2, flip: true, ..Augment::default() };
    let mut t = Trainer {
        weights: Weights::init(&model, a.seed).unwrap(),
        model,
        optimizer: Optimizer::new(config).unwrap(),
        seed: a.seed,
    };
    let mut progress = Progress::default();
    if let Ok(text) = fs::read(a.run.join("progress.json")) {
        progress = serde_json::from_slice(&text).unwrap();
        t.weights =
            safetensors::load(&t.model, &fs::read(a.run.join("weights.safetensors")).unwrap())
                .unwrap();
        let sa = safetensors::load(&t.model, &fs::read(a.run.join("slots_a.safetensors")).unwrap())
            .unwrap();
        let sb = safetensors::load(&t.model, &fs::read(a.run.join("slots_b.safetensors")).unwrap())
            .unwrap();
        restore_slots(&t.model, &mut t.optimizer, &sa, &sb);
        t.optimizer.step = progress.optimizer_step;
        t.optimizer.nadam_product = progress.nadam_product;
        println!("resuming at epoch {} step {}", progress.epoch + 1, progress.step_in_epoch);
    }
    let mut device = Device::open(a.webgpu, a.workers, &t);
    let fill = -0.2860 / 0.3530; // a zero pixel, normalised
    while progress.epoch < a.epochs {
        let started = Instant::now();
        let base_seconds = progress.seconds;
        let order = shuffled(train.len(), a.seed ^ (progress.epoch + 1).wrapping_mul(0x9E37_79B9));
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let first_step = progress.step_in_epoch;
        for s in first_step..steps_per_epoch {
            let (x, labels) = train.batch(&order[s * a.batch..(s + 1) * a.batch]).unwrap();
            let x = augment
                .apply(&x, a.seed ^ t.optimizer.step.wrapping_mul(0xA24B_AED4), fill)
                .unwrap();
            let r = device.step(&mut t, &x, &labels);
            loss_sum += r.loss as f64 * labels.len() as f64;
            correct += r.correct;
            seen += labels.len();
            if (s + 1) % 200 == 0 && s + 1 < steps_per_epoch {
                progress.step_in_epoch = s + 1;
                progress.optimizer_step = t.optimizer.step;
                progress.nadam_product = t.optimizer.nadam_product;
                progress.seconds = base_seconds + started.elapsed().as_secs_f64();
                device.sync(&mut t);
                checkpoint(&a.run, &t, &progress);
                eprintln!(
                    "epoch {} step {}/{}: loss {:.4}",
                    progress.epoch + 1,
                    s + 1,
                    steps_per_epoch,
                    loss_sum / seen as f64
                );
            }
        }
        let train_seconds = started.elapsed().as_secs_f64();
        device.sync(&mut t);
        let v = device.evaluate(&t, &valid);
        let te = device.evaluate(&t, &test);
        progress.epoch += 1;
        progress.step_in_epoch = 0;
        progress.optimizer_step = t.optimizer.step;
        progress.nadam_product = t.optimizer.nadam_product;
        progress.seconds = base_seconds + started.elapsed().as_secs_f64();
        let line = serde_json::json!({
            "epoch": progress.epoch, "train_loss": loss_sum / seen.max(1) as f64,
            "train_accuracy": correct as f64 / seen.max(1) as f64,
            "valid_loss": v.loss, "valid_accuracy": v.accuracy, "test_loss": te.loss, "test_accuracy": te.accuracy,
            "learning_rate": t.optimizer.learning_rate(), "epoch_seconds": started.elapsed().as_secs_f64(),
            "train_samples_per_second": seen as f64 / train_seconds, "total_seconds": progress.seconds,
            "resumed_at_step": first_step, "backend": device.name(), "workers": device.workers(),
        });
        println!("{line}");
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(a.run.join("progress.jsonl"))
            .unwrap();
        use std::io::Write;
        writeln!(log, "{line}").unwrap();
        checkpoint(&a.run, &t, &progress);
    }
}

/// Where the steps run: the CPU path, or the GPU with the trainer's state on the device.
enum Device {
    Cpu,
    /// The CPU path on several threads: one trainer per extra thread for its shard.
    CpuThreads(Vec<Trainer>),
    #[cfg(not(target_arch = "wasm32"))]
    Gpu(Box<(convlab::backend::webgpu::GpuContext, convlab::train::gpu::GpuTrainer)>),
}

impl Device {
    #[cfg(not(target_arch = "wasm32"))]
    fn open(webgpu: bool, workers: usize, t: &Trainer) -> Self {
        if !webgpu {
            return Self::cpu(workers, t);
        }
        let ctx = pollster::block_on(convlab::backend::webgpu::GpuContext::new("")).unwrap();
        println!("WebGPU adapter: {:?}", ctx.adapter());
        let g = convlab::train::gpu::GpuTrainer::new(&ctx, t).unwrap();
        Self::Gpu(Box::new((ctx, g)))
    }

    #[cfg(target_arch = "wasm32")]
    fn open(webgpu: bool, workers: usize, t: &Trainer) -> Self {
        assert!(!webgpu, "--backend webgpu runs natively only");
        Self::cpu(workers, t)
    }

    fn cpu(workers: usize, t: &Trainer) -> Self {
        match workers {
            1 => Self::Cpu,
            n => Self::CpuThreads(vec![t.clone(); n - 1]),
        }
    }

    fn workers(&self) -> usize {
        match self {
            Self::CpuThreads(others) => others.len() + 1,
            _ => 1,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Cpu | Self::CpuThreads(_) => "cpu",
            #[cfg(not(target_arch = "wasm32"))]
            Self::Gpu(_) => "webgpu",
        }
    }

    fn step(
        &mut self,
        t: &mut Trainer,
        x: &convlab::Tensor,
        labels: &[u32],
    ) -> convlab::nn::backward::BatchResult {
        match self {
            Self::Cpu => t.step(x, labels).unwrap(),
            Self::CpuThreads(others) => sharded_step(t, others, x, labels),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Gpu(b) => {
                let (ctx, g) = &mut **b;
                pollster::block_on(g.step(ctx, t, x, labels)).unwrap()
            }
        }
    }

    /// Brings the device's weights and optimizer state into `t` (for checkpoints).
    fn sync(&self, t: &mut Trainer) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Self::Gpu(b) = self {
            pollster::block_on(b.1.sync(&b.0, t)).unwrap();
        }
        let _ = t;
    }

    fn evaluate(&self, t: &Trainer, data: &Dataset) -> convlab::train::Evaluation {
        match self {
            Self::Cpu | Self::CpuThreads(_) => evaluate(&t.model, &t.weights, data, 250).unwrap(),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Gpu(b) => pollster::block_on(b.1.evaluate(&b.0, &t.model, data, 250)).unwrap(),
        }
    }
}

/// One step with the batch cut into contiguous shards, one per thread (`t` takes the first):
/// every shard's gradients with the whole batch's dropout seed, added in shard order, applied
/// once by `t`. Batch norm (absent from this model) would use per-shard statistics.
fn sharded_step(
    t: &mut Trainer,
    others: &mut [Trainer],
    x: &convlab::Tensor,
    labels: &[u32],
) -> convlab::nn::backward::BatchResult {
    let n = labels.len();
    let parts = others.len() + 1;
    let per_image: usize = x.shape()[1..].iter().product();
    let bounds: Vec<(usize, usize)> =
        (0..parts).map(|p| (p * n / parts, (p + 1) * n / parts)).collect();
    let shard = |(a, b): (usize, usize)| {
        let mut shape = x.shape().to_vec();
        shape[0] = b - a;
        let data = x.data()[a * per_image..b * per_image].to_vec();
        (convlab::Tensor::new("train", "x", shape, data).unwrap(), &labels[a..b])
    };
    let seed = t.step_seed();
    for o in others.iter_mut() {
        o.weights.clone_from(&t.weights);
    }
    let (mut first, rest) = std::thread::scope(|scope| {
        let handles: Vec<_> = others
            .iter_mut()
            .zip(&bounds[1..])
            .map(|(o, &(a, b))| {
                let (xs, ls) = shard((a, b));
                scope.spawn(move || o.shard_gradients(&xs, ls, seed, a, n).unwrap())
            })
            .collect();
        let (xs, ls) = shard(bounds[0]);
        let first = t.shard_gradients(&xs, ls, seed, 0, n).unwrap();
        let rest: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (first, rest)
    });
    let mut loss = first.0.loss as f64 * (bounds[0].1 - bounds[0].0) as f64;
    for ((r, g), &(a, b)) in rest.iter().zip(&bounds[1..]) {
        first.1.add_trainable_flat(&t.model, &g.trainable_flat(&t.model)).unwrap();
        loss += r.loss as f64 * (b - a) as f64;
        first.0.correct += r.correct;
    }
    t.apply(&first.1).unwrap();
    first.0.loss = (loss / n as f64) as f32;
    first.0
}
