// Matrix product for a large C (at least 2048 rows and 2048 columns): the same arithmetic and
// epilogue as matmul.wgsl (see kernels/src/wgpu/matmul.rs), with tiles twice as wide.
//
// Parallel scheme: one 16×16 workgroup computes a 128×128 tile of C for one batch item. Thread
// (tx, ty) owns 8 rows, 4ty..4ty+3 and 64+4ty..64+4ty+3, and 8 columns, 4tx..4tx+3 and
// 64+4tx..64+4tx+3: an 8×8 block of the tile, 64 sums in registers. The K axis is walked 8 at a
// time: the 256 threads copy a 128×8 block of A and an 8×128 block of B into workgroup memory
// (4 numbers of each per thread), wait at a barrier, and then, for each of the 8 K positions,
// every thread reads 2 vec4 of A and 2 vec4 of B and does 64 multiply-adds.
//
// What the bigger block buys: matmul.wgsl's 4×4 block reads 8 numbers from workgroup memory for
// 16 multiply-adds; this one reads 16 (in 4 vector loads) for 64, so workgroup memory feeds
// four times as many multiply-adds per load, the limit of the smaller tile on a large product.
// Each sum still adds K in order 0, 1, 2, … with fma, as matmul.wgsl does: both kernels give the
// same numbers, bit for bit.

// Params (matmul_params.wgsl) and the epilogue (epilogue.wgsl) are put in front of this file.
// The product is never split along K here (p.splits == 1).

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>; // (N), read when p.has_bias == 1

const TILE: u32 = 128u;
const KT: u32 = 8u;
// vec4s per K row of a workgroup tile: 32 hold the 128 numbers, one more so that the 8 threads
// storing the 8 K positions of one row of A land in different memory banks.
const PITCH: u32 = 33u;

// a_tile[kk·PITCH + r/4][r%4] = A[row0 + r, k0 + kk];  b_tile[kk·PITCH + j/4][j%4] = B[k0 + kk, col0 + j]
var<workgroup> a_tile: array<vec4<f32>, 264>;
var<workgroup> b_tile: array<vec4<f32>, 264>;

@compute @workgroup_size(16, 16)
fn matmul_large_main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let item = wid.z;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    let a_base = p.a_offset + item * p.a_batch;
    let b_base = p.b_offset + item * p.b_batch;

    // acc[2·r + h]: the thread's row r (0..7), its column group h (0: 4tx.., 1: 64+4tx..).
    // Indexed by constants only (the loops over it are written out), so that a compiler keeps
    // the 64 sums in registers: an array indexed by a loop variable can be put in slow
    // per-thread memory where a compiler does not unroll the loop. WGSL starts it at zeros.
    var acc: array<vec4<f32>, 16>;

    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var s = 0u; s < 4u; s++) {
            let e = t + 256u * s;
            // A block: K fastest across threads when A's rows are contiguous (a_col == 1),
            // rows fastest otherwise, so that a warp reads consecutive addresses either way.
            var r = e / KT;
            var kk = e % KT;
            if p.a_col != 1u {
                r = e % TILE;
                kk = e / TILE;
            }
            var av = 0.0;
            if row0 + r < p.m && k0 + kk < p.k {
                av = a[a_base + (row0 + r) * p.a_row + (k0 + kk) * p.a_col];
            }
            a_tile[kk * PITCH + r / 4u][r % 4u] = av;
            // B block: columns fastest when B's rows are contiguous (b_col == 1).
            var j = e % TILE;
            var kb = e / TILE;
            if p.b_col != 1u {
                j = e / KT;
                kb = e % KT;
            }
            var bv = 0.0;
            if col0 + j < p.n && k0 + kb < p.k {
                bv = b[b_base + (k0 + kb) * p.b_row + (col0 + j) * p.b_col];
            }
            b_tile[kb * PITCH + j / 4u][j % 4u] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            let a_low = a_tile[kk * PITCH + ty];
            let a_high = a_tile[kk * PITCH + 16u + ty];
            let b_low = b_tile[kk * PITCH + tx];
            let b_high = b_tile[kk * PITCH + 16u + tx];
            acc[0] = fma(vec4<f32>(a_low.x), b_low, acc[0]);
            acc[1] = fma(vec4<f32>(a_low.x), b_high, acc[1]);
            acc[2] = fma(vec4<f32>(a_low.y), b_low, acc[2]);
            acc[3] = fma(vec4<f32>(a_low.y), b_high, acc[3]);
            acc[4] = fma(vec4<f32>(a_low.z), b_low, acc[4]);
            acc[5] = fma(vec4<f32>(a_low.z), b_high, acc[5]);
            acc[6] = fma(vec4<f32>(a_low.w), b_low, acc[6]);
            acc[7] = fma(vec4<f32>(a_low.w), b_high, acc[7]);
            acc[8] = fma(vec4<f32>(a_high.x), b_low, acc[8]);
            acc[9] = fma(vec4<f32>(a_high.x), b_high, acc[9]);
            acc[10] = fma(vec4<f32>(a_high.y), b_low, acc[10]);
            acc[11] = fma(vec4<f32>(a_high.y), b_high, acc[11]);
            acc[12] = fma(vec4<f32>(a_high.z), b_low, acc[12]);
            acc[13] = fma(vec4<f32>(a_high.z), b_high, acc[13]);
            acc[14] = fma(vec4<f32>(a_high.w), b_low, acc[14]);
            acc[15] = fma(vec4<f32>(a_high.w), b_high, acc[15]);
        }
        workgroupBarrier();
    }

    let rows = row0 + 4u * ty;
    store_row(item, rows, acc[0], acc[1], tx, col0);
    store_row(item, rows + 1u, acc[2], acc[3], tx, col0);
    store_row(item, rows + 2u, acc[4], acc[5], tx, col0);
    store_row(item, rows + 3u, acc[6], acc[7], tx, col0);
    store_row(item, rows + 64u, acc[8], acc[9], tx, col0);
    store_row(item, rows + 65u, acc[10], acc[11], tx, col0);
    store_row(item, rows + 66u, acc[12], acc[13], tx, col0);
    store_row(item, rows + 67u, acc[14], acc[15], tx, col0);
}

// Writes one row's 8 sums: `low` to columns col0 + 4tx.., `high` to col0 + 64 + 4tx...
fn store_row(item: u32, row: u32, low: vec4<f32>, high: vec4<f32>, tx: u32, col0: u32) {
    if row >= p.m {
        return;
    }
    for (var h = 0u; h < 2u; h++) {
        var sums = low;
        if h == 1u {
            sums = high;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + 64u * h + 4u * tx + j;
            if col >= p.n {
                continue;
            }
            let at = p.c_offset + item * p.c_batch + row * p.c_row + col * p.c_col;
            var v = sums[j];
            if p.beta != 0.0 {
                v += p.beta * c[at];
            }
            c[at] = epilogue(v, col);
        }
    }
}
