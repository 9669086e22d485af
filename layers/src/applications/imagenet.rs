//! `decode_predictions`: the ImageNet class names of a 1000-way prediction.
//!
//! The class index is Keras's own `imagenet_class_index.json` (the file `decode_predictions`
//! downloads, MD5 `c2c37ea517e94d9795004a39431a14cb`), bundled here byte for byte so that no
//! download is needed: `{"0": ["n01440764", "tench"], …, "999": ["n15075141", "toilet_tissue"]}`,
//! class `i` being the WordNet id and a short name. The WordNet ids are in increasing order,
//! which is how the ImageNet classes are numbered.
use std::sync::OnceLock;

use astrograd_autograd::Tensor;

use crate::{LayerError, Result};

/// Keras's `imagenet_class_index.json`.
const CLASS_INDEX_JSON: &str = include_str!("imagenet_class_index.json");

/// The number of ImageNet classes.
pub const CLASSES: usize = 1000;

/// One guess: `(class_name, class_description, score)` in Keras's tuple.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The class number, 0–999.
    pub index: usize,
    /// The WordNet id (`n02123045`).
    pub wnid: &'static str,
    /// The short name (`tabby`).
    pub label: &'static str,
    /// The model's probability (or score) for the class.
    pub score: f32,
}

/// The 1000 `(wnid, label)` pairs, parsed once.
fn class_index() -> &'static [(String, String)] {
    static INDEX: OnceLock<Vec<(String, String)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let json: serde_json::Value =
            serde_json::from_str(CLASS_INDEX_JSON).expect("the bundled class index is valid JSON");
        (0..CLASSES)
            .map(|i| {
                let entry = &json[i.to_string()];
                let text = |k: usize| entry[k].as_str().expect("a string").to_string();
                (text(0), text(1))
            })
            .collect()
    })
}

/// The WordNet id and name of ImageNet class `index` (`(n01440764, tench)` for 0).
///
/// # Errors
/// [`LayerError::Invalid`] for an index past 999.
pub fn imagenet_class(index: usize) -> Result<(&'static str, &'static str)> {
    class_index()
        .get(index)
        .map(|(wnid, label)| (wnid.as_str(), label.as_str()))
        .ok_or_else(|| {
            LayerError::invalid(
                "imagenet_class",
                "a class index from 0 to 999",
                index.to_string(),
            )
        })
}

/// `decode_predictions(preds, top=5)`: for each row of `preds (N, 1000)`, the `top` classes
/// of highest score, best first.
///
/// ```
/// use astrograd_layers::applications::decode_predictions;
/// use astrograd_autograd::Tensor;
/// let mut p = vec![0.0; 1000];
/// p[281] = 0.7; // tabby
/// p[285] = 0.2; // Egyptian_cat
/// let top = decode_predictions(&Tensor::from_vec(p, &[1, 1000])?, 2)?;
/// assert_eq!(top[0][0].label, "tabby");
/// assert_eq!(top[0][1].wnid, "n02124075");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Keras's message when `preds` is not `(samples, 1000)`.
pub fn decode_predictions(preds: &Tensor, top: usize) -> Result<Vec<Vec<Prediction>>> {
    let shape = preds.shape();
    if shape.len() != 2 || shape[1] != CLASSES {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        return Err(LayerError::invalid(
            "decode_predictions",
            "a batch of predictions (i.e. a 2D array of shape (samples, 1000))",
            format!("array with shape: {shape}"),
        ));
    }
    let index = class_index();
    let values = preds.to_vec()?;
    Ok(values
        .chunks_exact(CLASSES)
        .map(|row| {
            let mut order: Vec<usize> = (0..CLASSES).collect();
            // Best first; among equal scores the higher index first, as Keras's argsort()[::-1].
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(b.cmp(&a)));
            order
                .into_iter()
                .take(top)
                .map(|i| Prediction {
                    index: i,
                    wnid: index[i].0.as_str(),
                    label: index[i].1.as_str(),
                    score: row[i],
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_index_is_keras_s_1000_classes() {
        let index = class_index();
        assert_eq!(index.len(), 1000);
        assert_eq!(imagenet_class(0).unwrap(), ("n01440764", "tench"));
        assert_eq!(imagenet_class(999).unwrap(), ("n15075141", "toilet_tissue"));
        assert!(imagenet_class(1000).is_err());
        // ImageNet numbers its classes by WordNet id: strictly increasing, all distinct.
        assert!(index.windows(2).all(|w| w[0].0 < w[1].0));
        let json: serde_json::Value = serde_json::from_str(CLASS_INDEX_JSON).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 1000);
    }

    #[test]
    fn the_top_classes_come_best_first() {
        let mut rows = vec![0.0f32; 2000];
        rows[10] = 0.1;
        rows[20] = 0.5;
        rows[30] = 0.3;
        rows[1000 + 999] = 1.0;
        let decoded = decode_predictions(&Tensor::from_vec(rows, &[2, 1000]).unwrap(), 3).unwrap();
        let first: Vec<usize> = decoded[0].iter().map(|p| p.index).collect();
        assert_eq!(first, [20, 30, 10]);
        assert_eq!(
            (decoded[0][0].wnid, decoded[0][0].label),
            ("n01601694", "water_ouzel")
        );
        assert_eq!(decoded[1][0].label, "toilet_tissue");
        assert_eq!(decoded[1][0].score, 1.0);
    }

    #[test]
    fn a_prediction_of_another_width_is_refused_with_keras_s_message() {
        let err = decode_predictions(&Tensor::zeros(&[2, 10]), 5)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("(samples, 1000)") && err.contains("array with shape: (2, 10)"),
            "{err}"
        );
    }
}
