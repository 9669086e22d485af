//! `model.summary()`, character for character as TF 2.10 prints it
//! (`keras/utils/layer_utils.py`, `print_summary`).
//!
//! ```text
//! Model: "sequential"
//! _________________________________________________________________
//!  Layer (type)                Output Shape              Param #
//! =================================================================
//!  flatten (Flatten)           (None, 784)               0
//!
//!  dense (Dense)               (None, 300)               235500
//! …
//! =================================================================
//! Total params: 266,610
//! Trainable params: 266,610
//! Non-trainable params: 0
//! _________________________________________________________________
//! ```
//!
//! (Each row is padded with spaces to the full width, and a line of spaces follows each
//! row.) Sequential models, and functional models that are one chain, use lines of 65
//! characters with columns ending at 29, 55 and 65. Other functional models use 98 characters,
//! columns ending at 32, 53, 65 and 98, and a fourth column, "Connected to", listing each
//! layer's inputs as `name[node][tensor]`. A cell too long for its column (its width minus the
//! 2 spaces between columns) continues on the next line; where the part that fits contains
//! `),` `},` `],` or `',` it is cut just after the first of them.
use crate::layer::SharedLayer;
use crate::model::Model;
use crate::shape::format_shape;
use crate::{LayerError, Result};

impl Model {
    /// The summary table as Keras prints it (the lines joined with `\n`, ending in one).
    ///
    /// # Errors
    /// [`LayerError::Invalid`] for a Sequential model whose input shape is not known yet
    /// (Keras: "This model has not yet been built").
    pub fn summary(&self) -> Result<String> {
        if !self.is_built() {
            return Err(LayerError::invalid(
                format!("model \"{}\".summary", self.name()),
                "a built model: give an Input first, call build(), or run it on a batch",
                "This model has not yet been built",
            ));
        }
        let sequential = self.sequential_like();
        let (line_length, positions, header): (usize, &[usize], &[&str]) = if sequential {
            (
                65,
                &[29, 55, 65],
                &["Layer (type)", "Output Shape", "Param #"],
            )
        } else {
            (
                98,
                &[32, 53, 65, 98],
                &["Layer (type)", "Output Shape", "Param #", "Connected to"],
            )
        };
        let mut lines = vec![
            format!("Model: \"{}\"", self.name()),
            "_".repeat(line_length),
        ];
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        print_row(&mut lines, &header, positions);
        lines.push("=".repeat(line_length));
        for layer in self.layers() {
            let mut fields = vec![
                format!("{} ({})", layer.name(), layer.borrow().class_name()),
                output_shape_cell(layer),
                layer.borrow().count_params().to_string(),
            ];
            if !sequential {
                fields.push(self.connections(layer));
            }
            print_row(&mut lines, &fields, positions);
            lines.push(" ".repeat(line_length));
        }
        lines.push("=".repeat(line_length));
        let trainable: usize = self.trainable_weights().iter().map(|w| w.numel()).sum();
        let non_trainable: usize = self.non_trainable_weights().iter().map(|w| w.numel()).sum();
        lines.push(format!(
            "Total params: {}",
            thousands(trainable + non_trainable)
        ));
        lines.push(format!("Trainable params: {}", thousands(trainable)));
        lines.push(format!(
            "Non-trainable params: {}",
            thousands(non_trainable)
        ));
        lines.push("_".repeat(line_length));
        Ok(lines.join("\n") + "\n")
    }

    /// Prints [`Model::summary`] to standard output (on rank 0 only, in a data-parallel run).
    ///
    /// # Errors
    /// As [`Model::summary`].
    pub fn print_summary(&self) -> Result<()> {
        let summary = self.summary()?;
        if astrograd_distributed::is_main_process() {
            print!("{summary}");
        }
        Ok(())
    }

    /// The "Connected to" cell: Python's `str()` of the list `['conv2d[0][0]', …]`, over the
    /// layer's calls that belong to this model.
    fn connections(&self, layer: &SharedLayer) -> String {
        let mut calls: Vec<_> = self
            .graph_nodes()
            .iter()
            .filter(|n| n.node().layer.same_layer(layer))
            .collect();
        calls.sort_by_key(|n| n.node().node_index);
        let names: Vec<String> = calls
            .iter()
            .flat_map(|n| n.node().inputs.iter())
            .map(|t| format!("'{}[{}][0]'", t.layer().name(), t.node().node_index))
            .collect();
        format!("[{}]", names.join(", "))
    }
}

/// The "Output Shape" cell: the shape, `[(None, 69, 69, 3)]` for an `InputLayer` (Keras shows
/// its output as a list), or `multiple` for a layer called on different shapes.
fn output_shape_cell(layer: &SharedLayer) -> String {
    let layer = layer.borrow();
    let shapes = &layer.base().output_shapes;
    match shapes.first() {
        Some(first) if shapes.iter().all(|s| s == first) => {
            if layer.class_name() == "InputLayer" {
                format!("[{}]", format_shape(first))
            } else {
                format_shape(first)
            }
        }
        _ => "multiple".to_string(),
    }
}

/// Keras's `print_row`: each field in its column, wrapped onto more lines when too long.
fn print_row(lines: &mut Vec<String>, fields: &[String], positions: &[usize]) {
    let mut left: Vec<String> = fields.to_vec();
    while left.iter().any(|f| !f.is_empty()) {
        let mut line = String::new();
        for col in 0..left.len() {
            let start = if col > 0 { positions[col - 1] } else { 0 };
            // Two spaces separate the columns; the last column needs none.
            let space = if col != positions.len() - 1 { 2 } else { 0 };
            let mut cutoff = positions[col] - start - space;
            let cell: Vec<char> = left[col].chars().collect();
            let fits: String = cell.iter().take(cutoff).collect();
            // Break after the first closing bracket or quote followed by a comma, if any.
            let breaks = ["),", "},", "],", "',"]
                .iter()
                .filter_map(|b| fits.find(b).map(|i| fits[..i].chars().count() + b.len()))
                .min();
            if let Some(b) = breaks {
                cutoff = b;
            }
            let fits: String = cell.iter().take(cutoff).collect();
            if col == 0 {
                line.push(' ');
            }
            line.push_str(&fits);
            line.push_str(&" ".repeat(space));
            left[col] = cell.iter().skip(cutoff).collect();
            let width = line.chars().count();
            if positions[col] > width {
                line.push_str(&" ".repeat(positions[col] - width));
            }
        }
        lines.push(line);
    }
}

/// Python's `"{:,}".format(n)`: `2432110` → `2,432,110`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(266_610), "266,610");
        assert_eq!(thousands(9_494_561), "9,494,561");
    }

    #[test]
    fn long_cells_wrap_as_keras() {
        let mut lines = Vec::new();
        let fields = [
            "max_pooling2d_12 (MaxPooling2D)".to_string(),
            "(None, 34, 34, 32)".to_string(),
            "0".to_string(),
        ];
        print_row(&mut lines, &fields, &[29, 55, 65]);
        // Keras's quirk, kept: the leading space pushes a full first cell one column right.
        assert_eq!(
            lines[0],
            " max_pooling2d_12 (MaxPoolin  (None, 34, 34, 32)       0         "
        );
        assert_eq!(lines[1], format!(" {:<28}{:<26}{:<10}", "g2D)", "", ""));
        let mut lines = Vec::new();
        let fields = [
            "add (Add)".into(),
            "(None, 4)".into(),
            "0".into(),
            "['dense[0][0]', 'dense_1[0][0]']".into(),
        ];
        print_row(&mut lines, &fields, &[32, 53, 65, 98]);
        assert!(
            lines[0].ends_with("['dense[0][0]',                  "),
            "{:?}",
            lines[0]
        );
        assert!(
            lines[1].trim_end().ends_with(" 'dense_1[0][0]']"),
            "{:?}",
            lines[1]
        );
    }
}
