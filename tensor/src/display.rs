//! A readable `Display`, in the spirit of numpy's and PyTorch's printing: nested brackets,
//! four decimals, long axes summarised with `…`, and the shape at the end.
use std::fmt;

use crate::Tensor;

/// Axes longer than this show their first and last `EDGE` entries.
const SUMMARISE_ABOVE: usize = 8;
const EDGE: usize = 3;

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A GPU tensor that cannot be read back says so instead of printing numbers.
        let Ok(data) = self.to_vec() else {
            return write!(
                f,
                "Tensor(<unreadable GPU memory>, shape={:?})",
                self.shape()
            );
        };
        write!(f, "Tensor(")?;
        write_nested(f, &data, self.shape(), 7)?;
        write!(f, ", shape={:?}, device={})", self.shape(), self.device())
    }
}

fn write_nested(
    f: &mut fmt::Formatter<'_>,
    data: &[f32],
    shape: &[usize],
    indent: usize,
) -> fmt::Result {
    let Some((&len, inner)) = shape.split_first() else {
        return write!(f, "{:.4}", data[0]);
    };
    let step: usize = inner.iter().product();
    let shown: Vec<Option<usize>> = if len > SUMMARISE_ABOVE {
        (0..EDGE)
            .map(Some)
            .chain([None])
            .chain((len - EDGE..len).map(Some))
            .collect()
    } else {
        (0..len).map(Some).collect()
    };
    write!(f, "[")?;
    for (pos, entry) in shown.iter().enumerate() {
        if pos > 0 {
            if inner.is_empty() {
                write!(f, ", ")?;
            } else {
                write!(f, ",\n{:width$}", "", width = indent + 1)?;
            }
        }
        match entry {
            None => write!(f, "…")?,
            Some(i) => write_nested(f, &data[i * step..(i + 1) * step], inner, indent + 1)?,
        }
    }
    write!(f, "]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_nested_rows() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        assert_eq!(
            x.to_string(),
            "Tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2], device=cpu)"
        );
        assert_eq!(
            Tensor::scalar(0.5).to_string(),
            "Tensor(0.5000, shape=[], device=cpu)"
        );
        let long = Tensor::arange(0.0, 20.0, 1.0).unwrap();
        assert!(long
            .to_string()
            .starts_with("Tensor([0.0000, 1.0000, 2.0000, …, 17.0000"));
    }
}
