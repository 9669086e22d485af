//! Helpers shared by the tensor operations that dispatch to GPU kernels (feature `wgpu`).
use std::sync::Arc;

use astrograd_kernels::wgpu::GpuBuffer;
pub use astrograd_kernels::wgpu::VIEW_ALIGNMENT;

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

/// Where a GPU op writes its result: a new buffer, or the numbers of a tensor it was asked to
/// write into (a gradient's place in an optimizer's flat buffer, see
/// `astrograd_optim`'s `flat` module).
pub(crate) enum Output {
    New(GpuBuffer),
    Into(Arc<GpuBuffer>),
}

impl Output {
    /// A new buffer for `shape`, or `into` when it is given and on the GPU.
    ///
    /// # Errors
    /// [`TensorError::Shape`] naming `op` if `into` does not have the result's shape; GPU
    /// errors.
    pub(crate) fn new(op: &'static str, shape: &[usize], into: Option<&Tensor>) -> Result<Output> {
        match into.and_then(|t| Some((t, t.shared_gpu_buffer()?))) {
            Some((t, buffer)) if t.shape() == shape => Ok(Output::Into(buffer)),
            Some((t, _)) => Err(TensorError::Shape {
                op,
                expected: format!("a tensor to write into of the result's shape {shape:?}"),
                found: format!("{:?}", t.shape()),
            }),
            None => Ok(Output::New(GpuBuffer::uninit(crate::shape::numel(shape))?)),
        }
    }

    /// The buffer the kernel writes.
    pub(crate) fn buffer(&self) -> &GpuBuffer {
        match self {
            Output::New(buffer) => buffer,
            Output::Into(buffer) => buffer,
        }
    }

    /// The result, of `shape`.
    pub(crate) fn finish(self, shape: &[usize]) -> Tensor {
        match self {
            Output::New(buffer) => Tensor::from_gpu(buffer, shape),
            Output::Into(buffer) => Tensor::from_shared_gpu(buffer, shape),
        }
    }
}

/// A GPU tensor of `shape` whose numbers are whatever its memory held: for a buffer each number
/// of which is written before it is read (an optimizer's flat gradient buffer).
///
/// # Errors
/// GPU errors (no GPU, out of memory).
pub fn uninit(shape: &[usize]) -> Result<Tensor> {
    Ok(Tensor::from_gpu(
        GpuBuffer::uninit(crate::shape::numel(shape))?,
        shape,
    ))
}

/// Copies `src`'s numbers into `dst`'s memory on the GPU, in order with the pending work. Every
/// tensor that shares `dst`'s numbers (its clones, and the buffer it is a view of) sees them:
/// this is how an optimizer puts a value into its place in a flat buffer.
///
/// # Errors
/// [`TensorError::Invalid`] unless both are on the GPU with the same number of elements.
pub fn copy_into(src: &Tensor, dst: &Tensor) -> Result<()> {
    match (src.gpu_buffer(), dst.gpu_buffer()) {
        (Some(s), Some(d)) if s.len() == d.len() => Ok(s.copy_to(d)?),
        _ => Err(TensorError::Invalid {
            op: "copy_into",
            msg: format!(
                "expected two GPU tensors of the same size, found {:?} on the {} and {:?} on \
                 the {}",
                src.shape(),
                src.device(),
                dst.shape(),
                dst.device()
            ),
        }),
    }
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

    /// The gradients the layers' backward ops make are written into a view when asked to
    /// (`into`): the same numbers as a new buffer's, bit for bit, and the result is the view,
    /// not a copy; a view whose shape is not the result's is an error. Values stay values:
    /// a clone counts as shared, and `copy_into` writes through a view into its buffer.
    #[test]
    fn gradients_are_written_into_a_view_when_asked() {
        use crate::nn::conv::{conv2d_backward_bias, conv2d_backward_weight};
        use crate::nn::dense::{dense_backward_bias, dense_backward_kernel};
        use astrograd_kernels::geometry::{Conv2dGeometry, Padding};
        let Some(gpu) = gpu() else { return };
        let on_gpu = |shape: &[usize], seed: u64| {
            let mut rng = crate::random::Rng::new(seed);
            let numbers = (0..crate::shape::numel(shape))
                .map(|_| rng.normal())
                .collect();
            Tensor::from_vec(numbers, shape).unwrap().to(gpu).unwrap()
        };
        let flat = Tensor::full_on(&[640], -9.0, gpu).unwrap();
        assert!(!flat.is_shared());
        let g =
            Conv2dGeometry::new([2, 6, 5, 3], [3, 3, 3, 4], [1, 1], [1, 1], Padding::Same).unwrap();
        let (x, dy) = (on_gpu(&[2, 6, 5, 3], 1), on_gpu(&[2, 6, 5, 4], 2));
        let (dense_x, dz) = (on_gpu(&[2, 3, 7], 3), on_gpu(&[2, 3, 5], 4));
        type Gradient<'a> = Box<dyn Fn(Option<&Tensor>) -> crate::Result<Tensor> + 'a>;
        let cases: [(usize, Vec<usize>, Gradient); 4] = [
            (
                0,
                vec![3, 3, 3, 4],
                Box::new(|into| conv2d_backward_weight(&g, &dy, &x, into)),
            ),
            (
                128,
                vec![4],
                Box::new(|into| conv2d_backward_bias(&g, &dy, into)),
            ),
            (
                192,
                vec![7, 5],
                Box::new(|into| dense_backward_kernel(&dz, &dense_x, into)),
            ),
            (
                256,
                vec![5],
                Box::new(|into| dense_backward_bias(&dz, into)),
            ),
        ];
        for (start, shape, gradient) in &cases {
            let view = flat.gpu_view(*start, shape).unwrap();
            let fresh = gradient(None).unwrap();
            let written = gradient(Some(&view)).unwrap();
            assert!(written.is_gpu_view_at(&flat, *start), "{shape:?}");
            assert!(!fresh.is_gpu_view_at(&flat, *start), "{shape:?}");
            assert_eq!(
                written.to_vec().unwrap(),
                fresh.to_vec().unwrap(),
                "{shape:?}"
            );
            let wrong = flat.gpu_view(*start, &[1]).unwrap();
            assert!(gradient(Some(&wrong)).is_err(), "{shape:?}");
        }
        // Only the stretches were written: the number after the dense kernel's 35 is untouched.
        assert_eq!(flat.to_vec().unwrap()[192 + 35], -9.0);
        let clone = flat.clone();
        assert!(flat.is_shared() && clone.is_shared());
        drop(clone);
        let ones = Tensor::full_on(&[5], 1.0, gpu).unwrap();
        crate::gpu::copy_into(&ones, &flat.gpu_view(512, &[5]).unwrap()).unwrap();
        assert_eq!(
            flat.to_vec().unwrap()[512..518],
            [1.0, 1.0, 1.0, 1.0, 1.0, -9.0]
        );
        let err = crate::gpu::copy_into(&ones, &Tensor::zeros(&[5])).unwrap_err();
        assert!(err.to_string().contains("two GPU tensors"), "{err}");
    }
}
