//! One pure classifier for engine failures: `(verb, exit code, stderr) → Class`.
//!
//! Engine wording differs between docker CLI 20.10, 23+, 28.0.1+, 29 and podman (see
//! `fixtures/engine-stderr/`, whose README says where each wording comes from), so the text is
//! normalised first and each pattern is scoped to the verb that can produce it. The class is a
//! hint: where a wrong answer would lose data or leak a resource, the lifecycle confirms it with an
//! exact-name query before acting on it.

/// The engine verbs bottle runs, as far as classification cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    NetworkCreate,
    NetworkRm,
    NetworkLs,
    NetworkInspect,
    Run,
    Rm,
    Inspect,
    ContainerInspect,
    Ps,
    Build,
    Logs,
    Version,
    Info,
    Start,
    Unpause,
    Stop,
    Restart,
    Pause,
    ImageInspect,
    Pull,
    VolumeCreate,
    VolumeLs,
    VolumeInspect,
    VolumeRm,
    Events,
}

impl Verb {
    /// The verb's words on the engine's command line, as errors name the step (`network create`).
    pub fn words(self) -> &'static str {
        match self {
            Verb::NetworkCreate => "network create",
            Verb::NetworkRm => "network rm",
            Verb::NetworkLs => "network ls",
            Verb::NetworkInspect => "network inspect",
            Verb::Run => "run",
            Verb::Rm => "rm",
            Verb::Inspect => "inspect",
            Verb::ContainerInspect => "container inspect",
            Verb::Ps => "ps",
            Verb::Build => "build",
            Verb::Logs => "logs",
            Verb::Version => "version",
            Verb::Info => "info",
            Verb::Start => "start",
            Verb::Unpause => "unpause",
            Verb::ImageInspect => "image inspect",
            Verb::Pull => "pull",
            Verb::VolumeCreate => "volume create",
            Verb::VolumeLs => "volume ls",
            Verb::VolumeInspect => "volume inspect",
            Verb::VolumeRm => "volume rm",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::Pause => "pause",
            Verb::Events => "events",
        }
    }
}

// The fixture tests (`fixture_tests.rs`) name verbs as the fixtures do.
#[cfg(test)]
impl Verb {
    /// The verb a fixture's `verb:` line names (`fixtures/engine-stderr/*/*.txt`): its
    /// [`Verb::words`] with a `-` for each space (`network-create`). Derived, not a second table
    /// to keep in step with the first.
    pub fn from_name(name: &str) -> Option<Verb> {
        ALL_VERBS
            .iter()
            .copied()
            .find(|v| v.words().replace(' ', "-") == name)
    }
}

#[cfg(test)]
const ALL_VERBS: &[Verb] = &[
    Verb::NetworkCreate,
    Verb::NetworkRm,
    Verb::NetworkLs,
    Verb::NetworkInspect,
    Verb::Run,
    Verb::Rm,
    Verb::Inspect,
    Verb::ContainerInspect,
    Verb::Ps,
    Verb::Build,
    Verb::Logs,
    Verb::Version,
    Verb::Info,
    Verb::Start,
    Verb::Unpause,
    Verb::Stop,
    Verb::Restart,
    Verb::Pause,
    Verb::ImageInspect,
    Verb::Pull,
    Verb::VolumeCreate,
    Verb::VolumeLs,
    Verb::VolumeInspect,
    Verb::VolumeRm,
    Verb::Events,
];

/// What an engine's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Exit 0.
    Ok,
    /// `network create`: the name is taken.
    Exists,
    /// The named object does not exist.
    NotFound,
    /// `run`: the container name is taken.
    NameConflict,
    /// `network rm`: containers are still attached.
    InUse,
    /// `rm`: another process is removing the container (docker's daemon refuses a second removal
    /// while the first runs). A hint only: the container is looked at before anything is decided.
    RemovalInProgress,
    /// `network create`: the subnet overlaps another network (a pool overlap).
    SubnetOverlap,
    /// `network create` (podman): a host interface vanished while podman listed the host's
    /// addresses to check the subnet against them, a race with another container's teardown.
    /// Nothing was created; the same create may be tried again.
    InterfaceVanished,
    /// `run`: the pinned `--ip` is taken.
    AddressInUse,
    /// `run --pull never`: the image is not present.
    ImageNotFound,
    /// Several networks share the name (engines before 25 allow it).
    Ambiguous,
    /// The daemon cannot be reached.
    DaemonUnreachable,
    /// The socket refused us.
    PermissionDenied,
    /// Anything else: a real failure, reported with the engine's own words.
    Other,
}

#[cfg(test)]
impl Class {
    /// The fixture name of the class (`class:` line).
    pub fn name(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Exists => "exists",
            Class::NotFound => "not-found",
            Class::NameConflict => "name-conflict",
            Class::InUse => "in-use",
            Class::RemovalInProgress => "removal-in-progress",
            Class::SubnetOverlap => "subnet-overlap",
            Class::InterfaceVanished => "interface-vanished",
            Class::AddressInUse => "address-in-use",
            Class::ImageNotFound => "image-not-found",
            Class::Ambiguous => "ambiguous",
            Class::DaemonUnreachable => "daemon-unreachable",
            Class::PermissionDenied => "permission-denied",
            Class::Other => "other",
        }
    }

    pub const ALL: &[Class] = &[
        Class::Ok,
        Class::Exists,
        Class::NotFound,
        Class::NameConflict,
        Class::InUse,
        Class::RemovalInProgress,
        Class::SubnetOverlap,
        Class::InterfaceVanished,
        Class::AddressInUse,
        Class::ImageNotFound,
        Class::Ambiguous,
        Class::DaemonUnreachable,
        Class::PermissionDenied,
        Class::Other,
    ];

    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// Lowercase, drop the podman-docker shim banner and the CLI's trailers (`exit status N`, the
/// `--help` hints), strip the `docker: `, `error response from daemon: ` and `error: ` prefixes from
/// each line, and drop trailing periods. Lines are kept, so multi-line errors stay readable.
pub fn normalize(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with("emulate docker cli using podman")
                || l.starts_with("exit status ")
                || (l.starts_with("see '") && l.ends_with("--help'."))
                || (l.starts_with("run '") && l.ends_with("for more information")))
        })
        .map(|l| {
            let mut l = l.as_str();
            for prefix in ["docker: ", "error response from daemon: ", "error: "] {
                l = l.strip_prefix(prefix).unwrap_or(l);
            }
            l.trim_end_matches('.').to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Classify one engine answer.
pub fn classify(verb: Verb, code: i32, stderr: &str) -> Class {
    if code == 0 {
        return Class::Ok;
    }
    let t = normalize(stderr);
    let has = |p: &str| t.contains(p);
    let line_has = |a: &str, b: &str| t.lines().any(|l| l.contains(a) && l.contains(b));

    // Any verb can meet an unreachable daemon or a socket it may not open.
    if has("permission denied while trying to connect to the docker") {
        return Class::PermissionDenied;
    }
    if has("cannot connect to the docker daemon")
        || has("failed to connect to the docker api")
        || has("error during connect")
        || has("cannot connect to podman")
        || has("unable to connect to podman socket")
        || has("is the docker daemon running")
        // `--context` / `DOCKER_CONTEXT` naming a context that does not exist: as unreachable as
        // a daemon that is not running (exit 69).
        || has("unable to resolve docker endpoint")
        // podman 4.3's `--connection` naming a connection it does not know (a fleet member).
        || has("service destination not found")
    {
        return Class::DaemonUnreachable;
    }
    // Before 25, two networks could share a name; any lookup by that name is then ambiguous.
    if line_has("network ", "is ambiguous") {
        return Class::Ambiguous;
    }
    // The same, seen by `run`: `--network NAME` resolved to a racer's network of that name, on
    // another subnet than the `--ip` bottle pinned in its own (Engine 20.10, racers without
    // locks). Whatever the cause, `up` looks again, and the look decides.
    if verb == Verb::Run && has("does not belong to any of this network's subnets") {
        return Class::Ambiguous;
    }
    let network_not_found = has("no such network")
        || line_has("network ", " not found")
        || has("unable to find network with name or id")
        || has("no network found matching")
        || t.lines().any(|l| l == "network not found")
        // libnetwork, when a racing `network rm` deleted the network after the daemon looked it
        // up (`unknown network NAME id ID`, moby libnetwork/network.go `delete`).
        || line_has("unknown network ", " id ");
    let container_not_found = has("no such container")
        || (has("no container with name or id") && has("found"))
        || has("no such object");

    match verb {
        Verb::NetworkCreate => {
            if line_has("network with name", "already exists")
                || line_has("network name", "already used")
                || has("network already exists")
            {
                Class::Exists
            } else if has("pool overlaps with other one on this address space")
                || has("is already used on the host or by another config")
                // Engine 20.10 with `--ip-range` skips the pool check; the bridge driver or the
                // gateway allocation then catches the overlap, in other words.
                || has("networks have overlapping ipv4")
                || line_has("failed to allocate gateway", "address already in use")
            {
                Class::SubnetOverlap
            } else if has("route ip+net: no such network interface") {
                Class::InterfaceVanished
            } else {
                Class::Other
            }
        }
        Verb::NetworkRm => {
            if has("has active endpoints")
                || has("has associated containers with it")
                || has("network is being used")
                || has("is in use by container")
            {
                Class::InUse
            } else if network_not_found {
                Class::NotFound
            } else {
                Class::Other
            }
        }
        Verb::Run => {
            if has("is already in use by container")
                || line_has("the container name", "is already in use by")
                || has("that name is already in use")
                || line_has("name ", "is already used by id")
            {
                Class::NameConflict
            } else if has("address already in use") || has("is already allocated to container id") {
                Class::AddressInUse
            } else if has("no such image")
                || line_has("unable to find image", "locally")
                // podman 4.3+ under `--pull never`: `Error: NAME:TAG: image not known`.
                || has("image not known")
            {
                Class::ImageNotFound
            } else if network_not_found {
                Class::NotFound
            } else {
                Class::Other
            }
        }
        Verb::Rm if line_has("removal of container", "already in progress") => {
            Class::RemovalInProgress
        }
        Verb::Rm
        | Verb::Inspect
        | Verb::ContainerInspect
        | Verb::NetworkInspect
        | Verb::Start
        | Verb::Unpause
        | Verb::Stop
        | Verb::Restart
        | Verb::Pause => {
            if network_not_found || container_not_found {
                Class::NotFound
            } else {
                Class::Other
            }
        }
        Verb::ImageInspect => {
            if has("no such image") || has("image not known") || has("failed to find image") {
                Class::ImageNotFound
            } else {
                Class::Other
            }
        }
        // What a refused volume command means is decided by a look (`volume inspect`), never by
        // its words: "already exists" and "in use" differ across engines.
        Verb::NetworkLs
        | Verb::Ps
        | Verb::Build
        | Verb::Logs
        | Verb::Version
        | Verb::Info
        | Verb::Pull
        | Verb::VolumeCreate
        | Verb::VolumeLs
        | Verb::VolumeRm
        | Verb::Events => Class::Other,
        // Docker 20.10 `get NAME: no such volume`, podman 4.3 `no such volume NAME`, podman's
        // socket `volume with name NAME not found: no such volume`.
        Verb::VolumeInspect if has("no such volume") => Class::NotFound,
        Verb::VolumeInspect => Class::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixtures' verb names, now derived from [`Verb::words`] (they were a second table that
    /// `duplicates` flagged): each the fixtures use resolves, and every verb round-trips.
    #[test]
    fn fixture_verb_names_are_the_words_hyphenated() {
        for (name, verb) in [
            ("network-create", Verb::NetworkCreate),
            ("container-inspect", Verb::ContainerInspect),
            ("image-inspect", Verb::ImageInspect),
            ("volume-rm", Verb::VolumeRm),
            ("run", Verb::Run),
        ] {
            assert_eq!(Verb::from_name(name), Some(verb), "{name}");
        }
        for &verb in ALL_VERBS {
            assert_eq!(Verb::from_name(&verb.words().replace(' ', "-")), Some(verb));
        }
        assert_eq!(Verb::from_name("network create"), None);
    }

    #[track_caller]
    fn check(verb: Verb, code: i32, stderr: &str, want: Class) {
        assert_eq!(classify(verb, code, stderr), want, "{stderr:?}");
    }

    #[test]
    fn normalize_strips_wrappers() {
        assert_eq!(
            normalize(
                "docker: Error response from daemon: Address already in use.\nSee 'docker run --help'.\n"
            ),
            "address already in use"
        );
        assert_eq!(
            normalize("Error response from daemon: network x not found\nexit status 1\n"),
            "network x not found"
        );
        assert_eq!(
            normalize(
                "Emulate Docker CLI using podman. Create /etc/containers/nodocker to quiet msg.\nError: no such object: x\n"
            ),
            "no such object: x"
        );
    }

    #[test]
    fn the_seed_tools_bug() {
        // Docker CLI 23+ no longer says "No such network"; this is what broke the seed tool.
        check(
            Verb::NetworkRm,
            1,
            "Error response from daemon: network bot-bottle-bundle-x not found\nexit status 1\n",
            Class::NotFound,
        );
        check(
            Verb::NetworkRm,
            1,
            "Error: No such network: bot-bottle-bundle-x\n",
            Class::NotFound,
        );
    }

    /// Concurrent `down`s: the daemon found the network, then a racing `network rm` deleted it
    /// before this one did. A hint only: `down` confirms by ID that it is gone.
    #[test]
    fn a_network_removed_by_a_racer_is_not_found() {
        check(
            Verb::NetworkRm,
            1,
            "Error response from daemon: error while removing network: unknown network bot-bottle-bundle-demo id 3f0c9d6a1b2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90\n",
            Class::NotFound,
        );
        // An endpoint's own words are not about the network being gone.
        check(
            Verb::NetworkRm,
            1,
            "Error response from daemon: unknown endpoint e1 id 42\n",
            Class::Other,
        );
    }

    #[test]
    fn scoped_to_the_verb() {
        // `network connect` says "already exists" about endpoints; only `network create` means the name.
        check(
            Verb::NetworkRm,
            1,
            "endpoint with name c already exists in network n",
            Class::Other,
        );
        check(
            Verb::NetworkCreate,
            1,
            "Error response from daemon: network with name n already exists",
            Class::Exists,
        );
        check(Verb::NetworkCreate, 0, "anything", Class::Ok);
        // A missing named volume, as each engine path words it (captured, issue 16).
        for stderr in [
            "Error response from daemon: get v1: no such volume",
            "Error: inspecting object: no such volume v1",
            "Error response from daemon: volume with name v1 not found: no such volume",
        ] {
            check(Verb::VolumeInspect, 1, stderr, Class::NotFound);
        }
        check(
            Verb::Version,
            1,
            "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
            Class::DaemonUnreachable,
        );
    }

    /// podman 4.3, `podman --connection nosuch ps` (exit 125): a fleet's podman connection that
    /// does not exist is as dead as an engine that does not answer.
    #[test]
    fn an_unknown_podman_connection_is_unreachable() {
        check(
            Verb::Ps,
            125,
            "Error: failed to resolve active destination: \"nosuch\" service destination not found",
            Class::DaemonUnreachable,
        );
    }
}
