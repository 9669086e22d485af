// dx = dout · f′, same shape, from `saved`: the op's input x or output y. Params come from
// elementwise_ops.wgsl; `unary_backward` is generated from the definitions in
// kernels/src/elementwise.rs.

@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read> saved: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn unary_backward_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    dx[i] = unary_backward(p.op, dout[i], saved[i], p.p0, p.p1);
}
