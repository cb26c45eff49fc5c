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

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// What a masked secret is shown as.
///
/// Public (as `bottle::MASK`) because the library's own texts carry it: a launcher that shows
/// [`crate::Bottles::logs`] or an error's message, or hides values of its own the same way, can
/// tell a masked value from real output.
pub const MASK: &str = "***";

/// One POSIX shell line for `argv`, each argument quoted only if it needs it, nothing masked.
///
/// Public (as `bottle::quote_argv`) because a launcher that shows [`crate::Bottles::plan`]'s
/// commands to a person (a dry run) should print them as the library's error messages and
/// [`crate::Event`] lines do: each splits back into the very argv that runs.
///
/// ```
/// use std::ffi::OsString;
/// let argv: Vec<OsString> = ["docker", "run", "a b", "it's"].map(OsString::from).into();
/// assert_eq!(bottle::quote_argv(&argv), r#"docker run 'a b' "it's""#);
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
///
/// A value of one or two characters is masked only where it stands as a whole word: where neither
/// the character before it nor the one after it is a letter, a digit or `_` (any non-ASCII
/// character counts as a letter). Masking a one-character value everywhere would garble every
/// message (`-e X=o` turned `docker: Error` into `d***cker: Err***r`), while such a value hides
/// nothing a reader could not guess.
#[derive(Clone, Default)]
pub struct Masker {
    /// `None` when there is nothing to mask.
    matcher: Option<AhoCorasick>,
    /// Which patterns (by index) are short: masked only as whole words.
    short: Vec<bool>,
    /// The values of one character.
    singles: Vec<char>,
    /// The longest value, in bytes.
    longest: usize,
}

/// Values of at most this many characters are masked only as whole words.
const SHORT_CHARS: usize = 2;

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
            // Never the DFA the builder picks by itself for a few patterns: its leftmost-longest
            // build is quadratic in a value with a long run of one byte (a 16 000-byte `0000…`
            // took minutes, before any engine command and deaf to signals). The contiguous NFA
            // builds in linear time and searches in linear time too.
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&secrets)
            // Only a pattern set too large for the automaton's IDs fails; a handful of env values
            // never is. Masking nothing would leak, so refuse loudly instead.
            .expect("secret values fit an Aho-Corasick automaton");
        Masker {
            matcher: Some(matcher),
            short: secrets
                .iter()
                .map(|s| s.chars().count() <= SHORT_CHARS)
                .collect(),
            singles: secrets
                .iter()
                .filter_map(|s| {
                    let mut chars = s.chars();
                    chars.next().filter(|_| chars.next().is_none())
                })
                .collect(),
            longest: secrets.iter().map(String::len).max().unwrap_or(0),
        }
    }

    /// Whether there is anything to mask.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// The longest value, in bytes (0 when there is none).
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// `text` with every occurrence of every secret value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        // A match of a (UTF-8) value in UTF-8 text starts and ends on character boundaries.
        self.each_match(text.as_bytes(), 0, |start, end| {
            out.push_str(&text[copied..start]);
            out.push_str(MASK);
            copied = end;
        });
        out.push_str(&text[copied..]);
        out
    }

    /// [`Masker::mask`] for bytes that need not be UTF-8.
    #[cfg(test)]
    pub fn mask_bytes(&self, text: &[u8]) -> Vec<u8> {
        let mut spans = Vec::new();
        self.each_match(text, 0, |start, end| spans.push((start, end)));
        splice(text, 0, text.len(), &spans)
    }

    /// Call `found` for each value to mask in `text`, in order: leftmost-longest, a short value
    /// only where it is a whole word. A short match that is not one is skipped, and the search
    /// goes on one byte further, so a value that starts inside it is still found. Linear in
    /// `text`: a new search starts only past a rejected match, at most one value's length back.
    fn each_match(&self, text: &[u8], from: usize, mut found: impl FnMut(usize, usize)) {
        let Some(m) = &self.matcher else {
            return;
        };
        let mut at = from;
        // One leftmost-longest pass; only a rejected short match starts a new one past it.
        'search: while at < text.len() {
            for hit in m.find_iter(aho_corasick::Input::new(text).span(at..text.len())) {
                let (start, end) = (hit.start(), hit.end());
                if !self.short[hit.pattern().as_usize()] || whole_word(text, start, end) {
                    found(start, end);
                    continue;
                }
                at = match self.short_prefix(text, start, end) {
                    // A two-character value that is not a word may begin with a one-character one
                    // that is (`a` in `a!b` when `a!` and `a` are both values).
                    Some(one) => {
                        found(start, one);
                        one
                    }
                    None => start + 1,
                };
                continue 'search;
            }
            break;
        }
    }

    /// The end of a one-character value that starts at `start`, inside the rejected short match
    /// `start..end`, and stands as a whole word.
    fn short_prefix(&self, text: &[u8], start: usize, end: usize) -> Option<usize> {
        let first = std::str::from_utf8(&text[start..end])
            .ok()?
            .chars()
            .next()?;
        let one = start + first.len_utf8();
        (one < end && self.singles.contains(&first) && whole_word(text, start, one)).then_some(one)
    }
}

/// `text[from..to]` with each of `spans` (inside it, in order) replaced by [`MASK`].
fn splice(text: &[u8], from: usize, to: usize, spans: &[(usize, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(to - from);
    let mut copied = from;
    for &(start, end) in spans {
        out.extend_from_slice(&text[copied..start]);
        out.extend_from_slice(MASK.as_bytes());
        copied = end;
    }
    out.extend_from_slice(&text[copied..to]);
    out
}

/// Masks a stream (a followed log) as it comes, with the same matches as [`Masker::mask`] over
/// the whole of it.
///
/// What [`MaskStream::push`] returns is final: everything up to the last line end (no value holds
/// a newline), and anything further than the longest value (plus the one character that decides
/// whether a short value is a whole word) from the end of what has come so far. Only the end of
/// an unfinished line waits for more, at most as many bytes as the longest value, and only when
/// there is a value to mask.
#[derive(Debug)]
pub struct MaskStream {
    masker: Masker,
    /// What has not been handed out yet, after `context` bytes that have (the byte before it,
    /// which decides whether a short value right there is a whole word).
    held: Vec<u8>,
    context: usize,
}

impl MaskStream {
    pub fn new(masker: Masker) -> MaskStream {
        MaskStream {
            masker,
            held: Vec::new(),
            context: 0,
        }
    }

    /// Take the next bytes of the stream; returns what can be shown now, masked.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.masker.is_empty() {
            return chunk.to_vec();
        }
        self.held.extend_from_slice(chunk);
        let buf = &self.held;
        let after_line = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let decided = buf.len().saturating_sub(self.masker.longest());
        let mut cut = after_line.max(decided).max(self.context);
        let mut spans = Vec::new();
        self.masker.each_match(buf, self.context, |start, end| {
            if start < cut {
                spans.push((start, end));
            }
        });
        // A value that starts before the cut is decided; the cut moves past it.
        cut = cut.max(spans.last().map_or(0, |&(_, end)| end));
        let out = splice(buf, self.context, cut, &spans);
        let keep_from = cut.saturating_sub(1);
        self.held.drain(..keep_from);
        self.context = cut - keep_from;
        out
    }

    /// The end of the stream: the rest, masked.
    pub fn finish(self) -> Vec<u8> {
        let mut spans = Vec::new();
        self.masker
            .each_match(&self.held, self.context, |start, end| {
                spans.push((start, end))
            });
        splice(&self.held, self.context, self.held.len(), &spans)
    }
}

/// Whether `text[start..end]` stands as a whole word: no letter, digit or `_` right before or
/// right after it. A byte of a non-ASCII character counts as a letter.
fn whole_word(text: &[u8], start: usize, end: usize) -> bool {
    let wordy = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let before = start.checked_sub(1).map(|i| text[i]);
    let after = text.get(end).copied();
    !before.is_some_and(wordy) && !after.is_some_and(wordy)
}

/// `text` without the engine CLI's advice to read its `--help` ("Run 'docker run --help' for more
/// information", "See 'docker run --help'."): the user ran bottle, not the engine. Done before
/// masking, which could cut into the advice and keep it from being recognised.
///
/// Not part of the library's API: the executor strips the advice from every engine stderr an
/// error carries, so neither a launcher nor the CLI ever needs to.
///
/// ```compile_fail
/// let _ = bottle::strip_help_advice("Run 'docker run --help' for more information");
/// ```
pub(crate) fn strip_help_advice(text: &str) -> String {
    // Every other line is kept as it is, line ending included.
    let mut text: String = text
        .split_inclusive('\n')
        .filter(|l| !is_help_advice(l))
        .collect();
    // "… See 'docker run --help'." can end a line that also holds the real message.
    for marker in [" See '", "See '"] {
        while let Some(at) = text.find(marker) {
            let rest = &text[at + marker.len()..];
            let Some(end) = rest.find("--help'.") else {
                break;
            };
            text.replace_range(at..at + marker.len() + end + "--help'.".len(), "");
        }
    }
    text
}

fn is_help_advice(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("Run '") && l.ends_with("for more information")
        || l.starts_with("See '") && l.ends_with("--help'.")
}

/// Never shows the values themselves.
impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Masker({} secret values)", self.short.len())
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
            // A `Masker` has no way to render an argv: the line is `render`'s, whatever
            // `secrets` would mask.
            assert!(!Masker::new(secrets.iter().copied()).is_empty());
            assert_eq!(render(&argv(words)), want);
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
        check_mask(&["abc", "abcd"], "abcdabc xabcx", "****** x***x");
        // Overlapping values: leftmost wins, then the longest there.
        check_mask(&["abc", "bcd"], "abcd", "***d");
        // A value that looks like the mask is not re-masked.
        check_mask(&["***"], "a***b", "a***b");
        check_mask(&[], "nothing to hide", "nothing to hide");
        check_mask(&["秘密です"], "値=秘密です!", "値=***!");
    }

    /// Issue 14: masking a one-character secret garbled every message ("d***cker: Err***r").
    /// Values of one or two characters are masked only where they stand as whole words.
    /// a_long_repetitive_secret_hangs_up_before_any_engine_command (attack round 4): the
    /// automatic DFA took minutes to build for this value; the bound is loose for a loaded machine.
    #[test]
    fn a_long_repetitive_secret_builds_the_masker_in_linear_time() {
        let value = "0".repeat(60_000);
        let started = std::time::Instant::now();
        let masker = Masker::new([value.clone(), "0".repeat(59_999)]);
        let text = format!("a{value}b{}", "0".repeat(100));
        assert_eq!(masker.mask(&text), format!("a{MASK}b{}", "0".repeat(100)));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    }

    #[test]
    fn short_values_are_masked_only_as_whole_words() {
        check_mask(&["o"], "docker: Error response", "docker: Error response");
        check_mask(&["1"], "exit status: 1", "exit status: ***");
        check_mask(&["1"], "10.213.0.0/24 x1 1x _1", "10.213.0.0/24 x1 1x _1");
        check_mask(&["1"], "a=1, b=(1)", "a=***, b=(***)");
        check_mask(&["ab"], "ab abc cab ab.", "*** abc cab ***.");
        check_mask(&["*"], "a*b", "a*b");
        check_mask(&["*"], "a * b", "a *** b");
        // A non-ASCII character counts as a letter.
        check_mask(&["é"], "café é", "café ***");
        check_mask(&["秘密"], "値秘密!", "値秘密!");
        check_mask(&["秘密"], "= 秘密!", "= ***!");
        // A rejected two-character value may start with a one-character one that is a word.
        check_mask(&["a!", "a"], "a!b", "***!b");
        // A short value inside a rejected one is still found; long values are masked anywhere.
        check_mask(&["x1", "1"], "x1y 1", "x1y ***");
        check_mask(&["t", "hunter2"], "xhunter2x t", "x***x ***");
    }

    /// Issue 14: `logs -f` printed values in clear. A stream cut anywhere is masked as the whole
    /// text is, and every complete line is handed out at once.
    #[test]
    fn a_stream_is_masked_as_the_whole_text_is() {
        let secrets = ["hunter2secret", "x", "ab", "hunter"];
        let text = "tok=hunter2secret x\nxy ab abc hunter2\n(x) hunter2secre".as_bytes();
        let whole = Masker::new(secrets).mask_bytes(text);
        for size in 1..=text.len() {
            let mut stream = MaskStream::new(Masker::new(secrets));
            let mut out = Vec::new();
            for chunk in text.chunks(size) {
                let shown = stream.push(chunk);
                out.extend_from_slice(&shown);
                // What was shown so far is a prefix of the masked whole, and reaches at least
                // the last line end.
                assert!(whole.starts_with(&out), "size {size}");
            }
            out.extend(stream.finish());
            assert_eq!(out, whole, "size {size}");
        }
        assert_eq!(
            String::from_utf8(whole).unwrap(),
            "tok=*** ***\nxy *** abc ***2\n(***) ***2secre"
        );
        // A finished line is shown whole, at once.
        let mut stream = MaskStream::new(Masker::new(["hunter2secret"]));
        assert_eq!(stream.push(b"a hunter2secret b\n"), b"a *** b\n");
        assert_eq!(stream.push(b"prompt: "), b"");
        assert_eq!(stream.finish(), b"prompt: ");
        // Nothing to mask: everything passes at once.
        let mut stream = MaskStream::new(Masker::default());
        assert_eq!(stream.push(b"partial"), b"partial");
    }

    #[test]
    fn the_help_advice_is_stripped() {
        for (text, want) in [
            (
                "docker: Error response from daemon: boom.\nSee 'docker run --help'.\n",
                "docker: Error response from daemon: boom.\n",
            ),
            (
                "unknown flag: --x\nRun 'docker network create --help' for more information",
                "unknown flag: --x\n",
            ),
            ("a. See 'docker run --help'.\nb", "a.\nb"),
            ("nothing to strip", "nothing to strip"),
        ] {
            assert_eq!(strip_help_advice(text), want, "{text:?}");
        }
    }

    #[test]
    fn masking_is_linear() {
        // 10 MB of text against 100 values: one pass, about a second in a debug build on a quiet
        // machine (quadratic, it takes minutes); the bound leaves room for a loaded one.
        let secrets: Vec<String> = (0..100).map(|i| format!("secret-{i:03}")).collect();
        let m = Masker::new(secrets);
        let text = "an ordinary line of engine stderr, secret-042 once\n".repeat(200_000);
        let start = std::time::Instant::now();
        let masked = m.mask(&text);
        assert!(!masked.contains("secret-042"));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
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
