// Gathering along one axis, and the index of the largest value along one axis. The tensor is
// seen as (outer, size, inner): `size` is the axis, `outer` the product of the axes before it,
// `inner` the product of those after it (kernels/src/wgpu/gather.rs).

struct Params {
    n: u32,      // output elements
    size: u32,   // length of the axis in x
    inner: u32,  // elements after the axis
    count: u32,  // gather: how many indices (the axis's length in out)
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// out[o, j, r] = x[o, indices[j], r]: numpy's take, how a batch is gathered from a dataset.
@compute @workgroup_size(256)
fn gather_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let r = i % p.inner;
    let j = (i / p.inner) % p.count;
    let o = i / (p.inner * p.count);
    out[i] = x[(o * p.size + indices[j]) * p.inner + r];
}
