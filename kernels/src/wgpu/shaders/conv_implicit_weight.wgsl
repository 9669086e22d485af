// Convolution weight gradient as an implicit GEMM, for few filters (F ≤ 16):
// dW = colsᵀ · dY, (KH·KW·C, F), without making cols. Each element of cols is read straight from
// x where the product needs it (the im2col formula of im2col.wgsl): for a batch of 20
// cats-vs-dogs images the im2col path writes, then reads, a 47 MB matrix for this product.
//
// Parallel scheme: the product's long axis, the N·OH·OW output pixels, is cut into p.splits
// slices of p.k_slice pixels, as kernels/src/wgpu/matmul.rs cuts a long K. Workgroup
// (wid.x, wid.y) computes the 16 taps 16·wid.x .. 16·wid.x + 15 of dW, for every filter, over
// slice wid.y; thread (tx, ty) owns tap 16·wid.x + ty and filter tx. The slice is walked 16
// pixels at a time: the 256 threads gather a 16-pixel × 16-tap block of cols from x and copy the
// 16 pixels' rows of dY into workgroup memory, wait at a barrier, and each adds its 16 products.
//
// Each sum adds the pixels of its slice in order with fma from 0, as the im2col path's product
// does, and matmul_reduce.wgsl adds the slices in order: the same numbers as im2col + matmul.
// With one slice the sums are dW itself; with more, slice s writes partial[s].

// Params (conv_params.wgsl) and the patch readers window_of, tap_of and read_patch
// (conv_window.wgsl) are put in front of this file.

@group(0) @binding(1) var<storage, read> x: array<f32>;          // (N, H, W, C)
@group(0) @binding(2) var<storage, read> dy: array<f32>;         // (N·OH·OW, F)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // (splits, KH·KW·C, F)

const TAPS: u32 = 16u;
const PIXELS: u32 = 16u;
const FILTERS: u32 = 16u;

// cols_tile[q·TAPS + i] = cols[r0 + q, tap0 + i];  dy_tile[q·FILTERS + f] = dY[r0 + q, f]
var<workgroup> cols_tile: array<f32, 256>;
var<workgroup> dy_tile: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn conv_implicit_weight_main(@builtin(local_invocation_id) lid: vec3<u32>,
                             @builtin(workgroup_id) wid: vec3<u32>) {
    let pixels = p.n * p.oh * p.ow;
    let taps = p.kh * p.kw * p.c;
    let tap0 = wid.x * TAPS;
    let slice = wid.y;
    let begin = slice * p.k_slice;
    let end = min(pixels, begin + p.k_slice);
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;

    // What this thread stages at every step: tap `i` of pixel `q` of the block (neighbouring
    // threads: neighbouring taps of one pixel, so neighbouring channels of x), and filter `i`
    // of the same pixel's row of dY. The tap's (kh, kw, ch) is found once, here.
    let q = t / TAPS;
    let i = t % TAPS;
    let tap = tap_of(tap0 + i);

    var acc = 0.0;
    for (var r0 = begin; r0 < end; r0 += PIXELS) {
        let row = r0 + q;
        var cv = 0.0;
        var dv = 0.0;
        if row < end {
            if tap0 + i < taps {
                cv = read_patch(window_of(row), tap);
            }
            if i < p.f {
                dv = dy[row * p.f + i];
            }
        }
        cols_tile[q * TAPS + i] = cv;
        dy_tile[q * FILTERS + i] = dv;
        workgroupBarrier();
        for (var qq = 0u; qq < PIXELS; qq++) {
            acc = fma(cols_tile[qq * TAPS + ty], dy_tile[qq * FILTERS + tx], acc);
        }
        workgroupBarrier();
    }

    let my_tap = tap0 + ty;
    if my_tap < taps && tx < p.f {
        out[(slice * taps + my_tap) * p.f + tx] = acc;
    }
}
