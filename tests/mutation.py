"""Random byte edits of a valid file, for the tests that hold the compiled parsers to their
references on broken input: deletions, insertions and overwrites from JSON's own bytes, or a cut."""

from __future__ import annotations

import random

ALPHABET = b'{}[]",:0123456789.-+eE \\/nulltruefalse\x00\xff'


def edited_bytes(rng: random.Random, base: bytes, overwrite_below: float) -> bytearray:
    """`base` with one to three edits: a deletion (35%), an insertion (35%), an overwrite (up to
    `overwrite_below`), else everything from a position on cut."""
    data = bytearray(base)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(data) + 1)
        op = rng.random()
        if op < 0.35:
            del data[i : i + rng.randint(1, 4)]
        elif op < 0.7:
            data[i:i] = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))
        elif op < overwrite_below and i < len(data):
            data[i] = rng.choice(ALPHABET)
        else:
            del data[i:]
    return data
