//! `Add`: the elementwise sum of several inputs (a residual connection, `x + f(x)`).
//!
//! The gradient of a sum reaches every input unchanged (`add.rs` among the ops). Shapes must
//! agree axis by axis, except that a size 1 broadcasts, as Keras's merge layers allow.
//! No parameters.
use astrograd_autograd::Var;

use crate::config::{base_config, Config, ConfigReader};
use crate::layer::{Layer, LayerBase};
use crate::shape::{format_shape, Shape};
use crate::{LayerError, Result};

/// `keras.layers.Add()`, called on a list of at least two tensors.
///
/// ```
/// use astrograd_layers::{input, Add, Dense, Layer};
/// let x = input(&[16]);
/// let branch = Dense::new(16).apply(&x)?;
/// let y = Add::new().apply_all(&[&x, &branch])?;
/// assert_eq!(y.shape(), &vec![None, Some(16)]);
/// # Ok::<(), astrograd_layers::LayerError>(())
/// ```
pub struct Add {
    base: LayerBase,
}

impl Add {
    /// `Add.from_config(config)`: the layer a config describes (see [`crate::config`]).
    ///
    /// # Errors
    /// A bad name, trainable flag or dtype.
    pub fn from_config(config: &Config) -> Result<Add> {
        let mut add = Add::new();
        ConfigReader::new("Add", config).apply_base(&mut add.base)?;
        Ok(add)
    }

    /// The layer (it has no options).
    pub fn new() -> Add {
        Add {
            base: LayerBase::new("Add", "add"),
        }
    }
}

impl Default for Add {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer for Add {
    fn get_config(&self) -> Result<Config> {
        Ok(base_config(&self.base))
    }

    fn base(&self) -> &LayerBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut LayerBase {
        &mut self.base
    }

    fn build(&mut self, input_shapes: &[Shape]) -> Result<()> {
        self.compute_output_shape(input_shapes).map(|_| ())
    }

    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Shape> {
        if input_shapes.len() < 2 {
            return Err(LayerError::invalid(
                format!("layer \"{}\"", self.name()),
                "a merge layer called on a list of at least 2 inputs",
                format!("{} inputs", input_shapes.len()),
            ));
        }
        let mut out = input_shapes[0].clone();
        for shape in &input_shapes[1..] {
            out = merge_shapes(self.name(), &out, shape)?;
        }
        Ok(out)
    }

    fn call(&mut self, inputs: &[Var], _training: bool) -> Result<Var> {
        let Some((first, rest)) = inputs.split_first() else {
            return Err(LayerError::invalid(
                format!("layer \"{}\"", self.name()),
                "at least 2 inputs",
                "none",
            ));
        };
        let mut sum = first.clone();
        for x in rest {
            sum = sum.add(x)?;
        }
        Ok(sum)
    }
}

/// Keras's `_compute_elemwise_op_output_shape`: equal sizes, or 1 against anything, or unknown.
fn merge_shapes(layer: &str, a: &Shape, b: &Shape) -> Result<Shape> {
    let incompatible = || LayerError::IncompatibleInput {
        layer: layer.to_string(),
        input: 1,
        detail: format!(
            "Inputs have incompatible shapes. Received shapes {} and {}",
            format_shape(&a[1.min(a.len())..].to_vec()),
            format_shape(&b[1.min(b.len())..].to_vec())
        ),
    };
    if a.len() != b.len() {
        return Err(incompatible());
    }
    a.iter()
        .zip(b)
        .map(|(&da, &db)| match (da, db) {
            (None, d) | (d, None) => Ok(d.filter(|&d| d != 1)),
            (Some(1), d) | (d, Some(1)) => Ok(d),
            (Some(x), Some(y)) if x == y => Ok(Some(x)),
            _ => Err(incompatible()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use astrograd_autograd::Tensor;

    #[test]
    fn sums_and_checks_shapes() {
        let mut add = Add::new().with_name("add");
        let a = Var::constant(Tensor::ones(&[2, 3]));
        assert_eq!(
            add.call(&[a.clone(), a.clone(), a], false)
                .unwrap()
                .value()
                .to_vec()
                .unwrap(),
            vec![3.0; 6]
        );
        let err = add
            .compute_output_shape(&[vec![None, Some(4)], vec![None, Some(5)]])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Received shapes (4,) and (5,)"), "{err}");
        assert!(add.compute_output_shape(&[vec![None, Some(4)]]).is_err());
    }
}
