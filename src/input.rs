//! Validated inputs: slug, prefix, resource names, image reference, env entries, volumes, ports and
//! the publish address.
//!
//! Every type here can only be built through its parser, so a value that reaches the argv layer has
//! already been refused or accepted. Each refusal is one line that says what is wrong and what would
//! be right, with its own [`Invalid`] kind.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Invalid, Result};

/// The longest `KEY=VALUE` line an env-file can carry: Go's `bufio.MaxScanTokenSize` (64 KiB), which
/// the docker CLI's and podman's env-file readers use, less one byte for the newline.
pub const MAX_ENV_FILE_LINE: usize = 64 * 1024 - 1;

/// The words between prefix and slug in resource names (`<prefix>-bundle-<slug>`,
/// `<prefix>-sidecars-<slug>`), which a prefix may not hold.
const ROLE_WORDS: [&str; 2] = ["bundle", "sidecars"];

/// Docker's limit for names that end up as DNS labels and interface names.
pub const MAX_NAME_LEN: usize = 63;
const MAX_SLUG_LEN: usize = 40;
const MAX_PREFIX_LEN: usize = 20;
/// The resource-name prefix unless told otherwise.
pub const DEFAULT_PREFIX: &str = "bot-bottle";

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// A bottle's identity: 1–40 of `[a-z0-9-]`, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

impl Slug {
    /// Parse a slug (also `str::parse::<Slug>`), with the CLI's error ([`Invalid::Slug`]).
    pub fn parse(s: &str) -> Result<Slug> {
        let ok = (1..=MAX_SLUG_LEN).contains(&s.len())
            && s.chars().all(is_name_char)
            && !s.starts_with('-')
            && !s.ends_with('-');
        if !ok {
            return Err(Error::invalid(
                Invalid::Slug,
                format!(
                    "invalid slug {}: use 1-40 of [a-z0-9-], starting and ending with a letter or digit, e.g. `agent-1`",
                    quoted(s)
                ),
            ));
        }
        Ok(Slug(s.to_string()))
    }

    /// The slug as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// As its text, the string the bottle object has always carried.
impl serde::Serialize for Slug {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The resource-name prefix: 1–20 of `[a-z0-9-]` (`"bot-bottle".parse::<Prefix>()`).
///
/// The contract allows any of those characters; we also refuse a leading `-`, because the engine
/// would read the resulting names as flags and docker refuses names that do not start with a letter
/// or digit anyway.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(String);

impl Prefix {
    /// A prefix: 1-20 of `[a-z0-9-]`, starting with a letter or digit (also
    /// `str::parse::<Prefix>`); else [`crate::Invalid::Prefix`].
    pub fn parse(s: &str) -> Result<Prefix> {
        let ok = (1..=MAX_PREFIX_LEN).contains(&s.len())
            && s.chars().all(is_name_char)
            && !s.starts_with('-');
        if !ok {
            return Err(Error::invalid(
                Invalid::Prefix,
                format!(
                    "invalid prefix {}: use 1-20 of [a-z0-9-], starting with a letter or digit, e.g. `bot-bottle`",
                    quoted(s)
                ),
            ));
        }
        // Names are `<prefix>-bundle-<slug>` and `<prefix>-sidecars-<slug>`, and a slug may
        // start with `bundle-`: prefix `a` with slug `bundle-x` and prefix `a-bundle` with slug
        // `x` would name one network. With no `bundle` or `sidecars` word in the prefix, the
        // first such word of a name is its role, so every name has one (prefix, slug).
        if let Some(role) = s.split('-').find(|w| ROLE_WORDS.contains(w)) {
            return Err(Error::invalid(
                Invalid::Prefix,
                format!(
                    "invalid prefix {}: a prefix holds no `{role}` word (between dashes), which bottle's names use to tell the prefix from the slug",
                    quoted(s)
                ),
            ));
        }
        Ok(Prefix(s.to_string()))
    }

    /// The prefix as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `slug`'s resource names under this prefix fit the engine's limit; else
    /// [`crate::Invalid::NameTooLong`]. Checking before any engine call makes bad input an
    /// input error whatever state the engine is in.
    pub fn check(&self, slug: &Slug) -> Result<()> {
        Names::new(self, slug).map(drop)
    }
}

impl std::str::FromStr for Prefix {
    type Err = Error;

    fn from_str(s: &str) -> Result<Prefix> {
        Prefix::parse(s)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `bot-bottle`, the CLI's `--prefix` default.
impl Default for Prefix {
    fn default() -> Prefix {
        Prefix(DEFAULT_PREFIX.to_string())
    }
}

/// The two engine resource names of one bottle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `<prefix>-bundle-<slug>`
    pub network: String,
    /// `<prefix>-sidecars-<slug>`
    pub bundle: String,
}

impl Names {
    pub fn new(prefix: &Prefix, slug: &Slug) -> Result<Names> {
        let network = format!("{}-bundle-{}", prefix.0, slug.0);
        let bundle = format!("{}-sidecars-{}", prefix.0, slug.0);
        // The bundle name is the longer of the two.
        if bundle.len() > MAX_NAME_LEN {
            return Err(Error::invalid(
                Invalid::NameTooLong,
                format!(
                    "resource name `{bundle}` is {} characters, over the limit of {MAX_NAME_LEN}: use a shorter slug or prefix",
                    bundle.len()
                ),
            ));
        }
        Ok(Names { network, bundle })
    }
}

/// An image reference, checked against the docker reference grammar (`[domain/]path[:tag][@digest]`,
/// see `regexp.go` in <https://github.com/distribution/reference>), so a malformed one is refused
/// before any engine command runs instead of costing a `network create`, a `run` and a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef(String);

/// The default bundle image, `bot-bottle-sidecars:latest`.
impl Default for ImageRef {
    fn default() -> ImageRef {
        ImageRef(crate::spec::DEFAULT_IMAGE.to_string())
    }
}

impl ImageRef {
    pub fn parse(s: &str) -> Result<ImageRef> {
        let why = if s.is_empty() {
            Some("it is empty")
        } else if s.starts_with('-') {
            Some("it starts with `-`")
        } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("it holds whitespace or a control character")
        } else {
            reference_error(s)
        };
        match why {
            Some(why) => Err(Error::invalid(
                Invalid::Image,
                format!(
                    "invalid image reference {}: {why}; use a reference such as `bot-bottle-sidecars:latest`",
                    quoted(s)
                ),
            )),
            None => Ok(ImageRef(s.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why `s` is not a reference by the docker grammar, or `None` if it is one:
/// `[domain/]path-component[/path-component...][:tag][@algorithm:hex]`. The first component is a
/// domain when there are more and it holds `.` or `:`, is `localhost`, or has an upper-case
/// letter (as the docker CLI splits it); path components are lower-case.
fn reference_error(s: &str) -> Option<&'static str> {
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    if let Some(d) = digest
        && let Some(why) = digest_error(d)
    {
        return Some(why);
    }
    // A tag is the part after the last `:` that has no `/` after it (`host:5000/x` has none).
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Some("its tag must be 1-128 of [A-Za-z0-9_.-], not starting with `.` or `-`");
        }
    }
    if name.is_empty() {
        return Some("it has no name before its tag or digest");
    }
    if name.len() > 255 {
        return Some("its name is longer than 255 characters");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    let is_domain = parts.len() > 1
        && (first.contains(['.', ':'])
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase()));
    if is_domain {
        if !is_domain_ok(first) {
            return Some("its registry must be a host name or address, with an optional `:PORT`");
        }
        parts.remove(0);
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Some("it has an empty path component (a leading, trailing or doubled `/`)");
    }
    if parts
        .iter()
        .any(|p| p.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Some("repository names must be lower-case");
    }
    if !parts.iter().all(|p| is_path_component(p)) {
        return Some(
            "each path component must be [a-z0-9] words joined by `.`, `_`, `__` or dashes",
        );
    }
    None
}

/// `algorithm:hex`, the hex at least 32 digits (64 for sha256, 128 for sha512).
fn digest_error(d: &str) -> Option<&'static str> {
    let why = Some("its digest must be ALGORITHM:HEX, such as `sha256:` and 64 hex digits");
    let Some((algo, hex)) = d.split_once(':') else {
        return why;
    };
    let algo_ok = algo.starts_with(|c: char| c.is_ascii_alphabetic())
        && algo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-_".contains(c));
    let len_ok = match algo {
        "sha256" => hex.len() == 64,
        "sha512" => hex.len() == 128,
        _ => hex.len() >= 32,
    };
    match algo_ok && len_ok && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        true => None,
        false => why,
    }
}

/// `host[:port]`: dot-separated `[A-Za-z0-9-]` labels not starting or ending with `-`, or a
/// bracketed IPv6 address.
fn is_domain_ok(domain: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    if let Some(v6) = domain.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((addr, rest)) => {
                addr.parse::<std::net::Ipv6Addr>().is_ok()
                    && (rest.is_empty() || rest.strip_prefix(':').is_some_and(digits))
            }
            None => false,
        };
    }
    let (host, port_ok) = match domain.split_once(':') {
        Some((h, p)) => (h, digits(p)),
        None => (domain, true),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    port_ok && host.split('.').all(label_ok)
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__` or one or more `-`.
fn is_path_component(p: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !p.starts_with(alnum) || !p.ends_with(alnum) {
        return false;
    }
    p.split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, "." | "_" | "__") || sep.chars().all(|c| c == '-'))
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvKey(String);

impl EnvKey {
    pub fn parse(s: &str) -> Result<EnvKey> {
        let mut chars = s.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            // What follows a `=` is a value (`API_TOKEN=sk-…` given as a key): never shown.
            let shown = match s.split_once('=') {
                Some((key, _)) => {
                    format!("{}, followed by `=` and a value (not shown)", quoted(key))
                }
                None => quoted(s),
            };
            return Err(Error::invalid(
                Invalid::EnvKey,
                format!("invalid env key {shown}: use [A-Za-z_][A-Za-z0-9_]*, e.g. `API_TOKEN`"),
            ));
        }
        Ok(EnvKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value that must never be printed. `Debug` masks it; the only way to read it is
/// [`Secret::expose`], which the env-file writer and the spec digest use.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where an env entry's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// `KEY=VALUE`: travels to the engine only through the private env-file.
    Literal(Secret),
    /// Bare `KEY`: passed as `-e KEY`, so the engine reads the value from its own environment.
    Inherit,
}

/// One `-e` entry, `KEY=VALUE` or bare `KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: EnvKey,
    pub value: EnvValue,
}

impl EnvEntry {
    /// Parse `KEY=VALUE` (split at the first `=`) or a bare `KEY`, as `-e` takes it.
    pub fn parse(s: &str) -> Result<EnvEntry> {
        match s.split_once('=') {
            None => EnvEntry::inherit(s),
            Some((key, value)) => EnvEntry::literal(key, value),
        }
    }

    /// `key`, whose value the engine takes from the environment bottle gives it.
    pub fn inherit(key: &str) -> Result<EnvEntry> {
        Ok(EnvEntry {
            key: EnvKey::parse(key)?,
            value: EnvValue::Inherit,
        })
    }

    /// `key` with `value`, which travels through the env-file. A key holding `=` is refused as
    /// any other bad key is: it is never split into another key and value.
    pub fn literal(key: &str, value: &str) -> Result<EnvEntry> {
        let key = EnvKey::parse(key)?;
        check_env_value(key.as_str(), value.as_bytes())?;
        Ok(EnvEntry {
            key,
            value: EnvValue::Literal(Secret(value.to_string())),
        })
    }
}

/// Whether the env-file can carry `key`'s `value` (given to `secret_env`, or taken by a bare key
/// from the environment of a `Bottles`): every value the bundle gets travels through it. The
/// refusal names the key and never the value, which may be a secret.
pub(crate) fn check_env_value(key: &str, value: &[u8]) -> Result<()> {
    // docker's env-file reader splits lines on `\n` and drops a trailing `\r`, and cannot carry
    // NUL, so such a value would arrive altered or not at all.
    if value.iter().any(|b| matches!(b, b'\n' | b'\r' | b'\0')) {
        return Err(Error::invalid(
            Invalid::EnvValue,
            format!(
                "the value of env `{key}` holds a newline, carriage return or NUL, which an env-file cannot carry"
            ),
        ));
    }
    // The docker CLI and podman read an env-file with Go's `bufio.Scanner`, whose longest line
    // is 64 KiB including its newline; a longer one fails the whole `run` with
    // `bufio.Scanner: token too long`, after the network was made.
    let line = key.len() + 1 + value.len();
    if line > MAX_ENV_FILE_LINE {
        return Err(Error::invalid(
            Invalid::EnvValue,
            format!(
                "the value of env `{key}` is {} bytes, longer than an env-file line can carry ({MAX_ENV_FILE_LINE} bytes for `KEY=VALUE`)",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// A mount `HOST:CTR[:ro|rw]`: a bind mount of an absolute host path, or a named volume `NAME`
/// (`[A-Za-z0-9][A-Za-z0-9_.-]+`, what the engines take), which `up` creates with bottle's labels
/// when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Volume {
    /// The absolute host path, or the volume's name ([`Volume::is_named`]).
    pub host: String,
    /// The absolute path it is mounted at in the bundle.
    pub container: String,
    /// Mounted read-only (`:ro`).
    pub read_only: bool,
}

impl Volume {
    /// Parse `HOST:CTR[:ro|rw]` (both paths absolute), with the CLI's `-v` errors.
    pub fn parse(s: &str) -> Result<Volume> {
        let parts: Vec<&str> = s.split(':').collect();
        let (host, container, mode) = match parts[..] {
            [h, c] => (h, c, None),
            [h, c, m] => (h, c, Some(m)),
            _ => {
                return Err(Error::invalid(
                    Invalid::Volume,
                    format!(
                        "invalid volume {}: use HOST:CTR or HOST:CTR:ro with absolute paths that hold no `:`",
                        quoted(s)
                    ),
                ));
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                return Err(Error::invalid(
                    Invalid::VolumeMode,
                    format!(
                        "invalid volume mode {} in {}: use `ro` or `rw`",
                        quoted(other),
                        quoted(s)
                    ),
                ));
            }
        };
        Volume::checked(host, container, read_only, s)
    }

    /// The bind mount of `host` at `container`, both absolute, as [`crate::SpecBuilder::volume`]
    /// takes it; refused with [`Invalid::Volume`] where `-v` would refuse it, and where a path is
    /// not UTF-8 or holds `:` (the engine's `-v` syntax cannot carry it).
    pub fn new<'a>(host: &'a Path, container: &'a Path, read_only: bool) -> Result<Volume> {
        let mode = if read_only { "ro" } else { "rw" };
        let shown = format!("{}:{}:{mode}", host.display(), container.display());
        let text = |p: &'a Path| -> Result<&'a str> {
            p.to_str().filter(|t| !t.contains(':')).ok_or_else(|| {
                Error::invalid(
                    Invalid::Volume,
                    format!(
                        "invalid volume {}: path {} is not UTF-8 or holds `:`",
                        quoted(&shown),
                        quoted(&p.to_string_lossy())
                    ),
                )
            })
        };
        let host = text(host)?;
        // A bind mount: a name here would be taken for a named volume ([`Volume::named`]).
        if !host.starts_with('/') {
            return Err(Error::invalid(
                Invalid::Volume,
                format!(
                    "invalid volume {}: host path {} is not absolute",
                    quoted(&shown),
                    quoted(host)
                ),
            ));
        }
        Volume::checked(host, text(container)?, read_only, &shown)
    }

    /// The named volume `name` mounted at the absolute container path `container`, as
    /// [`crate::SpecBuilder::named_volume`] takes it; refused with [`Invalid::Volume`] unless the
    /// name is `[A-Za-z0-9][A-Za-z0-9_.-]+` and the path is one `-v` takes.
    pub fn named(name: &str, container: &Path, read_only: bool) -> Result<Volume> {
        let mode = if read_only { "ro" } else { "rw" };
        let shown = format!("{name}:{}:{mode}", container.display());
        if !is_volume_name(name) {
            return Err(bad_volume_name(&shown, name));
        }
        let container = container
            .to_str()
            .filter(|t| !t.contains(':'))
            .ok_or_else(|| {
                Error::invalid(
                    Invalid::Volume,
                    format!(
                        "invalid volume {}: the container path is not UTF-8 or holds `:`",
                        quoted(&shown)
                    ),
                )
            })?;
        Volume::checked(name, container, read_only, &shown)
    }

    /// Whether this is a named volume rather than a bind mount: its source is a name, not a path.
    pub fn is_named(&self) -> bool {
        !self.host.starts_with('/')
    }

    /// Check both paths; `s` is the volume as given, for messages. A host side that is a volume
    /// name is a named volume; anything else must be an absolute path.
    fn checked(host: &str, container: &str, read_only: bool, s: &str) -> Result<Volume> {
        let named = !host.starts_with('/') && is_volume_name(host);
        if !named && !host.starts_with('/') && !host.contains('/') && !host.is_empty() {
            return Err(bad_volume_name(s, host));
        }
        let paths: &[&str] = match named {
            true => &[container],
            false => &[host, container],
        };
        for &path in paths {
            let bad = if !Path::new(path).is_absolute() {
                Some("is not absolute")
            } else if path.contains(',') {
                Some("holds `,`")
            } else if path.chars().any(char::is_control) {
                Some("holds a control character")
            } else {
                None
            };
            if let Some(why) = bad {
                return Err(Error::invalid(
                    Invalid::Volume,
                    format!(
                        "invalid volume {}: path {} {why}; both paths must be absolute and hold no `:`, `,` or control characters",
                        quoted(s),
                        quoted(path)
                    ),
                ));
            }
        }
        // The engine cleans the path lexically (`//`, `.` and `..` go, as Go's `path.Clean`
        // does), so `/x/..` is `/`: a mount there hides the bundle's whole filesystem under the
        // host directory (native podman does mount it). Any `.` or `..` is refused, not only one
        // that reaches `/`: what bottle checks must be the path the engine uses.
        let clean = clean_path(container);
        if clean == "/" {
            return Err(Error::invalid(
                Invalid::Volume,
                format!(
                    "invalid volume {}: it would be mounted over the bundle's root `/`; mount it at a directory such as `/data`",
                    quoted(s)
                ),
            ));
        }
        if container.split('/').any(|c| c == "." || c == "..") {
            return Err(Error::invalid(
                Invalid::Volume,
                format!(
                    "invalid volume {}: container path {} holds `.` or `..`; write it as {}",
                    quoted(s),
                    quoted(container),
                    quoted(&clean)
                ),
            ));
        }
        Ok(Volume {
            host: host.to_string(),
            container: container.to_string(),
            read_only,
        })
    }

    /// The `-v` argument: `HOST:CTR:ro` or `HOST:CTR:rw`.
    pub fn to_arg(&self) -> String {
        let mode = if self.read_only { "ro" } else { "rw" };
        format!("{}:{}:{mode}", self.host, self.container)
    }
}

/// A named volume's name as docker and podman take it: `[A-Za-z0-9][A-Za-z0-9_.-]+`, at most 255.
fn is_volume_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() >= 2
        && name.len() <= 255
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn bad_volume_name(shown: &str, name: &str) -> Error {
    Error::invalid(
        Invalid::Volume,
        format!(
            "invalid volume {}: {} is neither an absolute host path nor a volume name (`[A-Za-z0-9][A-Za-z0-9_.-]+`)",
            quoted(shown),
            quoted(name)
        ),
    )
}

/// An absolute path cleaned lexically, as the engines' Go `path.Clean` does: empty and `.`
/// components go, `..` drops the component before it (never past `/`).
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A container port number, 1–65535.
pub fn parse_port(s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p != 0 && !s.starts_with('+') => Ok(p),
        _ => Err(Error::invalid(
            Invalid::Port,
            format!(
                "invalid port {}: use a port number from 1 to 65535",
                quoted(s)
            ),
        )),
    }
}

/// A published port as text: `PORT`, `PORT/tcp` or `PORT/udp` (the protocol in any case).
pub fn parse_publish(s: &str) -> Result<crate::endpoints::PortKey> {
    use crate::model::Protocol;
    let (port, proto) = match s.split_once('/') {
        None => (s, Some(Protocol::Tcp)),
        Some((port, proto)) => (port, Protocol::parse(proto)),
    };
    match proto {
        Some(proto) => Ok((parse_port(port)?, proto)),
        None => Err(Error::invalid(
            Invalid::Port,
            format!(
                "invalid port {}: use a port number from 1 to 65535, with `/tcp` (the default) or `/udp`",
                quoted(s)
            ),
        )),
    }
}

/// A publish IP as text: an IPv4 or IPv6 address.
pub fn parse_ip(s: &str) -> Result<IpAddr> {
    s.parse().map_err(|_| {
        Error::invalid(
            Invalid::PublishIp,
            format!(
                "invalid publish IP {}: use an IP address such as 127.0.0.1",
                quoted(s)
            ),
        )
    })
}

/// `ip` as the publish IP: loopback, unless `allow_nonloopback`.
pub fn check_publish_ip(ip: IpAddr, allow_nonloopback: bool) -> Result<IpAddr> {
    if !ip.is_loopback() && !allow_nonloopback {
        return Err(Error::invalid(
            Invalid::PublishIp,
            format!(
                "publish IP `{ip}` is not a loopback address: use 127.0.0.1 (or another 127.x.y.z or ::1), or allow a non-loopback address to expose the bundle beyond this host"
            ),
        ));
    }
    Ok(ip)
}

/// A daemon name for `BOT_BOTTLE_SIDECAR_DAEMONS`: `[a-z0-9_-]+`, so the CSV stays unambiguous.
pub fn parse_daemon(s: &str) -> Result<String> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(Error::invalid(
            Invalid::Daemons,
            format!(
                "invalid daemon name {}: use [a-z0-9_-]+, e.g. `egress`",
                quoted(s)
            ),
        ));
    }
    Ok(s.to_string())
}

/// Quote user input for an error message: backticks, with control characters escaped so a hostile
/// value cannot break the one-line rule or the terminal.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::from("`");
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

/// What kind of file this is, for a message ("a FIFO", "a directory", …).
pub(crate) fn file_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_file() {
        "a file"
    } else {
        "something else"
    }
}

/// Parse a `--timeout` / `BOTTLE_TIMEOUT` value: a positive whole number with an optional unit,
/// `ms`, `s`, `m` or `h` (`90s`, `10m`, `1h`, `500ms`; a plain number is seconds).
///
/// Public because it is the library's one duration grammar: [`crate::SpecText`]'s `wait`,
/// `wait_timeout` and `ttl` are read by it, so a launcher that takes a timeout (for
/// [`crate::Bottles::timeout`]) in the same config file or flags accepts the same words.
pub fn parse_timeout(text: &str) -> Result<Duration> {
    let refuse = || {
        Error::invalid(
            Invalid::Timeout,
            format!(
                "invalid timeout `{text}`: expected a positive duration such as 90s, 10m, 1h, 500ms or plain seconds"
            ),
        )
    };
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let n: u64 = number.parse().map_err(|_| refuse())?;
    let ms_per = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(refuse()),
    };
    match n.checked_mul(ms_per) {
        Some(ms) if ms > 0 && ms <= 366 * 24 * 3_600_000 => Ok(Duration::from_millis(ms)),
        _ => Err(refuse()),
    }
}

/// A duration as [`parse_timeout`] reads it back: `500ms`, `90s`, `10m`, `1h`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        // Not "0h": a zero or sub-millisecond duration says what it is.
        0 if d.is_zero() => "0s".to_string(),
        0 => format!("{d:?}"),
        ms if ms % 1000 != 0 => format!("{ms}ms"),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms => format!("{}s", ms / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A publish IP as the spec reads it: parsed, then checked.
    fn parse_publish_ip(s: &str, allow_nonloopback: bool) -> Result<IpAddr> {
        check_publish_ip(parse_ip(s)?, allow_nonloopback)
    }
    use crate::error::ErrorKind;

    #[track_caller]
    fn check_invalid<T: fmt::Debug>(res: Result<T>, kind: Invalid) {
        match res {
            Ok(v) => panic!("expected {kind:?}, got Ok({v:?})"),
            Err(e) => {
                assert_eq!(e.kind(), &ErrorKind::Invalid(kind), "{e}");
                assert!(!e.message().contains('\n'), "one line: {e}");
            }
        }
    }

    #[test]
    fn slugs() {
        for ok in ["a", "0", "agent-1", "a-b-c", &"x".repeat(40)] {
            Slug::parse(ok).unwrap();
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a b",
            "a.b",
            "é",
            &"x".repeat(41),
            "a\n",
            "--help",
        ] {
            check_invalid(Slug::parse(bad), Invalid::Slug);
        }
    }

    #[test]
    fn prefixes_and_names() {
        check_invalid(Prefix::parse(""), Invalid::Prefix);
        check_invalid(Prefix::parse("-x"), Invalid::Prefix);
        check_invalid(Prefix::parse(&"p".repeat(21)), Invalid::Prefix);
        // two_prefix_and_slug_pairs_named_the_same_network (attack15): `a-bundle` + `x` and
        // `a` + `bundle-x` named one network.
        check_invalid(Prefix::parse("a-bundle"), Invalid::Prefix);
        check_invalid(Prefix::parse("sidecars"), Invalid::Prefix);
        check_invalid(Prefix::parse("a-sidecars-b"), Invalid::Prefix);
        assert!(Prefix::parse("abundle").is_ok());
        assert!(Prefix::parse("bundles-x").is_ok());
        let names = Names::new(&Prefix::default(), &Slug::parse("demo").unwrap()).unwrap();
        assert_eq!(names.network, "bot-bottle-bundle-demo");
        assert_eq!(names.bundle, "bot-bottle-sidecars-demo");
        // 20 + "-sidecars-" (10) + 34 = 64 > 63.
        let long = Prefix::parse(&"p".repeat(20)).unwrap();
        Names::new(&long, &Slug::parse(&"s".repeat(33)).unwrap()).unwrap();
        check_invalid(
            Names::new(&long, &Slug::parse(&"s".repeat(34)).unwrap()),
            Invalid::NameTooLong,
        );
    }

    #[test]
    fn images() {
        let hex = "a".repeat(64);
        for good in [
            "img".to_string(),
            "bot-bottle-sidecars:latest".into(),
            format!("registry.example:5000/a/b:tag@sha256:{hex}"),
            format!("x@sha256:{hex}"),
            "localhost/x".into(),
            "localhost:5000/x:1.0".into(),
            "Registry.Example/x".into(),
            "[::1]:5000/x".into(),
            "x/a.b_c__d---e/f:_T-1.x".into(),
            "docker.io/library/alpine:3.19".into(),
            "x:".to_string() + &"t".repeat(128),
        ] {
            ImageRef::parse(&good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "-x",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{7}",
            // malformed_image_references_are_refused_up_front (issue 14): each of these cost 4
            // engine commands and exit 1 before.
            "BARS-BB",
            "x@sha256:zzz",
            "x:",
            ":latest",
            "/x",
            "x/",
            "x//y",
            "x@",
            "x@sha256:abc",
            "x:-t",
            "x:.t",
            "a..b",
            "-a/b",
            "a-/b",
            "reg:port/x",
            "[::1/x",
            "x:t@",
            "@sha256:abc",
        ] {
            check_invalid(ImageRef::parse(bad), Invalid::Image);
        }
        check_invalid(
            ImageRef::parse(&format!("x:{}", "t".repeat(129))),
            Invalid::Image,
        );
        let e = ImageRef::parse("BARS-BB").unwrap_err();
        assert!(e.message().contains("lower-case"), "{e}");
    }

    #[test]
    fn env_entries() {
        let e = EnvEntry::parse("TOKEN=a=b c").unwrap();
        assert_eq!(e.key.as_str(), "TOKEN");
        assert_eq!(e.value, EnvValue::Literal(Secret("a=b c".into())));
        assert_eq!(EnvEntry::parse("_X1").unwrap().value, EnvValue::Inherit);
        assert_eq!(
            EnvEntry::parse("E=").unwrap().value,
            EnvValue::Literal(Secret(String::new()))
        );
        for bad in ["", "1A=x", "A-B=x", "=x", "A B", "-e"] {
            check_invalid(EnvEntry::parse(bad), Invalid::EnvKey);
        }
        for bad in ["A=x\ny", "A=x\r", "A=\0"] {
            check_invalid(EnvEntry::parse(bad), Invalid::EnvValue);
        }
        // The longest line an env-file carries, and one byte more.
        let fits = format!("AB={}", "x".repeat(MAX_ENV_FILE_LINE - 3));
        EnvEntry::parse(&fits).unwrap();
        let long = format!("AB={}", "x".repeat(MAX_ENV_FILE_LINE - 2));
        check_invalid(EnvEntry::parse(&long), Invalid::EnvValue);
        let e = EnvEntry::parse(&format!("AB=hunter2{}", "x".repeat(70 * 1024))).unwrap_err();
        assert!(e.message().contains("env `AB`"), "{e}");
        // env_value_refusal_gave_cli_advice (attack15): no flag of the CLI.
        assert!(!e.message().contains("-e "), "{e}");
        assert!(!e.message().contains("hunter2"), "{e}");
        assert!(!format!("{:?}", EnvEntry::parse("A=hunter2").unwrap()).contains("hunter2"));
    }

    /// Issue 16: `-v NAME:/path` is a named volume, besides bind mounts.
    #[test]
    fn named_volumes() {
        let v = Volume::parse("agent-data:/work").unwrap();
        assert!(v.is_named());
        assert_eq!(v.to_arg(), "agent-data:/work:rw");
        assert!(Volume::parse("my.vol_1:/x:ro").unwrap().is_named());
        assert!(!Volume::parse("/srv:/x").unwrap().is_named());
        for bad in [
            "a:/b",
            "_x:/y",
            "-x:/y",
            "x$y:/z",
            "vol:/",
            "vol:relative",
            "vol:/x/..",
        ] {
            check_invalid(Volume::parse(bad), Invalid::Volume);
        }
        let named = Volume::named("cache", Path::new("/cache"), true).unwrap();
        assert_eq!(named.to_arg(), "cache:/cache:ro");
        check_invalid(
            Volume::named("/abs", Path::new("/x"), false),
            Invalid::Volume,
        );
        check_invalid(Volume::named("ok", Path::new("x"), false), Invalid::Volume);
    }

    #[test]
    fn volumes() {
        assert_eq!(Volume::parse("/a:/b:ro").unwrap().to_arg(), "/a:/b:ro");
        assert_eq!(
            Volume::parse("/a b/$x:/b").unwrap().to_arg(),
            "/a b/$x:/b:rw"
        );
        for bad in [
            "a:/b",
            "/a:b",
            "/a",
            "/a:/b:ro:x",
            "/a,b:/c",
            "/a\n:/b",
            ":/b",
            "/a:/b:",
            // a_volume_over_the_containers_root_is_refused (issue 14).
            "/:/",
            "/a:/",
            "/a://",
            "/a:/.",
            "/a:/../",
            "/a:/:ro",
            // a_volume_whose_container_path_cleans_to_root_is_refused (attack round 4).
            "/a:/x/..",
            "/a:/x/../",
            "/a:/a/b/../..",
            "/a:/./x/..",
            "/a:/x/../.",
            "/:/x/..",
            // Any `.` or `..` in the container path: what is checked is what the engine uses.
            "/a:/x/./y",
            "/a:/x/../y",
            "/a:/x/.",
        ] {
            let e = Volume::parse(bad).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Invalid(Invalid::Volume | Invalid::VolumeMode)
                ),
                "{bad}: {e}"
            );
        }
        check_invalid(Volume::parse("/a:/b:rx"), Invalid::VolumeMode);
        let e = Volume::parse("/a:/x/../y").unwrap_err();
        assert!(e.message().contains("write it as `/y`"), "{e}");
        let e = Volume::parse("/a:/x/..").unwrap_err();
        assert!(e.message().contains("root `/`"), "{e}");
        // `..` in the host path is the user's own business: the engine resolves it on the host.
        assert_eq!(
            Volume::parse("/a/../b:/c").unwrap().to_arg(),
            "/a/../b:/c:rw"
        );
    }

    #[test]
    fn clean_path_is_lexical() {
        #[track_caller]
        fn check(path: &str, want: &str) {
            assert_eq!(clean_path(path), want, "{path}");
        }
        check("/", "/");
        check("//", "/");
        check("/.", "/");
        check("/..", "/");
        check("/x/..", "/");
        check("/x/../", "/");
        check("/a/b/../..", "/");
        check("/./x/..", "/");
        check("/x/../.", "/");
        check("/../x", "/x");
        check("/a//b/", "/a/b");
        check("/a/./b/../c", "/a/c");
        check("/data", "/data");
    }

    #[test]
    fn ports_and_ips() {
        assert_eq!(parse_port("8080").unwrap(), 8080);
        use crate::model::Protocol::{Tcp, Udp};
        assert_eq!(parse_publish("8080").unwrap(), (8080, Tcp));
        assert_eq!(parse_publish("8080/tcp").unwrap(), (8080, Tcp));
        assert_eq!(parse_publish("53/UDP").unwrap(), (53, Udp));
        for bad in ["53/sctp", "53/", "/udp", "0/udp", "x/udp", "53/udp/udp"] {
            check_invalid(parse_publish(bad).map(|_| ()), Invalid::Port);
        }
        for bad in ["0", "65536", "-1", "+80", "80/tcp", "", "x"] {
            check_invalid(parse_port(bad), Invalid::Port);
        }
        parse_publish_ip("127.0.0.2", false).unwrap();
        parse_publish_ip("::1", false).unwrap();
        check_invalid(parse_publish_ip("0.0.0.0", false), Invalid::PublishIp);
        check_invalid(parse_publish_ip("localhost", false), Invalid::PublishIp);
        parse_publish_ip("0.0.0.0", true).unwrap();
    }
}
