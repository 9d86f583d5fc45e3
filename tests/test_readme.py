"""The README's Python snippets run as written, in order, for a newcomer (issue 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import xai_gov.sdk

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_the_model_owner_snippets() -> None:
    text = "\n".join(python_blocks())
    for needed in ("xai_gov.register(", "protected=", "reason_codes=", "nullable=", "xai_gov.explain("):
        assert needed in text


def test_the_readme_python_snippets_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_GOV_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XAI_GOV_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(xai_gov.sdk, "_default", None)
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    finally:
        if xai_gov.sdk._default is not None:
            xai_gov.sdk._default.close()
    assert namespace["record"].decision_id == "LOAN-2026-0042"  # type: ignore[attr-defined]
    declined = namespace["declined"]
    assert "No income declared" in [r["statement"] for r in declined.reasons]  # type: ignore[attr-defined]
    version = namespace["synthetic"]
    assert {f.name for f in version.schema.features if f.protected} == {"Age", "Marital"}  # type: ignore[attr-defined]
