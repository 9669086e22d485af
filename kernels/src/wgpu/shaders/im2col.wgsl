// im2col for a chunk of images: cols[r, (kh·KW + kw)·C + c] = x[n, oh·sh + kh·dh − pad_top,
// ow·sw + kw·dw − pad_left, c] for output pixel r = (n, oh, ow), 0 where the tap falls in the
// padding. cols: (n·OH·OW, KH·KW·C), row-major.
//
// Parallel scheme: one thread per element of cols, so neighbouring threads write neighbouring
// numbers (and, within one tap, read neighbouring channels of x). Params come from conv_params.wgsl.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;

@compute @workgroup_size(256)
fn im2col_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let patch_len = p.kh * p.kw * p.c;
    let row = e / patch_len;
    let col = e % patch_len;
    let ch = col % p.c;
    let kw = (col / p.c) % p.kw;
    let kh = col / (p.c * p.kw);
    let ow = row % p.ow;
    let oh = (row / p.ow) % p.oh;
    let n = row / (p.ow * p.oh);
    let ih = i32(oh * p.stride_h + kh * p.dilation_h) - i32(p.pad_top);
    let iw = i32(ow * p.stride_w + kw * p.dilation_w) - i32(p.pad_left);
    var v = 0.0;
    if ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w) {
        v = x[p.offset + ((n * p.h + u32(ih)) * p.w + u32(iw)) * p.c + ch];
    }
    cols[e] = v;
}
