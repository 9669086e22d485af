//! The parameter counts the docs state for the examples, read from the examples themselves.
//!
//! README.md and the pages of `docs/` say, for instance, "266,610 params" for `session1_mlp`.
//! Each such number is a [`Claim`]: the doc, the example, the phrase around the number, and
//! which number of the example's summaries it is. The test runs every example named with
//! `--summary` (it builds its models, prints `model.summary()` for each and stops: no data, no
//! training), reads "Total params", "Trainable params" or a layer's row from what it printed,
//! finds the phrase in the doc (whitespace and line breaks count as one space, so a phrase may
//! span lines) and requires the two numbers to agree. The models are defined once, in the
//! examples: nothing here builds them again.
//!
//! A second check sweeps the same docs for every number followed by "params", "parameters" or
//! "trainable", and fails on one that no claim reads: a count added to a page must be added
//! here too, or it would go unchecked.
//!
//! Like `examples_run.rs`, this runs the compiled examples: `cargo test` builds them first, but
//! `cargo test --test doc_param_counts` alone does not (run `cargo build --release --examples`
//! before it).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One number a doc states about an example's model.
struct Claim {
    /// The file, from the repository root.
    doc: &'static str,
    /// The example the number is about, run with `--summary`.
    example: &'static str,
    /// The text around the number, `{}` where the number stands (`1,234` or `1234`).
    phrase: &'static str,
    /// Which number of the example's summaries it is.
    count: Count,
}

/// A number read from what `--summary` printed. The summaries are counted from 0 in the
/// order the example prints them.
#[derive(Clone, Copy, Debug)]
enum Count {
    /// "Total params: N" of summary `i`.
    Total(usize),
    /// "Trainable params: N" of summary `i`.
    Trainable(usize),
    /// The sum of the "Param #" column over the layers of summary `i` whose name starts with
    /// the prefix (`"block5_conv"`: VGG16's three last convolutions).
    Layers(usize, &'static str),
}

fn claims() -> Vec<Claim> {
    use Count::{Layers, Total, Trainable};
    let readme = "README.md";
    let course = "docs/course.md";
    let keras = "docs/for-keras-and-pytorch-users.md";
    let overfitting = "docs/tutorials/12-overfitting-early-stopping-augmentation.md";
    let transfer = "docs/tutorials/13-transfer-learning.md";
    let c = |doc, example, phrase, count| Claim {
        doc,
        example,
        phrase,
        count,
    };
    // session3_transfer_learning --summary prints the base (0), the head (1), then the whole
    // model with the top of the base unfrozen for fine-tuning (2).
    let tl = "session3_transfer_learning";
    vec![
        // README's table of examples, one row each.
        c(readme, "session1_mlp", "| `session1_mlp` | activation functions; Flatten → Dense(300) → Dense(100) → Dense(10, softmax) on Fashion-MNIST, Adam, 7 epochs | {} params", Total(0)),
        c(readme, "session1_galaxy10_mlp", "Dense(500) → Dense(100) → Dense(10) | {} params", Total(0)),
        c(readme, "session2_cnn", "Adam, 8 epochs | {} params (both)", Total(0)),
        c(readme, "session2_cnn", "Adam, 8 epochs | {} params (both)", Total(1)),
        c(readme, "session2_galaxy10_cnn", "Dense(100) → Dense(10); overfitting | {} params", Total(0)),
        c(readme, "session3_cats_dogs", "`Found 2000 images belonging to 2 classes.`; {} params", Total(0)),
        c(readme, "session3_galaxy10_generators", "over up to 30 epochs | {} params", Total(0)),
        c(readme, tl, "the base's summary ({} params, 150×150", Total(0)),
        c(readme, tl, "then {} trainable once `block5` is unfrozen", Trainable(2)),
        c(readme, tl, "its three convolutions, {}, and", Layers(0, "block5_conv")),
        c(readme, tl, "Dense(256) → Dense(1) head, {})", Total(1)),
        // The course page: its table, then each session's "Model." line.
        c(course, "session1_mlp", "MLP 784 → 300 → 100 → 10 ({})", Total(0)),
        c(course, "session1_mlp", "Dense(300, relu) → Dense(100, relu) → Dense(10, softmax)`: {} parameters", Total(0)),
        c(course, "session1_galaxy10_mlp", "MLP 4761 → 500 → 100 → 10 ({})", Total(0)),
        c(course, "session1_galaxy10_mlp", "Flatten(69×69) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`: {} parameters", Total(0)),
        c(course, "session2_cnn", "Conv2D(12) → MaxPool → Dense(128) → Dense(10) ({})", Total(0)),
        c(course, "session2_cnn", "Dense(128, relu) → Dense(10, softmax)`: {} parameters", Total(1)),
        c(course, "session2_galaxy10_cnn", "Conv2D(12) → MaxPool → Dense(500) → Dense(100) → Dense(10) ({})", Total(0)),
        c(course, "session2_galaxy10_cnn", "Flatten (13,068) → Dense(500, relu) → Dense(100, relu) → Dense(10, softmax)`: {} parameters", Total(0)),
        c(course, "session3_cats_dogs", "three Conv2D + MaxPool blocks → Dense(512) → Dense(1) ({})", Total(0)),
        c(course, "session3_cats_dogs", "Dense(512, relu) → Dense(1, sigmoid)`: {} parameters", Total(0)),
        c(course, "session3_galaxy10_generators", "Session 2's CNN with three Dropout(0.35) ({})", Total(0)),
        c(course, "session3_galaxy10_generators", "and after `Dense(100)`: {} parameters (dropout has none)", Total(0)),
        c(course, tl, "the base has {} parameters", Total(0)),
        c(course, tl, "→ Dropout(0.5) → Dense(1, sigmoid)` has {};", Total(1)),
        c(course, tl, "for fine-tuning, {} parameters are trainable", Trainable(2)),
        // The page for Keras and PyTorch users: one `model.summary()` row per example.
        c(keras, "session2_cnn", "(the example checks both models have {} parameters", Total(1)),
        c(keras, "session2_galaxy10_cnn", "Dense::new(10).activation(\"softmax\"))])?;` | | `model.summary()` | `model.print_summary()?;` ({} parameters)", Total(0)),
        c(keras, "session3_cats_dogs", "Box::new(Dense::new(1).activation(\"sigmoid\"))])?` | | `model.summary()` | `model.print_summary()?;` ({} parameters)", Total(0)),
        c(keras, "session3_galaxy10_generators", "Dropout::new(0.35)), …])?` | | `model.summary()` | `model.print_summary()?;` ({} parameters)", Total(0)),
        c(keras, tl, "`base.print_summary()?;` (VGG16: {} parameters", Total(0)),
        // The tutorials.
        c(overfitting, "session3_cats_dogs", "(`session3_cats_dogs`) has {} parameters", Total(0)),
        c(transfer, tl, "weights='imagenet') {} parameters", Total(0)),
        c(transfer, tl, "256·1 + 1 = 257: {} parameters", Total(1)),
        c(transfer, tl, "trainable: {} (the head only)", Total(1)),
        c(transfer, tl, "trainable: 7,079,424 + 2,097,665 = {}", Trainable(2)),
        c(transfer, tl, "unfreeze block5 (conv1–3) trainable: {} +", Layers(0, "block5_conv")),
        c(transfer, tl, "with {} trainable once `block5` is unfrozen", Trainable(2)),
        c(transfer, tl, "each `3·3·512·512 + 512 = {}`", Layers(0, "block5_conv1")),
        c(transfer, tl, "the line `vgg16: {} parameters, 0 trainable", Total(0)),
    ]
}

/// The docs whose counts are checked: README.md, then every page of `docs/` and
/// `docs/tutorials/`.
fn docs() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec!["README.md".to_string()];
    for dir in ["docs", "docs/tutorials"] {
        let mut pages: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("a directory entry").file_name())
            .filter_map(|name| name.to_str().map(str::to_string))
            .filter(|name| name.ends_with(".md"))
            .map(|name| format!("{dir}/{name}"))
            .collect();
        pages.sort();
        docs.extend(pages);
    }
    docs
}

/// Where `cargo` put the example `name`, next to the folder of this test binary (as in
/// `examples_run.rs`).
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/doc_param_counts-<hash> → target/<profile>/examples/<name>
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: build the examples first (`cargo build --release --examples`, or run \
         the whole `cargo test` command, which builds them)",
        path.display()
    );
    path
}

/// The numbers of one `model.summary()`.
#[derive(Debug, Default)]
struct Summary {
    total: Option<usize>,
    trainable: Option<usize>,
    /// Each layer's name and its "Param #", in the order printed.
    layers: Vec<(String, usize)>,
}

/// A number as the summary prints it: `266,610` or `2359808`.
fn parse_count(text: &str) -> Option<usize> {
    let digits = text.trim().replace(',', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Splits what `--summary` printed into its summaries, one per `Model: "…"` line.
fn parse_summaries(stdout: &str) -> Vec<Summary> {
    let mut summaries: Vec<Summary> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("Model: \"") {
            summaries.push(Summary::default());
            continue;
        }
        let Some(summary) = summaries.last_mut() else {
            continue;
        };
        if let Some(n) = line.strip_prefix("Total params: ") {
            summary.total = parse_count(n);
        } else if let Some(n) = line.strip_prefix("Trainable params: ") {
            summary.trainable = parse_count(n);
        } else if line.starts_with(' ') && summary.total.is_none() {
            // A layer's row: ` name (Type)   (None, 26, 26, 12)   120   […connected to]`. Its
            // first token that is a plain number is the "Param #" column (a shape's numbers
            // carry a comma or a parenthesis).
            let mut tokens = line.split_whitespace();
            let (Some(name), rest) = (tokens.next(), tokens) else {
                continue;
            };
            if let Some(params) = rest.into_iter().find_map(|t| {
                t.chars()
                    .all(|c| c.is_ascii_digit())
                    .then(|| t.parse().ok())
                    .flatten()
            }) {
                summary.layers.push((name.to_string(), params));
            }
        }
    }
    summaries
}

/// Runs `example --summary` and parses what it printed.
fn summaries_of(example: &str) -> Vec<Summary> {
    let run = Command::new(example_binary(example))
        .arg("--summary")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {example}: {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{example} --summary exited with {}\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let summaries = parse_summaries(&stdout);
    assert!(
        !summaries.is_empty() && summaries.iter().all(|s| s.total.is_some()),
        "{example} --summary printed no complete summary:\n{stdout}"
    );
    summaries
}

/// The number `count` stands for in `summaries`, or why there is none.
fn read(summaries: &[Summary], count: Count) -> Result<usize, String> {
    let i = match count {
        Count::Total(i) | Count::Trainable(i) | Count::Layers(i, _) => i,
    };
    let summary = summaries
        .get(i)
        .ok_or_else(|| format!("it prints {} summaries, not {}", summaries.len(), i + 1))?;
    match count {
        Count::Total(_) => summary.total.ok_or("no \"Total params\"".into()),
        Count::Trainable(_) => summary.trainable.ok_or("no \"Trainable params\"".into()),
        Count::Layers(_, prefix) => {
            let rows: Vec<usize> = summary
                .layers
                .iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .map(|(_, params)| *params)
                .collect();
            if rows.is_empty() {
                Err(format!("no layer whose name starts with {prefix}"))
            } else {
                Ok(rows.iter().sum())
            }
        }
    }
}

/// Collapses every run of whitespace (line breaks and a list's indentation included) into one
/// space, so that a phrase matches across the doc's line breaks.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every number that stands at `{}` in an occurrence of `phrase` in `text` (both normalised),
/// with where it starts in `text`.
fn numbers_at(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    let (before, after) = phrase.split_once("{}").expect("a phrase holds one {}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(before) {
        let start = from + i + before.len();
        let digits: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .collect();
        let number = digits.trim_end_matches(',');
        if !number.is_empty() && text[start + number.len()..].starts_with(after) {
            found.push((start, number.replace(',', "").parse().expect("digits")));
        }
        from = start;
    }
    found
}

/// Where `text` holds a count: a number of at least four digits (`1,234` or `1234`) followed
/// by " params", " parameters" or " trainable".
fn counts_in(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for word in [" params", " parameters", " trainable"] {
        for (at, _) in text.match_indices(word) {
            let number_start = text[..at]
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_ascii_digit() || *c == ',')
                .last()
                .map_or(at, |(i, _)| i);
            let number = text[number_start..at].trim_start_matches(',');
            let digits = number.chars().filter(char::is_ascii_digit).count();
            if digits >= 4 {
                found.push((at - number.len(), format!("{number}{word}")));
            }
        }
    }
    found
}

#[test]
fn the_docs_parameter_counts_are_what_the_examples_print() {
    let root = env!("CARGO_MANIFEST_DIR");
    let claims = claims();
    let examples: BTreeSet<&str> = claims.iter().map(|c| c.example).collect();
    let printed: BTreeMap<&str, Vec<Summary>> =
        examples.iter().map(|&e| (e, summaries_of(e))).collect();
    let text_of = |doc: &str| {
        let path = format!("{root}/{doc}");
        normalise(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    };
    let mut problems = Vec::new();
    // Where in each doc a claim read a number.
    let mut read_at: BTreeSet<(&str, usize)> = BTreeSet::new();
    for claim in &claims {
        let text = text_of(claim.doc);
        let phrase = normalise(claim.phrase);
        let printed = match read(&printed[claim.example], claim.count) {
            Ok(n) => n,
            Err(why) => {
                problems.push(format!(
                    "{} --summary: {why} (for {:?}, claimed by {})",
                    claim.example, claim.count, claim.doc
                ));
                continue;
            }
        };
        match numbers_at(&text, &phrase).as_slice() {
            [(at, stated)] => {
                read_at.insert((claim.doc, *at));
                if *stated != printed {
                    problems.push(format!(
                        "{}: says {stated} (\"{phrase}\"), but `{} --summary` prints {printed} \
                         ({:?})",
                        claim.doc, claim.example, claim.count
                    ));
                }
            }
            [] => problems.push(format!(
                "{}: no \"{phrase}\" with a number for {} (it prints {printed}); if the doc was \
                 reworded, update the phrase in tests/doc_param_counts.rs",
                claim.doc, claim.example
            )),
            many => problems.push(format!(
                "{}: \"{phrase}\" occurs {} times; make the phrase for {} unique",
                claim.doc,
                many.len(),
                claim.example
            )),
        }
    }
    for doc in docs() {
        let text = text_of(&doc);
        for (at, count) in counts_in(&text) {
            if !read_at.iter().any(|&(d, a)| d == doc && a == at) {
                problems.push(format!(
                    "{doc}: \"{count}\" is checked by no claim: add one to tests/doc_param_counts.rs, \
                     naming the example whose summary prints it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check catches a wrong number: the phrase reads 266,611 where the summary prints
/// 266,610.
#[test]
fn a_wrong_number_is_caught() {
    let text = normalise("- **Model.** `… Dense(10, softmax)`:\n  266,611 parameters.");
    let stated = numbers_at(&text, "Dense(10, softmax)`: {} parameters");
    assert_eq!(
        stated.iter().map(|&(_, n)| n).collect::<Vec<_>>(),
        [266_611]
    );
    let printed = parse_summaries(
        "Model: \"sequential\"\n\
         \x20dense (Dense)               (None, 300)               235500    \n\
         Total params: 266,610\n\
         Trainable params: 266,610\n",
    );
    assert_eq!(read(&printed, Count::Total(0)), Ok(266_610));
    assert_eq!(read(&printed, Count::Layers(0, "dense")), Ok(235_500));
    assert_ne!(stated[0].1, 266_610);
}

/// The sweep finds counts in both spellings, and not a year or a short number.
#[test]
fn the_sweep_finds_every_count() {
    let text = "has 2,097,665 parameters; 9177089 trainable; 4761 params; 2024 images; 512 params";
    let found: Vec<String> = counts_in(text).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        found,
        ["4761 params", "2,097,665 parameters", "9177089 trainable"]
    );
}
