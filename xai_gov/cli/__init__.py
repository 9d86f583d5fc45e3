"""The ``xai-gov`` command line. Commands are thin: they read files and flags, call the core, print."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from xai_gov.actors import parse_role
from xai_gov.cli import audit as audit_commands
from xai_gov.cli import batch as batch_commands
from xai_gov.cli import explanations as explanation_commands
from xai_gov.cli import imports as import_commands
from xai_gov.cli import keys as key_commands
from xai_gov.cli import lineage as lineage_commands
from xai_gov.cli import models as model_commands
from xai_gov.cli import monitor as monitor_commands
from xai_gov.cli import packets as packet_commands
from xai_gov.cli.output import JsonFlag, console, fields, print_json, reported_errors, run
from xai_gov.cli.state import CliState, state
from xai_gov.errors import InvalidInput
from xai_gov.lineage.datahash import hash_file
from xai_gov.registry.files import infer_schema_file

app = typer.Typer(name="xai-gov", help="Explainability and model governance for credit decisions.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
data_app = typer.Typer(help="Training data: canonical hashes.", no_args_is_help=True)
schema_app = typer.Typer(help="Feature schemas.", no_args_is_help=True)
examples_app = typer.Typer(help="The shipped examples, as files to register.", no_args_is_help=True)
app.add_typer(examples_app, name="examples")
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(schema_app, name="schema")
app.add_typer(model_commands.models_app, name="models")
app.command("register")(model_commands.register)
app.add_typer(import_commands.import_app, name="import")
app.command("lineage")(lineage_commands.lineage)
app.command("explain")(explanation_commands.explain)
app.command("replay")(explanation_commands.replay)
app.add_typer(explanation_commands.explanations_app, name="explanations")
app.add_typer(batch_commands.batch_app, name="batch")
app.add_typer(audit_commands.audit_app, name="audit")
app.add_typer(key_commands.keys_app, name="keys")
app.add_typer(packet_commands.export_app, name="export")
app.add_typer(packet_commands.packet_app, name="packet")
app.command("monitor")(monitor_commands.monitor)
app.add_typer(monitor_commands.monitoring_app, name="monitoring")



@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[Path | None, typer.Option(envvar="XAI_GOV_HOME", help="Data directory (default ./.xai-gov).")]
    = None,
    database_url: Annotated[str | None, typer.Option(envvar="XAI_GOV_DATABASE_URL",
                                                     help="SQLAlchemy URL (default SQLite in the data directory).")]
    = None,
    as_role: Annotated[str | None, typer.Option(
        "--as-role", envvar="XAI_GOV_ROLE",
        help="Act in this role: officer, auditor, owner, approver or admin (default: the role the command "
             "needs: owner to register and move aliases, admin for keys, auditor to export and monitor).")]
    = None,
) -> None:
    with reported_errors():
        role = parse_role(as_role, field="as_role") if as_role is not None else None
    ctx.obj = CliState(home=home, database_url=database_url, role=role)
    ctx.call_on_close(ctx.obj.close)  # release database connections when the command ends


@app.command()
def init(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Create the data directory, the database and the checkpoint signing key (idempotent)."""
    client = run(lambda: state(ctx).client())
    client.settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    revision = run(client.database.current_revision)
    created = run(client.create_signing_key)
    admin_key = run(client.bootstrap_admin_key)
    info = {"home": str(client.settings.resolved_home), "database": client.database.safe_url, "revision": revision,
            "policy": f"{client.policy.path} (sha256 {client.policy.sha256[:16]})",
            "signing key": f"{client.settings.signing_key_path} ({'created' if created else 'exists'})",
            "document signing certificate": f"{client.packets.signer.cert_path} "
                                            f"({'created' if run(client.packets.signer.ensure_key) else 'exists'})"}
    if admin_key:
        info["first admin key"] = admin_key
    if as_json:
        print_json(info)
    else:
        fields("xai-gov initialised", list(info.items()))
        if admin_key:
            console.print("the admin key is shown this once: store it now", soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations."""
    from xai_gov.store.db import Database

    database = Database(state(ctx).settings().resolved_database_url)
    try:
        revision = run(database.upgrade)
    finally:
        database.dispose()
    console.print(f"database {database.safe_url} at revision {revision}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's migration revision and the newest one this version knows."""
    from xai_gov.store.db import Database

    database = Database(state(ctx).settings().resolved_database_url)
    try:
        current = run(database.current_revision)
        head = database.head_revision()
    finally:
        database.dispose()
    advice = "" if current == head else " (run: xai-gov db upgrade)"
    console.print(f"current {current or 'none'}, head {head}{advice}")


@data_app.command("hash")
def data_hash(files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files.")],
              as_json: JsonFlag = False) -> None:
    """Canonical SHA-256 of training data: the same data gives the same hash in any format."""
    hashes = {str(path): run(partial(hash_file, path)) for path in files}
    if as_json:
        print_json(hashes)
    else:
        for path, digest in hashes.items():
            console.print(f"{digest}  {path}", highlight=False, soft_wrap=True)


@examples_app.command("export")
def export_example_files(
    directory: Annotated[Path, typer.Argument(help="Directory to write the files into.")],
    example: Annotated[str, typer.Option(help="german (the demo model) or synthetic (the second example).")]
    = "german",
    as_json: JsonFlag = False,
) -> None:
    """Train an example and write model.skops, train.csv, background.csv, schema.json, metrics.json,
    applicant.json (and reason_codes.yaml) for `xai-gov register`."""
    from xai_gov.examples.export import ExportedExample, export_example

    def action() -> ExportedExample:
        if example not in ("german", "synthetic"):
            raise InvalidInput(f"unknown example {example!r}: german or synthetic", field="example")
        return export_example(directory, example)

    exported = run(action)
    if as_json:
        print_json({"directory": str(exported.directory), "files": list(exported.files),
                    "trusted_types": list(exported.trusted_types), "adverse_class": exported.adverse_class,
                    "protected": list(exported.protected)})
        return
    console.print(f"wrote {', '.join(exported.files)} to {exported.directory}")
    trust = " ".join(f"--trust {t}" for t in exported.trusted_types)
    console.print(f"register with: xai-gov register NAME --artifact {directory}/model.skops {trust} ...")


@schema_app.command("infer")
def schema_infer(
    data: Annotated[Path, typer.Argument(help="Training data, CSV or Parquet.")],
    target: Annotated[str | None, typer.Option(help="The label column (left out of the features).")] = None,
    adverse_class: Annotated[str | None, typer.Option(help="The outcome that needs reasons, e.g. bad.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the schema here (JSON).")] = None,
) -> None:
    """Infer a feature schema from training data, to edit (labels, bounds) and pass to register."""
    schema = run(lambda: infer_schema_file(data, target=target, adverse_class=adverse_class))
    text = json.dumps(schema.to_dict(), indent=2) + "\n"
    if output is None:
        console.print_json(text)
    else:
        output.write_text(text)
        console.print(f"schema with {len(schema.features)} features written to {output}")


@app.command()
def serve(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(help="uvicorn worker processes (each with its own pool).")] = 1,
          explain_workers: Annotated[int | None, typer.Option(
              help="Worker processes computing explanations (default: the cores this process may use; 0: in the "
                   "service's threads).")] = None,
          demo_model: Annotated[bool, typer.Option(help="First register the demo credit model if absent.")]
          = False) -> None:
    """Run the HTTP API with uvicorn."""
    import os

    import uvicorn

    from xai_gov.config import available_cores

    if demo_model:
        from xai_gov.cli.demo import ensure_demo_model

        client = state(ctx).client()
        console.print(f"demo model: {run(lambda: ensure_demo_model(client))} (alias staging)")
        if run(client.create_signing_key):
            console.print(f"checkpoint signing key created: {client.settings.signing_key_path}")
        admin_key = run(client.bootstrap_admin_key)
        if admin_key:
            console.print(f"first admin key (shown once): {admin_key}", soft_wrap=True)
        state(ctx).close()
    settings = state(ctx).settings()
    console.print(f"pages: http://{host}:{port}/ui/ (sign in with an API key: the admin key creates the others "
                  "under 'API keys', or `xai-gov keys create --role officer --name NAME`); "
                  f"API docs: http://{host}:{port}/docs", soft_wrap=True)
    os.environ["XAI_GOV_HOME"] = str(settings.resolved_home)
    if explain_workers is None and "XAI_GOV_EXPLAIN_WORKERS" not in os.environ:
        explain_workers = available_cores()
    if explain_workers is not None:
        os.environ["XAI_GOV_EXPLAIN_WORKERS"] = str(explain_workers)
    if settings.database_url:
        os.environ["XAI_GOV_DATABASE_URL"] = settings.database_url
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers)


@app.command()
def demo(ctx: typer.Context) -> None:
    """Train the credit model on the shipped German credit data, register it, and look its lineage up."""
    from xai_gov.cli.demo import run_demo

    run(lambda: run_demo(state(ctx).client()))
