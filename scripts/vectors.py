"""What the test-vector scripts share: FNV-1a 64 (checked against published values) and their
command line (print the vectors, or `--check FILE` against freshly made ones).

The scripts are independent implementations of bottle's rules in Python with only the standard
library, so the Rust crate is checked against something that does not share its code; they may
share this with each other.
"""

import argparse
import difflib
import sys

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1

# Published FNV-1a 64-bit values (from the FNV reference test suite).
FNV_KNOWN = {
    b"": 0xCBF29CE484222325,
    b"a": 0xAF63DC4C8601EC8C,
    b"b": 0xAF63DF4C8601F1A5,
    b"c": 0xAF63DE4C8601EFF2,
    b"foobar": 0x85944171F73967E8,
}


def fnv1a64(data: bytes) -> int:
    h = FNV64_OFFSET
    for byte in data:
        h ^= byte
        h = (h * FNV64_PRIME) & MASK64
    return h


def self_test() -> None:
    for data, want in FNV_KNOWN.items():
        got = fnv1a64(data)
        if got != want:
            raise AssertionError(f"fnv1a64({data!r}) = {got:#018x}, want {want:#018x}")


def main(name: str, doc: str, render) -> int:
    """Print `render()`, or with `--check FILE` compare FILE with it: exit 1 if they differ."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--check",
        metavar="FILE",
        help="compare FILE with freshly generated vectors; exit 1 if they differ",
    )
    args = parser.parse_args()

    self_test()
    text = render()
    if args.check is None:
        sys.stdout.write(text)
        return 0

    try:
        with open(args.check, encoding="utf-8") as f:
            current = f.read()
    except OSError as e:
        print(f"{name}: cannot read {args.check}: {e.strerror}", file=sys.stderr)
        return 1
    if current == text:
        print(f"{name}: {args.check} is up to date", file=sys.stderr)
        return 0
    sys.stderr.writelines(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=args.check,
            tofile="regenerated",
        )
    )
    print(
        f"{name}: {args.check} is stale; regenerate it with "
        f"`python3 scripts/{name}.py > {args.check}`",
        file=sys.stderr,
    )
    return 1
