//! The library's messages give no command-line advice: no flag of the `bottle` CLI and no
//! `bottle` command appears in a string of the library's code. The CLI adds advice when it
//! renders an error (`src/cli/advice.rs`, from the error's kind and data), so a launcher that
//! embeds the library never reads about flags it does not have.
//!
//! This reads the library's own sources (everything under `src/` but the binary's `cli/` and
//! `main.rs`), takes the string literals of the code that is not a comment or a test, and looks
//! for what only the CLI may say. `argv.rs` is left out: its strings are the engine's own flags
//! (`--tail`, `--filter`), which are no advice.

use std::path::{Path, PathBuf};

/// What only the CLI may say: its commands and its flags.
const CLI_ONLY: &[&str] = &[
    "`bottle ",
    "bottle up {",
    "bottle down {",
    "bottle gc",
    "bottle logs ",
    "`-e ",
    "--publish-ip",
    "--loopback-pool",
    "--allow-nonloopback",
    "--pool",
    "--block",
    "--prefix",
    "--timeout",
    "--wait",
    "--engine",
    "--parallel",
    "--config",
    "--json",
    "--verbose",
    "--dry-run",
    "--tail",
    "--all",
];

/// The library's source files, sorted: `src/` but the binary's, the engine argv builders and
/// the test-only files.
fn library_sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "cli" {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs")
                && !name.ends_with("_tests.rs")
                && !["main.rs", "argv.rs"].contains(&name.as_str())
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// The string literals of `code` (Rust source without its test module), each with its line
/// number: the text between unescaped double quotes, outside `//` comments. Raw strings and
/// char literals are rare enough in messages to be read like the rest.
fn strings(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut chars = line.chars().peekable();
        let mut current: Option<String> = None;
        while let Some(c) = chars.next() {
            match (&mut current, c) {
                (None, '/') if chars.peek() == Some(&'/') => break,
                (None, '\'') => {
                    // A char literal (`'"'`) or a lifetime: skip a quoted character.
                    let rest: String = chars.clone().take(3).collect();
                    if rest.starts_with("\"'") || rest.starts_with("\\\"'") {
                        chars.nth(rest.find('\'').unwrap());
                    }
                }
                (None, '"') => current = Some(String::new()),
                (Some(s), '\\') => {
                    if let Some(next) = chars.next() {
                        s.push(next);
                    }
                }
                (Some(s), '"') => {
                    found.push((n + 1, std::mem::take(s)));
                    current = None;
                }
                (Some(s), c) => s.push(c),
                (None, _) => {}
            }
        }
        // A string that goes on past the line (a long message) is read up to the line's end.
        if let Some(s) = current {
            found.push((n + 1, s));
        }
    }
    found
}

/// The code of a source file without its `#[cfg(test)] mod tests` (which quotes flags on
/// purpose, to check them).
fn without_tests(source: &str) -> &str {
    source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |at| &source[..at])
}

#[test]
fn no_library_message_names_a_cli_flag_or_command() {
    let mut found = Vec::new();
    for path in library_sources() {
        let source = std::fs::read_to_string(&path).unwrap();
        for (line, text) in strings(without_tests(&source)) {
            for bad in CLI_ONLY.iter().filter(|bad| text.contains(*bad)) {
                found.push(format!("{}:{line}: {bad:?} in {text:?}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "CLI advice in library strings:\n{}",
        found.join("\n")
    );
}

/// The scan itself: it finds what it must, and only in strings of code.
#[test]
fn the_scan_reads_strings_of_code_only() {
    let code = "let a = \"run `bottle down x`\"; // `bottle up` in a comment\n/// --pool in a doc\nlet b = format!(\"{} --pool\", '\"');\n";
    let got: Vec<String> = strings(code).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, ["run `bottle down x`", "{} --pool"]);
    assert!(library_sources().iter().any(|p| p.ends_with("exec.rs")));
    assert!(
        !library_sources()
            .iter()
            .any(|p| p.to_string_lossy().contains("/cli/"))
    );
}
