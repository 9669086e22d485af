//! Hostile files: fuzzing as a test, for the parsers of the data crate.
//!
//! Each parser gets valid seed files, built here or taken from `tests/fixtures`, which
//! [`corpus`] mutates the way files go bad (bit flips, truncations, huge sizes written into
//! header fields, blocks duplicated or missing, garbage appended). A fixed budget of
//! [`corpus::CASES`] cases per property runs on every `cargo test`; each parse runs on its own
//! thread under [`corpus::TIME_LIMIT`]. Every case must end in one of two ways:
//!
//! - a typed [`astrograd_data::DataError`] of the kinds the parser documents, whose message
//!   names the file;
//! - data of the declared shape, no larger than the file can hold (a raw file: its length; a
//!   compressed one: 1032 times it, under an absolute cap).
//!
//! A panic or a hang fails the case, and proptest shrinks it to a small reproducer. The
//! allocations themselves are measured in the `bounded_memory` test binary.
//!
//! | module | parser | seeds |
//! |---|---|---|
//! | [`idx`] | `idx::read_images` | an IDX images file, raw and gzip (one or two members) |
//! | [`galaxy10`] | `galaxy10::read` | the SDSS (contiguous) and DECals (gzip-chunked) fixtures |
//! | [`zip_archives`] | `cats_and_dogs::extract` | archives laid out as the real one, stored and deflated |
//! | [`image_folders`] | `load_image`, `flow_from_directory` | a JPEG and a PNG |
//! | [`fits`] | `fits::read`, `load_image` | astropy's FITS fixtures: an 8-bit image, a cube, an image extension, gzip |
//!
//! Run one parser's cases with `cargo test --release -p astrograd-data --test hostile_files idx`;
//! `PROPTEST_CASES=5000` runs more.
mod corpus;
mod fits;
mod galaxy10;
mod idx;
mod image_folders;
mod zip_archives;
