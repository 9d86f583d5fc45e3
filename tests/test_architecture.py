"""The core never imports FastAPI (DESIGN §2): the SDK, CLI and API share one core."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "xai_gov"


def test_core_never_imports_fastapi_or_starlette() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] in {"fastapi",
                                                                                                   "starlette"}]
    assert offenders == []
