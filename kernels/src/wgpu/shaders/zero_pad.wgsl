// Zero padding of NHWC images, one thread per output element: the twin of
// kernels/src/cpu/zero_pad.rs. out[n, oy, ox, c] = x[n, oy − top, ox − left, c] inside the
// image, 0 on the border.

struct PadParams {
    n_out: u32,  // N·OH·OW·C output elements
    h: u32,
    w: u32,
    c: u32,
    oh: u32,     // top + H + bottom
    ow: u32,     // left + W + right
    top: u32,
    left: u32,
}

@group(0) @binding(0) var<storage, read> p: PadParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn zero_pad_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.n_out { return; }
    // i = ((image·OH + oy)·OW + ox)·C + ch
    let ch = i % p.c;
    let ox = (i / p.c) % p.ow;
    let oy = (i / (p.c * p.ow)) % p.oh;
    let image = i / (p.c * p.ow * p.oh);
    let inside = oy >= p.top && oy < p.top + p.h && ox >= p.left && ox < p.left + p.w;
    if !inside {
        out[i] = 0.0;
        return;
    }
    out[i] = x[((image * p.h + oy - p.top) * p.w + ox - p.left) * p.c + ch];
}
