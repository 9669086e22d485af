// Shared by the softmax and cross-entropy shaders (softmax_rows.wgsl, cross_entropy_*.wgsl);
// the oracle is kernels/src/cpu/softmax_cross_entropy.rs and the autograd loss ops
// (sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy).
//
// Parallel scheme: the row kernels run ONE THREAD PER ROW of K classes (or d outputs). K is
// small in a classifier (10, 100), rows are independent, and a thread that walks its own row in
// order adds in the same order as the CPU code, so the two agree to the last bit or two (only
// exp/log may round differently). Backward kernels run one thread per element (N·K threads).
//
// Sparse labels are class indices stored as f32 (as the Tensor holds them). A label that is not
// a whole number in 0..K makes its row's loss and gradient NaN: a kernel cannot return an error,
// and a NaN loss is loud (the CPU op rejects such labels with an error).

struct Params {
    n: u32,           // rows N
    k: u32,           // classes K, or outputs d per sample for binary cross-entropy
    from_logits: u32, // binary cross-entropy only: 1 for logits, 0 for probabilities
    clip_lo: f32,     // Keras's ε = 1e-7: probabilities are clipped to [ε, 1 − ε]
    clip_hi: f32,     // 1 − ε, rounded on the host (1 − 2⁻²³)
    inv_k: f32,       // 1/d, the mean over the outputs of one sample
}

@group(0) @binding(0) var<storage, read> p: Params;

// The label as a class index, or K when it is not a whole number in 0..K.
fn class_of(label: f32) -> u32 {
    if label >= 0.0 && label < f32(p.k) && fract(label) == 0.0 {
        return u32(label);
    }
    return p.k;
}

fn nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

fn clip(v: f32) -> f32 {
    return clamp(v, p.clip_lo, p.clip_hi);
}

fn inside_clip(v: f32) -> bool {
    return v >= p.clip_lo && v <= p.clip_hi;
}

// log(1 + x), accurate for tiny x (WGSL has no log1p): log(u)·x/(u − 1) corrects the rounding
// of u = 1 + x (Goldberg's trick).
fn log1p(x: f32) -> f32 {
    let u = 1.0 + x;
    if u == 1.0 {
        return x;
    }
    return log(u) * x / (u - 1.0);
}

// The binary cross-entropy of logit z against target t: max(z, 0) − z·t + log(1 + exp(−|z|)),
// which never overflows (binary_forward and binary_logits_forward).
fn binary_logit_loss(z: f32, t: f32) -> f32 {
    return max(z, 0.0) - z * t + log1p(exp(-abs(z)));
}

// σ(z) = 1/(1 + exp(−z)), written so that exp never overflows.
fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        return 1.0 / (1.0 + exp(-z));
    }
    let e = exp(z);
    return e / (1.0 + e);
}
