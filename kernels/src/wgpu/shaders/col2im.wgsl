// col2im as a gather, for a chunk of images: the adjoint of im2col.wgsl,
//
//   dx[n, ih, iw, c] = Σ over the taps (kh, kw) whose window covers (ih, iw) of
//                      dcols[(n, oh, ow), (kh·KW + kw)·C + c],
//
// where oh = (ih + pad_top − kh·dh) / sh must divide exactly and land inside 0..OH (same for ow).
//
// Parallel scheme: one thread per element of dx, which visits its own KH·KW candidate taps and
// writes once. The CPU scatters (each dcols entry added into dx), which on a GPU would make
// threads race on the same dx element; the gather needs no atomics and its sums always run in the
// same order. dcols: (n·OH·OW, KH·KW·C); dx is written from `offset`. Params: conv_params.wgsl.

@group(0) @binding(1) var<storage, read> dcols: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn col2im_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = linear_index(gid, groups);
    if e >= p.count {
        return;
    }
    let patch_len = p.kh * p.kw * p.c;
    let ch = e % p.c;
    let iw = (e / p.c) % p.w;
    let ih = (e / (p.c * p.w)) % p.h;
    let n = e / (p.c * p.w * p.h);
    var sum = 0.0;
    for (var kh = 0u; kh < p.kh; kh++) {
        let th = i32(ih + p.pad_top) - i32(kh * p.dilation_h);
        if th < 0 || th % i32(p.stride_h) != 0 {
            continue;
        }
        let oh = u32(th) / p.stride_h;
        if oh >= p.oh {
            continue;
        }
        for (var kw = 0u; kw < p.kw; kw++) {
            let tw = i32(iw + p.pad_left) - i32(kw * p.dilation_w);
            if tw < 0 || tw % i32(p.stride_w) != 0 {
                continue;
            }
            let ow = u32(tw) / p.stride_w;
            if ow >= p.ow {
                continue;
            }
            let row = (n * p.oh + oh) * p.ow + ow;
            sum += dcols[row * patch_len + (kh * p.kw + kw) * p.c + ch];
        }
    }
    dx[p.offset + e] = sum;
}
