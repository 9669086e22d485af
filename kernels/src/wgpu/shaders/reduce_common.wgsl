// Reductions over a set of axes: sum, max or min.
//
// The input is read as if permuted so that the kept axes come first and the reduced axes last:
// output element `o` reduces the `n_red` elements at `base(o) + offset(j)`, j = 0..n_red, where
// `base` walks the kept axes and `offset` the reduced ones (each up to 6 axes, with strides).
//
// Two schedules. `reduce_rows` (reduce.wgsl): one workgroup per output element; its 256 threads
// each fold a strided part of the reduced elements, then fold their 256 partial results in
// shared memory (a tree, log₂ 256 = 8 steps, a barrier each). Good when few outputs each reduce
// many numbers (a bias gradient: 16 outputs of 100 000 numbers). Where the GPU has subgroup
// operations, `reduce_rows_subgroup` (reduce_subgroup.wgsl) does the same with one barrier.
// `reduce_small` (reduce.wgsl): one thread per output element, for many outputs that each
// reduce a handful of numbers.
//
// This file holds what the schedules share; reduce.rs puts it in front of each.

struct Params {
    n_out: u32,
    n_red: u32,
    op: u32,        // 0 sum, 1 max, 2 min
    red_step: u32,  // reduced axes next to each other: the distance of element j + 1 from j; else 0
    kept_dims: array<u32, 6>,
    kept_strides: array<u32, 6>,
    red_dims: array<u32, 6>,
    red_strides: array<u32, 6>,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn identity(op: u32) -> f32 {
    switch op {
        case 1u: { return bitcast<f32>(0xff800000u); } // −∞
        case 2u: { return bitcast<f32>(0x7f800000u); } // +∞
        default: { return 0.0; }
    }
}

// NaN wins for max and min, as on the CPU, so a NaN is never hidden.
fn combine(op: u32, a: f32, b: f32) -> f32 {
    if op != 0u {
        if is_nan(a) { return a; }
        if is_nan(b) { return b; }
    }
    switch op {
        case 1u: { return max(a, b); }
        case 2u: { return min(a, b); }
        default: { return a + b; }
    }
}

fn strided(index: u32, dims: array<u32, 6>, strides: array<u32, 6>) -> u32 {
    var rest = index;
    var offset = 0u;
    for (var axis = 5; axis >= 0; axis--) {
        let d = dims[axis];
        offset += (rest % d) * strides[axis];
        rest = rest / d;
    }
    return offset;
}

// The fold of elements first, first + step, first + 2·step, … of output o's reduced elements
// (the identity past the last output: every thread of a workgroup takes part in its barriers).
fn fold_part(o: u32, first: u32, step: u32) -> f32 {
    var acc = identity(p.op);
    if o < p.n_out {
        let base = strided(o, p.kept_dims, p.kept_strides);
        if p.red_step != 0u {
            // The common case (a bias gradient, a mean over the batch): element j at j·step,
            // without decomposing j over six axes for every element.
            for (var j = first; j < p.n_red; j += step) {
                acc = combine(p.op, acc, x[base + j * p.red_step]);
            }
        } else {
            for (var j = first; j < p.n_red; j += step) {
                acc = combine(p.op, acc, x[base + strided(j, p.red_dims, p.red_strides)]);
            }
        }
    }
    return acc;
}
