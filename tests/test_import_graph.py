"""The import graph of xai_gov/: which layer may import which (the table below is its documentation).

Every module under xai_gov/ is parsed with ``ast`` (imports inside functions and
``if TYPE_CHECKING:`` blocks count too: a lazy import is still a dependency) and
placed in a layer by the longest matching prefix in ``LAYERS``. A module may import
its own layer and the layers below it, never one above. Further rules:

- the core never imports FastAPI or Starlette (DESIGN §2: the SDK, CLI and API share one core);
- ORM rows stay inside ``xai_gov.store``: no module outside it imports ``xai_gov.store.orm``;
- every module is in the table, so a new module is placed on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Leaves: the standard library, third-party packages and xai_gov.errors only.
    ("leaf", ("xai_gov.canonical", "xai_gov.errors", "xai_gov.timeutil", "xai_gov.validation", "xai_gov.actors",
              "xai_gov.config", "xai_gov.datasets")),
    # The bottom of the store: the engine and sessions, the ORM rows, and the hash-chained audit ledger that
    # every write appends to in its own transaction. Knows no domain type.
    ("database", ("xai_gov.store.db", "xai_gov.store.orm", "xai_gov.store.ledger")),
    # Domain types: the plain data the store saves and hands back (no sessions, no files).
    ("domain", ("xai_gov.registry.schema", "xai_gov.registry.missing", "xai_gov.registry.decision",
                "xai_gov.registry.models", "xai_gov.lineage.models", "xai_gov.explain.records",
                "xai_gov.quality.glance", "xai_gov.monitoring.models")),
    # The store's repositories (rows in, domain objects out) and the content-addressed artifact files.
    ("store", ("xai_gov.store", "xai_gov.registry.artifacts")),
    # Audit and access: verification of stored records, checkpoints, signing, API keys, the permission table.
    ("audit", ("xai_gov.audit", "xai_gov.auth")),
    # Models, methods and rules: adapters (the MLflow pyfunc adapter lives in integrations/ only because it
    # needs the mlflow extra; registry.adapters loads it by spec kind), lineage capture, declarations, the
    # explanation methods and their registry (which policies read metric names from), reason maps, policies,
    # quality scores. No store.
    ("models", ("xai_gov.registry", "xai_gov.integrations.mlflow_pyfunc", "xai_gov.lineage", "xai_gov.policies",
                "xai_gov.quality", "xai_gov.explain.method", "xai_gov.explain.methods", "xai_gov.explain.reasons",
                "xai_gov.explain.space", "xai_gov.explain.remembering", "xai_gov.explain.fastpath",
                "xai_gov.explain.accuracy", "xai_gov.explain.library_rng")),
    # The engine: runs the registered methods on one decision and applies the policy; monitoring statistics;
    # packet rendering. No store.
    ("engine", ("xai_gov.explain", "xai_gov.monitoring", "xai_gov.reports")),
    # Registry services: registration (assembled in registry.intake), aliases, lineage look-ups.
    ("registry services", ("xai_gov.registry.service", "xai_gov.registry.intake", "xai_gov.registry.files",
                           "xai_gov.lineage.service")),
    # Explanation service: explain, store and record a decision.
    ("explain service", ("xai_gov.explain.service",)),
    # Services over stored explanations.
    ("consumer services", ("xai_gov.monitoring.service", "xai_gov.reports.service")),
    # Jobs and outside systems: batch explanation, MLflow import, the shipped examples.
    ("jobs", ("xai_gov.batch", "xai_gov.integrations", "xai_gov.examples")),
    # Entry points: the SDK, the CLI and the package's public names.
    ("entry", ("xai_gov.sdk", "xai_gov.cli", "xai_gov")),
)

#: Upward imports allowed for now, each with its reason: (importer, imported).
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset({
    # ExplanationRecord.quality_at_a_glance asks the method registry which of the record's scores are its
    # quality figures (a lazy import in explain/records.py, the integrator's). A stored record is a domain
    # type the store hands back; passing the figures in from the caller would remove this edge.
    ("xai_gov.explain.records", "xai_gov.explain.methods"),
})

FORBIDDEN_PACKAGES = ("fastapi", "starlette")
ORM = "xai_gov.store.orm"


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str  # the xai_gov module (or the outside package's full dotted name)
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}"


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``root/xai_gov`` (migration scripts excepted)."""
    found = {}
    for path in sorted((root / "xai_gov").rglob("*.py")):
        if "migrations" in path.relative_to(root).parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The xai_gov module a dotted name lives in (``xai_gov.store.orm.Row`` -> ``xai_gov.store.orm``)."""
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imported(node: ast.AST, module: str, is_package: bool, known: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield _resolve(alias.name, known) if alias.name.startswith("xai_gov") else alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        if not base.startswith("xai_gov"):
            yield base
            return
        for alias in node.names:  # "from pkg import module" imports the module, not only the package
            yield _resolve(f"{base}.{alias.name}", known)


def import_edges(root: Path) -> list[Edge]:
    """Every import made by a module under ``root/xai_gov``: xai_gov imports resolved to the module they name."""
    known = modules(root)
    edges = set()
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for name in _imported(node, module, path.name == "__init__.py", known):
                if name != module:
                    edges.add(Edge(module, name, getattr(node, "lineno", 0)))
    return sorted(edges, key=lambda e: (e.importer, e.line, e.imported))


def layer_of(module: str, layers: Sequence[tuple[str, tuple[str, ...]]] = LAYERS) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def upward_imports(edges: Sequence[Edge], layers: Sequence[tuple[str, tuple[str, ...]]] = LAYERS,
                   allowed: frozenset[tuple[str, str]] = ALLOWED_UPWARD) -> list[str]:
    problems = []
    for edge in edges:
        if not edge.imported.startswith("xai_gov") or (edge.importer, edge.imported) in allowed:
            continue
        low, high = layer_of(edge.importer, layers), layer_of(edge.imported, layers)
        if low is not None and high is not None and high > low:
            problems.append(f"{edge} (layer {layers[low][0]!r} below {layers[high][0]!r})")
    return problems


def forbidden_imports(edges: Sequence[Edge]) -> list[str]:
    problems = [str(e) for e in edges if e.imported.split(".")[0] in FORBIDDEN_PACKAGES]
    problems += [f"{e} (ORM rows stay inside xai_gov.store)" for e in edges
                 if e.imported == ORM and not e.importer.startswith("xai_gov.store")]
    return problems


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports(import_edges(ROOT)) == []


def test_every_module_is_placed_in_a_layer() -> None:
    assert [m for m in modules(ROOT) if layer_of(m) is None] == []


def test_core_never_imports_fastapi_starlette_or_orm_rows_outside_the_store() -> None:
    assert forbidden_imports(import_edges(ROOT)) == []


def test_allowed_exceptions_are_still_needed() -> None:
    edges = {(e.importer, e.imported) for e in import_edges(ROOT)}
    assert sorted(ALLOWED_UPWARD - edges) == []


# The checker itself, on a constructed package with known answers.

@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    files = {
        "xai_gov/__init__.py": "",
        "xai_gov/canonical.py": "import json\n",
        "xai_gov/store/__init__.py": "",
        "xai_gov/store/orm.py": "from xai_gov import canonical\n",
        "xai_gov/store/repos.py": "from . import orm\n\ndef f():\n    from xai_gov.sdk import Client\n",
        "xai_gov/audit/__init__.py": "",
        "xai_gov/audit/ledger.py": "from ..store.orm import Row\nimport fastapi.routing\n",
        "xai_gov/sdk.py": "from xai_gov.store import repos\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_checker_resolves_relative_and_lazy_imports(fake_root: Path) -> None:
    edges = {(e.importer, e.imported) for e in import_edges(fake_root) if e.imported.startswith("xai_gov")}
    assert edges == {("xai_gov.store.orm", "xai_gov.canonical"), ("xai_gov.store.repos", "xai_gov.store.orm"),
                     ("xai_gov.store.repos", "xai_gov.sdk"), ("xai_gov.audit.ledger", "xai_gov.store.orm"),
                     ("xai_gov.sdk", "xai_gov.store.repos")}


def test_checker_catches_an_upward_import(fake_root: Path) -> None:
    layers = (("leaf", ("xai_gov.canonical",)), ("store", ("xai_gov.store", "xai_gov.audit.ledger")),
              ("entry", ("xai_gov.sdk", "xai_gov")))
    edges = import_edges(fake_root)
    assert upward_imports(edges, layers) == [
        "xai_gov.store.repos:4 imports xai_gov.sdk (layer 'store' below 'entry')"]
    assert upward_imports(edges, layers, frozenset({("xai_gov.store.repos", "xai_gov.sdk")})) == []


def test_checker_catches_fastapi_and_orm_outside_the_store(fake_root: Path) -> None:
    assert forbidden_imports(import_edges(fake_root)) == [
        "xai_gov.audit.ledger:2 imports fastapi.routing",
        "xai_gov.audit.ledger:1 imports xai_gov.store.orm (ORM rows stay inside xai_gov.store)",
    ]
