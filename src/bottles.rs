//! The embeddable library: [`Bottles`], the one handle a launcher needs.
//!
//! A [`Bottles`] is an engine plus the options every command shares (prefix, subnet pool, timeout,
//! an optional events callback and a cancel token). Its methods are the CLI's commands. Inputs are
//! validated when they are built ([`Spec::builder`], `"demo".parse::<Slug>()`), with the same
//! errors as the CLI, so a method never sees an invalid value.
//!
//! The library writes nothing to stdout or stderr, installs no signal handler and keeps no
//! process-wide state: what a caller wants to show arrives through [`Bottles::on_event`], and a
//! [`CancelToken`] stops the calls that use it. A `Bottles` is `Send + Sync` and cheap to clone,
//! so several threads can bring up different bottles at once.
//!
//! ```no_run
//! use bottle::{Bottles, Engine, Slug, Spec};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let token = "t";
//! let bottles = Bottles::new(Engine::detect()?).prefix("bot-bottle")?;
//! let spec = Spec::builder("bot-bottle-sidecars:latest").publish(8080).secret_env("API_TOKEN", token).build()?;
//! let slug: Slug = "demo".parse()?;
//! let up = bottles.up(&slug, &spec)?;
//! let addr: std::net::SocketAddr = up.bottle.port(8080).expect("published");
//! bottles.down(&slug)?;
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::display::Masker;
use crate::error::{Error, Result};
use crate::exec::{self, Engine, Event};
use crate::input::{Names, Prefix, Slug};
use crate::lifecycle::{self, Ctx, Removed, UpOutcome};
use crate::model::Bottle;
use crate::spec::{Build, Pull, RawSpec, Spec};
use crate::subnet::{DEFAULT_BLOCK, DEFAULT_POOL, Pool};

/// Bottles on one engine, under one name prefix and one subnet pool.
///
/// Made with [`Bottles::new`] and configured by its builder methods; each command method
/// (`up`, `down`, `status`, `ls`, `gc`, `plan`) runs the engine commands the CLI would, and
/// returns what the CLI prints as data. Clones share the cancel token and the events callback;
/// give a clone its own token with [`Bottles::with_cancel_token`] to cancel it alone.
#[derive(Debug, Clone)]
pub struct Bottles {
    ctx: Ctx,
}

/// Checked at compile time: a `Bottles` can be shared between threads.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Bottles>();
    shared::<Spec>();
    shared::<Error>();
};

impl Bottles {
    /// Bottles on `engine`, with the CLI's defaults: prefix `bot-bottle`, pool `10.213.0.0/16`
    /// in `/24` blocks, a 10-minute timeout per engine command, no events, and a fresh cancel
    /// token. Whether the engine is local (which decides locking and the host-route check) is
    /// worked out here; nothing is run.
    pub fn new(engine: Engine) -> Bottles {
        let local = engine.is_local();
        let engine = engine.with_cancel(CancelToken::new());
        Bottles {
            ctx: Ctx {
                engine,
                prefix: Prefix::default(),
                pool: Pool::parse(DEFAULT_POOL, DEFAULT_BLOCK).expect("the default pool is valid"),
                local,
            },
        }
    }

    /// Name resources `<prefix>-bundle-<slug>` and `<prefix>-sidecars-<slug>`: 1-20 of
    /// `[a-z0-9-]`. Fails as `--prefix` does.
    pub fn prefix(mut self, prefix: &str) -> Result<Bottles> {
        self.ctx.prefix = Prefix::parse(prefix)?;
        Ok(self)
    }

    /// Carve each bottle's subnet, a `/block`, from the IPv4 pool `cidr` (e.g. `10.213.0.0/16`,
    /// 24). Fails as `--pool` and `--block` do.
    pub fn pool(mut self, cidr: &str, block: u8) -> Result<Bottles> {
        self.ctx.pool = Pool::parse(cidr, block)?;
        Ok(self)
    }

    /// Kill any engine command that runs longer than `timeout` (default 10 minutes); the call then
    /// fails with [`crate::ErrorKind::Timeout`], and `up` rolls back.
    pub fn timeout(mut self, timeout: Duration) -> Bottles {
        self.ctx.engine = self.ctx.engine.with_timeout(timeout);
        self
    }

    /// Send progress to `callback`: each engine command line before it runs, build and pull
    /// output, and waits for another process's lock. It may be called from several threads. This
    /// is the only way the library reports anything as it goes.
    pub fn on_event(mut self, callback: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Bottles {
        self.ctx.engine = self.ctx.engine.with_events(Arc::new(callback));
        self
    }

    /// The token this handle's calls watch. Cancelling it (from any thread) stops them: `up`
    /// stops its engine command (a creating one gets 2 s so its ID is learnt), rolls back what it
    /// had created and fails with [`crate::ErrorKind::Interrupted`]; `down` and `gc` finish the
    /// removal they began, and a second cancel stops them too. A token stays cancelled: give the
    /// handle a fresh one ([`Bottles::with_cancel_token`]) for later calls.
    pub fn cancel_token(&self) -> CancelToken {
        self.ctx.engine.cancel_token().clone()
    }

    /// The same handle, watching `token` instead (see [`Bottles::cancel_token`]). Clones made
    /// after this share it; the handle it was made from keeps its own.
    pub fn with_cancel_token(mut self, token: CancelToken) -> Bottles {
        self.ctx.engine = self.ctx.engine.with_cancel(token);
        self
    }

    /// The engine these bottles run on.
    pub fn engine(&self) -> &Engine {
        &self.ctx.engine
    }

    /// Bring the bottle `slug` up, or converge it to `spec`: create its network and run its
    /// bundle, keep it if it already runs as asked, start it if stopped, or replace a bundle of
    /// another spec. On failure or cancel, what this call created is removed again, and the
    /// error says what was rolled back ([`Error::rolled_back`]) and what was left
    /// ([`Error::left`]).
    pub fn up(&self, slug: &Slug, spec: &Spec) -> Result<UpOutcome> {
        let masker = Masker::new(spec.secret_values(|k| std::env::var(k).ok()));
        let ctx = Ctx {
            engine: self.ctx.engine.clone().with_secrets(masker),
            ..self.ctx.clone()
        };
        lifecycle::up(&ctx, slug, spec)
    }

    /// Take the bottle `slug` down: its bundle, then its network. A bottle that is already gone
    /// (or half-built) is success; [`Removed`] says what was there. A failure part-way says what
    /// was already removed ([`Error::removed`]).
    pub fn down(&self, slug: &Slug) -> Result<Removed> {
        lifecycle::down(&self.ctx, slug)
    }

    /// The bottle `slug` as the engine shows it now, or [`crate::ErrorKind::NotFound`].
    pub fn status(&self, slug: &Slug) -> Result<Bottle> {
        lifecycle::status(&self.ctx, slug)
    }

    /// The host address of the bundle's published `container_port`, with the CLI's errors when
    /// the bottle, its bundle or that port is missing ([`crate::ErrorKind::NotFound`]).
    pub fn port(&self, slug: &Slug, container_port: u16) -> Result<SocketAddr> {
        let bottle = self.status(slug)?;
        let found = lifecycle::published(&bottle, Some(container_port))?;
        bottle.port(container_port).ok_or_else(|| {
            Error::new(
                crate::ErrorKind::EngineFailed,
                format!(
                    "the engine published container port {container_port} of `{slug}` at `{}`, which is not an address",
                    found[0].host_ip
                ),
            )
        })
    }

    /// Every bottle of this prefix, by slug.
    pub fn ls(&self) -> Result<Vec<Bottle>> {
        lifecycle::ls(&self.ctx)
    }

    /// Remove the leftovers that carry bottle's labels: bundles that are not live, and networks
    /// with no live bundle. With `dry_run`, only say what would go.
    pub fn gc(&self, dry_run: bool) -> Result<Removed> {
        lifecycle::gc(&self.ctx, dry_run)
    }

    /// The engine commands `up` would run for `slug` on a clean engine with the image present,
    /// each a full argv (the engine program first). Runs nothing.
    pub fn plan(&self, slug: &Slug, spec: &Spec) -> Result<Vec<Vec<OsString>>> {
        let names = Names::new(&self.ctx.prefix, slug)?;
        let engine = &self.ctx.engine;
        Ok(lifecycle::plan(slug, &names, spec, &self.ctx.pool)
            .iter()
            .map(|argv| exec::full_argv(engine.shown(), engine.context(), argv))
            .collect())
    }
}

impl FromStr for Slug {
    type Err = Error;

    /// A slug: 1-40 of `[a-z0-9-]`, starting and ending with a letter or digit. Fails with
    /// [`crate::Invalid::Slug`], as the CLI does.
    fn from_str(s: &str) -> Result<Slug> {
        Slug::parse(s)
    }
}

impl Bottle {
    /// The host address the engine published `container_port` on, if it did (the first binding
    /// when there are several).
    pub fn port(&self, container_port: u16) -> Option<SocketAddr> {
        self.ports
            .iter()
            .filter(|p| p.container_port == container_port)
            .find_map(|p| {
                let ip: IpAddr = p.host_ip.trim_matches(['[', ']']).parse().ok()?;
                Some(SocketAddr::new(ip, p.host_port))
            })
    }
}

/// Builds a [`Spec`]: start with [`Spec::builder`], add what the bundle needs, and
/// [`SpecBuilder::build`] validates it all with the CLI's rules and errors.
#[derive(Debug, Clone)]
#[must_use = "a SpecBuilder does nothing until `build` is called"]
pub struct SpecBuilder {
    raw: RawSpec,
    allow_nonloopback: bool,
}

impl Spec {
    /// A spec that runs `image`, publishes nothing and starts the default daemons; add to it with
    /// the [`SpecBuilder`] methods.
    pub fn builder(image: impl Into<String>) -> SpecBuilder {
        SpecBuilder {
            raw: RawSpec {
                image: Some(image.into()),
                ..RawSpec::default()
            },
            allow_nonloopback: false,
        }
    }
}

impl SpecBuilder {
    /// Publish this container port on the publish IP (loopback by default), at a host port the
    /// engine picks ([`Bottle::port`] tells which).
    pub fn publish(mut self, container_port: u16) -> SpecBuilder {
        let ports = self.raw.publish.get_or_insert_with(Vec::new);
        ports.push(container_port.to_string());
        self
    }

    /// Pass the env variable `key` with the value it has in this process's environment when `up`
    /// runs (the engine reads it; the value never enters any argv).
    pub fn env(mut self, key: impl Into<String>) -> SpecBuilder {
        self.raw.env.get_or_insert_with(Vec::new).push(key.into());
        self
    }

    /// Pass the env variable `key` with `value`. The value travels through an in-memory env-file,
    /// never an argv, and is masked in every message and error.
    pub fn secret_env(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> SpecBuilder {
        let entry = format!("{}={}", key.as_ref(), value.as_ref());
        self.raw.env.get_or_insert_with(Vec::new).push(entry);
        self
    }

    /// Bind-mount the absolute host path `host` at the absolute container path `container`,
    /// read-only if `read_only`.
    pub fn volume(
        mut self,
        host: impl AsRef<Path>,
        container: impl AsRef<Path>,
        read_only: bool,
    ) -> SpecBuilder {
        let mode = if read_only { "ro" } else { "rw" };
        let entry = format!(
            "{}:{}:{mode}",
            host.as_ref().to_string_lossy(),
            container.as_ref().to_string_lossy()
        );
        self.raw.volumes.get_or_insert_with(Vec::new).push(entry);
        self
    }

    /// The daemons the bundle starts (`BOT_BOTTLE_SIDECAR_DAEMONS`), instead of the default
    /// `egress` and `pipelock`; none at all with an empty list.
    pub fn daemons<I, S>(mut self, daemons: I) -> SpecBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.raw.daemons = Some(daemons.into_iter().map(Into::into).collect());
        self
    }

    /// Publish on this host address instead of `127.0.0.1`. A non-loopback address is refused
    /// unless [`SpecBuilder::allow_nonloopback`] is set.
    pub fn publish_ip(mut self, ip: IpAddr) -> SpecBuilder {
        self.raw.publish_ip = Some(ip.to_string());
        self
    }

    /// Publish on a loopback address of the bottle's own, the lowest one of `pool` (a CIDR inside
    /// 127.0.0.0/8, e.g. `127.0.0.16/28`) that no other bottle publishes on; kept across `up`s. The
    /// CLI's `--publish-ip auto --loopback-pool POOL`. The address is in the result's
    /// [`Bottle::host_ip`](crate::Bottle::host_ip).
    pub fn publish_ip_auto(mut self, pool: &str) -> SpecBuilder {
        self.raw.publish_ip = Some("auto".to_string());
        self.raw.loopback_pool = Some(pool.to_string());
        self
    }

    /// `up` returns only once the bundle is ready (running, healthy if its image has a
    /// healthcheck, every published port answered by the service itself), or fails after `within`
    /// and rolls back what it created. The CLI's `--wait=DURATION`.
    pub fn wait(mut self, within: std::time::Duration) -> SpecBuilder {
        self.raw.wait = Some(crate::spec::RawWait::Within(format!(
            "{}ms",
            within.as_millis()
        )));
        self
    }

    /// Allow a non-loopback publish IP, which exposes the bundle beyond this host (the CLI's
    /// `--allow-nonloopback`).
    pub fn allow_nonloopback(mut self, allow: bool) -> SpecBuilder {
        self.allow_nonloopback = allow;
        self
    }

    /// The engine's pull policy for the image (default [`Pull::Missing`]).
    pub fn pull(mut self, pull: Pull) -> SpecBuilder {
        self.raw.pull = Some(pull);
        self
    }

    /// Build the image from this directory (its `Dockerfile`) when the engine does not have it,
    /// instead of pulling it.
    pub fn build_context(mut self, context: impl Into<PathBuf>) -> SpecBuilder {
        self.raw.build = Some(Build {
            context: context.into(),
            dockerfile: None,
        });
        self
    }

    /// Validate everything given, with the CLI's rules and error kinds ([`crate::Invalid`]).
    pub fn build(self) -> Result<Spec> {
        self.raw.validate(self.allow_nonloopback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, Invalid};

    #[track_caller]
    fn check(builder: SpecBuilder, want: std::result::Result<(), Invalid>) {
        match (builder.build(), want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(w)) => assert_eq!(e.kind(), &ErrorKind::Invalid(w), "{e}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn builder_validates_like_the_cli() {
        let b = || Spec::builder("bundle:1");
        check(b().publish(8080).env("HOME").secret_env("T", "v"), Ok(()));
        check(b().publish(0), Err(Invalid::Port));
        check(
            b().publish_ip_auto("127.0.0.16/28")
                .wait(std::time::Duration::from_secs(5)),
            Ok(()),
        );
        check(b().publish_ip_auto("10.0.0.0/28"), Err(Invalid::PublishIp));
        check(b().publish(80).publish(80), Err(Invalid::DuplicatePort));
        check(Spec::builder("a b"), Err(Invalid::Image));
        check(b().env("1X"), Err(Invalid::EnvKey));
        check(b().secret_env("K", "a\nb"), Err(Invalid::EnvValue));
        check(b().volume("rel", "/c", true), Err(Invalid::Volume));
        check(
            b().volume("/h", "/c", false).volume("/g", "/c", true),
            Err(Invalid::Volume),
        );
        check(b().daemons(["ok", "Bad"]), Err(Invalid::Daemons));
        check(
            b().publish_ip("10.0.0.1".parse().unwrap()),
            Err(Invalid::PublishIp),
        );
        check(
            b().publish_ip("10.0.0.1".parse().unwrap())
                .allow_nonloopback(true),
            Ok(()),
        );
    }

    #[test]
    fn built_spec_reads_back() {
        let spec = Spec::builder("bundle:1")
            .publish(9000)
            .publish(80)
            .env("HOME")
            .secret_env("TOKEN", "s3cret")
            .volume("/h", "/c", true)
            .daemons(Vec::<String>::new())
            .pull(Pull::Never)
            .build()
            .unwrap();
        assert_eq!(spec.image(), "bundle:1");
        assert_eq!(
            spec.publish().iter().copied().collect::<Vec<_>>(),
            [80, 9000]
        );
        assert_eq!(spec.env_keys().collect::<Vec<_>>(), ["HOME", "TOKEN"]);
        assert_eq!(spec.inherited_env().collect::<Vec<_>>(), ["HOME"]);
        assert!(spec.daemons().is_empty());
        assert_eq!(spec.pull(), Pull::Never);
        assert!(spec.volumes()[0].read_only);
        // The secret value is nowhere in the spec's Debug output.
        assert!(!format!("{spec:?}").contains("s3cret"));
    }

    #[test]
    fn slug_parses_with_the_cli_errors() {
        assert_eq!("agent-1".parse::<Slug>().unwrap().as_str(), "agent-1");
        let e = "-x".parse::<Slug>().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Invalid(Invalid::Slug));
    }

    #[test]
    fn port_is_a_socket_address() {
        use crate::model::{BundleView, NetworkView, PortView};
        let bottle = Bottle {
            slug: "s".into(),
            network: NetworkView {
                name: "n".into(),
                subnet: None,
                gateway: None,
            },
            bundle: BundleView {
                name: "b".into(),
                ip: None,
                image: None,
                state: "running".into(),
            },
            ports: vec![
                PortView {
                    container_port: 8080,
                    host_ip: "127.0.0.1".into(),
                    host_port: 49153,
                },
                PortView {
                    container_port: 9090,
                    host_ip: "::1".into(),
                    host_port: 49154,
                },
            ],
        };
        assert_eq!(bottle.port(8080), Some("127.0.0.1:49153".parse().unwrap()));
        assert_eq!(bottle.port(9090), Some("[::1]:49154".parse().unwrap()));
        assert_eq!(bottle.port(1), None);
    }
}
