// Updates with three slots s1, s2, s3. See optimizer_common.wgsl.

@group(0) @binding(3) var<storage, read_write> s1: array<f32>;
@group(0) @binding(4) var<storage, read_write> s2: array<f32>;
@group(0) @binding(5) var<storage, read_write> s3: array<f32>;

// Centered RMSprop with momentum, s1 = ms, s2 = mg, s3 = mom:
// ms += (g² − ms)·(1−ρ); mg += (g − mg)·(1−ρ); mom = μ·mom + lr·g/√(ms − mg² + ε); w −= mom.
@compute @workgroup_size(256)
fn rmsprop_centered_momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    let ms = flush(s1[i] + (gi * gi - s1[i]) * p.one_minus_rho);
    let mg = flush(s2[i] + (gi - s2[i]) * p.one_minus_rho);
    let denom = (ms - mg * mg) + p.epsilon;
    let mom = s3[i] * p.momentum + (gi * p.lr) / sqrt(denom);
    s1[i] = ms;
    s2[i] = mg;
    s3[i] = mom;
    w[i] = w[i] - mom;
}

// Adam with amsgrad, s1 = m, s2 = v, s3 = v̂: as adam, with v̂ = max(v̂, v) in the denominator.
@compute @workgroup_size(256)
fn adam_amsgrad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    var wi = w[i];
    if p.weight_decay != 0.0 {
        wi = wi - wi * p.weight_decay * p.lr;
    }
    let m = flush(s1[i] + (gi - s1[i]) * p.one_minus_beta_1);
    let v = flush(s2[i] + (gi * gi - s2[i]) * p.one_minus_beta_2);
    let vhat = max(s3[i], v);
    s1[i] = m;
    s2[i] = v;
    s3[i] = vhat;
    w[i] = wi - (m * p.alpha) / (sqrt(vhat) + p.epsilon);
}
