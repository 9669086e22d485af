// The number of right predictions in a batch, for Keras's three 'accuracy' functions (the
// oracle: MetricFn::batch_sum in layers/src/training/metrics.rs):
//   kind 0, sparse categorical:  argmax(y_pred row) == label
//   kind 1, categorical:         argmax(y_pred row) == argmax(y_true row)
//   kind 2, binary:              (ŷ > 0.5) == y, per element; the sum of the per-row means
// argmax takes the first of equal maxima (as tf.argmax).
//
// Parallel scheme: ONE WORKGROUP of 256 threads for the whole batch. Thread t judges rows
// t, t + 256, …, counting in an integer; the 256 counts are added as a tree in workgroup
// memory, and thread 0 writes the total as one f32 (exact below 2²⁴ right answers). A batch is
// at most a few thousand rows, so one workgroup is enough and needs no atomics.

struct Params {
    rows: u32,    // N
    classes: u32, // K (or d outputs per sample for binary accuracy)
    kind: u32,    // 0 sparse, 1 categorical, 2 binary
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> y_pred: array<f32>; // (N, K)
@group(0) @binding(2) var<storage, read> y_true: array<f32>; // (N) labels, or (N, K)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // (1) the count

var<workgroup> counts: array<u32, 256>;

fn first_argmax_pred(base: u32) -> u32 {
    var best = 0u;
    for (var j = 1u; j < p.classes; j++) {
        if y_pred[base + j] > y_pred[base + best] { best = j; }
    }
    return best;
}

fn first_argmax_true(base: u32) -> u32 {
    var best = 0u;
    for (var j = 1u; j < p.classes; j++) {
        if y_true[base + j] > y_true[base + best] { best = j; }
    }
    return best;
}

@compute @workgroup_size(256)
fn accuracy_count(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = lid.x;
    var right = 0u;
    for (var row = t; row < p.rows; row += 256u) {
        let base = row * p.classes;
        if p.kind == 0u {
            if f32(first_argmax_pred(base)) == y_true[row] { right += 1u; }
        } else if p.kind == 1u {
            if first_argmax_pred(base) == first_argmax_true(base) { right += 1u; }
        } else {
            for (var j = 0u; j < p.classes; j++) {
                var predicted = 0.0;
                if y_pred[base + j] > 0.5 { predicted = 1.0; }
                if predicted == y_true[base + j] { right += 1u; }
            }
        }
    }
    counts[t] = right;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if t < half {
            counts[t] += counts[t + half];
        }
        workgroupBarrier();
    }
    if t == 0u {
        if p.kind == 2u {
            // Σ_rows (right in the row)/d = (right in the batch)/d.
            out[0] = f32(counts[0]) / f32(p.classes);
        } else {
            out[0] = f32(counts[0]);
        }
    }
}
