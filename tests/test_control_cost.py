"""What the shared control plane costs a request: nothing in one process (no SQL on any `_emulator_` table, nothing
shared is even built), and with --workers one control-row read plus one journal row for a plain Web API GET."""
import pytest
import sqlalchemy as sa

from emulator import control
from emulator.app import create_app
from emulator.server import prepare
from emulator.settings import Settings

from .conftest import BACKENDS, NOW, Client, database_url, drop_database


def build(tmp_path, backend: str, workers: int):
    emulator = prepare(Settings(database_url=database_url(tmp_path / "e.db", backend), now=NOW.isoformat(),
                                scenario="minimal", workers=workers))
    return emulator, create_app(emulator)


def statements(engines, run) -> list[str]:
    """The SQL statements `run()` sends through `engines`."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_process_spends_no_sql_on_the_control_plane(tmp_path, backend):
    emulator, app = build(tmp_path, backend, workers=1)
    try:
        client = Client(app)
        assert control.state(app).shared is None
        client.get("msdyn_ocliveworkitems?$top=1")  # warm: the first request may prepare things once
        sent = statements([emulator.db.engine], lambda: client.get("msdyn_ocliveworkitems?$top=1"))
        assert not [s for s in sent if "_emulator_" in s], sent  # (reads run prepared, past the engine's events)
    finally:
        drop_database(emulator)


@pytest.mark.parametrize("backend", BACKENDS)
def test_with_workers_a_get_costs_one_control_read_and_one_journal_row(tmp_path, backend):
    emulator, app = build(tmp_path, backend, workers=2)
    try:
        client = Client(app)
        store = control.state(app).shared
        assert store is not None
        client.get("msdyn_ocliveworkitems?$top=1")
        engines = {emulator.db.engine, store.engine, store.write_engine}
        sent = statements(engines, lambda: client.get("msdyn_ocliveworkitems?$top=1"))
        shared = [s for s in sent if "_emulator_" in s]
        assert len(shared) == 2, shared
        assert shared[0].startswith("SELECT") and "_emulator_control" in shared[0]
        assert shared[1].startswith("INSERT INTO _emulator_journal"), shared
        if backend == "sqlite":  # on SQLite they live in a file of their own, not the data's
            assert store.engine.url.database.endswith("e.control.db")
    finally:
        store = control.state(app).shared
        if store is not None and backend == "sqlite":
            store.engine.dispose()
            store.write_engine.dispose()
        drop_database(emulator)


def test_workers_on_an_in_memory_database_are_refused(tmp_path):
    emulator = prepare(Settings(database_url="sqlite://", now=NOW.isoformat(), scenario="minimal", workers=2))
    with pytest.raises(ValueError, match="in-memory"):
        create_app(emulator)
    emulator.db.dispose()
