// strided_copy_main: out[i] = x[start + offset(i)], where offset walks the output's coordinates
// with x's own strides: a broadcast (stride 0 along a repeated axis), a permutation of the axes
// or a slice (start at the slice's first element), as one gather. Params come from
// elementwise_ops.wgsl (dims = output shape, a_strides = x's strides).
//
// strided_copy_into_main: the other way, a scatter into a region of a larger out:
// out[out_start + offset(i)] = x[i] for the elements i of a contiguous x of shape dims, with
// offset walking x's coordinates with out's strides (b_strides): how concat writes each piece.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn strided_copy_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    var rest = i;
    var offset = p.start;
    for (var axis = 5; axis >= 0; axis--) {
        let d = p.dims[axis];
        offset += (rest % d) * p.a_strides[axis];
        rest = rest / d;
    }
    out[i] = x[offset];
}

@compute @workgroup_size(256)
fn strided_copy_into_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    var rest = i;
    var offset = p.out_start;
    for (var axis = 5; axis >= 0; axis--) {
        let d = p.dims[axis];
        offset += (rest % d) * p.b_strides[axis];
        rest = rest / d;
    }
    out[offset] = x[i];
}
