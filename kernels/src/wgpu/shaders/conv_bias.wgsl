// The gradient of conv2d's bias (the forward adds the bias in the product's epilogue,
// epilogue.wgsl). Params: conv_params.wgsl.
//
// sum_rows: out[g, j] = Σ of rows g·1024 .. (g + 1)·1024 of src: (rows, F), column j; called
// again on its own output until one row is left, so db = Σ_rows dY takes a few passes and no
// atomics. Parallel scheme: a 16×16 workgroup covers 16 columns; its 16 lanes of rows each walk
// every 16th row of the group's 1024 (16 neighbouring threads read 16 neighbouring numbers), then
// the 16 lane sums of each column are added pairwise in workgroup memory (a tree reduction).

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const ROWS_PER_GROUP: u32 = 1024u;
var<workgroup> lane_sums: array<f32, 256>;

@compute @workgroup_size(16, 16)
fn sum_rows_main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let col = wid.x * 16u + lid.x;
    let first = wid.y * ROWS_PER_GROUP;
    let last = min(p.rows, first + ROWS_PER_GROUP);
    var s = 0.0;
    if col < p.f {
        for (var r = first + lid.y; r < last; r += 16u) {
            s += src[r * p.f + col];
        }
    }
    lane_sums[lid.y * 16u + lid.x] = s;
    workgroupBarrier();
    for (var half = 8u; half > 0u; half = half / 2u) {
        if lid.y < half {
            lane_sums[lid.y * 16u + lid.x] += lane_sums[(lid.y + half) * 16u + lid.x];
        }
        workgroupBarrier();
    }
    if lid.y == 0u && col < p.f {
        dst[wid.y * p.f + col] = lane_sums[lid.x];
    }
}
