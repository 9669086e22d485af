//! Helpers shared by the tensor operations that dispatch to GPU kernels (feature `wgpu`).
use astrograd_kernels::wgpu::GpuBuffer;

use crate::{Result, Tensor, TensorError};

/// The GPU buffers of two operands: `None` when both are on the CPU, an error when they are
/// on different devices.
///
/// # Errors
/// [`TensorError::Device`] naming `op` and the two devices.
pub(crate) fn pair<'a>(
    op: &'static str,
    a: &'a Tensor,
    b: &'a Tensor,
) -> Result<Option<(&'a GpuBuffer, &'a GpuBuffer)>> {
    match (a.gpu_buffer(), b.gpu_buffer()) {
        (None, None) => Ok(None),
        (Some(x), Some(y)) => Ok(Some((x, y))),
        _ => Err(TensorError::Device {
            op,
            found: format!("{} and {}", a.device(), b.device()),
        }),
    }
}

/// Every tensor of `tensors` on the GPU (`Some`), every one on the CPU (`None`), or an error.
///
/// # Errors
/// [`TensorError::Device`] naming `op` when they are mixed.
pub fn all_on_gpu<'a>(
    op: &'static str,
    tensors: &[&'a Tensor],
) -> Result<Option<Vec<&'a GpuBuffer>>> {
    let buffers: Vec<Option<&GpuBuffer>> = tensors.iter().map(|t| t.gpu_buffer()).collect();
    if buffers.iter().all(Option::is_none) {
        return Ok(None);
    }
    if buffers.iter().all(Option::is_some) {
        return Ok(Some(buffers.into_iter().flatten().collect()));
    }
    let devices: Vec<String> = tensors.iter().map(|t| t.device().to_string()).collect();
    Err(TensorError::Device {
        op,
        found: devices.join(", "),
    })
}

/// The GPU, for a test that can also run without one: `None` where there is no GPU, the skip
/// recorded by [`astrograd_kernels::test_env::skip`] (standard error and `ASTROGRAD_SKIP_LOG`) —
/// unless `ASTROGRAD_REQUIRE_GPU` requires a GPU (CI sets it once it has installed a software
/// Vulkan driver), when a missing GPU panics, so that GPU tests cannot pass by skipping.
pub fn gpu_or_skip() -> Option<crate::Device> {
    use astrograd_kernels::test_env;
    match crate::Device::gpu() {
        Ok(device) => Some(device),
        Err(e) => {
            test_env::skip(test_env::REQUIRE_GPU, &format!("no GPU: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Device, Tensor, TensorError, UnaryOp};

    /// The GPU, or `None` (with a note) where there is none; CI sets `ASTROGRAD_REQUIRE_GPU`.
    fn gpu() -> Option<Device> {
        crate::gpu::gpu_or_skip()
    }

    fn t(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = crate::random::Rng::new(seed);
        Tensor::rand_uniform_with(&mut rng, shape, -2.0, 2.0)
    }

    fn assert_close(gpu: &Tensor, cpu: &Tensor, what: &str) {
        assert_eq!(
            gpu.device(),
            crate::Device::Gpu,
            "{what}: result left the GPU"
        );
        assert_eq!(gpu.shape(), cpu.shape(), "{what}: shape");
        assert!(gpu.all_close(cpu, 1e-5, 1e-5), "{what}: {gpu} vs {cpu}");
    }

    #[test]
    fn round_trip_keeps_shape_and_numbers() {
        let Some(gpu) = gpu() else { return };
        let x = t(&[3, 5, 2], 1);
        let on_gpu = x.to(gpu).unwrap();
        assert_eq!(on_gpu.device(), gpu);
        assert_eq!(on_gpu.shape(), &[3, 5, 2]);
        assert_eq!(on_gpu.to(Device::Cpu).unwrap(), x);
        assert_eq!(on_gpu.to_vec(), x.to_vec());
        assert_eq!(on_gpu.reshape(&[15, 2]).unwrap().to_vec(), x.to_vec());
    }

    #[test]
    fn elementwise_reductions_and_matmul_match_the_cpu() {
        let Some(gpu) = gpu() else { return };
        let (a, b) = (t(&[4, 3, 5], 2), t(&[3, 1], 3));
        let (ga, gb) = (a.to(gpu).unwrap(), b.to(gpu).unwrap());
        assert_close(
            &ga.add(&gb).unwrap(),
            &a.add(&b).unwrap(),
            "add with broadcasting",
        );
        assert_close(&ga.mul(&gb).unwrap(), &a.mul(&b).unwrap(), "mul");
        assert_close(
            &ga.unary_backward(UnaryOp::Relu, &ga).unwrap(),
            &a.unary_backward(UnaryOp::Relu, &a).unwrap(),
            "relu backward",
        );
        assert_close(
            &ga.unary(UnaryOp::Sigmoid),
            &a.unary(UnaryOp::Sigmoid),
            "sigmoid",
        );
        assert_close(&ga.mul_scalar(0.5), &a.mul_scalar(0.5), "mul_scalar");
        assert_close(
            &ga.sum_axes(&[0, 2], true).unwrap(),
            &a.sum_axes(&[0, 2], true).unwrap(),
            "sum_axes",
        );
        assert_close(
            &ga.max_axes(&[1], false).unwrap(),
            &a.max_axes(&[1], false).unwrap(),
            "max_axes",
        );
        assert_close(&ga.sum_all(), &a.sum_all(), "sum_all");
        assert_close(&ga.mean_all().unwrap(), &a.mean_all().unwrap(), "mean_all");
        let upstream = t(&[4, 3, 5], 4);
        assert_close(
            &upstream.to(gpu).unwrap().sum_to_shape(&[3, 1]).unwrap(),
            &upstream.sum_to_shape(&[3, 1]).unwrap(),
            "sum_to_shape",
        );
        let (x, w) = (t(&[7, 5], 5), t(&[9, 5], 6));
        let (gx, gw) = (x.to(gpu).unwrap(), w.to(gpu).unwrap());
        assert_close(
            &gx.matmul_t(&gw, false, true).unwrap(),
            &x.matmul_t(&w, false, true).unwrap(),
            "x·wᵀ",
        );
        assert_close(
            &gx.matmul_t(&gx, true, false).unwrap(),
            &x.matmul_t(&x, true, false).unwrap(),
            "xᵀ·x",
        );
        let batched = t(&[2, 7, 5], 7);
        assert_close(
            &batched.to(gpu).unwrap().matmul_t(&gw, false, true).unwrap(),
            &batched.matmul_t(&w, false, true).unwrap(),
            "batched x·wᵀ",
        );
        assert_close(
            &Tensor::zeros_like(&ga),
            &Tensor::zeros(&[4, 3, 5]),
            "zeros_like",
        );
        assert_close(
            &ga.permute(&[2, 0, 1]).unwrap(),
            &a.permute(&[2, 0, 1]).unwrap(),
            "permute",
        );
        for (axis, start, end) in [(0, 1, 3), (1, 2, 3), (2, 0, 5), (2, 1, 4)] {
            assert_close(
                &ga.slice_axis(axis, start, end).unwrap(),
                &a.slice_axis(axis, start, end).unwrap(),
                "slice_axis",
            );
        }
        assert_close(
            &gb.broadcast_to(&[2, 3, 4]).unwrap(),
            &b.broadcast_to(&[2, 3, 4]).unwrap(),
            "broadcast_to",
        );
        assert!(
            gb.broadcast_to(&[2, 4]).is_err(),
            "(3, 1) does not broadcast to (2, 4)"
        );
    }

    #[test]
    fn mixed_devices_and_host_only_ops_are_errors() {
        let Some(gpu) = gpu() else { return };
        let a = t(&[2, 2], 8);
        let g = a.to(gpu).unwrap();
        let err = g.add(&a).unwrap_err();
        assert!(
            matches!(err, TensorError::Device { op: "add", .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "add: expected operands on one device, found gpu and cpu"
        );
        let err = Tensor::concat(&[&g, &a], 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "concat: expected operands on one device, found a tensor on the gpu and one on the cpu"
        );
        let err = Tensor::stack(&[&a, &g], 1).unwrap_err();
        assert!(
            matches!(err, TensorError::Device { op: "stack", .. }),
            "{err}"
        );
    }

    /// `select`, `concat`, `stack` and `argmax` run on the GPU and give the CPU's numbers, on
    /// every axis; the indices `select` takes are checked on the host first.
    #[test]
    fn indexing_and_joining_match_the_cpu() {
        let Some(gpu) = gpu() else { return };
        let (a, b, c) = (t(&[3, 4, 2], 10), t(&[3, 1, 2], 11), t(&[3, 4, 2], 12));
        let on = |x: &Tensor| x.to(gpu).unwrap();
        let (ga, gb, gc) = (on(&a), on(&b), on(&c));
        for (axis, indices) in [(0, vec![2, 0, 2]), (1, vec![3, 1]), (2, vec![1, 1, 0, 1])] {
            assert_close(
                &ga.select(axis, &indices).unwrap(),
                &a.select(axis, &indices).unwrap(),
                &format!("select axis {axis}"),
            );
        }
        assert_close(
            &ga.select(0, &[]).unwrap(),
            &a.select(0, &[]).unwrap(),
            "select nothing",
        );
        let err = ga.select(1, &[4]).unwrap_err().to_string();
        assert!(err.contains("expected indices below 4 on axis 1"), "{err}");
        assert_close(
            &Tensor::concat(&[&ga, &gb, &gc], 1).unwrap(),
            &Tensor::concat(&[&a, &b, &c], 1).unwrap(),
            "concat axis 1",
        );
        for axis in [0, 2] {
            assert_close(
                &Tensor::concat(&[&ga, &gc], axis).unwrap(),
                &Tensor::concat(&[&a, &c], axis).unwrap(),
                &format!("concat axis {axis}"),
            );
        }
        for axis in 0..=3 {
            assert_close(
                &Tensor::stack(&[&ga, &gc, &ga], axis).unwrap(),
                &Tensor::stack(&[&a, &c, &a], axis).unwrap(),
                &format!("stack axis {axis}"),
            );
        }
        // Ties: the first index wins on both devices.
        let tied = Tensor::from_vec(vec![1.0, 3.0, 3.0, -1.0, 0.5, 0.5], &[2, 3]).unwrap();
        for (x, gx) in [(&a, &ga), (&tied, &on(&tied))] {
            for axis in 0..x.rank() {
                assert_close(
                    &gx.argmax(axis).unwrap(),
                    &x.argmax(axis).unwrap(),
                    &format!("argmax axis {axis} of {:?}", x.shape()),
                );
            }
        }
    }

    /// Host code that asks for a GPU tensor's numbers in place gets an error, not a panic;
    /// `to_vec` reads them back.
    #[test]
    fn host_access_to_a_gpu_tensor_is_an_error() {
        let Some(gpu) = gpu() else { return };
        let a = t(&[2, 3], 9);
        let mut g = a.to(gpu).unwrap();
        for (err, op) in [
            (g.as_slice().unwrap_err(), "as_slice"),
            (g.cpu_array().unwrap_err(), "cpu_array"),
            (g.map(|v| v + 1.0).unwrap_err(), "as_slice"),
        ] {
            assert_eq!(err, TensorError::NotOnHost { op });
            assert!(
                err.to_string().contains("copy it with `.to(Device::Cpu)`"),
                "{err}"
            );
        }
        assert_eq!(
            g.as_mut_slice().unwrap_err(),
            TensorError::NotOnHost { op: "as_mut_slice" }
        );
        assert_eq!(g.to_vec().unwrap(), a.to_vec().unwrap());
        assert_eq!(g.count_non_finite().unwrap(), 0);
        assert_eq!(
            format!("{g}"),
            format!("{a}").replace("device=cpu", "device=gpu")
        );
    }
}
