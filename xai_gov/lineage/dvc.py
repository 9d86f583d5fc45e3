"""Data versions kept by DVC, read from its own files (no dependency on DVC itself).

DVC records the MD5 of a tracked file in a ``<file>.dvc`` file beside it
(``outs: [{md5, size, path}]``) or, for a pipeline's outputs and inputs, in a
``dvc.lock`` (``stages: {name: {deps/outs: [{path, md5}]}}``) in the file's
directory or one above it, with paths relative to the ``dvc.lock``. A directory
tracked as a whole has an MD5 ending in ``.dir``; a file inside it is recorded
with the directory's entry.

What is read is DVC's claim. Whether the file on disk still is that version is
checked where it can be (a single file's MD5, for DVC 3's plain ``md5``) and
recorded in ``file_matches``; it is ``None`` when it cannot be checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

#: How many directories above the data file a ``dvc.lock`` is looked for.
_LOCK_SEARCH_DEPTH = 6


@dataclass(frozen=True)
class DvcVersion:
    """The DVC entry that covers one data file."""

    md5: str
    path: str          # as DVC records it (relative to the .dvc file or dvc.lock)
    recorded_in: str   # the .dvc file, or "dvc.lock:<stage>"
    size: int | None = None
    hash: str | None = None  # DVC's hash name: "md5" (DVC 3) or "md5-dos2unix" (DVC 2), when recorded
    file_matches: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dvc_version(data_file: str | Path) -> DvcVersion | None:
    """The DVC entry for ``data_file``, or None when no ``.dvc`` file or ``dvc.lock`` near it covers it."""
    data_file = Path(data_file).resolve()
    return _from_dvc_file(data_file) or _from_dvc_lock(data_file)


def _from_dvc_file(data_file: Path) -> DvcVersion | None:
    # <file>.dvc tracks the file; <dir>.dvc beside a tracked directory covers every file in it.
    for tracked in (data_file, *data_file.parents[:_LOCK_SEARCH_DEPTH]):
        if not tracked.name:  # the filesystem root
            break
        dvc_file = tracked.with_name(tracked.name + ".dvc")
        if not dvc_file.is_file():
            continue
        document = _read_yaml(dvc_file)
        for out in _entries(document.get("outs")):
            if (dvc_file.parent / str(out.get("path", ""))).resolve() == tracked:
                return _version(out, recorded_in=str(dvc_file), data_file=data_file, whole=tracked == data_file)
    return None


def _from_dvc_lock(data_file: Path) -> DvcVersion | None:
    for directory in data_file.parents[:_LOCK_SEARCH_DEPTH]:
        lock = directory / "dvc.lock"
        if not lock.is_file():
            continue
        stages = _read_yaml(lock).get("stages")
        if not isinstance(stages, dict):
            continue
        # A stage's outputs first (the stage that made the file), then any stage's inputs.
        for section in ("outs", "deps"):
            for stage, body in stages.items():
                if not isinstance(body, dict):
                    continue
                for entry in _entries(body.get(section)):
                    path = (directory / str(entry.get("path", ""))).resolve()
                    if path == data_file or path in data_file.parents:
                        return _version(entry, recorded_in=f"{lock}:{stage}", data_file=data_file,
                                        whole=path == data_file)
    return None


def _version(entry: dict[str, Any], *, recorded_in: str, data_file: Path, whole: bool) -> DvcVersion | None:
    md5 = entry.get("md5")
    if not md5:
        return None
    size = entry.get("size")
    hash_name = entry.get("hash")
    matches: bool | None = None
    if whole and not str(md5).endswith(".dir") and hash_name == "md5" and data_file.is_file():
        matches = _file_md5(data_file) == str(md5)
    return DvcVersion(md5=str(md5), path=str(entry.get("path")), recorded_in=recorded_in,
                      size=int(size) if isinstance(size, int) else None,
                      hash=str(hash_name) if hash_name else None, file_matches=matches)


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entries(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # an unreadable DVC file covers nothing; the caller records DVC as not found
    return document if isinstance(document, dict) else {}
