"""The `dataverse-emulator` command: serve, seed."""
from __future__ import annotations

import sys

import click

from . import __version__
from .clock import parse_instant
from .settings import AUTH_MODES, Settings, default_database_url


def _instant(ctx, param, value):
    if value is None:
        return None
    try:
        parse_instant(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not an ISO 8601 instant such as 2026-01-15T12:00:00Z") from None
    return value


database_option = click.option("--database", envvar="EMULATOR_DATABASE_URL", default=default_database_url,
                               show_default=".emulator/emulator.db (SQLite)",
                               help="SQLAlchemy database URL (env EMULATOR_DATABASE_URL).")
now_option = click.option("--now", envvar="EMULATOR_NOW", callback=_instant, default=None,
                          help="Fix the emulator clock at this UTC instant, e.g. 2026-01-15T12:00:00Z "
                               "(env EMULATOR_NOW). Default: the real time.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dataverse-emulator")
def main() -> None:
    """A local Dataverse Web API for Omnichannel conversations (msdyn_ocliveworkitem)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=5555, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@database_option
@click.option("--auth", type=click.Choice(AUTH_MODES), envvar="EMULATOR_AUTH", default="bearer",
              show_default=True, help="bearer: any non-empty bearer token; none: no check.")
@now_option
@click.option("--seed", "seed_value", default=42, show_default=True, type=int,
              help="Seed for the default data set when the database is empty.")
@click.option("--simulate", is_flag=True, help="Run the live contact-center simulation (see README, Demo).")
@click.option("--simulate-rate", default=12.0, show_default=True, type=click.FloatRange(0, 6000, min_open=True),
              help="Simulated new conversations per minute of emulator time.")
@click.option("--simulate-seed", default=1, show_default=True, type=int, help="Seed of the simulation.")
def serve(host: str, port: int, database: str, auth: str, now: str | None, seed_value: int, simulate: bool,
          simulate_rate: float, simulate_seed: int) -> None:
    """Serve the Web API (seeds the default data set when the database is empty)."""
    from .server import Emulator
    from .store.seed import seed
    from .webapi import create_app

    emulator = Emulator.from_settings(Settings(database_url=database, auth=auth, now=now, seed=seed_value))
    if emulator.db.is_empty() and not emulator.db.count("systemuser"):
        result = seed(emulator.db, seed=seed_value, now=emulator.clock.now())
        click.echo(f"Seeded {result.conversations} conversations for {result.agents} agents.", err=True)
    app = create_app(emulator)
    if simulate:
        from .simulation import for_app

        for_app(app, rate=simulate_rate, seed=simulate_seed).start()
        click.echo(f"Simulating {simulate_rate:g} new conversations a minute (seed {simulate_seed}).", err=True)
    click.echo(f"Dataverse emulator on http://{host}:{port}/api/data/v9.2/ "
               f"(database {emulator.db.describe()}, auth {auth})", err=True)
    click.echo(f"Agent dashboard on http://{host}:{port}/", err=True)
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True)


@main.command("seed")
@database_option
@click.option("--conversations", default=500, show_default=True, type=click.IntRange(0), help="How many.")
@click.option("--agents", default=12, show_default=True, type=click.IntRange(1), help="How many agents.")
@click.option("--seed", "seed_value", default=42, show_default=True, type=int, help="Random seed.")
@click.option("--reset", is_flag=True, help="Delete every existing row first.")
@now_option
def seed_command(database: str, conversations: int, agents: int, seed_value: int, reset: bool,
                 now: str | None) -> None:
    """Fill the database with deterministic demo data."""
    from .store.database import Database
    from .store.seed import seed

    db = Database(database)
    try:
        result = seed(db, conversations=conversations, agents=agents, seed=seed_value,
                      now=parse_instant(now) if now else None, reset=reset)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    finally:
        db.dispose()
    click.echo(f"Seeded {result.conversations} conversations, {result.sessions} sessions, {result.agents} agents "
               f"in {result.seconds:.1f} s into {db.describe()}.")


from .omnichannel.cli import get_conversations  # noqa: E402  (client side; imports nothing from the server)

main.add_command(get_conversations)


if __name__ == "__main__":
    sys.exit(main())
