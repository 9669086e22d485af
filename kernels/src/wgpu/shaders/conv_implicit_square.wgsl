// Convolution forward as an implicit GEMM on the 64×64 tiles of matmul.wgsl, for more than 16
// filters: Y = relu?(cols · W + b) without making cols, each element of cols read from x where
// the product needs it (the im2col formula of im2col.wgsl). For the second convolution of the
// cats-vs-dogs CNN (74×74×16 → 32, batch 20) the im2col path writes, then reads, a 60 MB matrix.
//
// Parallel scheme: as matmul.wgsl (one 16×16 workgroup per 64×64 tile of Y, thread (tx, ty) owns
// the 4×4 block of rows ty + 16·i and filters tx + 16·j, the patch axis walked 16 taps at a time
// through workgroup memory), with the A tile gathered from x instead of read from cols. Each
// thread gathers the same tap of 4 pixels at every step: it finds the 4 windows once, and the
// tap's (kh, kw, ch) once per step. Each sum adds the taps in order with fma, as matmul.wgsl
// does: the im2col path's numbers.

// Params (conv_params.wgsl), the epilogue (epilogue.wgsl) and the patch readers window_of,
// tap_of and read_patch (conv_window.wgsl) are put in front of this file.

@group(0) @binding(1) var<storage, read> x: array<f32>;       // (N, H, W, C)
@group(0) @binding(2) var<storage, read> wt: array<f32>;      // (KH·KW·C, F)
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // (N·OH·OW, F)
@group(0) @binding(4) var<storage, read> bias: array<f32>;    // (F), read when p.has_bias == 1

const TILE: u32 = 64u;
const KT: u32 = 16u;
const PITCH: u32 = 65u;

// a_tile[kk·PITCH + r] = cols[row0 + r, k0 + kk];  b_tile[kk·PITCH + j] = W[k0 + kk, col0 + j]
var<workgroup> a_tile: array<f32, 1040>;
var<workgroup> b_tile: array<f32, 1040>;

@compute @workgroup_size(16, 16)
fn conv_implicit_square_main(@builtin(local_invocation_id) lid: vec3<u32>,
                             @builtin(workgroup_id) wid: vec3<u32>,
                             @builtin(num_workgroups) groups: vec3<u32>) {
    // Row tiles across x and y (there can be more than one axis holds), filter tiles along z.
    let row0 = linear_group(wid, groups) * TILE;
    let col0 = wid.z * TILE;
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
    // This thread gathers tap k0 + kk of the 4 pixels r = t / KT + 16·s of the tile, at every
    // step (neighbouring threads: neighbouring taps of one pixel, so neighbouring channels of
    // x). Their windows are found once, here.
    let kk = t % KT;
    var windows: array<Window, 4>;
    for (var s = 0u; s < 4u; s++) {
        windows[s] = window_of(row0 + t / KT + 16u * s);
    }

    for (var k0 = 0u; k0 < k; k0 += KT) {
        // The tap (kh, kw, ch) of patch position k0 + kk, the same for the thread's 4 pixels.
        let tap = tap_of(k0 + kk);
        for (var s = 0u; s < 4u; s++) {
            let r = t / KT + 16u * s;
            var av = 0.0;
            if row0 + r < m && k0 + kk < k {
                av = read_patch(windows[s], tap);
            }
            a_tile[kk * PITCH + r] = av;
            // W block: filters fastest, as matmul.wgsl reads a B with contiguous rows.
            let e = t + 256u * s;
            let j = e % TILE;
            let kb = e / TILE;
            var bv = 0.0;
            if col0 + j < p.f && k0 + kb < k {
                bv = wt[(k0 + kb) * p.f + col0 + j];
            }
            b_tile[kb * PITCH + j] = bv;
        }
        workgroupBarrier();
        for (var kq = 0u; kq < KT; kq++) {
            var ar: array<f32, 4>;
            var br: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                ar[i] = a_tile[kq * PITCH + ty + 16u * i];
                br[i] = b_tile[kq * PITCH + tx + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] = fma(ar[i], br[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let row = row0 + ty + 16u * i;
        if row >= m {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tx + 16u * j;
            if col >= p.f {
                continue;
            }
            y[row * p.f + col] = epilogue(acc[i * 4u + j], col);
        }
    }
}
