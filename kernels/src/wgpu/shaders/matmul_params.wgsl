// The parameter block shared by matmul.wgsl and matmul_reduce.wgsl (put in front of both).

struct Params {
    m: u32,
    k: u32,
    n: u32,
    beta: f32,
    a_offset: u32,
    a_batch: u32,
    a_row: u32,
    a_col: u32,
    b_offset: u32,
    b_batch: u32,
    b_row: u32,
    b_col: u32,
    c_offset: u32,
    c_batch: u32,
    c_row: u32,
    c_col: u32,
    batch: u32,     // batch items in this dispatch
    splits: u32,    // K slices (1: no split, write C directly)
    k_slice: u32,   // K positions per slice
    has_bias: u32,  // 1: add bias[col] to every row of C (the epilogue)
    relu: u32,      // 1: then max(·, 0)
}

@group(0) @binding(0) var<storage, read> p: Params;
