#!/usr/bin/env python3
"""Generate test vectors for bottle's host-port rule (see docs/contract.md, "Host-port rule").

An independent implementation of the rule, in Python with only the standard
library, so the Rust crate can be checked against something that does not share
its code:

- the range is R = 20000..32767 (N = 12768 ports), below Linux's default
  ephemeral range (32768..60999);
- h = FNV-1a 64-bit over the UTF-8 bytes of "SLUG/PORT/PROTO" (e.g. "demo/8080/tcp");
- candidate k (k = 0, 1, ...) is 20000 + (h mod N + k) mod N;
- a container port takes the first candidate that nothing holds on the same
  address and protocol (an endpoint bound to every address holds it on each),
  nor a port chosen before it in the bottle, in (port, protocol) order, TCP
  before UDP; a recorded port (the bundle's bottle.endpoints label) is kept as
  it is, or the command fails naming what holds it.

Each vector gives the first candidates, and the choice for a set of ports given
what is held ("held": [[ip, port, proto], ...]).

Usage:
    python3 scripts/port_vectors.py > fixtures/port-vectors.json
    python3 scripts/port_vectors.py --check fixtures/port-vectors.json
"""

import ipaddress
import json
import sys

from vectors import fnv1a64
import vectors


LOW = 20000
HIGH = 32767
N = HIGH - LOW + 1


# Single ports: their first three candidates.
SINGLES = [
    ("demo", 8080, "tcp"),
    ("demo", 9090, "tcp"),
    ("demo", 53, "udp"),
    ("demo", 53, "tcp"),
    ("spec-test", 8080, "tcp"),
    ("a", 1, "tcp"),
    ("a", 65535, "udp"),
    ("agent-1", 443, "tcp"),
    ("this-is-a-forty-character-slug-for-tests", 8080, "tcp"),
]



def candidate(slug: str, port: int, proto: str, k: int) -> int:
    h = fnv1a64(f"{slug}/{port}/{proto}".encode("utf-8"))
    return LOW + ((h % N) + k) % N


def collides(a, b) -> bool:
    (ip_a, port_a, proto_a), (ip_b, port_b, proto_b) = a, b
    if port_a != port_b or proto_a != proto_b:
        return False
    ip_a, ip_b = ipaddress.ip_address(ip_a), ipaddress.ip_address(ip_b)
    return ip_a == ip_b or ip_a.is_unspecified or ip_b.is_unspecified


def settle(slug: str, ip: str, ports, held):
    """The host port of each (port, proto), in (port, proto) order; TCP sorts before UDP."""
    order = {"tcp": 0, "udp": 1}
    chosen = {}
    for port, proto in sorted(ports, key=lambda p: (p[0], order[p[1]])):
        for k in range(N):
            c = candidate(slug, port, proto, k)
            taken = any(collides((ip, c, proto), h) for h in held)
            mine = any(p == proto and hp == c for (_, p), hp in chosen.items())
            if not taken and not mine:
                chosen[(port, proto)] = c
                break
        else:
            raise ValueError("range exhausted")
    return chosen


def settle_cases():
    c0 = candidate("demo", 8080, "tcp", 0)
    c1 = candidate("demo", 8080, "tcp", 1)
    return [
        ("demo", "127.0.0.1", [(8080, "tcp"), (53, "udp")], []),
        ("demo", "127.0.0.1", [(8080, "tcp")], [["127.0.0.1", c0, "tcp"]]),
        ("demo", "127.0.0.1", [(8080, "tcp")], [["0.0.0.0", c0, "tcp"]]),
        ("demo", "127.0.0.1", [(8080, "tcp")], [["127.0.0.1", c0, "tcp"], ["127.0.0.1", c1, "tcp"]]),
        ("demo", "127.0.0.1", [(8080, "tcp")], [["127.0.0.2", c0, "tcp"], ["127.0.0.1", c0, "udp"]]),
        ("demo", "::1", [(8080, "tcp")], [["::", c0, "tcp"]]),
        ("demo", "127.0.0.16", [(443, "tcp"), (8080, "tcp"), (9090, "tcp"), (53, "udp")], []),
    ]


def render() -> str:
    singles = [
        {
            "slug": slug,
            "port": port,
            "protocol": proto,
            "key": f"{slug}/{port}/{proto}",
            "fnv1a64": f"0x{fnv1a64(f'{slug}/{port}/{proto}'.encode()):016x}",
            "candidates": [candidate(slug, port, proto, k) for k in range(3)],
        }
        for slug, port, proto in SINGLES
    ]
    settles = [
        {
            "slug": slug,
            "ip": ip,
            "ports": [f"{p}/{proto}" for p, proto in ports],
            "held": held,
            "chosen": {f"{p}/{proto}": hp for (p, proto), hp in settle(slug, ip, ports, held).items()},
        }
        for slug, ip, ports, held in settle_cases()
    ]
    doc = {"range": [LOW, HIGH], "candidates": singles, "settle": settles}
    return json.dumps(doc, indent=2) + "\n"


if __name__ == "__main__":
    sys.exit(vectors.main("port_vectors", __doc__, render))
