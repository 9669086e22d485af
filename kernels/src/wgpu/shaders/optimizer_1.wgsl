// SGD: w −= lr·g. See optimizer_common.wgsl.

@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    w[i] = w[i] - p.lr * g[i];
}
