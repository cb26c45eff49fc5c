//! Rendering argv for people: POSIX-quoted, with secret values masked.
//!
//! Used by `plan`, `--verbose` and error messages. The argv layer never puts a secret into argv in
//! the first place; masking here is the second line of defence, and it also covers engine stderr
//! quoted back in errors.

use std::ffi::OsString;

/// What a masked secret is shown as.
pub const MASK: &str = "***";

/// Secret values to keep out of anything printed.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
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
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Masker { secrets }
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), MASK))
    }

    /// One POSIX shell line for `argv`, each argument quoted only if it needs it.
    pub fn render(&self, argv: &[OsString]) -> String {
        argv.iter()
            .map(|a| quote(&self.mask(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One POSIX shell line for `argv`, unmasked: exactly the words as run. For argv, which holds no
/// secret by construction.
pub fn render(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
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

    #[test]
    fn quotes_only_what_needs_it() {
        let line = Masker::default().render(&argv(&[
            "docker",
            "run",
            "a b",
            "it's",
            "$HOME",
            "{{json .}}",
            "é",
        ]));
        assert_eq!(line, r#"docker run 'a b' "it's" '$HOME' '{{json .}}' 'é'"#);
        // The line splits back into the same words.
        assert_eq!(
            shlex::split(&line).unwrap(),
            ["docker", "run", "a b", "it's", "$HOME", "{{json .}}", "é"]
        );
    }

    #[test]
    fn masks_secrets_even_inside_words() {
        let m = Masker::new(["hunter2", "hunter2-long", ""]);
        assert_eq!(m.render(&argv(&["-e", "A=hunter2-long"])), "-e 'A=***'");
        assert_eq!(m.mask("stderr: bad hunter2"), "stderr: bad ***");
    }
}
