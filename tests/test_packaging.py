"""The image's pinned dependencies (requirements.lock) cover everything pyproject.toml requires."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_every_runtime_postgres_and_mlflow_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    required = {_name(r) for r in project["dependencies"] + extras["postgres"] + extras["mlflow"]}
    pinned = {_name(line) for line in (ROOT / "requirements.lock").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert required - pinned == set(), "run `make lock`"


def test_make_lint_type_checks_the_core_and_the_api() -> None:
    """mypy runs in `make lint` (and so in `make test`) over xai_gov/ and api/, no package excused."""
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/mypy xai_gov api" in lint
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(r.startswith("mypy") for r in config["project"]["optional-dependencies"]["test"])
    assert not [o["module"] for o in config["tool"]["mypy"]["overrides"] if o.get("ignore_errors")]
