//! Rendering for people: argv as POSIX-quoted lines, and masking of secret values in text that
//! comes from elsewhere.
//!
//! The two are kept apart on purpose. An argv never holds a secret (the argv layer keeps `KEY=VALUE`
//! values out of it by construction), so [`render`] shows it exactly as it runs: a `plan` line or a
//! `--verbose` line splits back into the very argv that `plan --json` prints. Masking an argv would
//! only garble it (a one-character secret such as `1` would turn `10.213.0.0/24` into nonsense) and
//! would show where the secret's text occurs. [`Masker`] is for foreign text only: engine stderr,
//! the bundle's logs, a parser's message about an input.

use std::ffi::OsString;
use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};

/// What a masked secret is shown as.
pub const MASK: &str = "***";

/// One POSIX shell line for `argv`, each argument quoted only if it needs it, nothing masked.
///
/// ```
/// use std::ffi::OsString;
/// let argv: Vec<OsString> = ["docker", "run", "a b", "it's"].map(OsString::from).into();
/// assert_eq!(bottle::display::render(&argv), r#"docker run 'a b' "it's""#);
/// ```
pub fn render(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Secret values to keep out of foreign text (engine stderr, bundle logs, parser errors).
///
/// Every occurrence of every value is replaced by [`MASK`], in one pass over the text: at each
/// position the longest value that starts there wins, so a value that contains another is masked
/// whole, and the cost is linear in the text whatever the number of values.
#[derive(Clone, Default)]
pub struct Masker {
    /// `None` when there is nothing to mask.
    matcher: Option<AhoCorasick>,
    count: usize,
}

impl Masker {
    pub fn new<I, S>(secrets: I) -> Masker
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort();
        secrets.dedup();
        if secrets.is_empty() {
            return Masker::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&secrets)
            // Only a pattern set too large for the automaton's IDs fails; a handful of env values
            // never is. Masking nothing would leak, so refuse loudly instead.
            .expect("secret values fit an Aho-Corasick automaton");
        Masker {
            matcher: Some(matcher),
            count: secrets.len(),
        }
    }

    /// Whether there is anything to mask.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every occurrence of every secret value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            None => text.to_string(),
            Some(m) => {
                let mut out = String::with_capacity(text.len());
                m.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(MASK);
                    true
                });
                out
            }
        }
    }

    /// The argv line, exactly as [`render`] gives it: an argv holds no secret, and masking it
    /// would garble it. Kept so existing call sites compile; new code calls [`render`].
    pub fn render(&self, argv: &[OsString]) -> String {
        render(argv)
    }
}

/// Never shows the values themselves.
impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Masker({} secret values)", self.count)
    }
}

/// POSIX-quote one word. shlex refuses NUL, which no argv can hold anyway; show it escaped.
fn quote(word: &str) -> String {
    match shlex::try_quote(word) {
        Ok(q) => q.into_owned(),
        Err(_) => shlex::try_quote(&word.replace('\0', "\\0"))
            .map(|q| q.into_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(xs: &[&str]) -> Vec<OsString> {
        xs.iter().map(OsString::from).collect()
    }

    #[track_caller]
    fn check_mask(secrets: &[&str], text: &str, want: &str) {
        assert_eq!(Masker::new(secrets.iter().copied()).mask(text), want);
    }

    #[test]
    fn quotes_only_what_needs_it() {
        let words = ["docker", "run", "a b", "it's", "$HOME", "{{json .}}", "é"];
        let line = render(&argv(&words));
        assert_eq!(line, r#"docker run 'a b' "it's" '$HOME' '{{json .}}' 'é'"#);
        // The line splits back into the same words.
        assert_eq!(shlex::split(&line).unwrap(), words);
    }

    /// Issue 8: `-e TOKEN=1` printed `--subnet '***0.2***3.***50.0/24'`, and `-e A=docker` printed
    /// `'***' network create`. An argv line is never masked, whatever the secrets are: each case
    /// holds secrets that occur in the argv, and the line written out by hand.
    #[test]
    fn argv_lines_are_never_masked() {
        #[track_caller]
        fn check(secrets: &[&str], words: &[&str], want: &str) {
            let m = Masker::new(secrets.iter().copied());
            assert!(!m.is_empty());
            assert_eq!(m.render(&argv(words)), want);
        }
        check(
            &["1", "docker", "bot"],
            &["docker", "network", "create", "--subnet", "10.213.150.0/24"],
            "docker network create --subnet 10.213.150.0/24",
        );
        check(
            &["A", "run"],
            &[
                "docker",
                "run",
                "--env",
                "A",
                "--name",
                "bot-bottle-sidecars-a b",
            ],
            "docker run --env A --name 'bot-bottle-sidecars-a b'",
        );
        check(
            &["'"],
            &["docker", "inspect", "it's"],
            r#"docker inspect "it's""#,
        );
    }

    #[test]
    fn masks_every_occurrence_in_foreign_text() {
        check_mask(&["hunter2"], "stderr: bad hunter2", "stderr: bad ***");
        check_mask(&["hunter2", "hunter2-long", ""], "x=hunter2-long", "x=***");
        check_mask(&["ab", "abc"], "abcab xabx", "****** x***x");
        // Overlapping values: leftmost wins, then the longest there.
        check_mask(&["abc", "bcd"], "abcd", "***d");
        // A value that looks like the mask is not re-masked.
        check_mask(&["*"], "a*b", "a***b");
        check_mask(&[], "nothing to hide", "nothing to hide");
        check_mask(&["秘密"], "値=秘密!", "値=***!");
    }

    #[test]
    fn masking_is_linear() {
        // 10 MB of text against 100 values: one pass, well under a second even in debug builds.
        let secrets: Vec<String> = (0..100).map(|i| format!("secret-{i:03}")).collect();
        let m = Masker::new(secrets);
        let text = "an ordinary line of engine stderr, secret-042 once\n".repeat(200_000);
        let start = std::time::Instant::now();
        let masked = m.mask(&text);
        assert!(!masked.contains("secret-042"));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn debug_shows_no_value() {
        let m = Masker::new(["hunter2"]);
        assert_eq!(format!("{m:?}"), "Masker(1 secret values)");
    }
}
