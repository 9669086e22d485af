// Convolution forward as an implicit GEMM, for few filters (F ≤ 16): Y = relu?(cols · W + b)
// without making cols. Each element of cols is read straight from x where the product needs it
// (the im2col formula of im2col.wgsl), so the forward makes no (N·OH·OW, KH·KW·C) matrix: for
// a batch of 20 cats-vs-dogs images that is 47 MB written by one kernel and read by the next.
//
// Parallel scheme: as matmul_narrow.wgsl (one 16×16 workgroup per 256×16 tile of Y, thread
// (tx, ty) owns filter tx of the 16 pixels ty + 16·i, the patch axis walked 8 taps at a time
// through workgroup memory), with the A tile gathered from x instead of read from cols. Each
// thread gathers the same tap of 8 pixels at every step: it finds the 8 windows once, and the
// tap's (kh, kw, ch) once per step, so a gathered number costs an add and a bounds test.

// Params (conv_params.wgsl), the epilogue (epilogue.wgsl) and the patch readers window_of,
// tap_of and read_patch (conv_window.wgsl) are put in front of this file.

@group(0) @binding(1) var<storage, read> x: array<f32>;     // (N, H, W, C)
@group(0) @binding(2) var<storage, read> wt: array<f32>;    // (KH·KW·C, F)
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // (N·OH·OW, F)
@group(0) @binding(4) var<storage, read> bias: array<f32>;  // (F), read when p.has_bias == 1

const ROWS: u32 = 256u;
const COLS: u32 = 16u;
const KT: u32 = 8u;
const PITCH: u32 = 257u;

var<workgroup> a_tile: array<f32, 2056>;
var<workgroup> b_tile: array<f32, 128>;

@compute @workgroup_size(16, 16)
fn conv_implicit_main(@builtin(local_invocation_id) lid: vec3<u32>,
                      @builtin(workgroup_id) wid: vec3<u32>,
                      @builtin(num_workgroups) groups: vec3<u32>) {
    let row0 = linear_group(wid, groups) * ROWS;
    // Y: (m, F) = cols (m, k) · W (k, F)
    let m = p.n * p.oh * p.ow;
    let k = p.kh * p.kw * p.c;
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;

    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = 0.0;
    }
    // This thread gathers tap k0 + kk of the 8 pixels r = t / 8 + 32·s of the tile, at every
    // step along the patch (neighbouring threads: neighbouring taps of one pixel, so
    // neighbouring channels of x). Their windows are found once, here.
    let kk = t % KT;
    var windows: array<Window, 8>;
    for (var s = 0u; s < 8u; s++) {
        windows[s] = window_of(row0 + t / KT + 32u * s);
    }

    for (var k0 = 0u; k0 < k; k0 += KT) {
        // The tap (kh, kw, ch) of patch position k0 + kk, the same for the thread's 8 pixels.
        let tap = tap_of(k0 + kk);
        for (var s = 0u; s < 8u; s++) {
            let r = t / KT + 32u * s;
            var av = 0.0;
            if row0 + r < m && k0 + kk < k {
                av = read_patch(windows[s], tap);
            }
            a_tile[kk * PITCH + r] = av;
        }
        if t < KT * COLS {
            let j = t % COLS;
            let kb = t / COLS;
            var bv = 0.0;
            if j < p.f && k0 + kb < k {
                bv = wt[(k0 + kb) * p.f + j];
            }
            b_tile[kb * COLS + j] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            let bv = b_tile[kk * COLS + tx];
            for (var i = 0u; i < 16u; i++) {
                acc[i] = fma(a_tile[kk * PITCH + ty + 16u * i], bv, acc[i]);
            }
        }
        workgroupBarrier();
    }

    if tx >= p.f {
        return;
    }
    for (var i = 0u; i < 16u; i++) {
        let row = row0 + ty + 16u * i;
        if row >= m {
            continue;
        }
        y[row * p.f + tx] = epilogue(acc[i], tx);
    }
}
