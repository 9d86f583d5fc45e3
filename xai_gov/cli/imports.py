"""``xai-gov import mlflow``: register a model from where it already lives."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xai_gov.actors import Role
from xai_gov.cli.models import (
    ClassLabelOption,
    CutoffOption,
    ImmutableOption,
    MonotoneOption,
    NotProtectedOption,
    NullableOption,
    ProtectedOption,
    ProtectedOverrideOption,
    ReasonCodesOption,
    show_version,
)
from xai_gov.cli.output import JsonFlag, console, print_json, run
from xai_gov.cli.state import state
from xai_gov.errors import InvalidInput
from xai_gov.lineage.datahash import read_table
from xai_gov.registry.files import read_schema
from xai_gov.registry.intake import parse_class_labels
from xai_gov.registry.models import ModelVersion

import_app = typer.Typer(help="Register models from the systems they already live in.", no_args_is_help=True)


@import_app.command("mlflow")
def import_mlflow(
    ctx: typer.Context,
    model_uri: Annotated[str, typer.Argument(help="models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH.")],
    tracking_uri: Annotated[str | None, typer.Option(envvar="MLFLOW_TRACKING_URI",
                                                     help="MLflow tracking store (default MLFLOW_TRACKING_URI).")]
    = None,
    adverse_class: Annotated[str | None, typer.Option(help="The outcome that needs reasons, e.g. bad.")] = None,
    name: Annotated[str | None, typer.Option(help="xai-gov model name (default: the registered model's).")] = None,
    flavour: Annotated[str, typer.Option(help="auto (sklearn if logged, else python_function), sklearn or pyfunc.")]
    = "auto",
    trust: Annotated[list[str] | None, typer.Option(help="A skops type you reviewed and trust (repeatable).")]
    = None,
    serve_url: Annotated[str | None, typer.Option(help="Scoring URL serving this model (MLflow's /invocations).")]
    = None,
    class_names: Annotated[str | None, typer.Option(help="Classes in probability-column order, comma-separated.")]
    = None,
    background: Annotated[Path | None, typer.Option(help="Background CSV, when the run's training data is not "
                                                         "reachable from here.")] = None,
    schema: Annotated[Path | None, typer.Option(help="Feature schema JSON (default: inferred from the data).")]
    = None,
    target: Annotated[str | None, typer.Option(help="Label column of the training dataset.")] = None,
    data_version: Annotated[str | None, typer.Option(help="Any data-version string (DVC md5, lakeFS commit, "
                                                          "Delta version).")] = None,
    parent: Annotated[str | None, typer.Option(help="Parent version, e.g. credit-risk@1.")] = None,
    description: Annotated[str | None, typer.Option(help="What this version is for.")] = None,
    alias: Annotated[str | None, typer.Option(help="Point this alias at the new version.")] = None,
    protected: ProtectedOption = None,
    not_protected: NotProtectedOption = None,
    nullable: NullableOption = None,
    reason_codes: ReasonCodesOption = None,
    protected_override: ProtectedOverrideOption = None,
    class_label: ClassLabelOption = None,
    cutoff: CutoffOption = None,
    immutable: ImmutableOption = None,
    monotone: MonotoneOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Import an MLflow model with the lineage of its run (needs the mlflow extra)."""

    def action() -> ModelVersion:
        if flavour not in ("auto", "sklearn", "pyfunc"):
            raise InvalidInput(f"flavour {flavour!r}: use auto, sklearn or pyfunc", field="flavour")
        return state(ctx).client().import_mlflow(
            model_uri, tracking_uri=tracking_uri, name=name, adverse_class=adverse_class,
            class_names=[c.strip() for c in class_names.split(",")] if class_names else (),
            flavour=flavour,  # type: ignore[arg-type]
            trusted_types=tuple(trust or ()), serve_url=serve_url,
            background=read_table(background) if background is not None else None,
            schema=read_schema(schema) if schema is not None else None, target=target, data_version=data_version,
            parent_version=parent, description=description, alias=alias, protected=protected,
            not_protected=not_protected, nullable=nullable, reason_codes=reason_codes,
            protected_override=protected_override, class_labels=parse_class_labels(class_label or []), cutoff=cutoff,
            immutable=immutable, monotone=monotone, actor=state(ctx).actor(Role.OWNER))

    version = run(action)
    if as_json:
        print_json(version.to_dict())
    else:
        console.print(f"imported {model_uri} as [bold]{version.ref}[/bold]"
                      + (f" ({', '.join(version.aliases)})" if version.aliases else ""))
        show_version(version)
