// Fused optimizer updates: the oracle is kernels/src/cpu/optimizer.rs, whose module doc has the
// formulas (TF 2.10's order of operations, copied line by line here).
//
// Parallel scheme: one thread per parameter element; it reads w, g and its slots once and
// writes them once. Elements are independent, so the result does not depend on the grid.
// The shaders differ only in how many slot buffers they bind (optimizer_1 … optimizer_4).

struct Params {
    n: u32,                 // elements P of the parameter
    lr: f32,                // learning rate of this step
    momentum: f32,          // SGD / RMSprop momentum μ
    rho: f32,               // RMSprop decay ρ
    one_minus_rho: f32,     // 1 − ρ, rounded on the host
    epsilon: f32,           // ε
    alpha: f32,             // Adam: lr·√(1−β₂ᵗ)/(1−β₁ᵗ), computed on the host (AdamStep::alpha)
    one_minus_beta_1: f32,  // Adam: 1 − β₁
    one_minus_beta_2: f32,  // Adam: 1 − β₂
    weight_decay: f32,      // AdamW's decoupled decay; 0 for Adam
    nesterov: u32,          // SGD momentum: 1 for Nesterov's look-ahead
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>; // (P) the parameter, in place
@group(0) @binding(2) var<storage, read> g: array<f32>;       // (P) its gradient

// x, or 0 when x is subnormal (|x| < 2⁻¹²⁶), as the CPU's flush_subnormal: a slot that decays
// towards 0 must end at 0 on both devices.
fn flush(x: f32) -> f32 {
    if abs(x) < 0x1p-126f {
        return 0.0;
    }
    return x;
}
