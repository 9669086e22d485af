// The number of right predictions in a batch, for Keras's three 'accuracy' functions (the
// oracle: MetricFn::batch_sum in layers/src/training/metrics.rs):
//   kind 0, sparse categorical:  argmax(y_pred row) == label
//   kind 1, categorical:         argmax(y_pred row) == argmax(y_true row)
//   kind 2, binary:              (ŷ > 0.5) == y, per element; the sum of the per-row means
// argmax takes the first of equal maxima (as tf.argmax).
//
// add_loss_and_accuracy is a training step's loss and metric in one kernel: it adds the batch's
// count, and its mean loss times its samples, to the epoch's running sums in place (or writes
// them, for the epoch's first batch), where a mul, a count and two adds would be four kernels.
//
// Parallel scheme: ONE WORKGROUP of 256 threads for the whole batch. Thread t judges rows
// t, t + 256, …, counting in an integer; the 256 counts are added as a tree in workgroup
// memory, and thread 0 writes the total as one f32 (exact below 2²⁴ right answers). A batch is
// at most a few thousand rows, so one workgroup is enough and needs no atomics.

struct Params {
    rows: u32,    // N
    classes: u32, // K (or d outputs per sample for binary accuracy)
    kind: u32,    // 0 sparse, 1 categorical, 2 binary
    first: u32,   // add_loss_and_accuracy: 1 to write the sums, 0 to add to them
    samples: u32, // add_loss_and_accuracy: the batch's samples n (the loss is their mean)
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> y_pred: array<f32>; // (N, K)
@group(0) @binding(2) var<storage, read> y_true: array<f32>; // (N) labels, or (N, K)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // (1) the count (or its sum)
@group(0) @binding(4) var<storage, read> loss: array<f32>;        // (1) the batch's mean loss
@group(0) @binding(5) var<storage, read_write> loss_sum: array<f32>; // (1) Σ n·loss

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

// The batch's right answers (for binary accuracy, Σ_rows of the fraction right in the row),
// in thread 0; every thread must call it (it waits at workgroup barriers).
fn batch_right(t: u32) -> f32 {
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
    if p.kind == 2u {
        // Σ_rows (right in the row)/d = (right in the batch)/d.
        return f32(counts[0]) / f32(p.classes);
    }
    return f32(counts[0]);
}

@compute @workgroup_size(256)
fn accuracy_count(@builtin(local_invocation_id) lid: vec3<u32>) {
    let right = batch_right(lid.x);
    if lid.x == 0u {
        out[0] = right;
    }
}

// out += right answers; loss_sum += n·loss (first batch: out = right; loss_sum = n·loss).
@compute @workgroup_size(256)
fn add_loss_and_accuracy(@builtin(local_invocation_id) lid: vec3<u32>) {
    let right = batch_right(lid.x);
    if lid.x == 0u {
        let loss_times_n = loss[0] * f32(p.samples);
        if p.first == 1u {
            out[0] = right;
            loss_sum[0] = loss_times_n;
        } else {
            out[0] = out[0] + right;
            loss_sum[0] = loss_sum[0] + loss_times_n;
        }
    }
}
