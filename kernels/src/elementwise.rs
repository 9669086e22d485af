//! The elementwise functions that have a name, shared by both devices.
//!
//! A closure cannot run on a GPU, so every elementwise function that the layers need on a GPU
//! is a variant of [`UnaryOp`] (`y = f(x)`) or [`BinaryOp`] (`z = f(a, b)`). [`UnaryOp::apply`]
//! and [`BinaryOp::apply`] are the definitions: the CPU calls them, and the WGSL shader
//! (`wgpu/shaders/elementwise.wgsl`) is a `switch` over the same codes, tested against them.

/// `y = f(x)`, one number at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// `−x`
    Neg,
    /// `eˣ`
    Exp,
    /// `ln x`
    Ln,
    /// `√x`
    Sqrt,
    /// `|x|`
    Abs,
    /// `1 / x`
    Recip,
    /// `max(x, 0)`
    Relu,
    /// `min(max(x, 0), 6)`
    Relu6,
    /// `1 / (1 + e⁻ˣ)`
    Sigmoid,
    /// `tanh x`
    Tanh,
    /// `ln(1 + eˣ)`, computed stably
    Softplus,
    /// `x` for `x > 0`, else `α·(eˣ − 1)`
    Elu(f32),
    /// `λ·x` for `x > 0`, else `λ·α·(eˣ − 1)` with Keras's `λ, α`
    Selu,
    /// `x` for `x > 0`, else `α·x`
    LeakyRelu(f32),
    /// `x + s`
    AddScalar(f32),
    /// `x · s`
    MulScalar(f32),
    /// `xᵖ`
    PowScalar(f32),
    /// `min(max(x, low), high)`
    Clamp(f32, f32),
    /// `1` where `x > 0`, else `0` (the derivative of ReLU)
    Step,
}

/// SELU's constants (Keras `activations.selu`).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's scale λ.
pub const SELU_SCALE: f32 = 1.050_701;

/// `σ(x) = 1 / (1 + e⁻ˣ)` with an exponent that is never positive (no overflow).
pub fn stable_sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl UnaryOp {
    /// `f(x)`.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Ln => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Recip => 1.0 / x,
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Relu6 => x.clamp(0.0, 6.0),
            UnaryOp::Sigmoid => stable_sigmoid(x),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            UnaryOp::Elu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            UnaryOp::Selu => {
                if x > 0.0 {
                    SELU_SCALE * x
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp_m1()
                }
            }
            UnaryOp::LeakyRelu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            UnaryOp::AddScalar(s) => x + s,
            UnaryOp::MulScalar(s) => x * s,
            UnaryOp::PowScalar(p) => x.powf(p),
            UnaryOp::Clamp(low, high) => x.max(low).min(high),
            UnaryOp::Step => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// The name used in error messages (`"exp"`, `"relu"`).
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Ln => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Abs => "abs",
            UnaryOp::Recip => "reciprocal",
            UnaryOp::Relu => "relu",
            UnaryOp::Relu6 => "relu6",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Softplus => "softplus",
            UnaryOp::Elu(_) => "elu",
            UnaryOp::Selu => "selu",
            UnaryOp::LeakyRelu(_) => "leaky_relu",
            UnaryOp::AddScalar(_) => "add_scalar",
            UnaryOp::MulScalar(_) => "mul_scalar",
            UnaryOp::PowScalar(_) => "powf",
            UnaryOp::Clamp(..) => "clamp",
            UnaryOp::Step => "step",
        }
    }

    /// The shader's code for this function and its two parameters.
    pub fn code(self) -> (u32, [f32; 2]) {
        match self {
            UnaryOp::Neg => (0, [0.0; 2]),
            UnaryOp::Exp => (1, [0.0; 2]),
            UnaryOp::Ln => (2, [0.0; 2]),
            UnaryOp::Sqrt => (3, [0.0; 2]),
            UnaryOp::Abs => (4, [0.0; 2]),
            UnaryOp::Recip => (5, [0.0; 2]),
            UnaryOp::Relu => (6, [0.0; 2]),
            UnaryOp::Relu6 => (7, [0.0; 2]),
            UnaryOp::Sigmoid => (8, [0.0; 2]),
            UnaryOp::Tanh => (9, [0.0; 2]),
            UnaryOp::Softplus => (10, [0.0; 2]),
            UnaryOp::Elu(alpha) => (11, [alpha, 0.0]),
            UnaryOp::Selu => (12, [SELU_ALPHA, SELU_SCALE]),
            UnaryOp::LeakyRelu(alpha) => (13, [alpha, 0.0]),
            UnaryOp::AddScalar(s) => (14, [s, 0.0]),
            UnaryOp::MulScalar(s) => (15, [s, 0.0]),
            UnaryOp::PowScalar(p) => (16, [p, 0.0]),
            UnaryOp::Clamp(low, high) => (17, [low, high]),
            UnaryOp::Step => (18, [0.0; 2]),
        }
    }
}

/// `z = f(a, b)`, one pair of numbers at a time (after broadcasting).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a − b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
    /// `aᵇ`
    Pow,
    /// `max(a, b)`
    Maximum,
    /// `min(a, b)`
    Minimum,
    /// `1` if `a > b` else `0`
    Gt,
    /// `1` if `a ≥ b` else `0`
    Ge,
    /// `1` if `a < b` else `0`
    Lt,
    /// `1` if `a ≤ b` else `0`
    Le,
    /// `1` if `a = b` else `0`
    Eq,
    /// `1` if `a ≠ b` else `0`
    Ne,
    /// ReLU's backward: `a` (the upstream gradient) where `b` (the input) `> 0`, else `0`
    ReluBackward,
    /// ReLU6's backward: `a` where `0 < b < 6`, else `0`
    Relu6Backward,
    /// Leaky ReLU's backward: `a` where `b > 0`, else `α·a`
    LeakyReluBackward(f32),
    /// Sigmoid's backward from its output `b = σ(x)`: `a · b · (1 − b)`
    SigmoidBackward,
    /// tanh's backward from its output `b = tanh x`: `a · (1 − b²)`
    TanhBackward,
    /// ELU's backward from the input `b`: `a` where `b > 0`, else `a · α·eᵇ`
    EluBackward(f32),
    /// SELU's backward from the input `b`: `a·λ` where `b ≥ 0`, else `a · λ·α·eᵇ`
    SeluBackward,
    /// softplus's backward from the input `b`: `a · σ(b)`
    SoftplusBackward,
}

impl BinaryOp {
    /// `f(a, b)`.
    pub fn apply(self, a: f32, b: f32) -> f32 {
        let flag = |c: bool| if c { 1.0 } else { 0.0 };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            // NaN propagates from either side, as numpy's maximum / minimum.
            BinaryOp::Maximum => {
                if a.is_nan() || a >= b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Minimum => {
                if a.is_nan() || a <= b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Gt => flag(a > b),
            BinaryOp::Ge => flag(a >= b),
            BinaryOp::Lt => flag(a < b),
            BinaryOp::Le => flag(a <= b),
            BinaryOp::Eq => flag(a == b),
            BinaryOp::Ne => flag(a != b),
            BinaryOp::ReluBackward => {
                if b > 0.0 {
                    a
                } else {
                    0.0
                }
            }
            BinaryOp::Relu6Backward => {
                if b > 0.0 && b < 6.0 {
                    a
                } else {
                    0.0
                }
            }
            BinaryOp::LeakyReluBackward(alpha) => {
                if b > 0.0 {
                    a
                } else {
                    alpha * a
                }
            }
            BinaryOp::SigmoidBackward => a * b * (1.0 - b),
            BinaryOp::TanhBackward => a * (1.0 - b * b),
            BinaryOp::EluBackward(alpha) => {
                if b > 0.0 {
                    a
                } else {
                    a * alpha * b.exp()
                }
            }
            BinaryOp::SeluBackward => {
                if b >= 0.0 {
                    a * SELU_SCALE
                } else {
                    a * SELU_SCALE * SELU_ALPHA * b.exp()
                }
            }
            BinaryOp::SoftplusBackward => a * stable_sigmoid(b),
        }
    }

    /// The name used in error messages (`"add"`, `"relu_backward"`).
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
            BinaryOp::ReluBackward => "relu_backward",
            BinaryOp::Relu6Backward => "relu6_backward",
            BinaryOp::LeakyReluBackward(_) => "leaky_relu_backward",
            BinaryOp::SigmoidBackward => "sigmoid_backward",
            BinaryOp::TanhBackward => "tanh_backward",
            BinaryOp::EluBackward(_) => "elu_backward",
            BinaryOp::SeluBackward => "selu_backward",
            BinaryOp::SoftplusBackward => "softplus_backward",
        }
    }

    /// The shader's code for this function and its parameter.
    pub fn code(self) -> (u32, f32) {
        match self {
            BinaryOp::Add => (0, 0.0),
            BinaryOp::Sub => (1, 0.0),
            BinaryOp::Mul => (2, 0.0),
            BinaryOp::Div => (3, 0.0),
            BinaryOp::Pow => (4, 0.0),
            BinaryOp::Maximum => (5, 0.0),
            BinaryOp::Minimum => (6, 0.0),
            BinaryOp::Gt => (7, 0.0),
            BinaryOp::Ge => (8, 0.0),
            BinaryOp::Lt => (9, 0.0),
            BinaryOp::Le => (10, 0.0),
            BinaryOp::Eq => (11, 0.0),
            BinaryOp::Ne => (12, 0.0),
            BinaryOp::ReluBackward => (13, 0.0),
            BinaryOp::Relu6Backward => (14, 0.0),
            BinaryOp::LeakyReluBackward(alpha) => (15, alpha),
            BinaryOp::SigmoidBackward => (16, 0.0),
            BinaryOp::TanhBackward => (17, 0.0),
            BinaryOp::EluBackward(alpha) => (18, alpha),
            BinaryOp::SeluBackward => (19, 0.0),
            BinaryOp::SoftplusBackward => (20, 0.0),
        }
    }
}
