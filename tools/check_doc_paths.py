#!/usr/bin/env python3
"""Fails when the documentation names a file that is not in the repository.

Reads every Markdown file and every Rust doc comment (`//!`, `///`) of the repository (the files
git knows, tracked or new and not ignored) and checks two kinds of reference:

- a relative Markdown link, `[text](docs/gpu.md)` or `[text](../kernels/src/cpu/conv.rs#L10)`:
  resolved from the folder of the file that holds it (as GitHub does), it must stay inside the
  repository and exist. Its anchor, if any, must exist too: in a Markdown file (`gpu.md#timings`,
  or `#timings` within the same page) it is the slug GitHub makes of a heading (lower case,
  punctuation other than `-` and `_` dropped, each space a `-`, `-1`, `-2` … after repeats) or an
  `<a id="…">`; in any other file it is a line, `#L10`, or a range, `#L10-L20`, which the file
  must have;
- a path in backticks, `` `examples/session1_mlp.rs` ``, whose first component is a top-level
  folder of the repository (`docs/`, `kernels/`, `examples/`, …): it must exist, read from the
  repository root, from the crate that holds the file, or from the file's own folder. A path in
  backticks that starts with `../` is an error in a doc comment, and in a Markdown file must
  resolve, from the file's folder, to a file inside the repository.

Anything else in backticks (code, commands, crate paths like `crate::nn`, globs, placeholders in
capitals or angle brackets) is not a path and is left alone, so that the check has no false
alarms. Prints each offender as `file:line: reason` and exits with 1 if there is any.

Usage: python3 tools/check_doc_paths.py [REPO_ROOT]   (standard library only)
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))

# Folders at the root that are not part of the repository's content.
IGNORED_TOP = {"target", ".git"}
# A link target that is a URL or an anchor, not a file.
URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
MD_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
BACKTICKS = re.compile(r"(`+)(.+?)\1")
# Characters a path in prose is made of; a word with anything else is not checked.
PATH_WORD = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def git_files():
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode("utf-8", "replace")
    return sorted({f for f in out.split("\0") if f and os.path.exists(os.path.join(ROOT, f))})


def top_level_folders(files):
    tops = {f.split("/", 1)[0] for f in files if "/" in f}
    return {t for t in tops if t not in IGNORED_TOP and not t.startswith(".")}


def crate_dir(rel_file):
    """The folder of the nearest Cargo.toml above `rel_file` (repository-relative), or ''."""
    d = os.path.dirname(rel_file)
    while d:
        if os.path.isfile(os.path.join(ROOT, d, "Cargo.toml")):
            return d
        d = os.path.dirname(d)
    return ""


def inside_repo(abs_path):
    return os.path.commonpath([ROOT, abs_path]) == ROOT


def strip_suffixes(token):
    """`a/b.rs#L10`, `a/b.rs:12`, `a/b.rs::f`, `a/b.rs,` → `a/b.rs`."""
    token = token.split("#", 1)[0].split("?", 1)[0]
    token = token.split("::", 1)[0]
    token = re.sub(r":\d+(?:[-:]\d+)?$", "", token)
    return token.rstrip(".,;:)")


def doc_lines(rel_file, text):
    """(line number, text to check) for each line that is documentation."""
    if rel_file.endswith(".md"):
        for n, line in enumerate(text.splitlines(), 1):
            yield n, line
    else:
        for n, line in enumerate(text.splitlines(), 1):
            m = re.match(r"\s*//[/!](?!/)(.*)", line)
            if m:
                yield n, m.group(1)


FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")
_anchors = {}


def github_slug(heading):
    """GitHub's anchor for a heading: links and code marks reduced to their text, lower case,
    every character that is not a letter, a digit, `-`, `_` or a space dropped, spaces → `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def markdown_anchors(abs_path):
    """Every anchor a Markdown file has: its headings' slugs (outside code blocks) and HTML ids."""
    if abs_path not in _anchors:
        found, seen, fenced = set(), {}, False
        with open(abs_path, encoding="utf-8") as f:
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                    continue
                if fenced:
                    continue
                found.update(HTML_ID.findall(line))
                m = HEADING.match(line)
                if m:
                    slug = github_slug(m.group(2))
                    n = seen.get(slug, 0)
                    seen[slug] = n + 1
                    found.add(slug if n == 0 else f"{slug}-{n}")
        _anchors[abs_path] = found
    return _anchors[abs_path]


def check_anchor(target, resolved, anchor):
    """None if `anchor` exists in the file `resolved`, else the reason."""
    shown = os.path.relpath(resolved, ROOT)
    if os.path.isdir(resolved):
        return f"link to `{target}`: {shown} is a folder, it has no anchor `#{anchor}`"
    if resolved.endswith(".md"):
        if anchor not in markdown_anchors(resolved):
            return f"link to `{target}`: {shown} has no heading whose anchor is `#{anchor}`"
        return None
    m = LINE_ANCHOR.match(anchor)
    if not m:
        return f"link to `{target}`: `#{anchor}` is not a line anchor (`#L10`, `#L10-L20`)"
    with open(resolved, "rb") as f:
        lines = len(f.read().splitlines())
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= first <= last <= lines:
        return f"link to `{target}`: {shown} has {lines} lines, not `#{anchor}`"
    return None


def check_link(rel_file, target):
    if target.startswith("#") and rel_file.endswith(".md"):
        return check_anchor(target, os.path.join(ROOT, rel_file), target[1:])
    if URL.match(target) or target.startswith("#") or target.startswith("/"):
        return None
    if "@" in target or "::" in target or target.endswith(".html"):
        return None  # rustdoc intra-doc links (`mod@x`, `crate::X`) and generated pages
    if rel_file.endswith(".rs") and "/" not in target and "." not in target:
        return None  # `[Tensor](Tensor)`-style intra-doc link
    path = strip_suffixes(target)
    if not path:
        return None
    resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(rel_file), path))
    if not inside_repo(resolved):
        return f"link to `{target}` points outside the repository"
    if not os.path.exists(resolved):
        return f"link to `{target}`: {os.path.relpath(resolved, ROOT)} does not exist"
    if "#" in target and target.split("#", 1)[1]:
        return check_anchor(target, resolved, target.split("#", 1)[1])
    return None


def check_backtick_word(rel_file, word, tops):
    path = strip_suffixes(word)
    if not path or not PATH_WORD.match(path) or "/" not in path:
        return None
    if path.startswith("../"):
        if rel_file.endswith(".rs"):
            # A doc comment is read on docs.rs and in editors, where no folder is "current".
            return f"`{word}` is a path outside the repository"
        resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(rel_file), path))
        if not inside_repo(resolved):
            return f"`{word}` is outside the repository"
        if not os.path.exists(resolved):
            return f"`{word}`: {os.path.relpath(resolved, ROOT)} does not exist"
        return None
    first = path.split("/", 1)[0]
    if first not in tops:
        return None
    bases = ["", crate_dir(rel_file), os.path.dirname(rel_file)]
    if any(os.path.exists(os.path.join(ROOT, b, path)) for b in bases):
        return None
    return f"`{word}` names a repository path that does not exist"


def main():
    files = git_files()
    tops = top_level_folders(files)
    offenders = []
    for rel in files:
        if not (rel.endswith(".md") or rel.endswith(".rs")):
            continue
        try:
            with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in doc_lines(rel, text):
            for m in MD_LINK.finditer(line):
                problem = check_link(rel, m.group(1))
                if problem:
                    offenders.append(f"{rel}:{n}: {problem}")
            for m in BACKTICKS.finditer(line):
                for word in m.group(2).split():
                    problem = check_backtick_word(rel, word, tops)
                    if problem:
                        offenders.append(f"{rel}:{n}: {problem}")
    for o in offenders:
        print(o)
    if offenders:
        print(f"{len(offenders)} documentation path(s) that do not exist or leave the repository")
        return 1
    print(f"doc paths: {len(files)} files read, every named path and anchor exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
