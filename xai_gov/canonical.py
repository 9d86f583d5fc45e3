"""Canonical JSON and its SHA-256: the one form every stored hash is computed over.

A leaf module (standard library only), so the ledger at the bottom of the house
and every domain above it hash the same way without importing each other.
Changing either function changes every stored hash: records, ledger events,
lineage data hashes and checkpoints would all verify as "changed".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, floats as Python's shortest round-trip repr (RFC 8785 in spirit)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_json(value: Any) -> str:
    """The hex SHA-256 of ``canonical_json(value)`` in UTF-8."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
