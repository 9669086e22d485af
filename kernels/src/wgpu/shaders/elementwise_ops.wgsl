// Elementwise functions (no bindings; put in front of unary.wgsl, binary.wgsl): the WGSL twin of kernels/src/elementwise.rs (same codes, same math).

struct Params {
    n: u32,          // output elements
    op: u32,         // UnaryOp / BinaryOp code
    rank: u32,       // axes of the output (at most 6), trailing-aligned in the arrays below
    value: f32,      // fill value (fill), or first parameter
    p0: f32,
    p1: f32,
    dims: array<u32, 6>,       // output shape, right-aligned
    a_strides: array<u32, 6>,  // strides of a in the output's axes (0 where a is broadcast)
    b_strides: array<u32, 6>,
}

@group(0) @binding(0) var<storage, read> p: Params;

fn unary(op: u32, x: f32, p0: f32, p1: f32) -> f32 {
    switch op {
        case 0u: { return -x; }
        case 1u: { return exp(x); }
        case 2u: { return log(x); }
        case 3u: { return sqrt(x); }
        case 4u: { return abs(x); }
        case 5u: { return 1.0 / x; }
        case 6u: { return max(x, 0.0); }
        case 7u: { return clamp(x, 0.0, 6.0); }
        case 8u: { return stable_sigmoid(x); }
        case 9u: { return tanh(x); }
        case 10u: { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
        case 11u: { return select(p0 * (exp(x) - 1.0), x, x > 0.0); }
        case 12u: { return select(p1 * p0 * (exp(x) - 1.0), p1 * x, x > 0.0); }
        case 13u: { return select(p0 * x, x, x > 0.0); }
        case 14u: { return x + p0; }
        case 15u: { return x * p0; }
        case 16u: { return pow_any(x, p0); }
        case 17u: { return min(max(x, p0), p1); }
        case 18u: { return select(0.0, 1.0, x > 0.0); }
        default: { return x; }
    }
}

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

fn binary(op: u32, a: f32, b: f32, p0: f32) -> f32 {
    switch op {
        case 0u: { return a + b; }
        case 1u: { return a - b; }
        case 2u: { return a * b; }
        case 3u: { return a / b; }
        case 4u: { return pow_any(a, b); }
        case 5u: { return select(b, a, a != a || a >= b); } // NaN propagates
        case 6u: { return select(b, a, a != a || a <= b); }
        case 7u: { return select(0.0, 1.0, a > b); }
        case 8u: { return select(0.0, 1.0, a >= b); }
        case 9u: { return select(0.0, 1.0, a < b); }
        case 10u: { return select(0.0, 1.0, a <= b); }
        case 11u: { return select(0.0, 1.0, a == b); }
        case 12u: { return select(0.0, 1.0, a != b); }
        case 13u: { return select(0.0, a, b > 0.0); }
        case 14u: { return select(0.0, a, b > 0.0 && b < 6.0); }
        case 15u: { return select(p0 * a, a, b > 0.0); }
        case 16u: { return a * b * (1.0 - b); }
        case 17u: { return a * (1.0 - b * b); }
        case 18u: { return select(a * p0 * exp(b), a, b > 0.0); }
        case 19u: { return select(a * 1.050701 * 1.6732632 * exp(b), a * 1.050701, b >= 0.0); }
        case 20u: { return a * stable_sigmoid(b); }
        default: { return a; }
    }
}

