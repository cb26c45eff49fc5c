#!/usr/bin/env python3
"""Generate test vectors for bottle's subnet rule (see CONTRACT.md, "Subnet rule").

This is an independent implementation of the rule, in Python with only the
standard library, so the Rust crate can be checked against something that does
not share its code:

- the pool P is an IPv4 CIDR with prefix p, the block length b has p <= b <= 29,
  and there are n = 2^(b-p) slots;
- h = FNV-1a 64-bit over the slug's UTF-8 bytes, start = h mod n;
- candidate k (k = 0 .. n-1) is slot (start + k) mod n, whose subnet is
  P.network + slot * 2^(32-b) with prefix b;
- the gateway is the block's first host (network + 1), the bundle IP its second
  (network + 2), and the dynamic --ip-range is the block's upper half.

Usage:
    python3 scripts/subnet_vectors.py > fixtures/subnet-vectors.json
    python3 scripts/subnet_vectors.py --check fixtures/subnet-vectors.json
"""

import ipaddress
import itertools
import json
import re
import sys

from vectors import fnv1a64
import vectors


MAX_BLOCK = 29
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


SLUG_40 = "this-is-a-forty-character-slug-for-tests"
DIGITS_40 = "0123456789-0123456789-0123456789-0123456"

# (pool, block, slugs). The first group is the default pool and block.
CASES = [
    (
        "10.213.0.0/16",
        24,
        [
            "demo",
            "a",
            "0",
            "agent-1",
            "agent-2",
            "my-long-slug-with-many-parts",
            SLUG_40,
            DIGITS_40,
            "1password",
            "9-lives",
            "42",
            "z",
            "bottle",
            # Slot 255, the last one: candidates 1 and 2 wrap around to the pool's start.
            "agent-123",
        ],
    ),
    ("10.213.0.0/16", 29, ["demo", "agent-1", "x"]),
    ("172.30.0.0/20", 26, ["demo", "agent-2", "agent-4"]),  # agent-4 wraps
    ("192.168.64.0/24", 28, ["demo", "7-up", "agent-4"]),  # agent-4 wraps
    ("10.0.0.0/8", 24, ["demo", "a"]),
    ("100.64.0.0/12", 20, ["demo", SLUG_40]),
    # One slot: every slug lands in the only block.
    ("10.9.8.0/24", 24, ["demo", "b"]),
    # Two slots: the two candidates are the two halves of the pool.
    ("10.9.0.0/23", 24, ["demo", "b"]),  # slots 0 and 1
    # Smallest allowed block with a pool of the same size.
    ("10.9.8.0/29", 29, ["demo"]),
]




def block_subnet(pool: ipaddress.IPv4Network, block: int, slot: int) -> ipaddress.IPv4Network:
    base = int(pool.network_address) + slot * (1 << (32 - block))
    return ipaddress.IPv4Network((base, block))


def vector(pool_text: str, block: int, slug: str) -> dict:
    pool = ipaddress.IPv4Network(pool_text, strict=True)
    if not pool.prefixlen <= block <= MAX_BLOCK:
        raise ValueError(f"block /{block} must be between /{pool.prefixlen} and /{MAX_BLOCK}")
    if not SLUG_RE.match(slug):
        raise ValueError(f"invalid slug {slug!r}")

    n = 1 << (block - pool.prefixlen)
    h = fnv1a64(slug.encode("utf-8"))
    start = h % n
    slots = [(start + k) % n for k in range(min(3, n))]
    candidates = [block_subnet(pool, block, s) for s in slots]

    # Cross-check the arithmetic against ipaddress's own enumeration of the blocks.
    for s, net in zip(slots, candidates):
        if n <= 1 << 12:  # enumerating larger pools is slow and adds nothing
            assert net == next(itertools.islice(pool.subnets(new_prefix=block), s, None))
        assert net.subnet_of(pool)

    first = candidates[0]
    hosts = first.hosts()
    gateway = next(hosts)
    bundle_ip = next(hosts)
    assert gateway == first.network_address + 1 and bundle_ip == first.network_address + 2
    _lower, upper = first.subnets(prefixlen_diff=1)
    assert upper.network_address == first.network_address + (1 << (32 - block - 1))

    return {
        "pool": str(pool),
        "block": block,
        "slug": slug,
        "fnv1a64": f"0x{h:016x}",
        "slot": slots[0],
        "subnet": str(first),
        "gateway": str(gateway),
        "bundle_ip": str(bundle_ip),
        "ip_range": str(upper),
        "candidates": [str(c) for c in candidates],
    }


def render() -> str:
    vectors = [vector(pool, block, slug) for pool, block, slugs in CASES for slug in slugs]
    return json.dumps(vectors, indent=2) + "\n"


if __name__ == "__main__":
    sys.exit(vectors.main("subnet_vectors", __doc__, render))
