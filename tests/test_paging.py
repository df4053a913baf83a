"""Paging, $top and counts as Dataverse does them, over real HTTP: odata.maxpagesize with Preference-Applied, an
absolute @odata.nextLink carrying the paging cookie, keyset paging that stays exact while rows are inserted and
deleted between pages, @odata.count capped at 5000 and the totalrecordcount annotations, and /$count."""
from __future__ import annotations

import random
import threading
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from emulator.app import create_app
from emulator.clock import format_instant

from .conftest import API, AUTH, NOW, Client, LiveServer, make_emulator

SET = "msdyn_ocliveworkitems"
CONVERSATIONS = 2000


def get(url: str, prefer: str | None = None, **kwargs) -> requests.Response:
    headers = {**AUTH, **({"Prefer": prefer} if prefer else {})}
    return requests.get(url, headers=headers, timeout=30, **kwargs)


def walk(first_url: str, prefer: str | None, between_pages=None) -> list[list[dict]]:
    """Follow @odata.nextLink to the end; `between_pages(n)` runs after page n arrives."""
    pages, url = [], first_url
    while url:
        assert len(pages) < 10_000, "paging never ended"
        response = get(url, prefer)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["value"])
        url = body.get("@odata.nextLink")
        if between_pages and url:
            between_pages(len(pages))
    return pages


def bare_row(key: str, created: str, version: int) -> dict:
    return {"activityid": key, "subject": f"paging {key[:8]}", "createdon": created, "statecode": 0,
            "statuscode": 1, "versionnumber": version, "activitytypecode": "msdyn_ocliveworkitem"}


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A live server on its own database of 2000 seeded conversations (tests here write to it)."""
    emulator = make_emulator(tmp_path_factory.mktemp("paging") / "emulator.db", conversations=CONVERSATIONS)
    server = LiveServer(create_app(emulator))
    server.emulator = emulator
    yield server
    server.stop()
    emulator.db.dispose()


def all_ids(emulator) -> set[str]:
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    with emulator.db.engine.connect() as conn:
        return set(conn.execute(sa.select(table.c.activityid)).scalars())


class Mutator(threading.Thread):
    """Inserts and deletes rows directly in the database while pages are being read: after page n arrives it
    runs round n (concurrently with the request for page n+1), and the walker waits for round n to finish
    before asking for page n+2, so every gap between pages sees inserts and deletes."""

    def __init__(self, emulator, seed: int) -> None:
        super().__init__(daemon=True)
        self.emulator, self.rng = emulator, random.Random(seed)
        self.table = emulator.db.tables["msdyn_ocliveworkitem"]
        self.original = sorted(all_ids(emulator))
        with emulator.db.engine.connect() as conn:
            self.stamps = sorted(set(conn.execute(sa.select(self.table.c.createdon)).scalars()))
        self.deleted: set[str] = set()
        self.inserted: list[str] = []
        self.rounds = 0
        self.wake, self.done_round, self.stop = threading.Semaphore(0), threading.Semaphore(1), False
        self.error: BaseException | None = None
        self.version = 10**6 + seed * 10**5

    def after_page(self, _page: int) -> None:
        self.done_round.acquire()  # round n-1 finished
        if self.error:
            raise self.error
        self.wake.release()

    def run(self) -> None:
        try:
            while True:
                self.wake.acquire()
                if self.stop:
                    return
                self.mutate()
                self.rounds += 1
                self.done_round.release()
        except BaseException as e:  # surfaced by the test
            self.error = e
            self.done_round.release()

    def mutate(self) -> None:
        rows = []
        for _ in range(3):
            self.version += 1
            # ties on createdon with existing rows, and new instants between them; GUIDs anywhere in key order
            created = self.rng.choice(self.stamps)
            if self.rng.random() < 0.5:
                created = format_instant(datetime.fromisoformat(created.replace("Z", "+00:00"))
                                         + timedelta(seconds=self.rng.choice((-1, 1))))
            key = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            rows.append(bare_row(key, created, self.version))
            self.inserted.append(key)
        doomed = set(self.rng.sample(self.original, 2))
        if len(self.inserted) > 6:
            doomed.add(self.inserted[self.rng.randrange(len(self.inserted) - 3)])
        with self.emulator.db.engine.begin() as conn:
            conn.execute(self.table.insert(), rows)
            conn.execute(self.table.delete().where(self.table.c.activityid.in_(doomed)))
        self.deleted |= doomed

    def finish(self) -> None:
        self.done_round.acquire()
        self.stop = True
        self.wake.release()
        self.join(timeout=30)
        if self.error:
            raise self.error


def sort_key(row: dict, by_created: bool):
    return (tuple(-ord(c) for c in row["createdon"]), row["activityid"]) if by_created else row["activityid"]


@pytest.mark.parametrize("orderby", ["createdon desc", None], ids=["createdon desc", "primary key"])
def test_walk_every_page_while_rows_are_inserted_and_deleted(big, orderby):
    params = {"$select": "createdon,subject"}
    if orderby:
        params["$orderby"] = orderby
    start = requests.Request("GET", f"{big.url}{API}/{SET}", params=params).prepare().url
    mutator = Mutator(big.emulator, seed=len(orderby or ""))
    mutator.start()
    try:
        pages = walk(start, "odata.maxpagesize=7", mutator.after_page)
    finally:
        mutator.finish()
    rows = [row for page in pages for row in page]
    ids = [row["activityid"] for row in rows]

    assert mutator.rounds == len(pages) - 1 > 250  # inserts and deletes happened between every two pages
    assert all(len(page) == 7 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 7
    assert len(ids) == len(set(ids)), "a row appeared twice"
    survivors = set(mutator.original) - mutator.deleted
    assert survivors - set(ids) == set(), "a row that existed throughout went missing"
    assert set(ids) <= set(mutator.original) | set(mutator.inserted)
    keys = [sort_key(row, orderby is not None) for row in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # strictly in the requested order


def test_next_link_is_absolute_from_the_request_host_and_keeps_the_query(big):
    port = urlsplit(big.url).port
    params = {"$select": "subject", "$filter": "statecode eq 0", "$orderby": "createdon desc"}
    for host in ("localhost", "127.0.0.1"):
        body = get(f"http://{host}:{port}{API}/{SET}", "odata.maxpagesize=5", params=params).json()
        link = body["@odata.nextLink"]
        assert link.startswith(f"http://{host}:{port}{API}/{SET}?")
        query = parse_qs(urlsplit(link).query)
        assert {k: v[0] for k, v in query.items() if k != "$skiptoken"} == params
        token = query["$skiptoken"][0]
        assert token.startswith('<cookie pagenumber="2" pagingcookie="%253') and token.endswith(
            'istracking="False" />')


def test_skiptoken_tolerates_a_trailing_slash(big):
    first = get(f"{big.url}{API}/{SET}?$select=subject&$orderby=createdon desc", "odata.maxpagesize=4").json()
    link = first["@odata.nextLink"]
    expected = get(link, "odata.maxpagesize=4").json()
    assert len(expected["value"]) == 4
    for suffix in ("/", "%2F"):
        again = get(link + suffix, "odata.maxpagesize=4")
        assert again.status_code == 200, again.text
        assert [r["activityid"] for r in again.json()["value"]] == [r["activityid"] for r in expected["value"]]
        assert again.json()["@odata.nextLink"] == expected["@odata.nextLink"]


@pytest.mark.parametrize("token", ["garbage", "<cookie pagenumber=\"2\" />", "<cookie", "%3Cx"])
def test_a_bad_skiptoken_is_a_400(big, token):
    response = get(f"{big.url}{API}/{SET}", "odata.maxpagesize=4", params={"$skiptoken": token})
    assert response.status_code == 400
    assert "skiptoken" in response.json()["error"]["message"]


def test_a_skiptoken_from_another_ordering_is_a_400(big):
    link = get(f"{big.url}{API}/{SET}?$orderby=createdon desc", "odata.maxpagesize=4").json()["@odata.nextLink"]
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    response = get(f"{big.url}{API}/{SET}", "odata.maxpagesize=4", params={"$skiptoken": token})
    assert response.status_code == 400
    assert "sort keys" in response.json()["error"]["message"]


def test_preference_applied_is_echoed(big):
    url = f"{big.url}{API}/{SET}?$select=subject"
    assert get(url, "odata.maxpagesize=7").headers["Preference-Applied"] == "odata.maxpagesize=7"
    assert get(url, "odata.maxpagesize=9000").headers["Preference-Applied"] == "odata.maxpagesize=5000"
    both = get(url, 'odata.include-annotations="*",odata.maxpagesize=7').headers["Preference-Applied"]
    assert set(both.split(",")) == {'odata.include-annotations="*"', "odata.maxpagesize=7"}
    assert "Preference-Applied" not in get(url).headers
    assert get(url, "odata.maxpagesize=0").status_code == 400
    assert get(url, "odata.maxpagesize=abc").status_code == 400


def test_top_without_maxpagesize_caps_the_result(big):
    body = get(f"{big.url}{API}/{SET}?$select=subject&$top=10&$orderby=createdon desc").json()
    assert len(body["value"]) == 10 and "@odata.nextLink" not in body
    body = get(f"{big.url}{API}/{SET}?$select=subject&$top=0").json()
    assert body["value"] == [] and "@odata.nextLink" not in body
    total = len(all_ids(big.emulator))
    body = get(f"{big.url}{API}/{SET}?$select=subject&$top=4999").json()
    assert len(body["value"]) == total and "@odata.nextLink" not in body


def test_top_is_ignored_with_maxpagesize(big):
    """Microsoft's paging page: when both are sent, $top is ignored."""
    url = f"{big.url}{API}/{SET}?$select=subject&$top=10&$orderby=createdon desc"
    first = get(url, "odata.maxpagesize=3").json()
    assert len(first["value"]) == 3 and "@odata.nextLink" in first
    pages = walk(url, "odata.maxpagesize=500")
    ids = [r["activityid"] for page in pages for r in page]
    assert len(pages) > 1 and len(ids) == len(set(ids)) == len(all_ids(big.emulator))


def test_count_on_every_page_is_the_whole_result(big):
    total = len(all_ids(big.emulator))
    url = f"{big.url}{API}/{SET}?$select=subject&$count=true&$filter=statecode eq 0"
    with big.emulator.db.engine.connect() as conn:
        table = big.emulator.db.tables["msdyn_ocliveworkitem"]
        open_rows = conn.execute(sa.select(sa.func.count()).where(table.c.statecode == 0)).scalar_one()
    first = get(url, "odata.maxpagesize=50").json()
    assert first["@odata.count"] == open_rows < total
    assert list(first).index("@odata.count") < list(first).index("value")
    second = get(first["@odata.nextLink"], "odata.maxpagesize=50").json()
    assert second["@odata.count"] == open_rows


# -- more than 5000 rows --------------------------------------------------------------------------------------
LARGE = 5150


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """5150 conversations (bare rows inserted directly), 30 of them Waiting; read-only."""
    emulator = make_emulator(tmp_path_factory.mktemp("large") / "emulator.db", conversations=0)
    rng = random.Random(7)
    rows = []
    for i in range(LARGE):
        created = format_instant(NOW - timedelta(minutes=i))
        row = bare_row(str(uuid.UUID(int=rng.getrandbits(128), version=4)), created, i + 1)
        row["statuscode"] = 3 if i < 30 else 1
        rows.append(row)
    with emulator.db.engine.begin() as conn:
        conn.execute(emulator.db.tables["msdyn_ocliveworkitem"].insert(), rows)
    yield Client(create_app(emulator))
    emulator.db.dispose()


TOTALS = 'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,' \
         'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'


def test_count_is_capped_at_5000(large):
    body = large.get(f"{SET}?$select=subject&$count=true", headers={"Prefer": TOTALS}).get_json()
    assert body["@odata.count"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True
    assert len(body["value"]) == 5000 and "@odata.nextLink" in body  # default page size 5000


def test_count_below_the_cap_is_exact_and_limit_not_exceeded(large):
    body = large.get(f"{SET}?$select=subject&$count=true&$filter=statuscode eq 3",
                     headers={"Prefer": TOTALS + ",odata.maxpagesize=7"}).get_json()
    assert body["@odata.count"] == 30
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == 30
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    assert len(body["value"]) == 7


def test_totalrecordcount_without_count_is_minus_one(large):
    body = large.get(f"{SET}?$select=subject&$top=1", headers={"Prefer": TOTALS}).get_json()
    assert "@odata.count" not in body
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False


def test_no_annotations_without_the_preference(large):
    body = large.get(f"{SET}?$select=subject&$top=1&$count=true").get_json()
    assert not [k for k in body if k.startswith("@Microsoft.Dynamics.CRM.")]


def test_dollar_count_is_text_plain_and_capped(large):
    response = large.get(f"{SET}/$count")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.get_data(as_text=True) == "5000"
    filtered = large.get(f"{SET}/$count?$filter=statuscode eq 3")
    assert filtered.get_data(as_text=True) == "30"


def test_top_above_5000_continues_by_next_link(large):
    first = large.get(f"{SET}?$select=subject&$top=5100&$orderby=createdon desc").get_json()
    assert len(first["value"]) == 5000
    link = first["@odata.nextLink"]
    second = large.http.get(link, headers=AUTH).get_json()
    assert len(second["value"]) == 100 and "@odata.nextLink" not in second
    ids = [r["activityid"] for r in first["value"] + second["value"]]
    assert len(set(ids)) == 5100


def test_default_page_is_5000_and_the_walk_is_complete(large):
    first = large.get(f"{SET}?$select=subject").get_json()
    assert len(first["value"]) == 5000
    second = large.http.get(first["@odata.nextLink"], headers=AUTH).get_json()
    assert len(second["value"]) == LARGE - 5000 and "@odata.nextLink" not in second
    assert len({r["activityid"] for r in first["value"] + second["value"]}) == LARGE


# -- every kind of sort key pages exactly ---------------------------------------------------------------------
def walk_ids(client: Client, path: str, page_size: int) -> tuple[list[str], list[str]]:
    """(ids over every page, the pagenumber of each nextLink's cookie)."""
    response, ids, numbers = client.get(path, headers={"Prefer": f"odata.maxpagesize={page_size}"}), [], []
    for _ in range(1000):  # a cookie that fails to move on would loop forever
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        ids += [r["activityid"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        if not link:
            return ids, numbers
        numbers.append(parse_qs(urlsplit(link).query)["$skiptoken"][0].split('"')[1])
        response = client.http.get(link, headers={**AUTH, "Prefer": f"odata.maxpagesize={page_size}"})
    raise AssertionError(f"paging never ended: {len(ids)} rows so far")


@pytest.fixture(scope="module")
def seeded_client(seeded) -> Client:
    return Client(create_app(seeded))


@pytest.mark.parametrize("orderby", [
    "msdyn_closedon asc", "msdyn_closedon desc",  # many nulls: lowest, first ascending and last descending
    "_msdyn_activeagentid_value", "_msdyn_activeagentid_value desc,createdon",  # lookups: by primary name
    "_msdyn_customer_value", "_msdyn_lastsessionid_value desc",  # polymorphic; mostly-null lookup
    "msdyn_isabandoned desc,createdon", "msdyn_isabandoned",  # booleans
    "msdyn_firstresponsetimeinmsadjforoh desc", "msdyn_transfercount desc,activityid",  # decimals, integers
    "subject", "msdyn_title desc", "statuscode,msdyn_channel desc", "activityid desc", "createdon",
])
def test_every_kind_of_sort_key_pages_exactly(seeded_client, orderby):
    path = f"{SET}?$select=subject&$orderby={orderby}"
    everything = [r["activityid"] for r in seeded_client.values(path)]
    ids, numbers = walk_ids(seeded_client, path, 37)
    assert ids == everything and len(set(ids)) == len(ids) == 500
    assert numbers == [str(n) for n in range(2, len(numbers) + 2)]  # pagenumber 2, 3, 4, ...


AWKWARD = ['O\'Brian "quoted"', "<tag>&amp;", "100% sure_", "a/b?c=d&e", "Ünïcødé ✓", "plain", "PLAIN", "Plain",
           "", " leading space", "trailing space ", "%3C%253C", "__null__", "comma, separated", "semi;colon"]


def test_awkward_sort_values_survive_the_cookie(fresh):
    table = fresh.db.tables["msdyn_ocliveworkitem"]
    rows = [bare_row(str(uuid.UUID(int=i + 1)), format_instant(NOW), i + 1) for i in range(len(AWKWARD) + 2)]
    for row, title in zip(rows, AWKWARD + [None, None], strict=False):
        row["msdyn_title"] = title
    with fresh.db.engine.begin() as conn:
        conn.execute(table.insert(), rows)
    client = Client(create_app(fresh))
    for orderby in ("msdyn_title", "msdyn_title desc", "msdyn_title,createdon desc"):
        path = f"{SET}?$select=msdyn_title&$orderby={orderby}"
        everything = [r["activityid"] for r in client.values(path)]
        assert walk_ids(client, path, 1)[0] == everything and len(everything) == len(rows)
