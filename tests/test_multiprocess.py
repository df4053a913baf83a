"""Two emulator processes on one PostgreSQL database: a write through one is read through the other, an ETag race
has exactly one winner, and paging through one stays exact while the other writes. PostgreSQL only."""
import threading

import pytest
import requests
import sqlalchemy as sa

from .conftest import PG_URL, database_url, start_server_process

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs EMULATOR_TEST_DATABASE_URL (a PostgreSQL server)")
SET = "api/data/v9.2/msdyn_ocliveworkitems"




@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two server processes on one fresh PostgreSQL schema (the first seeds it, the second serves what is there)."""
    url = database_url(None, "postgresql")
    log = open(tmp_path_factory.mktemp("multi") / "servers.log", "w")
    processes = []
    try:
        first, first_url = start_server_process(url, log)
        processes.append(first)
        second, second_url = start_server_process(url, log)
        processes.append(second)
        yield first_url, second_url
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        log.close()
        schema = sa.engine.make_url(url).query["options"].split("=", 1)[1].split(",")[0]
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))  # generated name
        engine.dispose()


def create(url: str, subject: str) -> str:
    response = requests.post(f"{url}/{SET}", json={"subject": subject}, timeout=10)
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_a_write_through_one_process_is_read_through_the_other(pair):
    first, second = pair
    key = create(first, "written by the first process")
    response = requests.get(f"{second}/{SET}({key})?$select=subject", timeout=10)
    assert response.status_code == 200
    assert response.json()["subject"] == "written by the first process"
    patched = requests.patch(f"{second}/{SET}({key})", json={"subject": "changed by the second"}, timeout=10)
    assert patched.status_code == 204
    assert requests.get(f"{first}/{SET}({key})?$select=subject", timeout=10).json()["subject"] == "changed by the second"


def test_etag_race_across_processes_has_exactly_one_winner(pair):
    first, second = pair
    for attempt in range(5):
        key = create(first, f"race {attempt}")
        etag = requests.get(f"{first}/{SET}({key})", timeout=10).json()["@odata.etag"]
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def update(url: str, subject: str) -> None:
            barrier.wait()
            response = requests.patch(f"{url}/{SET}({key})", json={"subject": subject},
                                      headers={"If-Match": etag}, timeout=10)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=update, args=(url, f"winner {i}")) for i, url in enumerate(pair)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [204, 412], statuses
        final = requests.get(f"{second}/{SET}({key})", timeout=10).json()
        assert final["@odata.etag"] != etag and final["subject"].startswith("winner")


def test_paging_through_one_process_is_exact_while_the_other_writes(pair):
    first, second = pair
    query = f"{second}/{SET}?$select=subject&$orderby=createdon desc"
    before = {r["activityid"] for r in requests.get(query, timeout=30).json()["value"]}
    seen: list[str] = []
    inserted: set[str] = set()
    deleted: set[str] = set()
    victims = sorted(before)[::17]
    link, pages = query, 0
    while link:
        body = requests.get(link, headers={"Prefer": "odata.maxpagesize=13"}, timeout=30).json()
        seen += [r["activityid"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        pages += 1
        # the other process writes between pages: a new row and a deleted one
        inserted.add(create(first, f"inserted while paging {pages}"))
        if victims:
            victim = victims.pop()
            assert requests.delete(f"{first}/{SET}({victim})", timeout=10).status_code == 204
            deleted.add(victim)
    assert pages > 10
    assert len(seen) == len(set(seen)), "a row appeared twice"
    assert before - deleted <= set(seen), "a row that existed throughout went missing"


def test_dropping_one_emulators_schema_leaves_the_others_working(tmp_path):
    """Emulators in schemas of one database share the citext extension; it lives in public, so removing one
    emulator's schema (as a test run or `make bench` does) cannot take it, and the others' columns, away."""
    from emulator.app import create_app

    from .conftest import Client, drop_database, make_emulator

    first = make_emulator(tmp_path, conversations=5, backend="postgresql")
    second = make_emulator(tmp_path, conversations=5, backend="postgresql")
    try:
        drop_database(first)
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            where = conn.execute(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension "
                                         "WHERE extname = 'citext'")).scalar()
        engine.dispose()
        assert where == "public"
        response = Client(create_app(second)).get("msdyn_ocliveworkitems?$filter=msdyn_title ne 'x'&$count=true")
        assert response.status_code == 200, response.json
        assert response.json["@odata.count"] == 5
    finally:
        drop_database(second)
