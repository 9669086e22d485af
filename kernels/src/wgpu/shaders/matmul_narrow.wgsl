// Matrix product for a narrow C (N ≤ 16 columns, many rows): the products of the first
// convolution layers (rows = N·OH·OW pixels, K = KH·KW·C = 9 or 27, N = F = 12 or 16 filters)
// and of small Dense outputs. Same arithmetic and epilogue as matmul.wgsl (see
// kernels/src/wgpu/matmul.rs); another tile shape.
//
// Parallel scheme: one 16×16 workgroup computes a 256×16 tile of C for one batch item. Thread
// (tx, ty) owns column tx and the 16 rows ty + 16·i of the tile. The K axis is walked 8 at a
// time: the 256 threads copy a 256×8 block of A (8 numbers each) and an 8×16 block of B into
// workgroup memory, wait at a barrier, and each multiplies its 16 rows by its one column out of
// workgroup memory, 16 sums in registers. matmul.wgsl's 64×64 tile would leave three quarters
// of its columns, and of its multiply-adds, idle on a 16-column C.

// Params (matmul_params.wgsl) and the epilogue (epilogue.wgsl) are put in front of this file.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>; // (N), read when p.has_bias == 1

const ROWS: u32 = 256u;
const COLS: u32 = 16u;
const KT: u32 = 8u;
// Row length of the A tile: one more than ROWS, so that threads storing consecutive K
// positions of one row hit different memory banks.
const PITCH: u32 = 257u;

// a_tile[kk·PITCH + r] = A[row0 + r, k0 + kk];  b_tile[kk·COLS + j] = B[k0 + kk, col0 + j]
var<workgroup> a_tile: array<f32, 2056>;
var<workgroup> b_tile: array<f32, 128>;

@compute @workgroup_size(16, 16)
fn matmul_narrow_main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let item = wid.z;
    let row0 = wid.y * ROWS;
    let col0 = wid.x * COLS;
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    let a_base = p.a_offset + item * p.a_batch;
    let b_base = p.b_offset + item * p.b_batch;

    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = 0.0;
    }

    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var s = 0u; s < 8u; s++) {
            let e = t + 256u * s;
            // A block: K fastest across threads when A's rows are contiguous (a_col == 1),
            // rows fastest otherwise, so that neighbouring threads read neighbouring numbers.
            var r = e / KT;
            var kk = e % KT;
            if p.a_col != 1u {
                r = e % ROWS;
                kk = e / ROWS;
            }
            var av = 0.0;
            if row0 + r < p.m && k0 + kk < p.k {
                av = a[a_base + (row0 + r) * p.a_row + (k0 + kk) * p.a_col];
            }
            a_tile[kk * PITCH + r] = av;
        }
        if t < KT * COLS {
            let j = t % COLS;
            let kb = t / COLS;
            var bv = 0.0;
            if col0 + j < p.n && k0 + kb < p.k {
                bv = b[b_base + (k0 + kb) * p.b_row + (col0 + j) * p.b_col];
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

    let col = col0 + tx;
    if col >= p.n {
        return;
    }
    for (var i = 0u; i < 16u; i++) {
        let row = row0 + ty + 16u * i;
        if row >= p.m {
            continue;
        }
        let at = p.c_offset + item * p.c_batch + row * p.c_row + col * p.c_col;
        var v = acc[i];
        if p.beta != 0.0 {
            v += p.beta * c[at];
        }
        c[at] = epilogue(v, col);
    }
}
