//! # astrograd-layers — Keras-style layers and models
//!
//! This crate will hold the `Layer` trait and the layers of the course (Dense, Conv2D,
//! DepthwiseConv2D, pooling, Flatten, Dropout, BatchNormalization, Activation, ZeroPadding2D,
//! Add, Rescaling), the `Sequential` and functional `Model`, `summary()`, compile / fit /
//! evaluate / predict with Keras's progress bar and History, callbacks, initializers, weight
//! files, and the pretrained applications (VGG16, MobileNetV2, ResNet50).
//!
//! It is empty for now: the models issue fills it. Layers will be thin: each builds its
//! forward from the differentiable ops of `astrograd_autograd::ops`.
