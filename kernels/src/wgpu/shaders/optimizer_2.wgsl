// Updates with one slot s1. See optimizer_common.wgsl.

@group(0) @binding(3) var<storage, read_write> s1: array<f32>;

// SGD with momentum, s1 = velocity v: v = μ·v − lr·g; w += v (nesterov: w += μ·v − lr·g).
@compute @workgroup_size(256)
fn sgd_momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    let v = flush(s1[i] * p.momentum - gi * p.lr);
    s1[i] = v;
    if p.nesterov == 1u {
        w[i] = w[i] + (v * p.momentum - gi * p.lr);
    } else {
        w[i] = w[i] + v;
    }
}

// RMSprop without momentum, s1 = ms: ms = ρ·ms + (1−ρ)·g²; w −= lr·g/(√ms + ε).
@compute @workgroup_size(256)
fn rmsprop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    let ms = flush(p.rho * s1[i] + p.one_minus_rho * (gi * gi));
    s1[i] = ms;
    w[i] = w[i] - p.lr * gi / (sqrt(ms) + p.epsilon);
}

// Adagrad, s1 = acc: acc += g²; w −= lr·g/(√acc + ε).
@compute @workgroup_size(256)
fn adagrad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let gi = g[i];
    let acc = s1[i] + gi * gi;
    s1[i] = acc;
    w[i] = w[i] - gi * p.lr / (sqrt(acc) + p.epsilon);
}
