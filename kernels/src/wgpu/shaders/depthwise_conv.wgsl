// Depthwise 2-D convolution on the GPU, the twin of kernels/src/cpu/depthwise_conv.rs (the math
// is there): one thread per output element of each pass, summing its taps in the CPU's order.
//   forward:          y[n, oh, ow, c·M + m] = Σ_{kh, kw} x[n, ih, iw, c] · w[kh, kw, c, m]
//   backward_input:   dx[n, ih, iw, c]      = Σ_{taps reading (ih, iw)} Σ_m dy[n, oh, ow, c·M + m] · w[kh, kw, c, m]
//   backward_weight:  dw[kh, kw, c, m]      = Σ_{n, oh, ow} x[n, ih, iw, c] · dy[n, oh, ow, c·M + m]
// with ih = oh·sh + kh·dh − pad_top and iw = ow·sw + kw·dw − pad_left (taps on the padding read 0).

struct DepthwiseParams {
    threads: u32,  // output elements of this pass
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    m: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    dh: u32,
    dw: u32,
    pad_top: u32,
    pad_left: u32,
    oh: u32,
    ow: u32,
}

@group(0) @binding(0) var<storage, read> p: DepthwiseParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;   // x (forward, weight) or dy (input)
@group(0) @binding(2) var<storage, read> b: array<f32>;   // w (forward, input) or dy (weight)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The input row (or column) that tap k of output row o reads, or −1 on the padding.
fn input_coord(o: u32, k: u32, stride: u32, dilation: u32, pad: u32, size: u32) -> i32 {
    let i = i32(o * stride + k * dilation) - i32(pad);
    if i < 0 || i >= i32(size) { return -1; }
    return i;
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.threads { return; }
    // i = ((image·OH + oh)·OW + ow)·C·M + c·M + m
    let cm = p.c * p.m;
    let ch = (i % cm) / p.m;
    let mm = i % p.m;
    let pixel = i / cm;
    let ow = pixel % p.ow;
    let oh = (pixel / p.ow) % p.oh;
    let image = pixel / (p.ow * p.oh);
    var sum = 0.0;
    for (var kh = 0u; kh < p.kh; kh++) {
        let ih = input_coord(oh, kh, p.sh, p.dh, p.pad_top, p.h);
        if ih < 0 { continue; }
        for (var kw = 0u; kw < p.kw; kw++) {
            let iw = input_coord(ow, kw, p.sw, p.dw, p.pad_left, p.w);
            if iw < 0 { continue; }
            let x_at = ((image * p.h + u32(ih)) * p.w + u32(iw)) * p.c + ch;
            sum += a[x_at] * b[((kh * p.kw + kw) * p.c + ch) * p.m + mm];
        }
    }
    out[i] = sum;
}

@compute @workgroup_size(256)
fn backward_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.threads { return; }
    // i = ((image·H + ih)·W + iw)·C + c
    let ch = i % p.c;
    let iw = (i / p.c) % p.w;
    let ih = (i / (p.c * p.w)) % p.h;
    let image = i / (p.c * p.w * p.h);
    let cm = p.c * p.m;
    var sum = 0.0;
    // Output row oh reads ih through tap kh when oh·sh + kh·dh − pad_top = ih.
    for (var kh = 0u; kh < p.kh; kh++) {
        let row = i32(ih + p.pad_top) - i32(kh * p.dh);
        if row < 0 || row % i32(p.sh) != 0 { continue; }
        let oh = u32(row) / p.sh;
        if oh >= p.oh { continue; }
        for (var kw = 0u; kw < p.kw; kw++) {
            let col = i32(iw + p.pad_left) - i32(kw * p.dw);
            if col < 0 || col % i32(p.sw) != 0 { continue; }
            let ow = u32(col) / p.sw;
            if ow >= p.ow { continue; }
            let dy_at = ((image * p.oh + oh) * p.ow + ow) * cm + ch * p.m;
            let w_at = ((kh * p.kw + kw) * p.c + ch) * p.m;
            for (var mm = 0u; mm < p.m; mm++) {
                sum += a[dy_at + mm] * b[w_at + mm];
            }
        }
    }
    out[i] = sum;
}

@compute @workgroup_size(256)
fn backward_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if i >= p.threads { return; }
    // i = ((kh·KW + kw)·C + c)·M + m
    let mm = i % p.m;
    let ch = (i / p.m) % p.c;
    let kw = (i / (p.m * p.c)) % p.kw;
    let kh = i / (p.m * p.c * p.kw);
    let cm = p.c * p.m;
    var sum = 0.0;
    for (var image = 0u; image < p.n; image++) {
        for (var oh = 0u; oh < p.oh; oh++) {
            let ih = input_coord(oh, kh, p.sh, p.dh, p.pad_top, p.h);
            if ih < 0 { continue; }
            for (var ow = 0u; ow < p.ow; ow++) {
                let iw = input_coord(ow, kw, p.sw, p.dw, p.pad_left, p.w);
                if iw < 0 { continue; }
                let x_at = ((image * p.h + u32(ih)) * p.w + u32(iw)) * p.c + ch;
                let dy_at = ((image * p.oh + oh) * p.ow + ow) * cm + ch * p.m + mm;
                sum += a[x_at] * b[dy_at];
            }
        }
    }
    out[i] = sum;
}
