//! Parsing a TOML spec into a [`RawSpec`]: the document is walked key by key in file order
//! (not deserialised), so each error names the key, its line and column and the type or form
//! expected, never the value (a misplaced secret must not reach a terminal or a CI log). Unknown
//! keys are refused, with the list of keys. Each value is checked by the same validator that
//! [`RawSpec::validate`] uses, so a bad value is reported where it stands in the file.

use std::path::{Path, PathBuf};

use super::read::read_config;
use super::{Build, Pull, RawSpec, RawWait, parse_wait};
use crate::error::{Error, Invalid, Result};
use crate::input::{self, EnvEntry, ImageRef, Volume};
use crate::limits;
use crate::subnet::LoopbackPool;

/// The keys a config file may hold, for the "unknown field" message.
const KEYS: &str = "image, daemons, env, volumes, publish, publish_ip, loopback_pool, wait, wait_timeout, ttl, pull, memory, cpus, pids_limit, contexts and [build] (context, dockerfile)";

impl RawSpec {
    /// Read a TOML spec file: a regular file of at most 1 MiB. Unknown keys are refused. Relative `[build]`
    /// paths, and volume host paths that start with `./` or `../`, are taken relative to the
    /// file's directory, as a user writing the file would expect.
    ///
    /// Anything else (a FIFO, a device such as `/dev/zero`, a directory) is refused without
    /// reading from it, so a config path can neither block bottle nor feed it without end.
    pub fn from_file(path: &Path) -> Result<RawSpec> {
        let text = read_config(path)?;
        // The directory of the file as given, made absolute lexically (no symlink resolution, as a
        // shell's `cd` would see it).
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        RawSpec::parse_toml(&text, path, absolute.parent().unwrap_or(Path::new("")))
    }

    /// Parse a TOML spec. Relative paths are taken relative to `path`'s directory.
    ///
    /// Errors name the key, its line and column, and the type or form expected. They never quote
    /// a value: a misplaced secret (`env = "TOKEN=..."`) must not end up on a terminal or in a CI
    /// log.
    pub fn from_toml(text: &str, path: &Path) -> Result<RawSpec> {
        RawSpec::parse_toml(text, path, path.parent().unwrap_or(Path::new("")))
    }

    fn parse_toml(text: &str, path: &Path, dir: &Path) -> Result<RawSpec> {
        let cx = Toml {
            text,
            shown: input::quoted(&path.to_string_lossy()),
        };
        let doc = toml::de::DeTable::parse(text).map_err(|e| {
            // The parser's messages describe the syntax ("invalid string", "expected `]`"); its
            // span gives the place. Its rendered form (`Display`) would quote the line itself.
            let msg = e.message().replace(['\n', '\r'], " ");
            cx.error(
                Invalid::Config,
                e.span().map_or(0, |s| s.start),
                msg.trim_end(),
            )
        })?;
        let mut raw = RawSpec::default();
        let mut wait_timeout = None;
        for (key, value) in cx.in_file_order(doc.get_ref()) {
            let at = value.span().start;
            let name = key.get_ref().as_ref();
            match name {
                "image" => {
                    let image = cx.string(name, value)?;
                    cx.check(at, &image, ImageRef::parse(&image))?;
                    raw.image = Some(image);
                }
                "daemons" => {
                    let mut daemons = Vec::new();
                    for (d, at) in cx.strings(name, value)? {
                        cx.check(at, &d, input::parse_daemon(&d))?;
                        daemons.push(d);
                    }
                    raw.daemons = Some(daemons);
                }
                "env" => {
                    let mut env = Vec::new();
                    for (e, at) in cx.strings(name, value)? {
                        // The key may be named; what follows its `=` is the value.
                        let value = e.split_once('=').map_or("", |(_, v)| v);
                        cx.check(at, value, EnvEntry::parse(&e))?;
                        env.push(e);
                    }
                    raw.env = Some(env);
                }
                "volumes" => {
                    let mut volumes = Vec::new();
                    for (v, at) in cx.strings(name, value)? {
                        let resolved = cx.check(at, &v, resolve_volume(&v, dir))?;
                        cx.check(at, &v, Volume::parse(&resolved))?;
                        let v = resolved;
                        volumes.push(v);
                    }
                    raw.volumes = Some(volumes);
                }
                "publish" => {
                    let mut ports = Vec::new();
                    for item in cx.array(name, value)? {
                        let at = item.span().start;
                        let port = match item.get_ref() {
                            toml::de::DeValue::String(s) => s.to_string(),
                            toml::de::DeValue::Integer(i) => {
                                match u16::from_str_radix(i.as_str(), i.radix()) {
                                    Ok(p) if p != 0 => p.to_string(),
                                    _ => {
                                        return Err(cx.error(
                                            Invalid::Port,
                                            at,
                                            "invalid port in `publish`: use a TCP port number from 1 to 65535",
                                        ));
                                    }
                                }
                            }
                            other => {
                                return Err(cx.error(
                                    Invalid::Config,
                                    at,
                                    &format!(
                                        "each item of `publish` must be a port number or a string, not {}",
                                        article(other.type_str())
                                    ),
                                ));
                            }
                        };
                        cx.check(at, &port, input::parse_publish(&port))?;
                        ports.push(port);
                    }
                    raw.publish = Some(ports);
                }
                "publish_ip" => {
                    // Checked here, where the error can leave the value out, rather than only
                    // when the spec is validated.
                    let ip = cx.string(name, value)?;
                    if ip != "auto" {
                        cx.check(at, &ip, input::parse_ip(&ip))?;
                    }
                    raw.publish_ip = Some(ip);
                }
                "loopback_pool" => {
                    let pool = cx.string(name, value)?;
                    cx.check(at, &pool, pool.parse::<LoopbackPool>())?;
                    raw.loopback_pool = Some(pool);
                }
                "ttl" => {
                    let ttl = cx.string(name, value)?;
                    cx.check(at, &ttl, super::validate::parse_ttl(&ttl))?;
                    raw.ttl = Some(ttl);
                }
                "wait" => {
                    raw.wait = Some(match value.get_ref() {
                        toml::de::DeValue::Boolean(true) => RawWait::Default,
                        toml::de::DeValue::Boolean(false) => RawWait::No,
                        toml::de::DeValue::String(s) => {
                            cx.check(at, s, parse_wait(s))?;
                            RawWait::Within(s.to_string())
                        }
                        _ => {
                            return Err(cx.error(
                                Invalid::Config,
                                at,
                                "`wait` must be a duration such as \"60s\", or true or false",
                            ));
                        }
                    })
                }
                // compose's `--wait-timeout`: the limit, which also asks for the wait unless
                // `wait = false` says otherwise.
                "wait_timeout" => {
                    let text = cx.string(name, value)?;
                    cx.check(at, &text, parse_wait(&text))?;
                    wait_timeout = Some(text);
                }
                "pull" => {
                    let pull = match cx.string(name, value)?.as_str() {
                        "missing" => Pull::Missing,
                        "never" => Pull::Never,
                        "always" => Pull::Always,
                        _ => {
                            return Err(cx.error(
                                Invalid::Config,
                                at,
                                "`pull` must be `missing`, `never` or `always`",
                            ));
                        }
                    };
                    raw.pull = Some(pull);
                }
                "build" => raw.build = Some(cx.build(value, dir)?),
                "memory" => {
                    let text =
                        cx.number_or_string(name, value, "a size such as \"512m\", or bytes")?;
                    cx.check(at, &text, limits::parse_memory(&text))?;
                    raw.memory = Some(text);
                }
                "cpus" => {
                    let text = cx.number_or_string(name, value, "a number of CPUs such as 1.5")?;
                    cx.check(at, &text, limits::parse_cpus(&text))?;
                    raw.cpus = Some(text);
                }
                // Not part of the bundle: the fleet `up` places it over (as `--contexts`).
                "contexts" => {
                    let names = cx.strings(name, value)?;
                    let at = names.first().map_or(at, |(_, at)| *at);
                    let list: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
                    cx.check(at, "", crate::placement::check_contexts(&list))?;
                    raw.contexts = Some(names.into_iter().map(|(n, _)| n).collect());
                }
                "pids_limit" => {
                    let text = cx.number_or_string(name, value, "a positive integer")?;
                    cx.check(at, &text, limits::parse_pids_limit(&text))?;
                    raw.pids_limit = Some(text);
                }
                _ => {
                    return Err(cx.error(
                        Invalid::ConfigKey,
                        key.span().start,
                        &format!("unknown field {}; the keys are {KEYS}", input::quoted(name)),
                    ));
                }
            }
        }
        if let Some(text) = wait_timeout {
            raw.wait = Some(raw.wait.unwrap_or(RawWait::Default).within(text));
        }
        Ok(raw)
    }
}

/// A volume whose host path starts with `./` or `../` (or is `.` or `..`), with that path joined to
/// `dir`. Other host paths are left for [`Volume::parse`] to judge: a bare name is not taken as a
/// path, since the engine would read it as a named volume.
fn resolve_volume(volume: &str, dir: &Path) -> Result<String> {
    let Some((host, rest)) = volume.split_once(':') else {
        return Ok(volume.to_string());
    };
    let relative = host == "." || host == ".." || host.starts_with("./") || host.starts_with("../");
    if !relative {
        return Ok(volume.to_string());
    }
    // Drop `.` components (`/dir/./data` becomes `/dir/data`); `..` is left to the kernel, which
    // resolves it against the real directory, symlinks included.
    let joined: PathBuf = dir
        .join(host)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    match joined.to_str() {
        Some(p) => Ok(format!("{p}:{rest}")),
        None => Err(Error::invalid(
            Invalid::Volume,
            "the config file's directory is not valid UTF-8, so a relative volume cannot be resolved: use an absolute host path",
        )),
    }
}

/// "a string", "an integer", "an array".
/// A validator's `message` about `value` with the value left out: the validators (shared with
/// the command line, where the user typed the value) quote it in backticks, whole or in part, or
/// suggest a corrected form of it. Every backticked span that holds part of the value, or is
/// held in it, ignoring case, becomes `(value not shown)`; the spans that name keys, flags or
/// forms stay.
fn without_value(message: &str, value: &str) -> String {
    let value = value.to_lowercase();
    let shows_value = |span: &str| {
        let span = span.to_lowercase();
        !span.is_empty() && !value.is_empty() && (value.contains(&span) || span.contains(&value))
    };
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        match i % 2 {
            // Inside backticks (a message with an odd number of them keeps the tail as text).
            1 if shows_value(part) => out.push_str("(value not shown)"),
            1 => {
                out.push('`');
                out.push_str(part);
                out.push('`');
            }
            _ => out.push_str(part),
        }
    }
    // What stood outside backticks: a value too long or too odd to be quoted is never quoted
    // bare either, but say so plainly if it were.
    match value.len() >= 3 && out.to_lowercase().contains(&value) {
        true => "the value is not valid here (not shown)".to_string(),
        false => out,
    }
}

fn article(type_str: &str) -> String {
    match type_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => format!("an {type_str}"),
        false => format!("a {type_str}"),
    }
}

type DeItem<'a, 'i> = &'a toml::Spanned<toml::de::DeValue<'i>>;

/// A TOML document being read, for messages that point into it.
struct Toml<'t> {
    text: &'t str,
    shown: String,
}

impl Toml<'_> {
    /// `line L, column C` (1-based, columns in characters) of byte offset `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        (line, column)
    }

    fn error(&self, kind: Invalid, at: usize, msg: &str) -> Error {
        let (line, column) = self.position(at);
        Error::invalid(
            kind,
            format!(
                "invalid config {}, line {line}, column {column}: {msg}",
                self.shown
            ),
        )
    }

    /// A validator's verdict on `value` from the file, with the value's place added and the
    /// value itself left out (see [`without_value`]).
    fn check<T>(&self, at: usize, value: &str, res: Result<T>) -> Result<T> {
        res.map_err(|e| {
            let kind = match e.kind() {
                crate::error::ErrorKind::Invalid(k) => *k,
                _ => Invalid::Config,
            };
            self.error(kind, at, &without_value(e.message(), value))
        })
    }

    /// The table's entries in the order they appear in the file, so the first problem reported is
    /// the first one a reader meets.
    fn in_file_order<'a, 'i>(
        &self,
        table: &'a toml::de::DeTable<'i>,
    ) -> Vec<(&'a toml::Spanned<toml::de::DeString<'i>>, DeItem<'a, 'i>)> {
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        entries
    }

    fn wrong_type(&self, key: &str, want: &str, value: DeItem<'_, '_>) -> Error {
        self.error(
            Invalid::Config,
            value.span().start,
            &format!(
                "`{key}` must be {want}, not {}",
                article(value.get_ref().type_str())
            ),
        )
    }

    /// A limit's value as text: a string as it is, an integer in decimal, a float as written.
    fn number_or_string(&self, key: &str, value: DeItem<'_, '_>, want: &str) -> Result<String> {
        match value.get_ref() {
            toml::de::DeValue::String(s) => Ok(s.to_string()),
            toml::de::DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Ok(n.to_string()),
                // A negative one: its validator refuses it in its own words.
                Err(_) => Ok(i.as_str().to_string()),
            },
            toml::de::DeValue::Float(f) => Ok(f.as_str().replace('_', "")),
            _ => Err(self.wrong_type(key, want, value)),
        }
    }

    fn string(&self, key: &str, value: DeItem<'_, '_>) -> Result<String> {
        match value.get_ref() {
            toml::de::DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.wrong_type(key, "a string", value)),
        }
    }

    fn array<'a, 'i>(
        &self,
        key: &str,
        value: DeItem<'a, 'i>,
    ) -> Result<&'a [toml::Spanned<toml::de::DeValue<'i>>]> {
        match value.get_ref() {
            toml::de::DeValue::Array(a) => Ok(a),
            _ => Err(self.wrong_type(key, "an array", value)),
        }
    }

    /// An array of strings, each with its offset in the file.
    fn strings(&self, key: &str, value: DeItem<'_, '_>) -> Result<Vec<(String, usize)>> {
        let items = self.array(key, value)?;
        items
            .iter()
            .map(|item| match item.get_ref() {
                toml::de::DeValue::String(s) => Ok((s.to_string(), item.span().start)),
                other => Err(self.error(
                    Invalid::Config,
                    item.span().start,
                    &format!(
                        "each item of `{key}` must be a string, not {}",
                        article(other.type_str())
                    ),
                )),
            })
            .collect()
    }

    /// `[build]`: `context` (required) and `dockerfile`, relative to the file's directory.
    fn build(&self, value: DeItem<'_, '_>, dir: &Path) -> Result<Build> {
        let toml::de::DeValue::Table(table) = value.get_ref() else {
            return Err(self.wrong_type("build", "a table", value));
        };
        let mut context = None;
        let mut dockerfile = None;
        for (key, v) in self.in_file_order(table) {
            match key.get_ref().as_ref() {
                "context" => context = Some(dir.join(self.string("build.context", v)?)),
                "dockerfile" => dockerfile = Some(dir.join(self.string("build.dockerfile", v)?)),
                other => {
                    return Err(self.error(
                        Invalid::ConfigKey,
                        key.span().start,
                        &format!(
                            "unknown field {} in [build]; its keys are context and dockerfile",
                            input::quoted(other)
                        ),
                    ));
                }
            }
        }
        let context = context.ok_or_else(|| {
            self.error(
                Invalid::Config,
                value.span().start,
                "[build] needs `context`, the directory to build the image from",
            )
        })?;
        Ok(Build {
            context,
            dockerfile,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// toml_errors_quoted_the_value_they_promise_never_to_show (attack15): the validators'
    /// messages quote the value; from a file it is left out, the keys and forms stay.
    #[test]
    fn a_validators_message_loses_the_value() {
        #[track_caller]
        fn check(message: &str, value: &str, want: &str) {
            assert_eq!(without_value(message, value), want);
        }
        check(
            "invalid image reference `sk hunter2`: use `name[:tag]`",
            "sk hunter2",
            "invalid image reference (value not shown): use `name[:tag]`",
        );
        check(
            "invalid daemon `Hunter2`: use `hunter2`",
            "Hunter2",
            "invalid daemon (value not shown): use (value not shown)",
        );
        check(
            "invalid port: use 1-65535",
            "x",
            "invalid port: use 1-65535",
        );
        check(
            "bad hunter2 value",
            "hunter2",
            "the value is not valid here (not shown)",
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = RawSpec::from_toml("imagee = \"a\"\n", Path::new("f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::ConfigKey), "{e}");
        assert!(!e.message().contains('\n'));
        let e = RawSpec::from_toml("[build]\ncontext = \".\"\nfoo = 1\n", Path::new("f.toml"))
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::ConfigKey), "{e}");
        let e = RawSpec::from_toml("image = 1\n", Path::new("f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Config), "{e}");
    }

    #[track_caller]
    fn check_toml_error(text: &str, kind: Invalid, want: &[&str]) {
        let e = RawSpec::from_toml(text, Path::new("/cfg/f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(kind), "{text:?}: {e}");
        let msg = e.message();
        assert!(!msg.contains('\n'), "one line: {msg}");
        assert!(!msg.contains("hunter2"), "{text:?} quoted a value: {msg}");
        for w in want {
            assert!(msg.contains(w), "{text:?}: expected {w:?} in {msg}");
        }
    }

    /// Issue 8: `env = "TOK=hunter2-secret"` printed `invalid type: string "TOK=hunter2-secret",
    /// expected a sequence`. Errors name the key, the place and the type, never the value.
    #[test]
    fn config_errors_never_quote_a_value() {
        use Invalid::*;
        for (text, kind, want) in [
            (
                "env = \"TOK=hunter2-secret\"",
                Config,
                &[
                    "`/cfg/f.toml`, line 1, column 7",
                    "`env` must be an array, not a string",
                ][..],
            ),
            (
                "image = \"x\"\nenv = [\"A=1\", 2, \"hunter2\"]",
                Config,
                &[
                    "line 2, column 15",
                    "each item of `env` must be a string, not an integer",
                ],
            ),
            (
                "image = [\"hunter2\"]",
                Config,
                &["`image` must be a string, not an array"],
            ),
            (
                "publish_ip = 1.5",
                Config,
                &["`publish_ip` must be a string, not a float"],
            ),
            (
                "pull = \"hunter2\"",
                Config,
                &[
                    "line 1, column 8",
                    "`pull` must be `missing`, `never` or `always`",
                ],
            ),
            (
                "publish = [80, 99999]",
                Port,
                &["line 1, column 16", "invalid port in `publish`"],
            ),
            (
                "publish = [80, true]",
                Config,
                &["must be a port number or a string, not a boolean"],
            ),
            (
                "TOK = \"hunter2\"",
                ConfigKey,
                &["line 1, column 1", "unknown field `TOK`"],
            ),
            (
                "[build]\ncontext = \".\"\nsecret = \"hunter2\"",
                ConfigKey,
                &["line 3, column 1", "unknown field `secret` in [build]"],
            ),
            (
                "[build]\ndockerfile = \"D\"",
                Config,
                &["[build] needs `context`"],
            ),
            (
                "build = \"hunter2\"",
                Config,
                &["`build` must be a table, not a string"],
            ),
            (
                "env = [\"TOK=hunter2\\nsecond\"]",
                EnvValue,
                &["line 1, column 8", "env `TOK`", "env-file cannot carry"],
            ),
            (
                "env = [\"1TOK=hunter2\"]",
                EnvKey,
                &["invalid env key `1TOK`"],
            ),
            // Syntax errors: the place, and the parser's words about the syntax only.
            (
                "image = \"x\"\nenv = [\"TOK=hunter2",
                Config,
                &["line 2, column"],
            ),
            ("env = [\"TOK=hunter2\" \"B\"]", Config, &["line 1, column"]),
            ("env = 'hunter2\nx'", Config, &["line 2, column 3"]),
            ("a.b = hunter2", Config, &["line 1, column 7"]),
            (
                "image = \"a\"\nimage = \"hunter2\"",
                Config,
                &["line 2, column 1"],
            ),
        ] {
            check_toml_error(text, kind, want);
        }
    }

    /// Issue 11: ports as integers or strings, relative volume host paths from the file's
    /// directory.
    #[test]
    fn toml_ports_and_relative_volumes() {
        let raw = RawSpec::from_toml(
            "publish = [8080, \"9000\", 0x50]\nvolumes = [\"./data:/data\", \"../up/x:/x:ro\", \".:/here\", \"/abs:/abs\"]\n",
            Path::new("/cfg/dir/spec.toml"),
        )
        .unwrap();
        assert_eq!(raw.publish.unwrap(), ["8080", "9000", "80"]);
        assert_eq!(
            raw.volumes.unwrap(),
            [
                "/cfg/dir/data:/data",
                "/cfg/dir/../up/x:/x:ro",
                "/cfg/dir:/here",
                "/abs:/abs"
            ]
        );
        // A bare name is not a path: it is a named volume (issue 16), and a resolved path is
        // still validated.
        let named = RawSpec::from_toml("volumes = [\"data:/data\"]", Path::new("/cfg/f.toml"));
        assert_eq!(named.unwrap().volumes.unwrap(), ["data:/data"]);
        check_toml_error(
            "volumes = [\"d$x:/data\"]",
            Invalid::Volume,
            &[
                "line 1, column 12",
                "neither an absolute host path nor a volume name",
            ],
        );
        let e =
            RawSpec::from_toml("volumes = [\"./d:/d\"]", Path::new("/cfg,x/f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Volume), "{e}");
        // Relative to the file, not to where bottle runs.
        let e = RawSpec::from_toml("volumes = [\"./d:/d\"]", Path::new("f.toml")).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Volume), "{e}");
    }

    /// The commented example in `fixtures/specs/example.toml` uses every key, and parses.
    #[test]
    fn the_example_file_uses_every_key_and_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let raw = RawSpec::from_toml(&text, &path).unwrap();
        let build = raw.build.as_ref().expect("[build]");
        assert!(build.dockerfile.is_some());
        assert!(raw.image.is_some() && raw.daemons.is_some() && raw.publish_ip.is_some());
        assert!(raw.pull.is_some());
        let volumes = raw.volumes.clone().unwrap();
        assert!(
            volumes
                .iter()
                .any(|v| v.starts_with(path.parent().unwrap().to_str().unwrap()))
        );
        let publish = raw.publish.clone().unwrap();
        assert!(publish.len() >= 2);
        let env = raw.env.clone().unwrap();
        assert!(env.iter().any(|e| e.contains('=')) && env.iter().any(|e| !e.contains('=')));
        raw.validate(false).unwrap();
    }
}
