//! The adversary's second round (the library facade, `--publish-ip auto`, `--wait`, `--parallel`,
//! the pull path): each test is one attack that broke bottle. A test that is `#[ignore]`d names a
//! problem that is not fixed yet.

use crate::fake::Fake;

const NET_ID: &str = "5c5d0b4a8f0e1c2d3b4a59687766554433221100ffeeddccbbaa998877665544\n";
const NO_SUCH_IMAGE: &str =
    "docker: Error response from daemon: No such image: img:latest.\nSee 'docker run --help'.\n";
const NO_REGISTRY: &str = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n";

/// A missing image and no registry, through the library with no event callback: the pull's
/// failure said only "its output is above" (there is nothing above: the library prints nothing),
/// and the error kept no command data, though the contract promises the engine command, its exit
/// code and stderr. The same message reached `up --json`'s error object, where nothing is above
/// either.
#[test]
fn a_failed_pull_keeps_its_command_and_stderr() {
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 125, "", NO_SUCH_IMAGE);
    fake.on("pull *", 1, "", NO_REGISTRY);
    let program = fake.state_dir().parent().unwrap().join("docker");
    let bottles = bottle::Bottles::new(bottle::Engine::new(program).unwrap())
        .prefix("a2pull")
        .unwrap();
    let spec = bottle::Spec::builder("img").build().unwrap();
    let err = bottles.up(&"demo".parse().unwrap(), &spec).unwrap_err();
    assert!(err.message().contains("no such host"), "{err}");
    assert!(!err.message().contains("above"), "{err}");
    let cmd = err.command().expect("the failed pull");
    assert!(cmd.line().ends_with("pull img"), "{}", cmd.line());
    assert_eq!(cmd.exit_code(), 1);
    assert!(cmd.stderr().contains("no such host"), "{}", cmd.stderr());
    assert_eq!(err.rolled_back(), ["network `a2pull-bundle-demo`"]);

    // The CLI's JSON error object carries the reason too.
    let mut fake = Fake::new();
    fake.once("network create*", 0, NET_ID, "");
    fake.once("run *", 125, "", NO_SUCH_IMAGE);
    fake.on("pull *", 1, "", NO_REGISTRY);
    let out = fake.bottle(&["up", "demo", "--image", "img", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let e = crate::real::json(stdout.trim());
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("no such host"), "{message}");
}
