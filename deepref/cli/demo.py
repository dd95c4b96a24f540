"""`flask demo-data`: a small realistic data set, so a new console is not empty."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from deepref import demo
from deepref.cli.errors import command_errors


@click.command("demo-data")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Same seed, same rows (times are relative to now).")
@click.option("--append", is_flag=True, help="Add more to a database that has demo data.")
@with_appcontext
@command_errors
def demo_data_command(seed, append):
    """Load demo users, references, bundles, KYC documents and AI sessions (one transaction)."""
    made = demo.load_demo_data(seed=seed, append=append,
                               seeds_dir=current_app.config.get("SEEDS_DIR"))
    listed = ", ".join(f"{count} {table}" for table, count in made.items() if count)
    click.echo(f"Loaded demo data: {listed}.")
    click.echo("Browse it in the console; demo members' emails end in @" + demo.DEMO_DOMAIN)
