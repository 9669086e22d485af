// Batched matrix product C = epilogue(op(A)·op(B) + beta·C) (see kernels/src/wgpu/matmul.rs),
// the epilogue adding a bias per column and applying a ReLU when asked (epilogue.wgsl).
//
// Parallel scheme: one 16×16 workgroup computes a 64×64 tile of C for one batch item (and one
// slice of K when the product is split along K). The K axis is walked 16 at a time: the 256
// threads copy a 64×16 block of A and a 16×64 block of B into workgroup memory (4 numbers of
// each per thread), wait at a barrier, and then every thread multiplies its 4×4 block of the tile
// out of workgroup memory, holding 16 sums in registers ("register blocking": each number read
// from workgroup memory feeds 4 multiply-adds instead of 1). Thread (tx, ty) owns the rows
// ty + 16·i and the columns tx + 16·j of the tile, so neighbouring threads write neighbouring
// columns of C.
//
// Every operand is read through strides, element (i, j) of batch item z at
// offset + z·batch_stride + i·row_stride + j·col_stride: a transposed operand is just swapped
// strides. Rows, columns and K positions past the edge of the matrix read as 0 and are not written.
//
// With `splits` > 1, workgroup z handles batch item z / splits and K slice z % splits
// (positions s·k_slice .. min((s + 1)·k_slice, k)), and writes its partial tile, row-major and
// contiguous, to `partial` slot s; `matmul_reduce` then adds the slices in order (and applies the
// epilogue).

// Params (matmul_params.wgsl) and the epilogue (epilogue.wgsl) are put in front of this file.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>; // (N), read when p.has_bias == 1

const TILE: u32 = 64u;
const KT: u32 = 16u;
// Row length of the workgroup tiles: one more than TILE, so that 16 threads storing 16
// consecutive K positions of one row hit 16 different memory banks.
const PITCH: u32 = 65u;

// a_tile[kk·PITCH + r] = A[row0 + r, k0 + kk];  b_tile[kk·PITCH + j] = B[k0 + kk, col0 + j]
var<workgroup> a_tile: array<f32, 1040>;
var<workgroup> b_tile: array<f32, 1040>;

@compute @workgroup_size(16, 16)
fn matmul_main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let item = wid.z / p.splits;
    let slice = wid.z % p.splits;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * 16u + tx;
    let k_begin = slice * p.k_slice;
    let k_end = min(p.k, k_begin + p.k_slice);
    let a_base = p.a_offset + item * p.a_batch;
    let b_base = p.b_offset + item * p.b_batch;

    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = 0.0;
    }

    for (var k0 = k_begin; k0 < k_end; k0 += KT) {
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
            if row0 + r < p.m && k0 + kk < k_end {
                av = a[a_base + (row0 + r) * p.a_row + (k0 + kk) * p.a_col];
            }
            a_tile[kk * PITCH + r] = av;
            // B block: columns fastest when B's rows are contiguous (b_col == 1).
            var j = e % TILE;
            var kb = e / TILE;
            if p.b_col != 1u {
                j = e / KT;
                kb = e % KT;
            }
            var bv = 0.0;
            if col0 + j < p.n && k0 + kb < k_end {
                bv = b[b_base + (k0 + kb) * p.b_row + (col0 + j) * p.b_col];
            }
            b_tile[kb * PITCH + j] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            var ar: array<f32, 4>;
            var br: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                ar[i] = a_tile[kk * PITCH + ty + 16u * i];
                br[i] = b_tile[kk * PITCH + tx + 16u * i];
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
        if row >= p.m {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + tx + 16u * j;
            if col >= p.n {
                continue;
            }
            if p.splits == 1u {
                let at = p.c_offset + item * p.c_batch + row * p.c_row + col * p.c_col;
                var v = acc[i * 4u + j];
                if p.beta != 0.0 {
                    v += p.beta * c[at];
                }
                c[at] = epilogue(v, col);
            } else {
                // partial: (splits, batch, m, n), contiguous
                c[((slice * p.batch + item) * p.m + row) * p.n + col] = acc[i * 4u + j];
            }
        }
    }
}

