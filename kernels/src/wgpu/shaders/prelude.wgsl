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
