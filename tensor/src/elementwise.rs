//! Elementwise math with numpy broadcasting, and comparisons.
//!
//! A binary operation first finds the shape both operands broadcast to
//! ([`crate::shape::broadcast_shape`]), then applies `f(a, b)` at every position. Large tensors
//! are split across threads (operands of one shape in the chunks of `kernels/src/cpu/map.rs`);
//! each output element is computed by exactly one thread from the same inputs, so the result
//! does not depend on the thread count.
use ndarray::{ArrayD, IxDyn, Zip};

use astrograd_kernels::cpu::map as cpu_map;
pub use astrograd_kernels::elementwise::{BinaryOp, UnaryOp};
#[cfg(feature = "wgpu")]
use astrograd_kernels::wgpu::{elementwise as gpu, GpuBuffer};

use crate::shape::broadcast_shape;
use crate::{Result, Tensor};

/// Below this many elements, threads cost more than they save.
const PARALLEL_MIN: usize = 1 << 15;

impl Tensor {
    /// `f(a, b)` at every position of the broadcast shape (on the host: a closure cannot run
    /// on a GPU; use [`Tensor::binary`] there).
    ///
    /// # Errors
    /// [`crate::TensorError::Shape`] naming `op` if the shapes do not broadcast.
    pub fn zip_with(
        &self,
        other: &Tensor,
        op: &'static str,
        f: impl Fn(f32, f32) -> f32 + Sync + Send,
    ) -> Result<Tensor> {
        let shape = broadcast_shape(op, self.shape(), other.shape())?;
        if self.shape() == other.shape() {
            let data = cpu_map::zip_map(self.as_slice()?, other.as_slice()?, f);
            return Tensor::from_vec(data, &shape);
        }
        let a = self
            .cpu_array()?
            .broadcast(IxDyn(&shape))
            .expect("shape checked by broadcast_shape");
        let b = other
            .cpu_array()?
            .broadcast(IxDyn(&shape))
            .expect("shape checked by broadcast_shape");
        let zip = Zip::from(&a).and(&b);
        let out: ArrayD<f32> = if crate::shape::numel(&shape) >= PARALLEL_MIN {
            zip.par_map_collect(|&x, &y| f(x, y))
        } else {
            zip.map_collect(|&x, &y| f(x, y))
        };
        Ok(Tensor::from_array(out))
    }

    /// `f(x)` at every position (on the host; use [`Tensor::unary`] on a GPU).
    ///
    /// # Errors
    /// [`TensorError::NotOnHost`](crate::TensorError::NotOnHost) for a tensor on the GPU.
    pub fn map(&self, f: impl Fn(f32) -> f32 + Sync + Send) -> Result<Tensor> {
        Ok(self.map_host(self.as_slice()?, f))
    }

    /// `f` over `x`, the numbers of this tensor on the host.
    fn map_host(&self, x: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) -> Tensor {
        Tensor::from_vec(cpu_map::map(x, f), self.shape()).expect("same length as self")
    }

    /// `op(x)` at every position, on the tensor's device: the named form of [`Tensor::map`]
    /// that also runs on a GPU.
    pub fn unary(&self, op: UnaryOp) -> Tensor {
        #[cfg(feature = "wgpu")]
        if let Some(x) = self.gpu_buffer() {
            // Neither can fail: `x` proves the GPU is open and that `x.len()` numbers fit one
            // binding (checked when `x` was made), and the kernel takes any length.
            let y = GpuBuffer::uninit(x.len()).expect("a buffer as long as x fits this GPU");
            gpu::unary(op, x, &y).expect("elementwise kernels accept every bindable length");
            return Tensor::from_gpu(y, self.shape());
        }
        // The common ones get a closure of their own, in which the op is a constant: the
        // compiler inlines its definition and vectorises the loop. The others look their
        // definition up once and call it per element.
        let x = self.host();
        match op {
            UnaryOp::Relu => self.map_host(x, |x| UnaryOp::Relu.apply(x)),
            UnaryOp::MulScalar(s) => self.map_host(x, |x| UnaryOp::MulScalar(s).apply(x)),
            UnaryOp::AddScalar(s) => self.map_host(x, |x| UnaryOp::AddScalar(s).apply(x)),
            UnaryOp::Exp => self.map_host(x, |x| UnaryOp::Exp.apply(x)),
            _ => {
                let definition = op.definition();
                let (f, fields) = (definition.f, definition.fields);
                self.map_host(x, move |x| f(x, fields))
            }
        }
    }

    /// `dx = dout · f′` at every position, with `self` as `dout` and `saved` the op's input
    /// `x` or output `y` (as [`UnaryOp::backward_reads`] says): the backward of an activation,
    /// on the operands' device, from the derivative declared beside `f` in
    /// `kernels/src/elementwise.rs`.
    ///
    /// # Errors
    /// [`TensorError::Shape`](crate::TensorError::Shape) if `saved` and `self` differ in shape;
    /// [`TensorError::Device`](crate::TensorError::Device) if they are on different devices.
    ///
    /// # Panics
    /// If `op` has no declared backward (`backward_reads` is `None`): a bug in the caller.
    pub fn unary_backward(&self, op: UnaryOp, saved: &Tensor) -> Result<Tensor> {
        let definition = op.definition();
        let Some(backward) = definition.backward else {
            panic!(
                "{}: no backward declared in kernels/src/elementwise.rs",
                definition.name
            );
        };
        if self.shape() != saved.shape() {
            return Err(crate::TensorError::Shape {
                op: op.name(),
                expected: format!(
                    "dout and the saved values of one shape ({:?})",
                    self.shape()
                ),
                found: format!("{:?}", saved.shape()),
            });
        }
        #[cfg(feature = "wgpu")]
        if let Some((dout, saved)) = crate::gpu::pair(op.name(), self, saved)? {
            let dx = GpuBuffer::uninit(dout.len())?;
            gpu::unary_backward(op, dout, saved, &dx)?;
            return Ok(Tensor::from_gpu(dx, self.shape()));
        }
        let (dout, saved) = (self.as_slice()?, saved.as_slice()?);
        let dx = match op {
            // ReLU's, the most common, with the op a constant (see `unary`).
            UnaryOp::Relu => cpu_map::zip_map(dout, saved, |g, x| UnaryOp::Relu.backward(g, x)),
            _ => {
                let (dx, fields) = (backward.dx, definition.fields);
                cpu_map::zip_map(dout, saved, move |g, v| dx(g, v, fields))
            }
        };
        Tensor::from_vec(dx, self.shape())
    }

    /// `op(a, b)` at every position of the broadcast shape, on the operands' device: the
    /// named form of [`Tensor::zip_with`] that also runs on a GPU.
    ///
    /// # Errors
    /// [`TensorError::Shape`](crate::TensorError::Shape) naming the op if the shapes do not
    /// broadcast; [`TensorError::Device`](crate::TensorError::Device) if the operands are on
    /// different devices.
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        let name = op.name();
        #[cfg(feature = "wgpu")]
        if let Some((a, b)) = crate::gpu::pair(name, self, other)? {
            let shape = broadcast_shape(name, self.shape(), other.shape())?;
            let z = GpuBuffer::uninit(crate::shape::numel(&shape))?;
            gpu::binary(op, a, self.shape(), b, other.shape(), &shape, &z)?;
            return Ok(Tensor::from_gpu(z, &shape));
        }
        // The common ones with the op a constant (see `unary`).
        match op {
            BinaryOp::Add => self.zip_with(other, name, |a, b| BinaryOp::Add.apply(a, b)),
            BinaryOp::Sub => self.zip_with(other, name, |a, b| BinaryOp::Sub.apply(a, b)),
            BinaryOp::Mul => self.zip_with(other, name, |a, b| BinaryOp::Mul.apply(a, b)),
            BinaryOp::Div => self.zip_with(other, name, |a, b| BinaryOp::Div.apply(a, b)),
            _ => self.zip_with(other, name, op.definition().f),
        }
    }

    /// `a + b`, broadcasting.
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, other)
    }

    /// `a − b`, broadcasting.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, other)
    }

    /// `a · b` elementwise, broadcasting.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, other)
    }

    /// `a / b` elementwise, broadcasting (IEEE: `x / 0` is ±∞ or NaN).
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Div, other)
    }

    /// `aᵇ` elementwise, broadcasting.
    pub fn pow(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Pow, other)
    }

    /// `max(a, b)` elementwise, broadcasting (NaN propagates).
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Maximum, other)
    }

    /// `min(a, b)` elementwise, broadcasting (NaN propagates).
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Minimum, other)
    }

    /// `x + s`.
    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.unary(UnaryOp::AddScalar(s))
    }

    /// `x · s`.
    pub fn mul_scalar(&self, s: f32) -> Tensor {
        self.unary(UnaryOp::MulScalar(s))
    }

    /// `xᵖ` for a fixed exponent.
    pub fn powf(&self, p: f32) -> Tensor {
        self.unary(UnaryOp::PowScalar(p))
    }

    /// `−x`.
    pub fn neg(&self) -> Tensor {
        self.unary(UnaryOp::Neg)
    }

    /// `eˣ`.
    pub fn exp(&self) -> Tensor {
        self.unary(UnaryOp::Exp)
    }

    /// Natural logarithm.
    pub fn ln(&self) -> Tensor {
        self.unary(UnaryOp::Ln)
    }

    /// `√x`.
    pub fn sqrt(&self) -> Tensor {
        self.unary(UnaryOp::Sqrt)
    }

    /// `|x|`.
    pub fn abs(&self) -> Tensor {
        self.unary(UnaryOp::Abs)
    }

    /// `x` clipped into `[low, high]`.
    pub fn clamp(&self, low: f32, high: f32) -> Tensor {
        self.unary(UnaryOp::Clamp(low, high))
    }

    /// 1.0 where `a == b`, else 0.0 (broadcasting).
    pub fn eq_elem(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Eq, other)
    }

    /// 1.0 where `a != b`, else 0.0 (broadcasting).
    pub fn ne_elem(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Ne, other)
    }

    /// 1.0 where `a > b`, else 0.0 (broadcasting).
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Gt, other)
    }

    /// 1.0 where `a >= b`, else 0.0 (broadcasting).
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Ge, other)
    }

    /// 1.0 where `a < b`, else 0.0 (broadcasting).
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Lt, other)
    }

    /// 1.0 where `a <= b`, else 0.0 (broadcasting).
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Le, other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape).unwrap()
    }

    #[test]
    fn bias_broadcasts_over_rows() {
        // (2, 3) + (3,): numpy `x + b`.
        let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let b = t(&[10.0, 20.0, 30.0], &[3]);
        assert_eq!(
            x.add(&b).unwrap().to_vec().unwrap(),
            vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
        );
        // (3, 1) · (1, 2) → (3, 2): an outer product.
        let col = t(&[1.0, 2.0, 3.0], &[3, 1]);
        let row = t(&[1.0, 10.0], &[1, 2]);
        let outer = col.mul(&row).unwrap();
        assert_eq!(outer.shape(), &[3, 2]);
        assert_eq!(
            outer.to_vec().unwrap(),
            vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0]
        );
    }

    #[test]
    fn mismatched_shapes_are_an_error() {
        let err = Tensor::zeros(&[2, 3])
            .sub(&Tensor::zeros(&[2]))
            .unwrap_err();
        assert!(err.to_string().starts_with("sub:"), "{err}");
    }

    #[test]
    fn comparisons_give_indicators() {
        let a = t(&[1.0, 2.0, 3.0], &[3]);
        let two = Tensor::scalar(2.0);
        assert_eq!(a.gt(&two).unwrap().to_vec().unwrap(), vec![0.0, 0.0, 1.0]);
        assert_eq!(a.le(&two).unwrap().to_vec().unwrap(), vec![1.0, 1.0, 0.0]);
        assert_eq!(
            a.eq_elem(&two).unwrap().to_vec().unwrap(),
            vec![0.0, 1.0, 0.0]
        );
        assert_eq!(
            a.maximum(&two).unwrap().to_vec().unwrap(),
            vec![2.0, 2.0, 3.0]
        );
    }

    proptest! {
        /// Broadcasting a row over a matrix agrees with the explicit loop, for large sizes too
        /// (which take the parallel path).
        #[test]
        fn broadcast_matches_loops(rows in 1usize..300, cols in 1usize..300) {
            let x = Tensor::arange(0.0, (rows * cols) as f32, 1.0).unwrap().reshape(&[rows, cols]).unwrap();
            let b = Tensor::arange(0.0, cols as f32, 1.0).unwrap();
            let y = x.mul(&b).unwrap();
            for r in 0..rows {
                for c in 0..cols {
                    let expect = (r * cols + c) as f32 * c as f32;
                    prop_assert_eq!(y.as_slice().unwrap()[r * cols + c], expect);
                }
            }
        }
    }
}
