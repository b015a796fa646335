"""The ``accord`` command: one module per command group, composed here."""

from __future__ import annotations

import typer

import accord
from accord.cli import compat, enforce, lint, odcs, registry, tokens, validate

__all__ = ["app", "main"]

app = typer.Typer(
    name="accord",
    help="Data contracts: lint, check compatibility, publish, and enforce them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"accord {accord.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Data contracts: lint, check compatibility, publish, and enforce them."""


app.command("lint")(lint.lint)
app.command("diff")(compat.diff)
app.command("check")(compat.check)
app.command("publish")(registry.publish)
app.command("serve")(registry.serve)
app.add_typer(registry.db_app, name="db")
app.add_typer(odcs.import_app, name="import")
app.add_typer(odcs.export_app, name="export")
app.add_typer(enforce.app, name="enforce")
app.add_typer(tokens.token_app, name="token")
app.command("validate")(validate.validate)


def main() -> None:
    app()
