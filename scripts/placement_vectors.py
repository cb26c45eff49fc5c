#!/usr/bin/env python3
"""Generate test vectors for bottle's placement rule (see docs/contract.md, "Placement rule").

An independent implementation of the rule, in Python with only the standard library, so the
Rust crate can be checked against something that does not share its code:

- for each context c in the list, score(c) = FNV-1a 64-bit over the slug's UTF-8 bytes, one
  0x00 byte, then c's UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3, as
  for subnets);
- a new bottle goes to the reachable context with the highest score; on a tie, the earlier one
  in the list. `order` lists the contexts from first choice to last.

Usage:
    python3 scripts/placement_vectors.py > fixtures/placement-vectors.json
    python3 scripts/placement_vectors.py --check fixtures/placement-vectors.json
"""

import json
import sys

from vectors import fnv1a64
import vectors



THREE = ["default", "pod", "edge"]

# (slug, contexts). The contexts are docker contexts or podman connections, any UTF-8 text; a
# context listed twice ties with itself, and the earlier one wins.
CASES = [
    ("demo", ["default", "pod"]),
    ("demo", ["pod", "default"]),
    ("demo", THREE),
    ("f1", THREE),
    ("f2", THREE),
    ("f3", THREE),
    ("f4", THREE),
    ("f5", THREE),
    ("f6", THREE),
    ("f7", THREE),
    ("f8", THREE),
    ("agent-1", ["host-a", "host-b", "host-c", "host-d"]),
    ("agent-2", ["host-a", "host-b", "host-c", "host-d"]),
    ("this-is-a-forty-character-slug-for-tests", ["default", "ssh-builder", "tls-remote"]),
    ("a", ["b"]),
    ("z", ["default", "default"]),
    ("bottle", ["ünïcode-ctx", "default"]),
    ("x", ["", "default"]),
]

# The real-engine fleet tests' slugs and contexts (tests/it/fleet.rs): docker contexts `default`
# (the local dockerd) and `pod` (a podman service), in both orders for the race; podman
# connections `svc` and `dead` for native podman.
FLEET = ["default", "pod"]
CASES += [(slug, FLEET) for slug in ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "g1", "race", "race2"]]
CASES += [
    ("race", ["pod", "default"]),
    ("race2", ["pod", "default"]),
    ("n1", ["svc", "dead"]),
    ("p1", ["svc", "dead"]),
]




def score(slug: str, context: str) -> int:
    return fnv1a64(slug.encode("utf-8") + b"\x00" + context.encode("utf-8"))


def vector(slug: str, contexts: list) -> dict:
    scores = [score(slug, c) for c in contexts]
    # Highest score first; Python's sort is stable, so equal scores keep the list's order.
    order = sorted(range(len(contexts)), key=lambda i: -scores[i])
    return {
        "slug": slug,
        "contexts": contexts,
        "scores": [f"0x{s:016x}" for s in scores],
        "order": [contexts[i] for i in order],
        "order_index": order,
    }


def render() -> str:
    made = [vector(slug, contexts) for slug, contexts in CASES]
    return json.dumps(made, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.exit(vectors.main("placement_vectors", __doc__, render))
