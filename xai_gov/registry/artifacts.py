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
        # Per file, the stat signature it had when it last hashed right: a cheap re-check before each use.
        self._verified: dict[str, tuple[int, int, int, int]] = {}

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
            signature = _stat_signature(self.path(sha256))
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"artifact {sha256} is missing from {self.root}", field="artifact") from None
        actual = sha256_bytes(data)
        if actual != sha256:
            raise IntegrityError(f"artifact {sha256} has been changed on disk: its bytes now hash to {actual}",
                                 code="artifact_hash_mismatch", field="artifact")
        self._verified[sha256] = signature
        return data

    def check(self, sha256: str) -> None:
        """Raise as ``get`` would if the file changed: re-hashed only when its size, times or inode differ
        from when it last hashed right (a replaced file gets a new inode or ctime, which no one can set)."""
        try:
            signature = _stat_signature(self.path(sha256))
        except FileNotFoundError:
            raise NotFound(f"artifact {sha256} is missing from {self.root}", field="artifact") from None
        if self._verified.get(sha256) != signature:
            self.get(sha256)

    def discard(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def _stat_signature(path: Path) -> tuple[int, int, int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino
