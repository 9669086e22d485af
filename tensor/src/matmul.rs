//! Matrix products, 2-D and batched, on top of the GEMM kernel.
//!
//! `(M, K) · (K, N) → (M, N)`. A transposed operand is read through swapped strides
//! ([`MatRef::t`]), never copied: the backward of `Y = X·W` needs `dX = dY·Wᵀ` and
//! `dW = Xᵀ·dY`, which are the same kernel with different strides.
use astrograd_kernels::cpu::gemm::{gemm_uninit, MatRef};

use crate::{Result, Tensor, TensorError};

impl Tensor {
    /// Matrix product `a · b` of the last two axes; leading (batch) axes must be equal, or one
    /// operand must be a plain matrix shared by every batch entry.
    ///
    /// ```
    /// use astrograd_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let i = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2])?;
    /// assert_eq!(a.matmul(&i)?.to_vec(), a.to_vec());
    /// # Ok::<(), astrograd_tensor::TensorError>(())
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Shape`] if an operand has rank < 2, the inner sizes differ, or the batch
    /// axes do not match.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_t(other, false, false)
    }

    /// `op(a) · op(b)` where `op` transposes the last two axes when asked: `matmul_t(b, false,
    /// true)` is `a · bᵀ`.
    ///
    /// # Errors
    /// As [`Tensor::matmul`].
    pub fn matmul_t(&self, other: &Tensor, transpose_a: bool, transpose_b: bool) -> Result<Tensor> {
        self.matmul_t_into(other, transpose_a, transpose_b, None)
    }

    /// [`Tensor::matmul_t`], written on the GPU into `into` when it is given (a GPU tensor of
    /// the product's shape: a gradient's place in an optimizer's flat buffer); on the CPU
    /// `into` is not used.
    ///
    /// # Errors
    /// As [`Tensor::matmul`]; a shape error if `into` has another shape.
    pub fn matmul_t_into(
        &self,
        other: &Tensor,
        transpose_a: bool,
        transpose_b: bool,
        into: Option<&Tensor>,
    ) -> Result<Tensor> {
        #[cfg(not(feature = "wgpu"))]
        let _ = into;
        let shape_error = |expected: &str| TensorError::Shape {
            op: "matmul",
            expected: expected.to_string(),
            found: format!(
                "{:?}{} and {:?}{}",
                self.shape(),
                if transpose_a { "ᵀ" } else { "" },
                other.shape(),
                if transpose_b { "ᵀ" } else { "" }
            ),
        };
        if self.rank() < 2 || other.rank() < 2 {
            return Err(shape_error("two operands of rank ≥ 2"));
        }
        let (ra, rb) = (self.rank(), other.rank());
        let (a_rows, a_cols) = (self.shape()[ra - 2], self.shape()[ra - 1]);
        let (b_rows, b_cols) = (other.shape()[rb - 2], other.shape()[rb - 1]);
        let (m, k) = if transpose_a {
            (a_cols, a_rows)
        } else {
            (a_rows, a_cols)
        };
        let (k2, n) = if transpose_b {
            (b_cols, b_rows)
        } else {
            (b_rows, b_cols)
        };
        if k != k2 {
            return Err(shape_error("inner sizes that agree: (M, K) · (K, N)"));
        }
        let batch_a = &self.shape()[..ra - 2];
        let batch_b = &other.shape()[..rb - 2];
        let batch: Vec<usize> = match (batch_a.is_empty(), batch_b.is_empty()) {
            (_, true) => batch_a.to_vec(),
            (true, false) => batch_b.to_vec(),
            (false, false) if batch_a == batch_b => batch_a.to_vec(),
            _ => return Err(shape_error("equal batch axes, or one plain matrix")),
        };
        let count: usize = batch.iter().product();
        let mut out_shape = batch.clone();
        out_shape.extend([m, n]);
        #[cfg(feature = "wgpu")]
        if let Some((a, b)) = crate::gpu::pair("matmul", self, other)? {
            use astrograd_kernels::wgpu::matmul::{matmul, MatLayout, MatmulGeometry};
            // Each operand as stored, transposed through its strides, shared by every batch
            // entry (batch stride 0) when it is a plain matrix.
            let layout = |rows: usize, cols: usize, transpose: bool, plain: bool| {
                let mut l = MatLayout::row_major(rows, cols);
                if plain {
                    l.batch_stride = 0;
                }
                if transpose {
                    l.t()
                } else {
                    l
                }
            };
            let mut geometry = MatmulGeometry::row_major(count, m, k, n);
            geometry.a = layout(a_rows, a_cols, transpose_a, batch_a.is_empty());
            geometry.b = layout(b_rows, b_cols, transpose_b, batch_b.is_empty());
            let c = crate::gpu::Output::new("matmul", &out_shape, into)?;
            if k == 0 {
                astrograd_kernels::wgpu::elementwise::fill(c.buffer(), 0.0)?;
            } else {
                matmul(&geometry, a, b, 0.0, c.buffer())?;
            }
            return Ok(c.finish(&out_shape));
        }
        // out: written once by the products below (with β = 0 they never read it), so it
        // is not zeroed first — for a Dense kernel's gradient that fill cost as much as a
        // third of the product.
        let len = count * m * n;
        let mut out: Vec<f32> = Vec::with_capacity(len);
        let (a, b) = (self.as_slice()?, other.as_slice()?);
        let (a_step, b_step) = (
            if batch_a.is_empty() {
                0
            } else {
                a_rows * a_cols
            },
            if batch_b.is_empty() {
                0
            } else {
                b_rows * b_cols
            },
        );
        let uninit = &mut out.spare_capacity_mut()[..len];
        if count > 0 && m * n > 0 {
            if b_step == 0 && !transpose_a && a_step != 0 {
                // A batch of row blocks times one matrix is one tall product: (count·M, K)·(K, N).
                let a_mat = MatRef::row_major(a, count * m, k);
                gemm_uninit(a_mat, operand(b, b_rows, b_cols, transpose_b), uninit);
            } else {
                for (i, c) in uninit.chunks_mut(m * n).enumerate() {
                    let a_i = operand(
                        &a[i * a_step..i * a_step + a_rows * a_cols],
                        a_rows,
                        a_cols,
                        transpose_a,
                    );
                    let b_i = operand(
                        &b[i * b_step..i * b_step + b_rows * b_cols],
                        b_rows,
                        b_cols,
                        transpose_b,
                    );
                    gemm_uninit(a_i, b_i, c);
                }
            }
        }
        // SAFETY: the products above wrote all count·m·n elements (there are none when count or
        // m·n is 0).
        unsafe { out.set_len(len) };
        Tensor::from_vec(out, &out_shape)
    }
}

/// A row-major operand, transposed through its strides when `transpose` is set.
fn operand(data: &[f32], rows: usize, cols: usize, transpose: bool) -> MatRef<'_> {
    let mat = MatRef::row_major(data, rows, cols);
    if transpose {
        mat.t()
    } else {
        mat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The textbook triple loop, in f64.
    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                    .sum::<f64>() as f32;
            }
        }
        c
    }

    #[test]
    fn small_product() {
        let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let b = Tensor::from_vec(vec![7.0, 8.0, 9.0, 10.0, 11.0, 12.0], &[3, 2]).unwrap();
        assert_eq!(
            a.matmul(&b).unwrap().to_vec().unwrap(),
            vec![58.0, 64.0, 139.0, 154.0]
        );
        // aᵀ·aᵀᵀ… the transposed forms agree with explicit transposes.
        let at = a.transpose(0, 1).unwrap();
        assert_eq!(at.matmul_t(&b, true, false).unwrap(), a.matmul(&b).unwrap());
        let bt = b.transpose(0, 1).unwrap();
        assert_eq!(a.matmul_t(&bt, false, true).unwrap(), a.matmul(&b).unwrap());
    }

    #[test]
    fn shape_errors_name_both_shapes() {
        let err = Tensor::zeros(&[2, 3])
            .matmul(&Tensor::zeros(&[4, 5]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "matmul: expected inner sizes that agree: (M, K) · (K, N), found [2, 3] and [4, 5]"
        );
        assert!(Tensor::zeros(&[3]).matmul(&Tensor::zeros(&[3, 1])).is_err());
        assert!(Tensor::zeros(&[2, 2, 3])
            .matmul(&Tensor::zeros(&[3, 3, 1]))
            .is_err());
    }

    proptest! {
        #[test]
        fn batched_matches_reference(batch in 1usize..4, m in 1usize..20, k in 1usize..20, n in 1usize..20, shared in any::<bool>()) {
            let mut rng = crate::random::Rng::new((batch * 1000 + m * 100 + k * 10 + n) as u64);
            let a = Tensor::rand_uniform_with(&mut rng, &[batch, m, k], -1.0, 1.0);
            let b_shape: Vec<usize> = if shared { vec![k, n] } else { vec![batch, k, n] };
            let b = Tensor::rand_uniform_with(&mut rng, &b_shape, -1.0, 1.0);
            let c = a.matmul(&b).unwrap();
            prop_assert_eq!(c.shape(), &[batch, m, n]);
            for i in 0..batch {
                let ai = &a.as_slice().unwrap()[i * m * k..(i + 1) * m * k];
                let bi = if shared { b.as_slice().unwrap() } else { &b.as_slice().unwrap()[i * k * n..(i + 1) * k * n] };
                let expect = reference(ai, bi, m, k, n);
                for (x, y) in c.as_slice().unwrap()[i * m * n..(i + 1) * m * n].iter().zip(&expect) {
                    prop_assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()));
                }
            }
        }
    }
}
