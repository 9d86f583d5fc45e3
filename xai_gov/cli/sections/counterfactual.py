"""Counterfactual recourse on the terminal: each set of changes as a sentence, and what could not change."""

from __future__ import annotations

from xai_gov.cli.output import console
from xai_gov.explain.records import ExplanationRecord

SECTION = "counterfactuals"
PLACE = 20


def show(record: ExplanationRecord) -> None:
    section = record.sections[SECTION]
    console.print(f"[bold]What would change the decision[/bold] (counterfactual recourse; target: {section['target']})")
    for number, option in enumerate(section["options"], 1):
        console.print(f"  {number}. {option['statement']} [dim]({option['features_changed']} change(s), distance "
                      f"{option['distance']:.2f})[/dim]")
    if section.get("note"):
        console.print(f"  {section['note']}")
    fixed = [f"{f['label']} ({f['why']})" for f in section.get("fixed", [])]
    if fixed:
        console.print(f"  [dim]not changed: {', '.join(fixed)}[/dim]")
