// z = f(a, b) with numpy broadcasting: each output index is split into its coordinates, and
// each operand is read at those coordinates times its own strides (0 along a broadcast axis).
// Params come from elementwise_ops.wgsl; `binary` is generated from the definitions in
// kernels/src/elementwise.rs.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(256)
fn binary_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    var rest = i;
    var ia = 0u;
    var ib = 0u;
    for (var axis = 5; axis >= 0; axis--) {
        let d = p.dims[axis];
        let coord = rest % d;
        rest = rest / d;
        ia += coord * p.a_strides[axis];
        ib += coord * p.b_strides[axis];
    }
    z[i] = binary(p.op, a[ia], b[ib]);
}
