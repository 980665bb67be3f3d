//! Prints the spread (standard deviation) of every layer's output of a zoo model on a random
//! input: a quick look at how a random initialisation propagates.
//! `cargo run --release --example layer_spread -- mobilenet_v2`
use convlab::graph::Model;
use convlab::nn::forward::forward_cpu;
use convlab::nn::weights::{KernelInit, SplitMix64, Weights};
use convlab::Tensor;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "mobilenet_v2".into());
    let model = Model::from_spec(convlab::zoo::spec(&name).expect("a zoo name")).unwrap();
    let weights = Weights::init_with(&model, 1, KernelInit::He).unwrap();
    let mut shape = vec![1];
    shape.extend_from_slice(model.input_shape());
    let mut rng = SplitMix64::new(2);
    let x: Vec<f32> = (0..shape.iter().product()).map(|_| rng.symmetric()).collect();
    let x = Tensor::new("x", "x", shape, x).unwrap();
    let keep: Vec<usize> = (1..model.nodes().len()).collect();
    #[allow(unused_variables)]
    let (y, maps) = forward_cpu(&model, &weights, &x, &keep).unwrap();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::args().nth(2).as_deref() == Some("gpu") {
        let gpu = pollster::block_on(convlab::backend::webgpu::GpuContext::new("")).unwrap();
        let gw = convlab::nn::forward_gpu::GpuWeights::upload(&gpu, &model, &weights).unwrap();
        let (gy, gmaps) =
            pollster::block_on(convlab::nn::forward_gpu::forward_gpu(&gpu, &model, &gw, &x, &keep))
                .unwrap();
        println!("cpu {:?}\ngpu {:?}", &y.data()[..4], &gy.data()[..4]);
        for (&i, (c, g)) in keep.iter().zip(maps.iter().zip(&gmaps)) {
            let d = c.data().iter().zip(g.data()).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            println!("{:40} max |cpu - gpu| {d:.3e}", model.nodes()[i].name);
        }
        return;
    }
    for (&i, m) in keep.iter().zip(&maps) {
        let v = m.data();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let sd = (v.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / v.len() as f32).sqrt();
        println!("{:40} {:?} mean {mean:.3e} sd {sd:.3e}", model.nodes()[i].name, m.shape());
    }
}
