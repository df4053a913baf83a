"""Instructions per request, for comparisons a shared machine cannot spoil: the app `dataverse-emulator serve`
builds (with the bare route of bench/bare_route.py), called as WSGI in this process, `--requests` times after a
warm-up, inside functools.reduce so that callgrind counts exactly those calls. Counts the app only (not gunicorn,
not the kernel's TCP work); one process, so the control plane is not shared.

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/callgrind_requests.py --database sqlite:///bench100k.db --request full --requests 200

"I refs" divided by --requests is the figure. Without valgrind it prints CPU microseconds per request instead
(`--request` may be given several times then, alternated in rounds). --request: bare, service, select1, full,
conversations (getConversations of the busiest agent), raw-sql (that query's SELECT on a DB-API cursor of the
emulator's engine)."""
from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bare_route import add_bare_route, app_from_cli  # noqa: E402
from harness import AUTH, BARE_PATH, NOW, SERVICE_DOCUMENT  # noqa: E402
from run import DAYS, STATUSES  # noqa: E402

from emulator.omnichannel import Omnichannel  # noqa: E402
from emulator.omnichannel.request import build  # noqa: E402


def urls(database: str) -> dict[str, str]:
    engine = sa.create_engine(database)
    with engine.connect() as conn:
        agent = conn.execute(sa.text(
            "SELECT msdyn_activeagentid FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid IS NOT NULL "
            "GROUP BY msdyn_activeagentid ORDER BY count(*) DESC, 1 LIMIT 1")).scalar()
        record = conn.execute(sa.text("SELECT activityid FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid = :a "
                                      "ORDER BY activityid LIMIT 1"), {"a": agent}).scalar()
    engine.dispose()
    request = {"agentId": str(agent), "status": STATUSES, "createdBeforeDays": DAYS,
               "orderBy": [{"attributeName": "createdon", "descending": True}]}
    one = f"{SERVICE_DOCUMENT}msdyn_ocliveworkitems({record})"
    conversations = Omnichannel("http://127.0.0.1", "bench").conversations_url(build(request))
    return {"bare": BARE_PATH, "service": SERVICE_DOCUMENT, "select1": f"{one}?$select=msdyn_title", "full": one,
            "conversations": conversations[len("http://127.0.0.1"):]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a seeded database URL")
    parser.add_argument("--request", action="append", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7, help="without valgrind: alternated rounds (min is shown)")
    args = parser.parse_args()
    app = app_from_cli("--database", args.database, "--no-baseline", "--now", NOW)
    add_bare_route(app)
    paths = urls(args.database)
    calls = {}
    for name in args.request:
        if name == "raw-sql":
            calls[name] = _raw_sql(app, paths["conversations"])
        else:
            calls[name] = _caller(app, paths[name])
    for call in calls.values():
        for _ in range(50):
            call()
    if len(args.request) == 1:  # under callgrind: the measured calls
        call = calls[args.request[0]]
        functools.reduce(lambda _, __: call(), range(args.requests), None)
        return
    best = dict.fromkeys(args.request, float("inf"))
    for _ in range(args.rounds):
        for name in args.request:
            started = time.process_time()
            for _ in range(args.requests):
                calls[name]()
            best[name] = min(best[name], (time.process_time() - started) / args.requests * 1e6)
    for name, us in best.items():
        print(f"{name}: {us:.1f} us CPU per request (min of {args.rounds} rounds)")


def _raw_sql(app, url: str):
    """The SELECT the app ran for `url`, repeated on a DB-API cursor of the app's engine (as bench/run.py's raw SQL)."""
    seen: list = []

    def capture(*sent) -> None:
        seen.append(sent)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        _caller(app, url)()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", capture)
    conn, _, statement, params = [s for s in seen if "msdyn_ocliveworkitem" in s[2]][-1][:4]
    cursor = conn.engine.raw_connection().cursor()
    return lambda: (cursor.execute(statement, params), cursor.fetchall())


def _caller(app, url: str):
    path, _, query = url.partition("?")
    environ = EnvironBuilder(path=path, query_string=query, headers=AUTH,
                             base_url="http://127.0.0.1:8000").get_environ()

    def start(status: str, _headers, _exc_info=None) -> None:
        assert status.startswith("200"), status

    def call() -> None:
        body = app.wsgi_app(dict(environ), start)
        b"".join(body)
        getattr(body, "close", lambda: None)()

    return call


if __name__ == "__main__":
    main()
