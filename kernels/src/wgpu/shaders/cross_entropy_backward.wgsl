// Backward of the cross-entropy losses: the gradient with respect to the scores (overwritten).
// One thread per element (N·K threads); a row's sums, where needed, are recomputed by each of
// its threads (K is small). Params and helpers: cross_entropy_common.wgsl.

@group(0) @binding(1) var<storage, read> saved: array<f32>;   // (N, K): probs (from logits) or the input
@group(0) @binding(2) var<storage, read> targets: array<f32>; // sparse: (N) labels; else (N, K)
@group(0) @binding(3) var<storage, read> dlosses: array<f32>; // (N)
@group(0) @binding(4) var<storage, read_write> dscores: array<f32>; // (N, K)

// From logits, sparse: dz_j = (softmax(z)_j − [j = label]) · dloss.
@compute @workgroup_size(256)
fn sparse_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n * p.k { return; }
    let row = i / p.k;
    let label = class_of(targets[row]);
    if label == p.k {
        dscores[i] = nan();
        return;
    }
    var one_hot = 0.0;
    if i % p.k == label { one_hot = 1.0; }
    dscores[i] = (saved[i] - one_hot) * dlosses[row];
}

// From logits, target rows: dz_j = dloss · (softmax(z)_j · Σt − t_j).
@compute @workgroup_size(256)
fn dense_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n * p.k { return; }
    let row = i / p.k;
    let base = row * p.k;
    var t_sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        t_sum += targets[base + j];
    }
    dscores[i] = dlosses[row] * (saved[i] * t_sum - targets[i]);
}

// From probabilities, sparse: dp_j = dloss · (1/Σc − [j = label]/c_label), 0 where p is clipped.
@compute @workgroup_size(256)
fn sparse_probs_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n * p.k { return; }
    let row = i / p.k;
    let base = row * p.k;
    let label = class_of(targets[row]);
    if label == p.k {
        dscores[i] = nan();
        return;
    }
    var row_sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        row_sum += clip(saved[base + j]);
    }
    let p_y = clip(saved[base + label]);
    var one_hot = 0.0;
    if i - base == label { one_hot = 1.0 / p_y; }
    if inside_clip(saved[i]) {
        dscores[i] = dlosses[row] * (1.0 / row_sum - one_hot);
    } else {
        dscores[i] = 0.0;
    }
}

// ∂loss/∂q_j = −t_j/q_j with q = p/s, 0 where q is clipped.
fn dense_probs_g(j: u32, s: f32) -> f32 {
    let q = saved[j] / s;
    if inside_clip(q) {
        return -targets[j] / q;
    }
    return 0.0;
}

// From probabilities, target rows: dp_k = dloss · (g_k − Σ_j g_j·p_j/s) / s.
@compute @workgroup_size(256)
fn dense_probs_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n * p.k { return; }
    let row = i / p.k;
    let base = row * p.k;
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += saved[base + j];
    }
    var g_dot_q = 0.0;
    for (var j = 0u; j < p.k; j++) {
        g_dot_q += dense_probs_g(base + j, s) * saved[base + j] / s;
    }
    dscores[i] = dlosses[row] * (dense_probs_g(i, s) - g_dot_q) / s;
}

// Binary cross-entropy, the chain rule through the mean over d outputs:
//   logits:         dz = (σ(z) − t) · (dloss/d)
//   probabilities:  dp = (−t/(p + ε) + (1−t)/(1 − p + ε)) · (dloss/d), 0 where p is clipped
@compute @workgroup_size(256)
fn binary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n * p.k { return; }
    let row = i / p.k;
    let v = saved[i];
    let t = targets[i];
    var slope = 0.0;
    if p.from_logits == 1u {
        slope = sigmoid(v) - t;
    } else if inside_clip(v) {
        slope = -t / (v + p.clip_lo) + (1.0 - t) / (1.0 - v + p.clip_lo);
    }
    dscores[i] = slope * (dlosses[row] / f32(p.k));
}
