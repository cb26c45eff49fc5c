//! The fixture corpora through the binary: subnet vectors from the independent Python
//! implementation against `bottle subnet`, and spec files whose full `plan` is snapshotted. (The
//! classifier's and the model's fixtures are read by the library's unit tests.)

use std::path::Path;

use crate::fake::Fake;

#[derive(serde::Deserialize)]
struct Vector {
    pool: String,
    block: u8,
    slug: String,
    slot: u64,
    subnet: String,
    gateway: String,
    bundle_ip: String,
}

fn vectors() -> Vec<Vector> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/subnet-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn bottle_subnet_agrees_with_every_vector() {
    for v in vectors() {
        let block = v.block.to_string();
        let out = crate::fake::bottle_cmd()
            .args([
                "subnet", &v.slug, "--pool", &v.pool, "--block", &block, "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["subnet"], v.subnet.as_str());
        assert_eq!(got["slot"], v.slot);
        assert_eq!(got["gateway"], v.gateway.as_str());
        assert_eq!(got["bundle_ip"], v.bundle_ip.as_str());
    }
}

/// The full `plan` of each spec file, as text and as JSON.
#[test]
fn plan_of_every_spec_file() {
    insta::glob!("../../fixtures/specs", "*.toml", |path| {
        let fake = Fake::new();
        let config = path.to_str().unwrap();
        let mut cmd = fake.command(&["plan", "spec-test", "--config", config]);
        cmd.env("INHERITED_TOKEN", "from-the-environment");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        // Paths in [build] are relative to the file; show them relative to the repo.
        let repo = env!("CARGO_MANIFEST_DIR");
        // A host path under the checkout enters the spec digest, so the digest depends on where
        // the repository is cloned: redact it there (only there).
        let text = match text.contains(&format!(" --volume {repo}/")) {
            true => redact_spec_digest(&text),
            false => text,
        };
        let text = text.replace(repo, "$REPO");
        assert!(!text.contains("s3cr3t") && !text.contains("from-the-environment"));
        insta::assert_snapshot!(text);
        assert!(fake.calls().is_empty());
    });
}

/// `bottle.spec=<64 hex>` as `bottle.spec=<digest>`, and the volumes' part of `bottle.parts`
/// (`volumes=<8 hex>`) as `volumes=<digest>`.
fn redact_spec_digest(text: &str) -> String {
    redact(&redact(text, "bottle.spec=", 64), ",volumes=", 8)
}

/// Each run of exactly `len` hex digits after `key` as `<digest>`.
fn redact(text: &str, key: &str, len: usize) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let (head, tail) = rest.split_at(at + key.len());
        out.push_str(head);
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(if hex == len { "<digest>" } else { &tail[..hex] });
        rest = &tail[hex..];
    }
    out.push_str(rest);
    out
}
