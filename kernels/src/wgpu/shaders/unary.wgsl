// y = f(x), same shape. Params come from elementwise_ops.wgsl; `unary` is generated from the
// definitions in kernels/src/elementwise.rs.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn unary_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    y[i] = unary(p.op, x[i], p.p0, p.p1);
}
