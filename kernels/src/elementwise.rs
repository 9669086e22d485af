//! The elementwise functions that have a name, shared by both devices.
//!
//! A closure cannot run on a GPU, so every elementwise function that the layers need on a GPU
//! is a variant of [`UnaryOp`] (`y = f(x)`) or [`BinaryOp`] (`z = f(a, b)`), and each variant
//! is declared once, in one arm of [`UnaryOp::definition`] or [`BinaryOp::definition`]: the
//! Rust that the CPU runs and the WGSL that the GPU runs, side by side, and for an activation
//! its backward `dx = dout · f′` in both languages too. ELU, for instance:
//!
//! ```text
//! UnaryOp::Elu(alpha) => Unary::new(
//!     "elu",
//!     |x, [alpha, _]| if x > 0.0 { x } else { alpha * x.exp_m1() },
//!     "select(alpha * (exp(x) - 1.0), x, x > 0.0)",
//! )
//! .fields(&["alpha"], [alpha, 0.0])
//! .backward(
//!     Saved::Input,
//!     |dout, x, [alpha, _]| if x > 0.0 { dout } else { dout * alpha * x.exp() },
//!     "select(dout * alpha * exp(x), dout, x > 0.0)",
//! ),
//! ```
//!
//! Everything else is derived from the definitions: [`UnaryOp::apply`] and
//! [`UnaryOp::backward`] call the Rust; the shaders' functions `unary`, `unary_backward` and
//! `binary` are generated from the WGSL ([`UnaryOp::wgsl_functions`],
//! [`BinaryOp::wgsl_function`]) as one `switch` whose cases are the positions of the ops in
//! [`UnaryOp::ALL`] and [`BinaryOp::ALL`], never numbers written by hand. The tests of
//! `wgpu/elementwise.rs` run every op on both devices.

/// SELU's constants (Keras `activations.selu`).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's scale λ.
pub const SELU_SCALE: f32 = 1.050_701;

/// `√(2/π)`, the slope of GELU's tanh approximation at 0.
pub const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// `1/√(2π)`, the peak of the standard normal density.
pub const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// The cubic coefficient of GELU's tanh approximation.
pub const GELU_CUBIC: f64 = 0.044_715;

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`, to about 1e-13 absolute (in `f64`: the
/// CPU's exact GELU uses it; the GPU's uses an `f32` approximation to 1.5e-7, `erf_f32` in
/// `wgpu/shaders/elementwise_ops.wgsl`).
///
/// ```
/// use astrograd_kernels::elementwise::erf;
/// assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-13);
/// assert_eq!(erf(-10.0), -1.0);
/// ```
pub fn erf(x: f64) -> f64 {
    use std::f64::consts::FRAC_2_SQRT_PI;
    if x.is_nan() {
        return x;
    }
    let z = x.abs();
    let erf_z = if z < 3.0 {
        // erf z = 2/√π · Σₙ (−1)ⁿ z^(2n+1) / (n!·(2n+1)); by n = 50 the terms are below
        // 1e-17 of the sum for every z < 3 (the largest, near n = 9, is about 170, so the
        // alternating sum loses at most about 1e-13 to cancellation).
        let z2 = z * z;
        let mut power = z; // (−1)ⁿ z^(2n+1) / n!
        let mut sum = z;
        for n in 1..=60 {
            power *= -z2 / n as f64;
            let term = power / (2 * n + 1) as f64;
            sum += term;
            if term.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        FRAC_2_SQRT_PI * sum
    } else {
        // erfc z = e^(−z²)/√π · 1/(z + (1/2)/(z + (2/2)/(z + (3/2)/(z + …)))), evaluated from
        // the 30th level up; for z ≥ 3 it has converged to 1e-13 by then.
        let mut fraction = z;
        for n in (1..=30).rev() {
            fraction = z + (n as f64 / 2.0) / fraction;
        }
        let erfc_z = (-z * z).exp() * (FRAC_2_SQRT_PI / 2.0) / fraction;
        1.0 - erfc_z
    };
    erf_z.copysign(x)
}

/// `Φ(x) = ½(1 + erf(x/√2))`, the standard normal distribution function.
fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// `φ(x) = e^(−x²/2)/√(2π)`, the standard normal density: `Φ′ = φ`.
fn normal_density(x: f64) -> f64 {
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// GELU, exact: `x·Φ(x)`, in `f64`.
fn gelu_exact(x: f32) -> f32 {
    let x = x as f64;
    (x * normal_cdf(x)) as f32
}

/// `dout · (Φ(x) + x·φ(x))` (the product rule on `x·Φ(x)`), in `f64`.
fn gelu_exact_backward(dout: f32, x: f32) -> f32 {
    let x = x as f64;
    (dout as f64 * (normal_cdf(x) + x * normal_density(x))) as f32
}

/// `t = tanh(u)` with `u = √(2/π)·(x + 0.044715·x³)`: GELU's tanh approximation is `½x(1 + t)`.
fn gelu_tanh_t(x: f64) -> f64 {
    (SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)).tanh()
}

/// GELU by its tanh approximation, `½x(1 + t)`, in `f64`.
fn gelu_tanh(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + gelu_tanh_t(x))) as f32
}

/// `dout` times the approximation's slope `½(1 + t) + ½x·(1 − t²)·u′`, where
/// `u′ = √(2/π)·(1 + 3·0.044715·x²)` and `tanh′ = 1 − tanh²`, in `f64`.
fn gelu_tanh_backward(dout: f32, x: f32) -> f32 {
    let x = x as f64;
    let t = gelu_tanh_t(x);
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
    (dout as f64 * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)) as f32
}

/// The same slope in WGSL, for the GPU's backward of `UnaryOp::GeluTanh` (put beside the
/// generated functions, after the constants it names).
const GELU_TANH_SLOPE_WGSL: &str = "fn gelu_tanh_slope(x: f32) -> f32 {
    let t = tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
}
";

/// `σ(x) = 1 / (1 + e⁻ˣ)` with an exponent that is never positive (no overflow).
pub fn stable_sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

// ------------------------------------------------------------------ y = f(x)

/// `y = f(x)`, one number at a time. Each variant is defined in [`UnaryOp::definition`].
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
    /// `1` where `x > 0`, `−1` where `x < 0`, else `0` (the derivative of `|x|`)
    Sign,
    /// GELU, exact: `x·Φ(x)`
    Gelu,
    /// GELU by its tanh approximation
    GeluTanh,
    /// `x·σ(x)` (swish, SiLU)
    Swish,
    /// `ln x` where `x > 0`, else `0` (the `ln a` of `∂aᵇ/∂b`, where `a ≤ 0` contributes nothing)
    LnOrZero,
}

/// What an activation's backward reads besides `dout`: its input `x` or its output `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The input `x` (ReLU, ELU, softplus, …); its WGSL calls it `x`.
    Input,
    /// The output `y` (sigmoid and tanh write `f′` in terms of `y`); its WGSL calls it `y`.
    Output,
}

/// One unary op in both languages: what [`UnaryOp::definition`] returns.
#[derive(Clone, Copy, Debug)]
pub struct Unary {
    /// The name used in error messages (`"exp"`, `"relu"`).
    pub name: &'static str,
    /// The names of the op's fields, as its WGSL uses them (at most two).
    pub field_names: &'static [&'static str],
    /// The values of the fields, in that order (the shader receives them as `p0`, `p1`).
    pub fields: [f32; 2],
    /// `f(x)`, given the fields.
    pub f: fn(f32, [f32; 2]) -> f32,
    /// `f(x)` in WGSL, in terms of `x` and the fields' names.
    pub f_wgsl: &'static str,
    /// The backward, for the activations; `None` for an op whose gradient autograd composes
    /// from other ops.
    pub backward: Option<UnaryBackward>,
}

/// An activation's backward `dx = dout · f′`.
#[derive(Clone, Copy, Debug)]
pub struct UnaryBackward {
    /// What it reads besides `dout`.
    pub reads: Saved,
    /// `dx` from `dout`, the saved value and the fields.
    pub dx: fn(f32, f32, [f32; 2]) -> f32,
    /// `dx` in WGSL, in terms of `dout`, `x` or `y`, and the fields' names.
    pub dx_wgsl: &'static str,
}

impl Unary {
    /// An op without fields or backward: its name, `f` in Rust and in WGSL.
    fn new(name: &'static str, f: fn(f32, [f32; 2]) -> f32, f_wgsl: &'static str) -> Unary {
        Unary {
            name,
            field_names: &[],
            fields: [0.0; 2],
            f,
            f_wgsl,
            backward: None,
        }
    }

    /// The same op with fields, named as its WGSL names them.
    fn fields(self, field_names: &'static [&'static str], fields: [f32; 2]) -> Unary {
        Unary {
            field_names,
            fields,
            ..self
        }
    }

    /// The same op with a backward.
    fn backward(
        self,
        reads: Saved,
        dx: fn(f32, f32, [f32; 2]) -> f32,
        dx_wgsl: &'static str,
    ) -> Unary {
        let backward = Some(UnaryBackward { reads, dx, dx_wgsl });
        Unary { backward, ..self }
    }
}

impl UnaryOp {
    /// Every op once, with sample fields. An op's position here is its case in the generated
    /// shader, and the tests run every op of this list on both devices.
    pub const ALL: [UnaryOp; 24] = [
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Ln,
        UnaryOp::Sqrt,
        UnaryOp::Abs,
        UnaryOp::Recip,
        UnaryOp::Relu,
        UnaryOp::Relu6,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Softplus,
        UnaryOp::Elu(0.7),
        UnaryOp::Selu,
        UnaryOp::LeakyRelu(0.3),
        UnaryOp::AddScalar(2.5),
        UnaryOp::MulScalar(-1.5),
        UnaryOp::PowScalar(3.0),
        UnaryOp::Clamp(-0.25, 0.5),
        UnaryOp::Step,
        UnaryOp::Sign,
        UnaryOp::Gelu,
        UnaryOp::GeluTanh,
        UnaryOp::Swish,
        UnaryOp::LnOrZero,
    ];

    /// The op's definition: `f` in Rust and in WGSL, its fields, and an activation's backward.
    /// In each closure the fields arrive as an array (`[alpha, _]`), so that the Rust and the
    /// WGSL name them alike.
    ///
    /// `#[inline(always)]` here and on `apply` and `backward`: where the op is a constant, as in
    /// the CPU loops of ReLU, the `match` then folds away and the closure is inlined into the
    /// loop, which the compiler vectorises. With a plain `#[inline]`, `definition` stayed a call
    /// per element: 7 % of an `s1_mlp` epoch, and the CNN epochs 25–30 % slower.
    #[inline(always)]
    pub fn definition(self) -> Unary {
        match self {
            UnaryOp::Neg => Unary::new("neg", |x, _| -x, "-x"),
            UnaryOp::Exp => Unary::new("exp", |x, _| x.exp(), "exp(x)"),
            UnaryOp::Ln => Unary::new("log", |x, _| x.ln(), "log(x)"),
            // f′ = 1/(2√x) = 0.5/y, from the saved output.
            UnaryOp::Sqrt => Unary::new("sqrt", |x, _| x.sqrt(), "sqrt(x)").backward(
                Saved::Output,
                |dout, y, _| dout * 0.5 / y,
                "dout * 0.5 / y",
            ),
            // f′ = sign(x), with sign(0) = 0.
            UnaryOp::Abs => Unary::new("abs", |x, _| x.abs(), "abs(x)").backward(
                Saved::Input,
                |dout, x, _| {
                    if x > 0.0 {
                        dout
                    } else if x < 0.0 {
                        -dout
                    } else {
                        0.0
                    }
                },
                "select(select(0.0, -dout, x < 0.0), dout, x > 0.0)",
            ),
            UnaryOp::Recip => Unary::new("reciprocal", |x, _| 1.0 / x, "1.0 / x"),
            UnaryOp::Relu => Unary::new("relu", |x, _| x.max(0.0), "max(x, 0.0)").backward(
                Saved::Input,
                |dout, x, _| if x > 0.0 { dout } else { 0.0 },
                "select(0.0, dout, x > 0.0)",
            ),
            UnaryOp::Relu6 => Unary::new("relu6", |x, _| x.clamp(0.0, 6.0), "clamp(x, 0.0, 6.0)")
                .backward(
                    Saved::Input,
                    |dout, x, _| if x > 0.0 && x < 6.0 { dout } else { 0.0 },
                    "select(0.0, dout, x > 0.0 && x < 6.0)",
                ),
            // f′ = σ(1 − σ) = y(1 − y), from the saved output.
            UnaryOp::Sigmoid => {
                Unary::new("sigmoid", |x, _| stable_sigmoid(x), "stable_sigmoid(x)").backward(
                    Saved::Output,
                    |dout, y, _| dout * y * (1.0 - y),
                    "dout * y * (1.0 - y)",
                )
            }
            // f′ = 1 − tanh² x = 1 − y², from the saved output.
            UnaryOp::Tanh => Unary::new("tanh", |x, _| x.tanh(), "tanh(x)").backward(
                Saved::Output,
                |dout, y, _| dout * (1.0 - y * y),
                "dout * (1.0 - y * y)",
            ),
            // ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|), which never overflows; f′ = σ(x).
            UnaryOp::Softplus => Unary::new(
                "softplus",
                |x, _| x.max(0.0) + (-x.abs()).exp().ln_1p(),
                "max(x, 0.0) + log(1.0 + exp(-abs(x)))",
            )
            .backward(
                Saved::Input,
                |dout, x, _| dout * stable_sigmoid(x),
                "dout * stable_sigmoid(x)",
            ),
            UnaryOp::Elu(alpha) => Unary::new(
                "elu",
                |x, [alpha, _]| if x > 0.0 { x } else { alpha * x.exp_m1() },
                "select(alpha * (exp(x) - 1.0), x, x > 0.0)",
            )
            .fields(&["alpha"], [alpha, 0.0])
            .backward(
                Saved::Input,
                |dout, x, [alpha, _]| {
                    if x > 0.0 {
                        dout
                    } else {
                        dout * alpha * x.exp()
                    }
                },
                "select(dout * alpha * exp(x), dout, x > 0.0)",
            ),
            UnaryOp::Selu => Unary::new(
                "selu",
                |x, _| {
                    if x > 0.0 {
                        SELU_SCALE * x
                    } else {
                        SELU_SCALE * SELU_ALPHA * x.exp_m1()
                    }
                },
                "select(SELU_SCALE * SELU_ALPHA * (exp(x) - 1.0), SELU_SCALE * x, x > 0.0)",
            )
            .backward(
                Saved::Input,
                |dout, x, _| {
                    if x >= 0.0 {
                        dout * SELU_SCALE
                    } else {
                        dout * SELU_SCALE * SELU_ALPHA * x.exp()
                    }
                },
                "select(dout * SELU_SCALE * SELU_ALPHA * exp(x), dout * SELU_SCALE, x >= 0.0)",
            ),
            UnaryOp::LeakyRelu(alpha) => Unary::new(
                "leaky_relu",
                |x, [alpha, _]| if x > 0.0 { x } else { alpha * x },
                "select(alpha * x, x, x > 0.0)",
            )
            .fields(&["alpha"], [alpha, 0.0])
            .backward(
                Saved::Input,
                |dout, x, [alpha, _]| if x > 0.0 { dout } else { alpha * dout },
                "select(alpha * dout, dout, x > 0.0)",
            ),
            UnaryOp::AddScalar(s) => {
                Unary::new("add_scalar", |x, [s, _]| x + s, "x + s").fields(&["s"], [s, 0.0])
            }
            UnaryOp::MulScalar(s) => {
                Unary::new("mul_scalar", |x, [s, _]| x * s, "x * s").fields(&["s"], [s, 0.0])
            }
            // WGSL's pow is undefined for x < 0; pow_any follows Rust's powf.
            // f′ = p·xᵖ⁻¹ (autograd gives p = 0 a zero gradient without asking).
            UnaryOp::PowScalar(power) => {
                Unary::new("powf", |x, [power, _]| x.powf(power), "pow_any(x, power)")
                    .fields(&["power"], [power, 0.0])
                    .backward(
                        Saved::Input,
                        |dout, x, [power, _]| dout * power * x.powf(power - 1.0),
                        "dout * power * pow_any(x, power - 1.0)",
                    )
            }
            UnaryOp::Clamp(low, high) => Unary::new(
                "clamp",
                |x, [low, high]| x.max(low).min(high),
                "min(max(x, low), high)",
            )
            .fields(&["low", "high"], [low, high]),
            UnaryOp::Step => Unary::new(
                "step",
                |x, _| if x > 0.0 { 1.0 } else { 0.0 },
                "select(0.0, 1.0, x > 0.0)",
            ),
            // WGSL's own sign() leaves NaN unspecified; this is 0 for NaN, as the Rust.
            UnaryOp::Sign => Unary::new(
                "sign",
                |x, _| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                },
                "select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)",
            ),
            // The CPU computes GELU in f64 (erf to 1e-13); the GPU in f32, with erf to 1.5e-7.
            UnaryOp::Gelu => Unary::new(
                "gelu",
                |x, _| gelu_exact(x),
                "0.5 * x * (1.0 + erf_f32(x * FRAC_1_SQRT_2))",
            )
            .backward(
                Saved::Input,
                |dout, x, _| gelu_exact_backward(dout, x),
                "dout * (0.5 * (1.0 + erf_f32(x * FRAC_1_SQRT_2)) \
                 + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x))",
            ),
            UnaryOp::GeluTanh => Unary::new(
                "gelu_tanh",
                |x, _| gelu_tanh(x),
                "0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)))",
            )
            .backward(
                Saved::Input,
                |dout, x, _| gelu_tanh_backward(dout, x),
                "dout * gelu_tanh_slope(x)",
            ),
            // f′ = σ(x)·(1 + x·(1 − σ(x))).
            UnaryOp::Swish => Unary::new(
                "swish",
                |x, _| x * stable_sigmoid(x),
                "x * stable_sigmoid(x)",
            )
            .backward(
                Saved::Input,
                |dout, x, _| {
                    let s = stable_sigmoid(x);
                    dout * s * (1.0 + x * (1.0 - s))
                },
                "dout * stable_sigmoid(x) * (1.0 + x * (1.0 - stable_sigmoid(x)))",
            ),
            UnaryOp::LnOrZero => Unary::new(
                "ln_or_zero",
                |x, _| if x > 0.0 { x.ln() } else { 0.0 },
                "select(0.0, log(x), x > 0.0)",
            ),
        }
    }

    /// `f(x)`.
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        let op = self.definition();
        (op.f)(x, op.fields)
    }

    /// The name used in error messages (`"exp"`, `"relu"`).
    pub fn name(self) -> &'static str {
        self.definition().name
    }

    /// What the backward of this op reads besides `dout`; `None` for an op whose gradient
    /// autograd composes from other ops.
    pub fn backward_reads(self) -> Option<Saved> {
        self.definition().backward.map(|b| b.reads)
    }

    /// `dx = dout · f′`, from `saved`: the input `x` or the output `y`, as
    /// [`UnaryOp::backward_reads`] says.
    ///
    /// # Panics
    /// For an op without a backward (`backward_reads` is `None`): a bug in the caller.
    #[inline(always)]
    pub fn backward(self, dout: f32, saved: f32) -> f32 {
        let op = self.definition();
        match op.backward {
            Some(b) => (b.dx)(dout, saved, op.fields),
            None => panic!(
                "{}: no backward declared (see kernels/src/elementwise.rs)",
                op.name
            ),
        }
    }

    /// The shader's code for this op (its position in [`UnaryOp::ALL`]) and its fields.
    pub fn code(self) -> (u32, [f32; 2]) {
        let same = |op: &UnaryOp| std::mem::discriminant(op) == std::mem::discriminant(&self);
        // Not user input: a variant missing from ALL is a bug of this file, which the test
        // `every_op_is_listed_once_in_all` catches.
        let code = UnaryOp::ALL
            .iter()
            .position(same)
            .expect("UnaryOp::ALL lists every op");
        (code as u32, self.definition().fields)
    }

    /// The WGSL functions `unary(op, x, p0, p1)` and `unary_backward(op, dout, saved, p0, p1)`,
    /// each a `switch` with one case per op of [`UnaryOp::ALL`] (`case 11u` is the twelfth, ELU),
    /// after the constants that the expressions name. The helpers `stable_sigmoid` and
    /// `pow_any` come from `wgpu/shaders/elementwise_ops.wgsl`.
    pub fn wgsl_functions() -> String {
        let mut forward =
            String::from("fn unary(op: u32, input: f32, p0: f32, p1: f32) -> f32 {\n");
        let mut backward = String::from(
            "fn unary_backward(op: u32, dout_in: f32, saved_in: f32, p0: f32, p1: f32) -> f32 {\n",
        );
        forward += "    switch op {\n";
        backward += "    switch op {\n";
        for (code, op) in UnaryOp::ALL.iter().enumerate() {
            let op = op.definition();
            forward += &wgsl_case(code, op.name, op.field_names, &[("x", "input")], op.f_wgsl);
            if let Some(b) = op.backward {
                let saved = match b.reads {
                    Saved::Input => "x",
                    Saved::Output => "y",
                };
                let lets = [("dout", "dout_in"), (saved, "saved_in")];
                backward += &wgsl_case(code, op.name, op.field_names, &lets, b.dx_wgsl);
            }
        }
        forward += "        default: { return input; }\n    }\n}\n";
        backward += "        default: { return dout_in; }\n    }\n}\n";
        format!("{}\n{forward}\n{backward}", wgsl_constants())
    }
}

// ------------------------------------------------------------------ z = f(a, b)

/// `z = f(a, b)`, one pair of numbers at a time (after broadcasting). Each variant is defined
/// in [`BinaryOp::definition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// `max(a, b)`; NaN propagates from either side, as numpy's `maximum`
    Maximum,
    /// `min(a, b)`; NaN propagates from either side, as numpy's `minimum`
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
}

/// One binary op in both languages: what [`BinaryOp::definition`] returns.
#[derive(Clone, Copy, Debug)]
pub struct Binary {
    /// The name used in error messages (`"add"`, `"maximum"`).
    pub name: &'static str,
    /// `f(a, b)`.
    pub f: fn(f32, f32) -> f32,
    /// `f(a, b)` in WGSL, in terms of `a` and `b`.
    pub f_wgsl: &'static str,
}

impl BinaryOp {
    /// Every op once. An op's position here is its case in the generated shader.
    pub const ALL: [BinaryOp; 13] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Eq,
        BinaryOp::Ne,
    ];

    /// The op's definition: its name, `f` in Rust and in WGSL.
    #[inline(always)]
    pub fn definition(self) -> Binary {
        let (name, f, f_wgsl): (_, fn(f32, f32) -> f32, _) = match self {
            BinaryOp::Add => ("add", |a, b| a + b, "a + b"),
            BinaryOp::Sub => ("sub", |a, b| a - b, "a - b"),
            BinaryOp::Mul => ("mul", |a, b| a * b, "a * b"),
            BinaryOp::Div => ("div", |a, b| a / b, "a / b"),
            BinaryOp::Pow => ("pow", |a, b| a.powf(b), "pow_any(a, b)"),
            // `a != a` is WGSL's test for NaN.
            BinaryOp::Maximum => (
                "maximum",
                |a, b| if a.is_nan() || a >= b { a } else { b },
                "select(b, a, a != a || a >= b)",
            ),
            BinaryOp::Minimum => (
                "minimum",
                |a, b| if a.is_nan() || a <= b { a } else { b },
                "select(b, a, a != a || a <= b)",
            ),
            BinaryOp::Gt => ("gt", |a, b| flag(a > b), "select(0.0, 1.0, a > b)"),
            BinaryOp::Ge => ("ge", |a, b| flag(a >= b), "select(0.0, 1.0, a >= b)"),
            BinaryOp::Lt => ("lt", |a, b| flag(a < b), "select(0.0, 1.0, a < b)"),
            BinaryOp::Le => ("le", |a, b| flag(a <= b), "select(0.0, 1.0, a <= b)"),
            BinaryOp::Eq => ("eq", |a, b| flag(a == b), "select(0.0, 1.0, a == b)"),
            BinaryOp::Ne => ("ne", |a, b| flag(a != b), "select(0.0, 1.0, a != b)"),
        };
        Binary { name, f, f_wgsl }
    }

    /// `f(a, b)`.
    #[inline(always)]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        (self.definition().f)(a, b)
    }

    /// The name used in error messages (`"add"`, `"maximum"`).
    pub fn name(self) -> &'static str {
        self.definition().name
    }

    /// The shader's code for this op: its position in [`BinaryOp::ALL`], which lists the ops in
    /// the order of their declaration, so that the position is the enum's own number.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The WGSL function `binary(op, a, b)`, a `switch` with one case per op of
    /// [`BinaryOp::ALL`]. The helper `pow_any` comes from `wgpu/shaders/elementwise_ops.wgsl`.
    pub fn wgsl_function() -> String {
        let mut f = String::from("fn binary(op: u32, a_in: f32, b_in: f32) -> f32 {\n");
        f += "    switch op {\n";
        for (code, op) in BinaryOp::ALL.iter().enumerate() {
            let op = op.definition();
            f += &wgsl_case(
                code,
                op.name,
                &[],
                &[("a", "a_in"), ("b", "b_in")],
                op.f_wgsl,
            );
        }
        f + "        default: { return a_in; }\n    }\n}\n"
    }
}

/// `1.0` for true, `0.0` for false.
fn flag(c: bool) -> f32 {
    if c {
        1.0
    } else {
        0.0
    }
}

// ------------------------------------------------------------------ the generated WGSL

/// The constants that the WGSL expressions name, declared from the Rust ones.
fn wgsl_constants() -> String {
    format!(
        "const SELU_ALPHA: f32 = {SELU_ALPHA:?};\nconst SELU_SCALE: f32 = {SELU_SCALE:?};\n\
         const SQRT_2_OVER_PI: f32 = {:?};\nconst FRAC_1_SQRT_2PI: f32 = {:?};\n\
         const FRAC_1_SQRT_2: f32 = {:?};\nconst GELU_CUBIC: f32 = {:?};\n{GELU_TANH_SLOPE_WGSL}",
        SQRT_2_OVER_PI as f32,
        FRAC_1_SQRT_2PI as f32,
        std::f32::consts::FRAC_1_SQRT_2,
        GELU_CUBIC as f32,
    )
}

/// The WGSL `case` of the op at position `code`: the op's names bound to the function's
/// arguments (its fields to `p0`, `p1`; `x`, `dout`, … to the arguments in `lets`), then its
/// expression.
fn wgsl_case(
    code: usize,
    name: &str,
    field_names: &[&str],
    lets: &[(&str, &str)],
    expr: &str,
) -> String {
    let mut case = format!("        // {name}\n        case {code}u: {{ ");
    for (k, field) in field_names.iter().enumerate() {
        case += &format!("let {field} = p{k}; ");
    }
    for (name, argument) in lets {
        case += &format!("let {name} = {argument}; ");
    }
    case + &format!("return {expr}; }}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_is_listed_once_in_all() {
        // A new variant does not compile until `definition` has its arm; this test then fails
        // until it is in ALL too, because `code` must find it there.
        let names: Vec<&str> = UnaryOp::ALL.iter().map(|op| op.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice in UnaryOp::ALL");
        }
        for (i, op) in UnaryOp::ALL.iter().enumerate() {
            assert_eq!(op.code().0, i as u32, "{op:?}");
        }
        for (i, op) in BinaryOp::ALL.iter().enumerate() {
            assert_eq!(op.code(), i as u32, "{op:?}");
        }
    }

    #[test]
    fn codes_are_positions_and_fields_travel_as_parameters() {
        assert_eq!(UnaryOp::Neg.code(), (0, [0.0, 0.0]));
        assert_eq!(UnaryOp::Elu(0.5).code(), (11, [0.5, 0.0]));
        assert_eq!(UnaryOp::Clamp(-1.0, 2.0).code(), (17, [-1.0, 2.0]));
        assert_eq!(BinaryOp::Add.code(), 0);
        assert_eq!(BinaryOp::Ne.code(), BinaryOp::ALL.len() as u32 - 1);
    }

    #[test]
    fn every_field_name_is_a_field() {
        for op in UnaryOp::ALL {
            let def = op.definition();
            // The samples of ALL have no field equal to 0.
            let set = def.fields.iter().filter(|&&v| v != 0.0).count();
            assert_eq!(def.field_names.len(), set, "{}", def.name);
        }
    }

    #[test]
    fn the_generated_wgsl_binds_each_ops_names() {
        let source = UnaryOp::wgsl_functions();
        assert!(
            source.contains("const SELU_ALPHA: f32 = 1.6732632;"),
            "{source}"
        );
        assert!(
            source.contains(
                "case 11u: { let alpha = p0; let x = input; \
                 return select(alpha * (exp(x) - 1.0), x, x > 0.0); }"
            ),
            "{source}"
        );
        assert!(
            source.contains("let y = saved_in; return dout * y * (1.0 - y); }"),
            "{source}"
        );
        let binary = BinaryOp::wgsl_function();
        assert!(
            binary.contains("case 2u: { let a = a_in; let b = b_in; return a * b; }"),
            "{binary}"
        );
    }

    #[test]
    fn apply_is_the_definition() {
        assert_eq!(UnaryOp::Relu.apply(-2.0), 0.0);
        assert_eq!(UnaryOp::Clamp(-1.0, 2.0).apply(5.0), 2.0);
        assert_eq!(UnaryOp::Elu(0.5).apply(-1.0), 0.5 * (-1.0f32).exp_m1());
        assert!(BinaryOp::Maximum.apply(f32::NAN, 1.0).is_nan());
        assert!(BinaryOp::Minimum.apply(1.0, f32::NAN).is_nan());
        assert_eq!(BinaryOp::Ge.apply(2.0, 2.0), 1.0);
    }

    #[test]
    fn backward_is_dout_times_the_derivative() {
        // ELU at x = −1 with α = 0.5: f′ = α·e⁻¹; sigmoid from y = 0.25: f′ = y(1 − y).
        let elu = UnaryOp::Elu(0.5);
        assert_eq!(elu.backward_reads(), Some(Saved::Input));
        assert_eq!(elu.backward(2.0, -1.0), 2.0 * 0.5 * (-1.0f32).exp());
        assert_eq!(UnaryOp::Sigmoid.backward_reads(), Some(Saved::Output));
        assert_eq!(UnaryOp::Sigmoid.backward(1.0, 0.25), 0.1875);
        assert_eq!(UnaryOp::Exp.backward_reads(), None);
    }

    /// Every activation's backward is `dout` times the derivative of its `f`: a central
    /// difference of `f` against `backward(1, saved)`.
    #[test]
    fn every_backward_is_the_derivative_of_f() {
        for op in UnaryOp::ALL {
            let Some(reads) = op.backward_reads() else {
                continue;
            };
            for x in [-2.3f32, -0.7, 0.4, 1.9, 5.2] {
                // √x is differentiable for x > 0 only.
                let x = if op == UnaryOp::Sqrt { x.abs() } else { x };
                let h = 1e-3f64;
                let f = |x: f64| op.apply(x as f32) as f64;
                let numeric = (f(x as f64 + h) - f(x as f64 - h)) / (2.0 * h);
                let saved = match reads {
                    Saved::Input => x,
                    Saved::Output => op.apply(x),
                };
                let analytic = op.backward(1.0, saved) as f64;
                assert!(
                    (numeric - analytic).abs() <= 1e-2 * (1.0 + numeric.abs()),
                    "{op:?} at {x}: backward {analytic}, finite difference {numeric}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "exp: no backward declared")]
    fn backward_of_an_op_without_one_panics() {
        UnaryOp::Exp.backward(1.0, 1.0);
    }
}
