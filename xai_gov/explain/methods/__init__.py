"""The registered explanation methods: every module of this package that defines ``METHOD``.

Adding a method is adding a module here (see ``xai_gov.explain.method`` for the
contract) with its renderers and tests: the engine, the policy's metric names, the
API's schema and the ``methods`` a request may name are read from this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from xai_gov.errors import InvalidInput
from xai_gov.explain.method import Method, Metric
from xai_gov.validation import printable

#: Record fields a section may not shadow (a section is a top-level key of the stored record).
_RECORD_FIELDS = frozenset({
    "id", "model", "version", "decision_id", "requested_by", "requested_at", "instance", "instance_sha256",
    "prediction", "methods", "sections", "scores", "reasons", "withheld_reasons", "seed", "parameters",
    "library_versions", "background_sha256", "reason_map", "verdict", "timings", "replay_of", "decision",
    "re_explains", "cautions", "schema_version", "record_sha256", "quality"})
#: Scores the engine writes across methods (reasons' source, agreement of two attribution methods).
CROSS_METHOD_METRICS: tuple[Metric, ...] = (
    Metric("agreement.top_n_overlap", "Share of the top features two attribution methods have in common.",
           "fidelity"),
    Metric("agreement.sign_agreement", "Share of those shared features on which they agree in direction.",
           "fidelity"),
    Metric("protected.attribution_share", "Share of the attribution mass on protected features.", "fidelity"),
)


@cache
def registered() -> tuple[Method, ...]:
    """Every method, in its ``order``; a module whose method clashes with another's name or section, or with
    a record field, is a programming error, raised at first use."""
    found: list[Method] = []
    for module in pkgutil.iter_modules(__path__):
        method = getattr(importlib.import_module(f"{__name__}.{module.name}"), "METHOD", None)
        if isinstance(method, Method):
            found.append(method)
    found.sort(key=lambda m: m.order)
    for position, first in enumerate(found):
        if first.section in _RECORD_FIELDS:
            raise RuntimeError(f"method {first.name}'s section {first.section!r} is a field of the record")
        for second in found[position + 1:]:
            if {first.name, first.section} & {second.name, second.section}:
                raise RuntimeError(f"methods {first.name} and {second.name} share a name or section")
    return tuple(found)


def names() -> tuple[str, ...]:
    """What a request's ``methods`` may name, in order."""
    return tuple(m.name for m in registered())


def method(name: str) -> Method:
    for candidate in registered():
        if candidate.name == name:
            return candidate
    raise InvalidInput(f"unknown method {printable(name)}: choose from {', '.join(names())}", field="methods")


def by_section(section: str) -> Method | None:
    return next((m for m in registered() if m.section == section), None)


def choice_words() -> str:
    """What a request's ``methods`` may be, in words (for help texts and the API's schema)."""
    only_adverse = [m.name for m in registered() if m.only_adverse]
    text = f"any of {', '.join(names())} (default: all"
    if only_adverse:
        text += (f"; {', '.join(only_adverse)} only where the version's rule declines, and named for an applicant "
                 "it approves, refused")
    return text + ")"


def parameter_words() -> str:
    """Which parameter groups a request may set, in words."""
    settable = [m for m in registered() if m.bounds]
    return "per method: " + ", ".join(f'"{m.name}": {{{", ".join(sorted(m.bounds))}}}' for m in settable)


def glance_figures(scores: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each quality criterion's headline figures in words, from every method that measured it, in order."""
    figures: dict[str, list[str]] = {}
    for registered_method in registered():
        for criterion, parts in registered_method.glance(scores).items():
            figures.setdefault(criterion, []).extend(parts)
    return figures


def metrics() -> tuple[Metric, ...]:
    """Every score a policy rule may name."""
    return tuple(metric for m in registered() for metric in m.metrics) + CROSS_METHOD_METRICS


@cache
def renderers(package: str) -> tuple[ModuleType, ...]:
    """A surface's renderers (the packet's, the CLI's, the web page's): every module of ``package`` that names
    the record section it renders in ``SECTION``, in their ``PLACE`` (the order the surface shows them)."""
    root = importlib.import_module(package)
    found = [importlib.import_module(f"{package}.{module.name}") for module in pkgutil.iter_modules(root.__path__)]
    return tuple(sorted((m for m in found if isinstance(getattr(m, "SECTION", None), str)),
                        key=lambda m: getattr(m, "PLACE", 100)))
