"""Content-addressed artifact files: ``<home>/artifacts/<sha256>``.

A file is written once, atomically (temporary file, then rename), and its hash
is checked on every read: a file that no longer matches is refused.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from xai_gov.errors import IntegrityError, NotFound


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; return their SHA-256 and whether the file is new."""
        digest = sha256_bytes(data)
        target = self.path(digest)
        if target.exists():
            return digest, False
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest, True

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``, after checking that they still hash to it."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"artifact {sha256} is missing from {self.root}", field="artifact") from None
        actual = sha256_bytes(data)
        if actual != sha256:
            raise IntegrityError(f"artifact {sha256} has been changed on disk: its bytes now hash to {actual}",
                                 code="artifact_hash_mismatch", field="artifact")
        return data

    def discard(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)
