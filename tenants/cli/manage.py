"""`portico manage …`: any Django management command against Portico's database."""

from __future__ import annotations

import click

from tenants.dev.process import setup_django


@click.command("manage", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command against Portico's database."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["portico manage", *args])
