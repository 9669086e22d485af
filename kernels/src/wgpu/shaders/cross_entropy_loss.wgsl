// Cross-entropy losses that keep nothing but the loss: from probabilities (sparse, dense) and
// binary cross-entropy. One thread per row. Params and helpers: cross_entropy_common.wgsl.

@group(0) @binding(1) var<storage, read> scores: array<f32>;  // (N, K): probabilities or logits
@group(0) @binding(2) var<storage, read> targets: array<f32>; // sparse: (N) labels; else (N, K)
@group(0) @binding(3) var<storage, read_write> losses: array<f32>; // (N)

// Sparse labels, probabilities p: c = clip(p), loss = log Σ_j c_j − log c_label.
@compute @workgroup_size(256)
fn sparse_probs_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    let label = class_of(targets[row]);
    if label == p.k {
        losses[row] = nan();
        return;
    }
    var row_sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        row_sum += clip(scores[base + j]);
    }
    losses[row] = log(row_sum) - log(clip(scores[base + label]));
}

// Target rows, probabilities p: q = p/Σp, loss = −Σ_j t_j · log clip(q_j).
@compute @workgroup_size(256)
fn dense_probs_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += scores[base + j];
    }
    var loss = 0.0;
    for (var j = 0u; j < p.k; j++) {
        loss += -(log(clip(scores[base + j] / s)) * targets[base + j]);
    }
    losses[row] = loss;
}

// Binary cross-entropy, the mean over the d outputs of a sample of
//   logits z:         ℓ = max(z, 0) − z·t + log(1 + exp(−|z|))
//   probabilities p:  ℓ = −[t·log(c + ε) + (1−t)·log(1 − c + ε)],  c = clip(p)
@compute @workgroup_size(256)
fn binary_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        let v = scores[base + j];
        let t = targets[base + j];
        if p.from_logits == 1u {
            sum += binary_logit_loss(v, t);
        } else {
            let c = clip(v);
            sum += -(t * log(c + p.clip_lo) + (1.0 - t) * log(1.0 - c + p.clip_lo));
        }
    }
    losses[row] = sum * p.inv_k;
}
