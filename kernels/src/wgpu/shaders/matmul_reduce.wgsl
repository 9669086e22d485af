// Second step of a matmul split along K (see matmul.wgsl):
// C = epilogue(Σ_s partial[s] + beta·C), one thread per element of C, the slices added in order
// (deterministic), one thread per element: no atomics.
// Params (matmul_params.wgsl) and the epilogue (epilogue.wgsl) are put in front of this file.
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>; // (N), read when p.has_bias == 1

@compute @workgroup_size(256)
fn matmul_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    let per_item = p.m * p.n;
    if e >= p.batch * per_item {
        return;
    }
    let item = e / per_item;
    let row = (e % per_item) / p.n;
    let col = e % p.n;
    var v = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        v += partial[s * p.batch * per_item + e];
    }
    let at = p.c_offset + item * p.c_batch + row * p.c_row + col * p.c_col;
    if p.beta != 0.0 {
        v += p.beta * out[at];
    }
    out[at] = epilogue(v, col);
}
