// Batch normalization over the channel (last) axis: the oracle is autograd/src/ops/batch_norm.rs.
//
// Data is channels-last, (M, C) with M = N·H·W positions: element (m, c) is x[m·C + c].
//
// Parallel scheme: per-channel SUMS (the batch moments, dγ, dβ) run ONE WORKGROUP PER CHANNEL
// of 256 threads: thread t adds positions t, t + 256, t + 512, …, then the 256 partial sums are
// added as a tree in workgroup memory (8 halvings). Elementwise passes (normalise, dx) run one
// thread per element; per-channel updates (moving statistics, 1/σ) one thread per channel.
// The CPU accumulates in f64; these sums are f32 but pairwise, so they agree to ~1e-6.

struct Params {
    m: u32,                  // positions M per channel
    c: u32,                  // channels C
    epsilon: f32,            // added to the variance before the square root
    momentum: f32,           // weight of the old moving statistics
    one_minus_momentum: f32, // 1 − momentum, rounded on the host as the CPU rounds it
    bessel: f32,             // M/(M − 1) for the fused rank-4 kernel of TF 2.10, else 1
}

@group(0) @binding(0) var<storage, read> p: Params;

var<workgroup> partial: array<f32, 256>;

// The sum of `value` over the 256 threads of the workgroup, returned to every thread.
fn workgroup_sum(t: u32, value: f32) -> f32 {
    partial[t] = value;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if t < half {
            partial[t] += partial[t + half];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
