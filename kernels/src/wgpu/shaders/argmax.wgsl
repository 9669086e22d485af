// The index of the largest value along one axis, as f32: the first on ties, and the first NaN
// if there is one (as the CPU's Tensor::argmax, and numpy). The tensor is seen as
// (outer, size, inner); one thread per output element (o, r) walks the axis.

struct Params {
    n: u32,      // output elements: outer · inner
    size: u32,   // length of the axis
    inner: u32,  // elements after the axis
    unused: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn argmax_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n { return; }
    let r = i % p.inner;
    let o = i / p.inner;
    let first = o * p.size * p.inner + r;
    var best = 0u;
    var best_value = x[first];
    for (var k = 1u; k < p.size; k++) {
        let v = x[first + k * p.inner];
        if v > best_value || (is_nan(v) && !is_nan(best_value)) {
            best = k;
            best_value = v;
        }
    }
    out[i] = f32(best);
}
