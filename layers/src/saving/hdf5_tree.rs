//! Writing HDF5 files as Keras and h5py lay them out: a tree of groups holding attributes and
//! float32 or int64 datasets, encoded by the pure-Rust [`hdf5_pure`] crate (no libhdf5).
//!
//! Strings are written as h5py ≥ 3 writes them, variable-length: h5py reads them back as
//! `str`, which Keras's loaders expect. A path with `/` walks into groups, made on the way,
//! as h5py's `group.create_dataset("dense/kernel:0", …)` does.
//!
//! ```text
//! let mut file = Hdf5Tree::default();
//! file.set_attr("keras_version", Attr::Utf8("2.10.0".into()));
//! file.group("dense").set_attr("weight_names", Attr::AsciiList(vec!["dense/kernel:0".into()]));
//! file.group("dense").put_f32("dense/kernel:0", &[4, 3], &values);
//! let bytes = file.to_bytes()?;
//! ```
use hdf5_pure::{AttrValue, FileBuilder};

/// An attribute value of the kinds Keras's files hold.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// A variable-length UTF-8 string (h5py's `str`).
    Utf8(String),
    /// A variable-length ASCII string (h5py's `bytes` encoded as ASCII, as Keras 2 writes JSON).
    Ascii(String),
    /// A list of variable-length ASCII strings (`layer_names`, `weight_names`); an empty list
    /// is written as h5py writes `[]`, an empty float64 array.
    AsciiList(Vec<String>),
    /// A 64-bit integer.
    I64(i64),
    /// An array of 64-bit integers.
    I64Array(Vec<i64>),
}

/// What a dataset holds.
#[derive(Clone, Debug, PartialEq)]
enum Data {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// A group: its attributes, datasets and subgroups, each list in the order they were added.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hdf5Tree {
    attrs: Vec<(String, Attr)>,
    datasets: Vec<(String, Vec<usize>, Data)>,
    groups: Vec<(String, Hdf5Tree)>,
}

impl Hdf5Tree {
    /// Sets an attribute of this group (replacing one of the same name).
    pub fn set_attr(&mut self, name: &str, value: Attr) {
        self.attrs.retain(|(n, _)| n != name);
        self.attrs.push((name.to_string(), value));
    }

    /// The subgroup at `path` (`"a/b"`), made if it does not exist.
    pub fn group(&mut self, path: &str) -> &mut Hdf5Tree {
        let mut group = self;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            let index = match group.groups.iter().position(|(n, _)| n == name) {
                Some(i) => i,
                None => {
                    group.groups.push((name.to_string(), Hdf5Tree::default()));
                    group.groups.len() - 1
                }
            };
            group = &mut group.groups[index].1;
        }
        group
    }

    /// A float32 dataset of `shape` at `path` (groups on the way are made).
    pub fn put_f32(&mut self, path: &str, shape: &[usize], values: &[f32]) {
        self.put(path, shape, Data::F32(values.to_vec()));
    }

    /// An int32 dataset of `shape` (`&[]` for a scalar) at `path`.
    pub fn put_i32(&mut self, path: &str, shape: &[usize], values: &[i32]) {
        self.put(path, shape, Data::I32(values.to_vec()));
    }

    /// An int64 dataset of `shape` (`&[]` for a scalar) at `path`.
    pub fn put_i64(&mut self, path: &str, shape: &[usize], values: &[i64]) {
        self.put(path, shape, Data::I64(values.to_vec()));
    }

    fn put(&mut self, path: &str, shape: &[usize], data: Data) {
        let (dirs, leaf) = path.rsplit_once('/').unwrap_or(("", path));
        let group = self.group(dirs);
        group
            .datasets
            .push((leaf.to_string(), shape.to_vec(), data));
    }

    /// The bytes of an HDF5 file whose root group is this tree.
    ///
    /// # Errors
    /// The encoder's message (a name HDF5 cannot hold, a shape that does not match its data).
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let mut builder = FileBuilder::new();
        for (name, value) in &self.attrs {
            builder.set_attr(name, attr_value(value));
        }
        for (name, shape, data) in &self.datasets {
            fill_dataset(builder.create_dataset(name), shape, data);
        }
        for (name, group) in &self.groups {
            let finished = group.finish_group(name, &mut builder);
            builder.add_group(finished);
        }
        builder.finish().map_err(|e| e.to_string())
    }

    fn finish_group(&self, name: &str, builder: &mut FileBuilder) -> hdf5_pure::FinishedGroup {
        let mut group = builder.create_group(name);
        for (attr, value) in &self.attrs {
            group.set_attr(attr, attr_value(value));
        }
        for (dataset, shape, data) in &self.datasets {
            fill_dataset(group.create_dataset(dataset), shape, data);
        }
        for (sub, tree) in &self.groups {
            let finished = tree.finish_group(sub, builder);
            group.add_group(finished);
        }
        group.finish()
    }
}

fn attr_value(value: &Attr) -> AttrValue {
    match value {
        Attr::Utf8(s) => AttrValue::VarLenString(s.clone()),
        Attr::Ascii(s) => AttrValue::VarLenAsciiString(s.clone()),
        Attr::AsciiList(list) if list.is_empty() => AttrValue::F64Array(Vec::new()),
        Attr::AsciiList(list) => AttrValue::VarLenAsciiStringArray(list.clone()),
        Attr::I64(n) => AttrValue::I64(*n),
        Attr::I64Array(values) => AttrValue::I64Array(values.clone()),
    }
}

fn fill_dataset(dataset: &mut hdf5_pure::DatasetBuilder, shape: &[usize], data: &Data) {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    match data {
        Data::F32(values) => dataset.with_f32_data(values),
        Data::I32(values) => dataset.with_i32_data(values),
        Data::I64(values) => dataset.with_i64_data(values),
    };
    dataset.with_shape(&shape);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdf5_reader::Hdf5File;

    #[test]
    fn a_tree_reads_back_with_the_reader_the_loaders_use() {
        let mut tree = Hdf5Tree::default();
        tree.set_attr("keras_version", Attr::Utf8("2.10.0".into()));
        tree.set_attr("model_config", Attr::Ascii("{\"a\": 1}".into()));
        let weights = tree.group("model_weights");
        weights.set_attr(
            "layer_names",
            Attr::AsciiList(vec!["dense".into(), "flatten".into()]),
        );
        weights
            .group("flatten")
            .set_attr("weight_names", Attr::AsciiList(Vec::new()));
        let dense = weights.group("dense");
        dense.set_attr(
            "weight_names",
            Attr::AsciiList(vec!["dense/kernel:0".into()]),
        );
        dense.put_f32("dense/kernel:0", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        tree.put_i64("optimizer_weights/Adam/iter:0", &[], &[42]);
        let bytes = tree.to_bytes().unwrap();

        let file = Hdf5File::from_vec(bytes).unwrap();
        let root = file.root_group().unwrap();
        let attrs = root.attributes().unwrap();
        let version = attrs.iter().find(|a| a.name == "keras_version").unwrap();
        assert_eq!(version.read_strings().unwrap(), vec!["2.10.0"]);
        let group = root.group("model_weights").unwrap();
        let names = group.attributes().unwrap();
        let names = names.iter().find(|a| a.name == "layer_names").unwrap();
        assert_eq!(names.read_strings().unwrap(), vec!["dense", "flatten"]);
        let kernel = group
            .group("dense")
            .unwrap()
            .group("dense")
            .unwrap()
            .dataset("kernel:0")
            .unwrap();
        assert_eq!(kernel.shape(), &[2, 3]);
        let mut values = vec![0f32; 6];
        kernel.read_into(&mut values).unwrap();
        assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        let iter = root
            .group("optimizer_weights")
            .unwrap()
            .group("Adam")
            .unwrap()
            .dataset("iter:0")
            .unwrap();
        assert!(iter.shape().is_empty());
        let mut n = vec![0i64; 1];
        iter.read_into(&mut n).unwrap();
        assert_eq!(n, vec![42]);
    }
}
