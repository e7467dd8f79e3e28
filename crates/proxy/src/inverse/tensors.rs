//! Conversions between pool arrays, rows of u and tensors, shared by training and the loaded
//! model.

use super::net::InverseNet;
use crate::error::Result;
use tch::{Device, Kind, Tensor};

/// Trajectories of rows `idx` of a (n × F × S) array as a normalized float tensor.
pub(super) fn trajectory_tensor(
    all: &ndarray::Array3<f64>,
    idx: &[usize],
    mean: f64,
    std: f64,
    device: Device,
) -> Tensor {
    let (_, f, s) = all.dim();
    let mut values = Vec::with_capacity(idx.len() * f * s);
    for &i in idx {
        values.extend(
            all.index_axis(ndarray::Axis(0), i)
                .iter()
                .map(|y| ((y - mean) / std) as f32),
        );
    }
    Tensor::from_slice(&values)
        .reshape([idx.len() as i64, f as i64, s as i64])
        .to_device(device)
}

pub(super) fn unit_tensor(rows: &[Vec<f64>], device: Device) -> Tensor {
    let d = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_slice(&flat)
        .reshape([rows.len() as i64, d as i64])
        .to_device(device)
}

pub(super) fn rows_of(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    let t = t.detach().to_device(Device::Cpu).to_kind(Kind::Double);
    let (b, d) = (t.size()[0] as usize, t.size()[1] as usize);
    let flat = Vec::<f64>::try_from(t.flatten(0, -1))?;
    Ok((0..b).map(|i| flat[i * d..(i + 1) * d].to_vec()).collect())
}

/// Predictions for many trajectories in batches, without gradients.
pub(super) fn predict_rows(
    net: &InverseNet,
    trajectories: &ndarray::Array3<f64>,
    mean: f64,
    std: f64,
    device: Device,
) -> Result<Vec<Vec<f64>>> {
    let n = trajectories.dim().0;
    let mut out = Vec::with_capacity(n);
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(256) {
        let y = trajectory_tensor(trajectories, chunk, mean, std, device);
        let u = tch::no_grad(|| net.unit(&net.raw(&y)));
        out.extend(rows_of(&u)?);
    }
    Ok(out)
}

/// A seeded permutation of `0..n` (torch's generator, seeded by the caller).
pub(super) fn permutation(n: usize) -> Result<Vec<usize>> {
    let p = Tensor::randperm(n as i64, (Kind::Int64, Device::Cpu));
    Ok(Vec::<i64>::try_from(p)?
        .into_iter()
        .map(|i| i as usize)
        .collect())
}
