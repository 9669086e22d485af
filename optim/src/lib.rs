//! # astrograd-optim — optimizers and learning-rate schedules
//!
//! This crate will hold the `Optimizer` trait and Keras's optimizers (SGD with momentum and
//! Nesterov, RMSprop, Adam, AdamW, Adagrad) with their exact TF 2.10 update formulas, and the
//! learning-rate schedules (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
//! CosineDecay, PolynomialDecay). They update the leaf parameters (`astrograd_autograd::Var`)
//! that layers own, from the gradients that `backward()` leaves in them.
//!
//! It is empty for now: the models issue fills it. Until then, the autograd tour
//! (`examples/autograd_tour.rs`) shows a plain gradient-descent step written by hand.
