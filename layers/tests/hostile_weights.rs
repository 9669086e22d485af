//! Hostile weight files: fuzzing as a test, for the two weight readers of `load_weights`.
//!
//! The corpus is generated here, from valid seed files:
//!
//! | format | seeds |
//! |---|---|
//! | safetensors | written by astrograd's own `save_weights`: a CNN with BatchNormalization, an MLP |
//! | Keras `.h5` | the committed fixtures of `tests/fixtures/keras/weights/` (TF 2.10 + h5py: contiguous, chunked, variable-length strings, a whole-model file, a VGG-style file) |
//!
//! and mutated the way files go bad ([`Mutation`]): a bit flipped, a file cut short, a huge
//! number written into a size field (the safetensors header length set to 2⁶⁰, an HDF5
//! dimension or end-of-file address set to 2⁶⁴ − 1), a block duplicated or removed, garbage
//! appended or written over, and — for safetensors, whose header is JSON — a dtype, a
//! dimension or a data offset edited, a tensor dropped or listed twice, the stored weight order
//! broken. [`CASES`] cases per format run on every `cargo test` (well under a minute in release
//! mode), each read on a thread of its own under [`TIME_LIMIT`], and every case must end in
//! one of two ways:
//!
//! - a typed [`WeightsError`] whose message names the file;
//! - weights of the declared shapes: each tensor read holds as many values as its shape says,
//!   no more than the file can hold, and a model that loads has the shapes it had.
//!
//! A panic or a hang fails the case and proptest shrinks it. Memory is bounded too: a counting
//! global allocator measures the peak of live heap bytes during each read, which must stay
//! under [`memory_bound`] of the file's length, and refuses any single request over 1 GiB
//! outright (the test process then aborts, loudly).
//!
//! Run more cases with `PROPTEST_CASES=5000 cargo test --release -p astrograd-layers --test
//! hostile_weights`.
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use astrograd_layers::weights::keras_h5;
use astrograd_layers::{
    BatchNormalization, Conv2D, Dense, Flatten, Input, Layer, MaxPooling2D, Model, Sequential,
    WeightsError,
};
use proptest::prelude::*;

/// Cases per format: a few hundred.
const CASES: u32 = 400;

/// How long one read may take before the test calls it a hang (they take a millisecond).
const TIME_LIMIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Memory: the system allocator, counting the live bytes and their peak.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// No single allocation may ask for more: a reader that believes a hostile size would.
const LARGEST_REQUEST: usize = 1 << 30;

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged, except requests over
// LARGEST_REQUEST, which get the null pointer an allocator returns when it is out of memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LARGEST_REQUEST {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LARGEST_REQUEST {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > LARGEST_REQUEST {
            return std::ptr::null_mut();
        }
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One read at a time: the counters see the whole process.
static SERIAL: Mutex<()> = Mutex::new(());

/// One proptest case at a time, whichever test it belongs to: the heap counters see the whole
/// process, so another test's case building its model beside a measured read would be counted
/// as the read's.
static ONE_CASE: Mutex<()> = Mutex::new(());

/// The most heap a read of a `file_len`-byte file may hold: the file itself, the values it
/// decodes to (f64 → f32 halves them, so at most the file's length again), the HDF5 reader's
/// tables and the model being loaded, with a wide margin. A reader that believed a declared
/// size would go far past it.
///
/// The constant is 16 MiB: `hdf5_reader` reserves room for the number of messages an object
/// header declares before reading them, a 16-bit count (at most 65,535 × 131 bytes ≈ 8.6 MB,
/// whatever the file's size), and a mutated count reaches it (the saved case
/// `Overwrite { at: 3961010665, bytes: [0, 233] }`).
fn memory_bound(file_len: usize) -> usize {
    16 * file_len + (16 << 20)
}

/// Runs `read` on a thread of its own, waiting at most [`TIME_LIMIT`]; returns its result and
/// the peak of live heap bytes above what was live when it started. Panics (failing the
/// proptest case) when the read hangs or panics.
fn guarded<T: Send + 'static>(what: &str, read: impl FnOnce() -> T + Send + 'static) -> (T, usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // After a timeout nobody listens any more.
        let _ = sender.send(read());
    });
    let value = match receiver.recv_timeout(TIME_LIMIT) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer after {TIME_LIMIT:?}: the reader hangs")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the reader panicked"),
    };
    (value, PEAK.load(Ordering::Relaxed).saturating_sub(start))
}

// ---------------------------------------------------------------------------------------------
// The corpus generator.

/// The model a seed's weights belong to.
#[derive(Debug, Clone, Copy)]
enum Architecture {
    /// `Input(4) → Dense(3, "dense") → Dense(2, "dense_1")`.
    Mlp,
    /// `Input(6, 6, 1) → Conv2D(2, 3×3) → BatchNormalization → MaxPooling2D → Flatten → Dense(3)`.
    CnnBn,
    /// The VGG-style fixture: read only, no model built for it.
    None,
}

impl Architecture {
    fn model(self) -> Option<Model> {
        let layers: Vec<Box<dyn Layer>> = match self {
            Architecture::Mlp => vec![
                Box::new(Input::new(&[4])),
                Box::new(Dense::new(3).activation("relu").with_name("dense")),
                Box::new(Dense::new(2).activation("softmax").with_name("dense_1")),
            ],
            Architecture::CnnBn => vec![
                Box::new(Input::new(&[6, 6, 1])),
                Box::new(Conv2D::new(2, (3, 3)).with_name("conv2d")),
                Box::new(BatchNormalization::new().with_name("batch_normalization")),
                Box::new(MaxPooling2D::new().with_name("max_pooling2d")),
                Box::new(Flatten::new().with_name("flatten")),
                Box::new(Dense::new(3).with_name("dense")),
            ],
            Architecture::None => return None,
        };
        Some(Sequential::new(layers).unwrap())
    }
}

/// A size field of a seed file: an 8-byte little-endian number at `offset`.
type Field = usize;

/// A valid file, the model it fits, and the offsets of its size fields.
#[derive(Debug, Clone)]
struct Seed {
    name: String,
    bytes: Vec<u8>,
    architecture: Architecture,
    fields: Vec<Field>,
}

/// An edit of a safetensors JSON header (see [`edit_header`]).
#[derive(Debug, Clone)]
enum HeaderEdit {
    /// The dtype of tensor `tensor` (an index into the sorted names) becomes `dtype`.
    Dtype { tensor: usize, dtype: &'static str },
    /// Dimension `dim` of a tensor's shape becomes `value` (or is appended, past the rank).
    Dim {
        tensor: usize,
        dim: usize,
        value: u64,
    },
    /// One of a tensor's two data offsets becomes `value`.
    Offset {
        tensor: usize,
        end: bool,
        value: u64,
    },
    /// The tensor's entry is removed.
    Drop { tensor: usize },
    /// The tensor's entry is written twice (a duplicated JSON key).
    Twice { tensor: usize },
    /// The stored weight order loses its entry `at`, or lists it twice.
    Order { at: usize, twice: bool },
}

/// One change to a file. Positions are fractions of the length (a `u32` read as `x / 2³²`), so
/// one strategy serves files of any size and shrinks towards the start.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: u32,
        bit: u8,
    },
    Truncate {
        keep: u32,
    },
    SetField {
        field: usize,
        value: u64,
    },
    Duplicate {
        start: u32,
        len: usize,
        to: u32,
    },
    Remove {
        start: u32,
        len: usize,
    },
    Append {
        bytes: Vec<u8>,
    },
    Overwrite {
        at: u32,
        bytes: Vec<u8>,
    },
    /// A safetensors header edited; with `fix_length` the length field is updated to match
    /// (so the edit reaches the JSON parser), otherwise it is left as it was.
    Header {
        edit: HeaderEdit,
        fix_length: bool,
    },
}

/// Sizes written into fields and JSON numbers: the largest of each width, powers of two whose
/// products overflow, 2⁶⁰ (a header "length" of an exbibyte), one and zero.
const HUGE: [u64; 9] = [
    u64::MAX,
    1 << 60,
    1 << 32,
    u32::MAX as u64,
    1 << 31,
    1 << 24,
    0xFFFF,
    1,
    0,
];

fn header_edit() -> impl Strategy<Value = HeaderEdit> {
    let dtype = prop::sample::select(vec![
        "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F8_E4M3", "C64", "XYZ", "",
    ]);
    let huge = prop::sample::select(&HUGE[..]);
    prop_oneof![
        (any::<usize>(), dtype).prop_map(|(tensor, dtype)| HeaderEdit::Dtype { tensor, dtype }),
        (any::<usize>(), 0usize..5, huge.clone())
            .prop_map(|(tensor, dim, value)| HeaderEdit::Dim { tensor, dim, value }),
        (any::<usize>(), any::<bool>(), huge)
            .prop_map(|(tensor, end, value)| { HeaderEdit::Offset { tensor, end, value } }),
        any::<usize>().prop_map(|tensor| HeaderEdit::Drop { tensor }),
        any::<usize>().prop_map(|tensor| HeaderEdit::Twice { tensor }),
        (any::<usize>(), any::<bool>()).prop_map(|(at, twice)| HeaderEdit::Order { at, twice }),
    ]
}

fn mutation(json_header: bool) -> impl Strategy<Value = Mutation> {
    let header_weight = if json_header { 4 } else { 0 };
    prop_oneof![
        3 => (any::<u32>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => any::<u32>().prop_map(|keep| Mutation::Truncate { keep }),
        3 => (any::<usize>(), prop::sample::select(&HUGE[..]))
            .prop_map(|(field, value)| Mutation::SetField { field, value }),
        1 => (any::<u32>(), 1usize..512, any::<u32>())
            .prop_map(|(start, len, to)| Mutation::Duplicate { start, len, to }),
        1 => (any::<u32>(), 1usize..512).prop_map(|(start, len)| Mutation::Remove { start, len }),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(|bytes| Mutation::Append { bytes }),
        1 => (any::<u32>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
        header_weight => (header_edit(), any::<bool>())
            .prop_map(|(edit, fix_length)| Mutation::Header { edit, fix_length }),
    ]
}

/// `fraction / 2³²` of `len`.
fn position(fraction: u32, len: usize) -> usize {
    ((fraction as u64 * len as u64) >> 32) as usize
}

/// `seed`'s bytes with `mutations` applied in order. A field or header that an earlier
/// mutation destroyed is left alone.
fn mutate(seed: &Seed, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.bytes.clone();
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::FlipBit { at, bit } => {
                if len > 0 {
                    bytes[position(*at, len)] ^= 1 << bit;
                }
            }
            Mutation::Truncate { keep } => bytes.truncate(position(*keep, len)),
            Mutation::SetField { field, value } => {
                if let Some(&offset) = seed.fields.get(field % seed.fields.len().max(1)) {
                    if offset + 8 <= len {
                        bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
                    }
                }
            }
            Mutation::Duplicate { start, len: n, to } => {
                let start = position(*start, len);
                let block = bytes[start..(start + n).min(len)].to_vec();
                let to = position(*to, len);
                bytes.splice(to..to, block);
            }
            Mutation::Remove { start, len: n } => {
                let start = position(*start, len);
                bytes.drain(start..(start + n).min(len));
            }
            Mutation::Append { bytes: tail } => bytes.extend_from_slice(tail),
            Mutation::Overwrite { at, bytes: run } => {
                let at = position(*at, len);
                for (i, b) in run.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            Mutation::Header { edit, fix_length } => {
                if let Some(edited) = edit_header(&bytes, edit, *fix_length) {
                    bytes = edited;
                }
            }
        }
    }
    bytes
}

/// The safetensors file `bytes` with its JSON header edited; `None` when the header is no
/// longer JSON (an earlier mutation broke it).
fn edit_header(bytes: &[u8], edit: &HeaderEdit, fix_length: bool) -> Option<Vec<u8>> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let json = bytes.get(8..8usize.checked_add(n)?)?;
    let serde_json::Value::Object(mut header) = serde_json::from_slice(json).ok()? else {
        return None;
    };
    let names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    let pick = |i: usize| names.get(i % names.len().max(1)).cloned();
    let mut twice: Option<String> = None;
    match edit {
        HeaderEdit::Dtype { tensor, dtype } => {
            *header.get_mut(&pick(*tensor)?)?.get_mut("dtype")? = (*dtype).into();
        }
        HeaderEdit::Dim { tensor, dim, value } => {
            let shape = header
                .get_mut(&pick(*tensor)?)?
                .get_mut("shape")?
                .as_array_mut()?;
            if *dim < shape.len() {
                shape[*dim] = (*value).into();
            } else {
                shape.push((*value).into());
            }
        }
        HeaderEdit::Offset { tensor, end, value } => {
            // An entry an earlier edit left without offsets is skipped, not indexed (which
            // would panic in the test, not in the reader).
            let offsets = header.get_mut(&pick(*tensor)?)?.get_mut("data_offsets")?;
            *offsets.as_array_mut()?.get_mut(usize::from(*end))? = (*value).into();
        }
        HeaderEdit::Drop { tensor } => {
            header.remove(&pick(*tensor)?);
        }
        HeaderEdit::Twice { tensor } => twice = pick(*tensor),
        HeaderEdit::Order { at, twice } => {
            let metadata = header.get_mut("__metadata__")?.as_object_mut()?;
            let mut order: Vec<String> =
                serde_json::from_str(metadata.get("weight_order")?.as_str()?).ok()?;
            let at = at % order.len().max(1);
            if *twice {
                let name = order.get(at)?.clone();
                order.push(name);
            } else if !order.is_empty() {
                order.remove(at);
            }
            metadata.insert(
                "weight_order".into(),
                serde_json::Value::from(order).to_string().into(),
            );
        }
    }
    let mut text = serde_json::Value::Object(header.clone()).to_string();
    if let Some(name) = twice {
        // serde_json writes each key once: add the second copy by hand, first in the object.
        let entry = format!(
            "{}:{},",
            serde_json::Value::from(name.clone()),
            header[&name]
        );
        text.insert_str(1, &entry);
    }
    let length = if fix_length {
        text.len() as u64
    } else {
        n as u64
    };
    let mut out = length.to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    Some(out)
}

/// Every offset where the 8-byte little-endian `value` is stored in `bytes`.
fn offsets_of(bytes: &[u8], value: u64) -> Vec<usize> {
    let pattern = value.to_le_bytes();
    bytes
        .windows(8)
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(at, _)| at)
        .collect()
}

/// The safetensors seeds: files written by `save_weights`, every weight set to distinct values.
fn safetensors_seeds() -> Vec<Seed> {
    let dir = tempfile::tempdir().unwrap();
    [Architecture::Mlp, Architecture::CnnBn]
        .into_iter()
        .map(|architecture| {
            let model = architecture.model().unwrap();
            let values: Vec<_> = model
                .weights()
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let shape = w.var.shape();
                    let n: usize = shape.iter().product();
                    let data = (0..n).map(|j| (i * 100 + j) as f32 * 0.01 + 0.5).collect();
                    astrograd_autograd::Tensor::from_vec(data, &shape).unwrap()
                })
                .collect();
            model.set_weights(&values).unwrap();
            let path = dir.path().join("seed.safetensors");
            model.save_weights(&path).unwrap();
            Seed {
                name: format!("{architecture:?}.safetensors"),
                bytes: std::fs::read(&path).unwrap(),
                architecture,
                // The header length.
                fields: vec![0],
            }
        })
        .collect()
}

/// The `.h5` seeds: the committed Keras fixtures. Their size fields: the superblock's base
/// and end-of-file addresses (version 0: bytes 24 and 40), and every place where one of the
/// weights' dimensions is stored as an 8-byte number (dataspace messages; a few other
/// numbers equal to a dimension are caught too, which only widens the fuzzing).
fn h5_seeds() -> Vec<Seed> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/keras/weights");
    [
        ("mlp.h5", Architecture::Mlp),
        ("mlp_chunked.h5", Architecture::Mlp),
        ("mlp_vlen.h5", Architecture::Mlp),
        ("mlp_full_model.h5", Architecture::Mlp),
        ("cnn_bn.h5", Architecture::CnnBn),
        ("vgg_style.h5", Architecture::None),
    ]
    .into_iter()
    .map(|(name, architecture)| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(&bytes[..8], b"\x89HDF\r\n\x1a\n", "{name} is HDF5");
        let mut fields = if bytes[8] == 0 { vec![24, 40] } else { vec![] };
        let layers = keras_h5::read(&dir.join(name)).unwrap();
        let mut dims: Vec<u64> = layers
            .iter()
            .flat_map(|l| l.weights.iter().flat_map(|w| w.shape.iter()))
            .map(|&d| d as u64)
            .filter(|&d| d > 1)
            .collect();
        dims.sort_unstable();
        dims.dedup();
        for d in dims {
            fields.extend(offsets_of(&bytes, d));
        }
        Seed {
            name: name.to_string(),
            bytes,
            architecture,
            fields,
        }
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// What loading a file into the seed's model gave.
enum Load {
    /// The model's weight shapes after the load, to compare with the declared ones.
    Loaded(Vec<Vec<usize>>),
    Refused(astrograd_layers::LayerError),
}

fn load(path: PathBuf, architecture: Architecture, by_name: bool) -> Option<Load> {
    let mut model = architecture.model()?;
    let result = if by_name {
        model.load_weights_by_name(&path)
    } else {
        model.load_weights(&path)
    };
    Some(match result {
        Ok(()) => Load::Loaded(model.weights().iter().map(|w| w.var.shape()).collect()),
        Err(e) => Load::Refused(e),
    })
}

/// A refusal must be a typed weights error naming the file.
fn check_refusal(e: &astrograd_layers::LayerError, path: &Path) -> Result<(), TestCaseError> {
    let typed: Option<&WeightsError> = e.as_weights_error();
    prop_assert!(typed.is_some(), "not a WeightsError: {e}");
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    prop_assert!(
        e.to_string().contains(&file),
        "the message does not name the file: {e}"
    );
    Ok(())
}

/// Loads `bytes` into the seed's model both ways and checks each outcome.
fn check_loads(seed: &Seed, bytes: Vec<u8>, extension: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("hostile.{extension}"));
    std::fs::write(&path, &bytes).unwrap();
    let declared: Vec<Vec<usize>> = match seed.architecture.model() {
        Some(model) => model.weights().iter().map(|w| w.var.shape()).collect(),
        None => return Ok(()),
    };
    for by_name in [false, true] {
        let (p, architecture) = (path.clone(), seed.architecture);
        let (outcome, peak) = guarded(&seed.name, move || load(p, architecture, by_name));
        prop_assert!(
            peak <= memory_bound(bytes.len()),
            "{}: loading {} bytes held {peak} bytes of heap",
            seed.name,
            bytes.len()
        );
        match outcome.expect("the seed has a model") {
            Load::Loaded(shapes) => prop_assert_eq!(&shapes, &declared),
            Load::Refused(e) => check_refusal(&e, &path)?,
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CASES),
        // A hang costs TIME_LIMIT per shrinking step.
        max_shrink_time: 60_000,
        // Failing cases are saved here and run first next time (an integration test has no
        // lib.rs for proptest's default place).
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::Direct(
            "tests/proptest-regressions/hostile_weights.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Mutated safetensors files: a typed error or the model's own shapes, in time and memory.
    #[test]
    fn safetensors_files_survive_mutation(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(true), 1..4),
    ) {
        let _one_case = ONE_CASE.lock().unwrap_or_else(|e| e.into_inner());
        let seeds = safetensors_seeds();
        let seed = &seeds[which.index(seeds.len())];
        check_loads(seed, mutate(seed, &mutations), "safetensors")?;
    }

    /// Mutated Keras `.h5` files: `keras_h5::read` gives a typed error or tensors holding as
    /// many values as their shapes say (and no more than the file can hold), in time and
    /// memory; loading into the fixture's model gives a typed error or the model's shapes.
    #[test]
    fn keras_h5_files_survive_mutation(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(false), 1..4),
    ) {
        let _one_case = ONE_CASE.lock().unwrap_or_else(|e| e.into_inner());
        let seeds = h5_seeds();
        let seed = &seeds[which.index(seeds.len())];
        let bytes = mutate(seed, &mutations);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.h5");
        std::fs::write(&path, &bytes).unwrap();
        let p = path.clone();
        let (read, peak) = guarded(&seed.name, move || keras_h5::read(&p));
        prop_assert!(
            peak <= memory_bound(bytes.len()),
            "{}: reading {} bytes held {peak} bytes of heap", seed.name, bytes.len()
        );
        match read {
            Ok(layers) => {
                let mut total = 0usize;
                for w in layers.iter().flat_map(|l| &l.weights) {
                    let numel: usize = w.shape.iter().product();
                    prop_assert_eq!(w.values.len(), numel, "{}: {:?}", w.name, w.shape);
                    total += numel;
                }
                // Each value took at least 4 bytes of the file (no compression in these seeds).
                prop_assert!(total * 4 <= bytes.len(), "{total} values from {} bytes", bytes.len());
            }
            Err(e) => check_refusal(&e, &path)?,
        }
        check_loads(seed, bytes, "h5")?;
    }
}

/// The generator does what it says: each seed loads as it is, and a header edit with its
/// length fixed still gives a file whose header is JSON of the new length.
#[test]
fn the_seeds_load_and_header_edits_keep_the_file_well_formed() {
    for seed in safetensors_seeds().iter().chain(&h5_seeds()) {
        let extension = if seed.name.ends_with(".h5") {
            "h5"
        } else {
            "safetensors"
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("seed.{extension}"));
        std::fs::write(&path, &seed.bytes).unwrap();
        if let Some(Load::Refused(e)) = load(path, seed.architecture, false) {
            panic!("{}: {e}", seed.name);
        }
        assert!(!seed.fields.is_empty(), "{} has size fields", seed.name);
    }
    let seed = &safetensors_seeds()[0];
    let edit = HeaderEdit::Dim {
        tensor: 0,
        dim: 0,
        value: 1 << 60,
    };
    let bytes = edit_header(&seed.bytes, &edit, true).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert!(header.to_string().contains(&(1u64 << 60).to_string()));
    assert_eq!(bytes.len() - n, seed.bytes.len() - seed_header_len(seed));
    let twice = edit_header(&seed.bytes, &HeaderEdit::Twice { tensor: 1 }, true).unwrap();
    assert!(twice.len() > seed.bytes.len());
    assert_eq!(
        mutate(
            seed,
            &[Mutation::SetField {
                field: 0,
                value: 1 << 60
            }]
        )[..8],
        (1u64 << 60).to_le_bytes()
    );
}

fn seed_header_len(seed: &Seed) -> usize {
    u64::from_le_bytes(seed.bytes[..8].try_into().unwrap()) as usize
}
