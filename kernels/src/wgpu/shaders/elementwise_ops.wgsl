// The parameter block and helpers of the elementwise kernels (no bindings; put in front of
// unary.wgsl, unary_backward.wgsl, binary.wgsl, fill.wgsl, strided_copy.wgsl). The functions
// `unary`, `unary_backward` and `binary` are not here: they are generated from the definitions in
// kernels/src/elementwise.rs (UnaryOp::wgsl_functions, BinaryOp::wgsl_function) and put
// between this file and the kernel.

struct Params {
    n: u32,          // output elements
    op: u32,         // the op's position in UnaryOp::ALL or BinaryOp::ALL
    rank: u32,       // axes of the output (at most 6), trailing-aligned in the arrays below
    value: f32,      // fill value (fill)
    p0: f32,         // the UnaryOp's fields (alpha, s, low and high, …)
    p1: f32,
    dims: array<u32, 6>,       // output shape, right-aligned
    a_strides: array<u32, 6>,  // strides of a in the output's axes (0 where a is broadcast)
    b_strides: array<u32, 6>,
    start: u32,      // strided_copy: the element of x that output element 0 reads
    out_start: u32,  // strided_copy_into: the element of out that x's element 0 goes to
}

@group(0) @binding(0) var<storage, read> p: Params;

// x^y for any sign of x, as Rust's powf: WGSL's pow is undefined for x < 0.
fn pow_any(x: f32, y: f32) -> f32 {
    if y == 0.0 { return 1.0; }
    if x >= 0.0 { return pow(x, y); }
    let r = pow(-x, y);
    if y == floor(y) {
        if (i32(y) & 1) == 1 { return -r; }
        return r;
    }
    return bitcast<f32>(0x7fc00000u); // NaN, as powf of a negative base
}

// σ(x) with an exponent that is never positive, as kernels/src/elementwise.rs.
fn stable_sigmoid(x: f32) -> f32 {
    if x >= 0.0 { return 1.0 / (1.0 + exp(-x)); }
    let e = exp(x);
    return e / (1.0 + e);
}

// erf(x) in f32 (Abramowitz & Stegun 7.1.26, error below 1.5e-7): the GPU's exact GELU. The CPU
// computes it in f64 (kernels/src/elementwise.rs, erf).
fn erf_f32(x: f32) -> f32 {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let e = 1.0 - poly * exp(-z * z);
    return select(-e, e, x >= 0.0);
}
