//! How astrograd's tests decide to skip, and how a skip is made visible. For the test suites of
//! every crate of the workspace (this is the crate they all depend on); not for library code.
//!
//! Some tests need what a plain `cargo test` machine may lack: a GPU, or the Fashion-MNIST files.
//! There they skip, and CI forbids skipping with two variables read by the same rule:
//!
//! | value of `ASTROGRAD_REQUIRE_GPU` / `ASTROGRAD_REQUIRE_DATA` | meaning |
//! |---|---|
//! | unset, empty, `0`, `false`, `no` (any case, spaces trimmed) | a test may skip |
//! | `1`, `true`, `yes` | required: a test that would skip fails instead |
//! | anything else | the test fails, naming the variable and the value |
//!
//! `cargo test` hides the output of passing tests, so a note on standard error is not enough:
//! [`skip`] also appends one line to the file named by `ASTROGRAD_SKIP_LOG` (when set), which CI
//! prints after the tests.
use std::io::Write;

/// The variable that makes the GPU tests fail instead of skipping.
pub const REQUIRE_GPU: &str = "ASTROGRAD_REQUIRE_GPU";
/// The variable that makes the tests on downloaded data fail instead of skipping.
pub const REQUIRE_DATA: &str = "ASTROGRAD_REQUIRE_DATA";
/// The file [`skip`] appends its line to, when set.
pub const SKIP_LOG: &str = "ASTROGRAD_SKIP_LOG";

/// The rule of the table above, for a `value` of `variable` (`None`: unset).
///
/// # Errors
/// A message naming the variable and the value when the value is none of those listed.
///
/// ```
/// use astrograd_kernels::test_env::parse_required;
/// assert_eq!(parse_required("ASTROGRAD_REQUIRE_GPU", Some(" TRUE ")), Ok(true));
/// assert_eq!(parse_required("ASTROGRAD_REQUIRE_GPU", Some("")), Ok(false));
/// assert_eq!(parse_required("ASTROGRAD_REQUIRE_GPU", None), Ok(false));
/// assert!(parse_required("ASTROGRAD_REQUIRE_GPU", Some("2")).is_err());
/// ```
pub fn parse_required(variable: &str, value: Option<&str>) -> Result<bool, String> {
    let Some(value) = value else {
        return Ok(false);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "" | "0" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "{variable}={value:?} is not understood: use 1, true or yes to require, \
             0, false, no or nothing to allow skipping"
        )),
    }
}

/// Whether `variable` (one of [`REQUIRE_GPU`], [`REQUIRE_DATA`]) is set to require.
///
/// # Panics
/// When its value is not understood (see [`parse_required`]): a CI that misspells the value
/// must stop, not skip.
pub fn required(variable: &str) -> bool {
    let value = std::env::var_os(variable).map(|v| v.to_string_lossy().into_owned());
    parse_required(variable, value.as_deref()).unwrap_or_else(|message| panic!("{message}"))
}

/// Skips the running test because `reason`, or fails it when `variable` requires what is
/// missing. A skip is printed on standard error and appended, as one line naming the test
/// binary and the test, to the file named by `ASTROGRAD_SKIP_LOG`.
///
/// # Panics
/// When `variable` is set to require (or to a value not understood).
pub fn skip(variable: &str, reason: &str) {
    if required(variable) {
        panic!("{variable} is set, but this test would skip: {reason}");
    }
    let line = format!(
        "skipped: {} ({variable} does not require it): {reason}",
        test_name()
    );
    eprintln!("{line}");
    if let Some(path) = std::env::var_os(SKIP_LOG) {
        append_line(std::path::Path::new(&path), &line);
    }
}

/// Appends `line` and a newline to the file at `path`, creating it: one write to a file opened
/// for appending, so that the lines of tests running in parallel (threads or processes) do not
/// interleave.
///
/// # Panics
/// When the file cannot be written: a skip that cannot be recorded must not pass unseen.
fn append_line(path: &std::path::Path, line: &str) {
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        panic!("cannot append to {SKIP_LOG}={}: {e}", path.display());
    }
}

/// `binary::test`: the test binary's name (its crate and target, without cargo's hash) and
/// the test's, which libtest gives the thread running it.
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // cargo names test binaries `<target>-<16 hex digits>`.
    let binary = match binary.rsplit_once('-') {
        Some((target, hash)) if hash.len() == 16 => target.to_string(),
        _ => binary,
    };
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_variables_follow_one_rule() {
        for variable in [REQUIRE_GPU, REQUIRE_DATA] {
            for yes in ["1", "true", "TRUE", "Yes", " yes\n"] {
                assert_eq!(parse_required(variable, Some(yes)), Ok(true), "{yes:?}");
            }
            for no in ["", "0", "false", "False", "NO", "  "] {
                assert_eq!(parse_required(variable, Some(no)), Ok(false), "{no:?}");
            }
            assert_eq!(parse_required(variable, None), Ok(false));
            for bad in ["2", "on", "required", "ture"] {
                let message = parse_required(variable, Some(bad)).unwrap_err();
                assert!(message.contains(variable), "{message}");
                assert!(message.contains(bad), "{message}");
            }
        }
    }

    #[test]
    fn skip_lines_from_parallel_tests_stay_whole() {
        let path = std::env::temp_dir().join(format!("astrograd-skip-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        std::thread::scope(|scope| {
            for t in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    for i in 0..50 {
                        append_line(path, &format!("skipped: thread {t} line {i}"));
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        assert!(
            lines.iter().all(|l| l.starts_with("skipped: thread ")),
            "{text}"
        );
    }

    #[test]
    fn the_test_is_named_after_its_binary_and_thread() {
        let name = test_name();
        assert!(
            name.ends_with("test_env::tests::the_test_is_named_after_its_binary_and_thread")
                || name.ends_with("::main"),
            "{name}"
        );
        assert!(name.starts_with("astrograd_kernels"), "{name}");
    }
}
