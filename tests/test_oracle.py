"""The differential oracle: random valid $filter/$orderby/$select/$top (and paged) queries over the seeded data,
answered by the emulator and by tests/oracle.py's independent evaluator, must agree: the same rows in the same
order where $orderby fixes it (every order ends with the primary key), the same set of ids otherwise, and the
selected values of every row as plain SQL reads them. `make fuzz` runs the long version."""
from __future__ import annotations

import os
import random
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from emulator import metadata

from .oracle import Oracle, Query, report_section, sql_rows

QUERIES = int(os.environ.get("ORACLE_QUERIES", "300"))
SEED = int(os.environ.get("ORACLE_SEED", "20260115"))
REPORT = os.environ.get("FUZZ_REPORT")


@pytest.fixture(scope="module")
def oracles(seeded) -> dict[str, Oracle]:
    """Every entity set's rows, read once with plain SQL (never through the emulator's own query path)."""
    with seeded.db.engine.connect() as conn:
        return {table.entity_set: Oracle(table.entity_set, sql_rows(conn, seeded.db.tables[table.logical_name], table))
                for table in sorted(metadata.SHIPPED.tables, key=lambda t: t.entity_set)}


def emulator_answer(client, query: Query) -> list[dict]:
    headers = {"Prefer": f"odata.maxpagesize={query.page_size}"} if query.page_size else {}
    url, rows = query.url(), []
    for _ in range(1000):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{query.url()}: {response.get_data(as_text=True)[:400]}"
        body = response.get_json()
        rows.extend(body["value"])
        if "@odata.nextLink" not in body:
            return rows
        link = urlsplit(body["@odata.nextLink"])
        url = f"{link.path}?{link.query}"
    raise AssertionError(f"{query.url()}: more than 1000 pages")


def differences(oracle: Oracle, query: Query, got: list[dict]) -> list[str]:
    expected = oracle.answer(query)
    pk = oracle.pk
    problems = []
    got_ids, expected_ids = [r[pk] for r in got], [r[pk] for r in expected]
    if query.order:
        if got_ids != expected_ids:
            first = next((i for i, (a, b) in enumerate(zip(got_ids, expected_ids, strict=False)) if a != b),
                         min(len(got_ids), len(expected_ids)))
            problems.append(f"order/rows differ at position {first}: got {len(got_ids)} rows, expected "
                            f"{len(expected_ids)}")
    elif set(got_ids) != set(expected_ids) or len(got_ids) != len(expected_ids):
        problems.append(f"ids differ: {len(set(got_ids) - set(expected_ids))} extra, "
                        f"{len(set(expected_ids) - set(got_ids))} missing")
    by_id = {r[pk]: r for r in oracle.rows}
    wanted = set(query.select or oracle.types) | {pk}
    for row in got:
        keys = {k for k in row if not k.startswith("@")}
        if keys != wanted:
            problems.append(f"row {row[pk]} has properties {sorted(keys ^ wanted)} wrongly")
            break
        source = by_id.get(row[pk], {})
        wrong = [k for k in keys if source.get(k) != row[k]]
        if wrong:
            problems.append(f"row {row[pk]} values differ for {wrong}")
            break
    return problems


def run(client, oracles: dict[str, Oracle], count: int, seed: int) -> tuple[int, list[str], dict[str, int]]:
    rng = random.Random(seed)
    sets = sorted(oracles)
    weights = [8 if s == "msdyn_ocliveworkitems" else 1 for s in sets]  # the conversation table matters most
    failures, per_set = [], {s: 0 for s in sets}
    for _ in range(count):
        entity_set = rng.choices(sets, weights)[0]
        query = oracles[entity_set].random_query(rng)
        per_set[entity_set] += 1
        problems = differences(oracles[entity_set], query, emulator_answer(client, query))
        if problems:
            failures.append(f"{query.url()} (maxpagesize {query.page_size}): {'; '.join(problems)}")
    return count, failures, per_set


def test_emulator_agrees_with_the_independent_evaluator(client, oracles):
    compared, failures, per_set = run(client, oracles, QUERIES, SEED)
    if REPORT:
        lines = "\n".join(f"| {s} | {n} |" for s, n in per_set.items())
        report_section(Path(REPORT), "oracle", (
            f"Differential oracle: **{compared}** random valid queries ($filter with and/or/not, comparisons, "
            f"null, in, contains/startswith/endswith; $orderby of up to 3 columns; $select; $top; paging with "
            f"odata.maxpagesize), seed {SEED}, default data set (500 conversations). Differences: "
            f"**{len(failures)}**.\n\n| entity set | queries |\n|---|---:|\n{lines}\n"))
    assert not failures, "\n".join(failures[:20])


def test_oracle_is_not_vacuous(client, oracles):
    """The generated queries select real rows: most answers are non-empty and not the whole table."""
    rng = random.Random(SEED + 1)
    oracle = oracles["msdyn_ocliveworkitems"]
    sizes = [len(oracle.answer(q)) for q in (oracle.random_query(rng) for _ in range(200)) if q.filter]
    assert sum(0 < n < len(oracle.rows) for n in sizes) > len(sizes) / 3
