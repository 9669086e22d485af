// Put in front of every astrograd shader (see kernels/src/wgpu/context.rs).
//
// One-dimensional kernels run 256 threads per workgroup; a large dispatch spreads its
// workgroups over two axes (x up to 65535), and these two helpers undo that.

// The thread's number among all threads of the dispatch.
fn linear_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 256u;
}

// The workgroup's number among all workgroups of the dispatch.
fn linear_group(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wid.x + wid.y * groups.x;
}

// Whether v is a NaN, from its bits: NaN is the only value with all exponent bits set and a
// non-zero mantissa. (`v != v` is not a test a shader compiler has to keep: Mesa's llvmpipe
// folds it to false.)
fn is_nan(v: f32) -> bool {
    let bits = bitcast<u32>(v);
    return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
}
