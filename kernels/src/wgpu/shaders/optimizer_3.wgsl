// Updates with two slots s1, s2. See optimizer_common.wgsl.

@group(0) @binding(3) var<storage, read_write> s1: array<f32>;
@group(0) @binding(4) var<storage, read_write> s2: array<f32>;

// Centered RMSprop without momentum, s1 = ms, s2 = mg:
// ms = ρ·ms + (1−ρ)·g²; mg = ρ·mg + (1−ρ)·g; w −= lr·g/(√(ms − mg²) + ε).
@compute @workgroup_size(256)
fn rmsprop_centered(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    let ms = flush(p.rho * s1[i] + p.one_minus_rho * (gi * gi));
    let mg = flush(p.rho * s2[i] + p.one_minus_rho * gi);
    s1[i] = ms;
    s2[i] = mg;
    w[i] = w[i] - p.lr * gi / (sqrt(ms - mg * mg) + p.epsilon);
}

// RMSprop with momentum, s1 = ms, s2 = mom:
// ms += (g² − ms)·(1−ρ); mom = μ·mom + lr·g/√(ms + ε); w −= mom.
@compute @workgroup_size(256)
fn rmsprop_momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    let ms = flush(s1[i] + (gi * gi - s1[i]) * p.one_minus_rho);
    let mom = flush(s2[i] * p.momentum + (gi * p.lr) / sqrt(ms + p.epsilon));
    s1[i] = ms;
    s2[i] = mom;
    w[i] = w[i] - mom;
}

// Adam (and AdamW), s1 = m, s2 = v:
// w −= w·wd·lr; m += (g − m)·(1−β₁); v += (g² − v)·(1−β₂); w −= (m·α)/(√v + ε).
@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    var wi = w[i];
    if p.weight_decay != 0.0 {
        wi = wi - wi * p.weight_decay * p.lr;
    }
    let m = flush(s1[i] + (gi - s1[i]) * p.one_minus_beta_1);
    let v = flush(s2[i] + (gi * gi - s2[i]) * p.one_minus_beta_2);
    s1[i] = m;
    s2[i] = v;
    w[i] = wi - (m * p.alpha) / (sqrt(v) + p.epsilon);
}
