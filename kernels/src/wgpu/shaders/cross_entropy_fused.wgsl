// Softmax fused with cross-entropy, from logits: probs = softmax(z) (kept for the backward) and
// one loss per row. One thread per row. Params and helpers: cross_entropy_common.wgsl.

@group(0) @binding(1) var<storage, read> logits: array<f32>;  // (N, K)
@group(0) @binding(2) var<storage, read> targets: array<f32>; // sparse: (N) labels; dense: (N, K)
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;  // (N, K)
@group(0) @binding(4) var<storage, read_write> losses: array<f32>; // (N)

// Writes probs for the row and returns (μ, Σ exp(z − μ)).
fn softmax_row(base: u32) -> vec2<f32> {
    var m = logits[base];
    for (var j = 1u; j < p.k; j++) {
        m = max(m, logits[base + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        let e = exp(logits[base + j] - m);
        probs[base + j] = e;
        sum += e;
    }
    for (var j = 0u; j < p.k; j++) {
        probs[base + j] = probs[base + j] / sum;
    }
    return vec2<f32>(m, sum);
}

// Sparse labels: loss = logsumexp(z) − z_label.
@compute @workgroup_size(256)
fn sparse_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    let s = softmax_row(base);
    let label = class_of(targets[row]);
    if label == p.k {
        losses[row] = nan();
        return;
    }
    losses[row] = s.x + log(s.y) - logits[base + label];
}

// Target rows t: loss = −Σ_j t_j · log_softmax(z)_j, with log_softmax(z) = z − logsumexp(z).
@compute @workgroup_size(256)
fn dense_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    let s = softmax_row(base);
    let log_sum_exp = s.x + log(s.y);
    var loss = 0.0;
    for (var j = 0u; j < p.k; j++) {
        loss += -((logits[base + j] - log_sum_exp) * targets[base + j]);
    }
    losses[row] = loss;
}

// Binary from logits, with the probabilities: probs = σ(z), the numbers the sigmoid kernel
// gives (the model's output, for the metrics), and the loss, the mean of binary_logit_loss
// over the row: binary_forward's numbers (cross_entropy_loss.wgsl).
@compute @workgroup_size(256)
fn binary_logits_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        let v = logits[base + j];
        let t = targets[base + j];
        probs[base + j] = sigmoid(v);
        sum += binary_logit_loss(v, t);
    }
    losses[row] = sum * p.inv_k;
}
