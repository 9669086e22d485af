// out = softmax(x) or log_softmax(x), row by row, one thread per row of K values.
// Params and helpers come from cross_entropy_common.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// The row maximum μ: every exponent below is ≤ 0, so nothing overflows.
fn row_max(base: u32) -> f32 {
    var m = x[base];
    for (var j = 1u; j < p.k; j++) {
        m = max(m, x[base + j]);
    }
    return m;
}

// out = exp(x − μ) / Σ exp(x − μ).
@compute @workgroup_size(256)
fn softmax_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    let m = row_max(base);
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        let e = exp(x[base + j] - m);
        out[base + j] = e;
        sum += e;
    }
    for (var j = 0u; j < p.k; j++) {
        out[base + j] = out[base + j] / sum;
    }
}

// out = x − (μ + log Σ exp(x − μ)).
@compute @workgroup_size(256)
fn log_softmax_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = linear_index(gid, groups);
    if row >= p.n { return; }
    let base = row * p.k;
    let m = row_max(base);
    var sum = 0.0;
    for (var j = 0u; j < p.k; j++) {
        sum += exp(x[base + j] - m);
    }
    let log_sum_exp = m + log(sum);
    for (var j = 0u; j < p.k; j++) {
        out[base + j] = x[base + j] - log_sum_exp;
    }
}
