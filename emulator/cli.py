"""The `dataverse-emulator` command: serve, seed, export, import."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from . import __version__, serving
from .clock import parse_instant
from .settings import AUTH_MODES, Settings, default_database_url

if TYPE_CHECKING:
    from .server import Emulator


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
@click.option("--host", envvar="EMULATOR_HOST", default="127.0.0.1", show_default=True,
              help="Interface to bind (env EMULATOR_HOST).")
@click.option("--port", envvar="EMULATOR_PORT", default=5555, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (env EMULATOR_PORT; 0: any free port, printed in the banner).")
@database_option
@click.option("--auth", type=click.Choice(AUTH_MODES), envvar="EMULATOR_AUTH", default="bearer",
              show_default=True, help="bearer: any non-empty bearer token; none: no check; strict: signed tokens "
                                      "from the emulator's token endpoint (clients in EMULATOR_AUTH_CLIENTS).")
@click.option("--admin-key", envvar="EMULATOR_ADMIN_KEY", default=None,
              help="Key the control plane (/_emulator/) requires when the server binds beyond loopback "
                   "(env EMULATOR_ADMIN_KEY; prefer the variable: command lines are visible to other users).")
@click.option("--query-timeout-ms", envvar="EMULATOR_QUERY_TIMEOUT_MS", default=10000, show_default=True,
              type=click.IntRange(0), help="Stop a query that runs longer (0: no limit).")
@now_option
@click.option("--seed", "seed_value", default=42, show_default=True, type=int,
              help="Seed for the default data set when the database is empty.")
@click.option("--tls", is_flag=True, help="Serve HTTPS with a self-signed certificate kept in .emulator/tls/ "
                                          "(created on first use).")
@click.option("--scenario", default=None, metavar="NAME|FILE",
              help="Scenario to load when the database is empty (seed_data/<name>.json or a file). Default: the "
                   "default data set.")
@click.option("--metadata", default=None, metavar="FILE|DIR",
              help="An org's $metadata file (or a directory from `metadata pull`) whose tables join the shipped ones.")
@click.option("--metadata-details", default=None, metavar="FILE",
              help="The EntityDefinitions export for --metadata FILE (labels, lengths, required levels).")
@click.option("--service-protection/--no-service-protection", envvar="EMULATOR_SERVICE_PROTECTION", default=False,
              show_default=True, help="Enforce Dataverse's service protection limits (429 with Retry-After).")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Snapshot the data at start for POST /_emulator/reset (costs about 5 s per 100,000 "
                   "conversations and doubles the file).")
@click.option("--simulate", is_flag=True, help="Run the live contact-center simulation (see README, Demo).")
@click.option("--simulate-rate", default=12.0, show_default=True, type=click.FloatRange(0, 6000, min_open=True),
              help="Simulated new conversations per minute of emulator time.")
@click.option("--simulate-seed", default=1, show_default=True, type=int, help="Seed of the simulation.")
@click.option("--workers", default=None, type=click.IntRange(1, 64), metavar="N",
              help="Serve with N gunicorn worker processes instead of one process (POSIX only: Linux, macOS; "
                   "not on Windows); the control plane is shared by all of them through the database.")
@click.option("--threads", default=serving.DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 256),
              help="Request threads of the server (without --workers).")
@click.option("--log-format", type=click.Choice(serving.LOG_FORMATS), envvar="EMULATOR_LOG_FORMAT", default="text",
              show_default=True, help="One line per request on stderr: text, json (one JSON object per line: time, "
                                      "level, method, path, status, duration_ms) or none (env EMULATOR_LOG_FORMAT).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, database: str, auth: str, admin_key: str | None,
          query_timeout_ms: int, now: str | None, seed_value: int, tls: bool, scenario: str | None,
          metadata: str | None, metadata_details: str | None, service_protection: bool, baseline: bool,
          simulate: bool, simulate_rate: float, simulate_seed: int,
          workers: int | None, threads: int, log_format: str) -> None:
    """Serve the Web API (loads the scenario, or the default data set, when the database is empty)."""
    if workers and simulate:
        raise click.UsageError("--simulate runs in one process; it cannot be combined with --workers.")
    if workers and not serving.workers_supported():
        raise click.UsageError(f"--workers runs gunicorn, which needs a POSIX system (Linux, macOS); it is not "
                               f"supported on {sys.platform}. Serve without --workers (one process, "
                               f"--threads {serving.DEFAULT_THREADS} by default).")
    reporter = serving.Reporter(log_format)
    serving.configure_logging(reporter)
    try:  # first: a port in use ends here, before anything is seeded, saved or announced
        sock = serving.bind(host, port)
    except serving.BindError as e:
        click.echo(str(e), err=True)
        ctx.exit(serving.EXIT_PORT_IN_USE)
    port = sock.getsockname()[1]
    try:
        app, emulator, certificate = _start(reporter, host=host, auth=auth, admin_key=admin_key, database=database,
                                            query_timeout_ms=query_timeout_ms, now=now, seed_value=seed_value,
                                            scenario=scenario, baseline=baseline, tls=tls, metadata=metadata,
                                            metadata_details=metadata_details,
                                            service_protection=service_protection, simulate=simulate,
                                            simulate_rate=simulate_rate, simulate_seed=simulate_seed,
                                            workers=workers)
    except BaseException:
        sock.close()
        raise
    try:  # connections are accepted from here on: the data is ready
        serving.listen(sock)
    except serving.BindError as e:
        click.echo(str(e), err=True)
        ctx.exit(serving.EXIT_PORT_IN_USE)
    from .control import access

    urls = serving.Urls.of("https" if tls else "http", host, port)
    if reporter.json:
        reporter.note("Dataverse emulator running", org_url=urls.org, web_api=urls.api, workspace=f"{urls.org}/")
    else:
        for line in serving.banner(urls):
            reporter.note(line)
    reporter.note(f"Database {emulator.db.describe()}, auth {auth}.")
    if auth == "strict":
        service = app.extensions["tokens"]
        reporter.note(f"Token endpoint: {urls.org}/{service.tenant}/oauth2/v2.0/token "
                      f"({len(service.clients)} client(s); secrets are never printed)")
    reporter.note(f"Control plane /_emulator/: {access.status(emulator.settings)}")
    log = (lambda wsgi_app: serving.RequestLog(wsgi_app, reporter)) if reporter.requests else (lambda a: a)
    if workers:
        from . import wsgi

        reporter.note(f"gunicorn with {workers} worker processes.")
        wsgi.serve(lambda: app, host=host, port=port, workers=workers, sock=sock, middleware=log,
                   certfile=str(certificate.cert) if certificate else None,
                   keyfile=str(certificate.key) if certificate else None)
    elif certificate is not None:
        from .tls import server_context

        serving.serve_tls(log(app), sock, server_context(certificate))
    else:
        serving.serve_waitress(log(app), sock, threads=threads)


def _start(reporter: serving.Reporter, *, host: str, auth: str, admin_key: str | None, database: str,
           query_timeout_ms: int, now: str | None, seed_value: int, scenario: str | None, baseline: bool, tls: bool,
           metadata: str | None = None, metadata_details: str | None = None,
           service_protection: bool, simulate: bool, simulate_rate: float, simulate_seed: int,
           workers: int | None) -> tuple:
    """`serve` once its port is bound: the data loaded, the app made (and its reset baseline saved), the
    simulation started, the TLS certificate ready. Returns (app, emulator, certificate or None)."""
    from . import control
    from .app import create_app
    from .store.seed import SeedResult

    emulator = _prepare(database_url=database, auth=auth, now=now, seed=seed_value, host=host, admin_key=admin_key,
                        query_timeout_ms=query_timeout_ms, scenario=scenario, baseline=baseline,
                        metadata=metadata, metadata_details=metadata_details,
                        service_protection=service_protection, workers=workers or 1, note=reporter.note)
    loaded = emulator.loaded
    if isinstance(loaded, SeedResult):
        reporter.note(f"Seeded {loaded.conversations} conversations for {loaded.agents} agents.")
    elif loaded is not None:
        reporter.note(f"Loaded scenario {loaded.name}: {loaded.counts['msdyn_ocliveworkitem']} conversations.")
    try:
        app = create_app(emulator)
    except (ValueError, OSError) as e:  # strict auth without usable clients
        raise click.ClickException(str(e)) from None
    if simulate:
        from .simulation import for_app

        for_app(app, rate=simulate_rate, seed=simulate_seed).start()
        reporter.note(f"Simulating {simulate_rate:g} new conversations a minute (seed {simulate_seed}).")
    baseline_ms = control.state(app).baseline_ms
    if baseline_ms is not None:
        reporter.note(f"Baseline for POST /_emulator/reset saved in {baseline_ms / 1000:.1f} s.")
    certificate = None
    if tls:
        from .tls import ensure_certificate

        certificate = ensure_certificate()
        reporter.note(f"TLS certificate {'created' if certificate.created else 'reused'}: {certificate.cert}\n"
                      f"Trust it with REQUESTS_CA_BUNDLE={certificate.cert} (Python requests) or "
                      f"NODE_EXTRA_CA_CERTS={certificate.cert} (Node).")
    return app, emulator, certificate


@main.command("seed")
@database_option
@click.option("--conversations", default=500, show_default=True, type=click.IntRange(0), help="How many.")
@click.option("--agents", default=12, show_default=True, type=click.IntRange(1), help="How many agents.")
@click.option("--seed", "seed_value", default=42, show_default=True, type=int, help="Random seed.")
@click.option("--reset", is_flag=True, help="Delete every existing row first.")
@click.option("--scenario", default=None, metavar="NAME|FILE",
              help="Load a scenario (seed_data/<name>.json or a file) instead of the generator options.")
@now_option
def seed_command(database: str, conversations: int, agents: int, seed_value: int, reset: bool,
                 scenario: str | None, now: str | None) -> None:
    """Fill the database with deterministic demo data, or a scenario."""
    _fill(database_url=database, now=now, scenario=scenario, conversations=conversations, agents=agents,
          seed=seed_value, load="replace" if reset else "refuse")


def _prepare(note: Callable[[str], None] | None = None, **options: Any) -> Emulator:
    """server.prepare with the Settings these options make; its errors as the command's error message."""
    from .server import prepare
    from .store.database import DatabaseUnavailable

    try:
        return prepare(Settings(**options), note=note or (lambda text: click.echo(text, err=True)))
    except (ValueError, DatabaseUnavailable) as e:  # ScenarioError is a ValueError
        raise click.ClickException(str(e)) from None


def _fill(**options: Any) -> None:
    """`seed` and `import`: the data loaded by server.prepare, and a line saying what it was."""
    from .store.seed import SeedResult

    emulator = _prepare(**options)
    emulator.db.dispose()
    loaded, where = emulator.loaded, emulator.db.describe()
    if isinstance(loaded, SeedResult):
        click.echo(f"Seeded {loaded.conversations} conversations, {loaded.sessions} sessions, {loaded.agents} "
                   f"agents in {loaded.seconds:.1f} s into {where}.")
    elif loaded is not None:
        counts = loaded.counts
        click.echo(f"Loaded scenario {loaded.name}: {counts['msdyn_ocliveworkitem']} conversations, "
                   f"{counts['msdyn_ocsession']} sessions, {counts['systemuser']} users into {where}.")


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@database_option
def export_command(file: str, database: str) -> None:
    """Write the current data as a scenario file (loadable with `import` or `seed --scenario`)."""
    from pathlib import Path

    import orjson

    from .store import scenario as scenarios
    from .store.database import Database

    db = Database(database)
    try:
        data = scenarios.export(db, Path(file).stem)
    finally:
        db.dispose()
    Path(file).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    click.echo(f"Exported {sum(len(rows) for rows in data['tables'].values())} rows to {file}.")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@database_option
@click.option("--reset", is_flag=True, help="Delete every existing row first.")
@now_option
def import_command(file: str, database: str, reset: bool, now: str | None) -> None:
    """Load a scenario file (for example one written by `export`) into the database."""
    _fill(database_url=database, now=now, scenario=file, load="replace" if reset else "refuse")


from .omnichannel.cli import get_conversations  # noqa: E402  (client side; imports nothing from the server)

main.add_command(get_conversations)
from .metadata_cli import metadata_group  # noqa: E402

main.add_command(metadata_group)


if __name__ == "__main__":
    sys.exit(main())
