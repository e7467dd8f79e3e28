//! libtorch works through tch on this machine: a small MLP trained with Adam on CPU fits a
//! smooth function, reducing its loss at least tenfold from a fixed seed.

use openblas_src as _;

use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

#[test]
fn small_mlp_trained_with_adam_reduces_its_loss_tenfold() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let net = nn::seq()
        .add(nn::linear(&root / "l1", 1, 32, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(&root / "l2", 32, 1, Default::default()));
    let x = Tensor::linspace(-1.0, 1.0, 64, (Kind::Float, Device::Cpu)).unsqueeze(1);
    let y = (&x * 3.0).sin();
    let loss_of = |net: &nn::Sequential| net.forward(&x).mse_loss(&y, Reduction::Mean);
    let initial = loss_of(&net).double_value(&[]);
    let mut opt = nn::Adam::default().build(&vs, 1e-2).unwrap();
    for _ in 0..400 {
        let loss = loss_of(&net);
        opt.backward_step(&loss);
    }
    let last = loss_of(&net).double_value(&[]);
    assert!(last * 10.0 < initial, "loss {initial} -> {last}");
}
