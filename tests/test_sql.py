"""`?sql=`: the Web API's read-only SELECT subset (the official Python SDK's `client.query.sql`). Each accepted query
is checked against the OData query that asks the same question (the Learn page's own comparison); each construct
outside the subset against its named refusal."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from emulator.clock import format_instant

from .test_real_clients_read import https_url, sdk  # noqa: F401  (fixtures)

CONV = "msdyn_ocliveworkitems"


def sql(client, text: str, entity_set: str = CONV, headers: dict | None = None):
    return client.get(f"{entity_set}?sql={quote(text, safe='')}", headers=headers or {})


def rows(client, text: str, entity_set: str = CONV) -> list[dict]:
    response = sql(client, text, entity_set)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["value"]


def strip(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.startswith("@") and v is not None} for r in records]


# (SQL, the OData options asking the same question); both order by a unique key so the lists must be equal.
SAME_QUESTION = [
    ("SELECT subject, statuscode FROM msdyn_ocliveworkitem WHERE statuscode = 2 ORDER BY createdon DESC, activityid",
     "$select=subject,statuscode&$filter=statuscode eq 2&$orderby=createdon desc,activityid"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE subject LIKE 'a%' ORDER BY activityid",
     "$select=subject&$filter=startswith(subject,'a')&$orderby=activityid"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE subject NOT LIKE '%e%' ORDER BY activityid",
     "$select=subject&$filter=not contains(subject,'e')&$orderby=activityid"),
    ("SELECT statuscode FROM msdyn_ocliveworkitem WHERE statuscode IN (1, 4) ORDER BY activityid",
     "$select=statuscode&$filter=statuscode eq 1 or statuscode eq 4&$orderby=activityid"),
    ("SELECT statuscode FROM msdyn_ocliveworkitem WHERE statuscode NOT IN (1, 4) ORDER BY activityid",
     "$select=statuscode&$filter=statuscode ne 1 and statuscode ne 4&$orderby=activityid"),
    ("SELECT msdyn_transfercount FROM msdyn_ocliveworkitem WHERE msdyn_transfercount BETWEEN 1 AND 2 "
     "ORDER BY activityid",
     "$select=msdyn_transfercount&$filter=msdyn_transfercount ge 1 and msdyn_transfercount le 2&$orderby=activityid"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid IS NULL ORDER BY activityid",
     "$select=subject&$filter=_msdyn_activeagentid_value eq null&$orderby=activityid"),
    ("SELECT msdyn_activeagentid FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid IS NOT NULL AND "
     "(statuscode = 2 OR statuscode <> 4 AND 3 < statuscode) ORDER BY activityid",
     "$select=_msdyn_activeagentid_value&$filter=_msdyn_activeagentid_value ne null and "
     "(statuscode eq 2 or statuscode ne 4 and statuscode gt 3)&$orderby=activityid"),
    ("SELECT TOP 5 subject FROM msdyn_ocliveworkitem ORDER BY createdon, activityid",
     "$select=subject&$top=5&$orderby=createdon,activityid"),
    ("select Subject from MSDYN_OCLIVEWORKITEM c where c.StatusCode >= 3 order by c.ActivityId desc",
     "$select=subject&$filter=statuscode ge 3&$orderby=activityid desc"),
]


@pytest.mark.parametrize("text,options", SAME_QUESTION, ids=range(len(SAME_QUESTION)))
def test_sql_answers_what_the_same_odata_query_answers(client, text, options):
    expected = client.values(f"{CONV}?{options}")
    assert expected, "the question must have answers in the seeded data"
    assert strip(rows(client, text)) == strip(expected)


def test_rows_carry_etag_and_key_and_the_context_names_the_columns(client):
    response = sql(client, "SELECT TOP 2 subject FROM msdyn_ocliveworkitem ORDER BY activityid")
    body = response.get_json()
    assert body["@odata.context"].endswith("$metadata#msdyn_ocliveworkitems(subject)")
    first = body["value"][0]
    assert list(first)[:1] == ["@odata.etag"] and first["@odata.etag"].startswith('W/"')
    assert set(first) == {"@odata.etag", "subject", "activityid"}


def test_dates_computed_with_the_emulators_clock(seeded, client):
    since = seeded.clock.now() - timedelta(days=3)
    got = rows(client, "SELECT subject FROM msdyn_ocliveworkitem WHERE createdon > DATEADD(day, -3, GETUTCDATE()) "
                       "ORDER BY activityid")
    expected = client.values(f"{CONV}?$select=subject&$filter=createdon gt {format_instant(since)}"
                             f"&$orderby=activityid")
    assert strip(got) == strip(expected)


def test_aliases_name_the_values(client):
    got = rows(client, "SELECT TOP 3 subject AS title FROM msdyn_ocliveworkitem ORDER BY title")
    expected = client.values(f"{CONV}?$select=subject&$orderby=subject&$top=3")
    assert [r["title"] for r in got] == [r["subject"] for r in expected]


def test_inner_and_left_join(client):
    joined = rows(client, "SELECT c.subject, a.fullname FROM msdyn_ocliveworkitem AS c INNER JOIN systemuser AS a "
                          "ON a.systemuserid = c.msdyn_activeagentid WHERE c.statuscode = 2 ORDER BY c.activityid")
    expected = client.values(f"{CONV}?$select=subject&$filter=statuscode eq 2 and _msdyn_activeagentid_value ne null"
                             f"&$expand=msdyn_activeagentid_msdyn_ocliveworkitem($select=fullname)"
                             f"&$orderby=activityid")
    assert [(r["subject"], r["a.fullname"]) for r in joined] == \
        [(r["subject"], r["msdyn_activeagentid_msdyn_ocliveworkitem"]["fullname"]) for r in expected]
    outer = rows(client, "SELECT c.activityid, a.fullname FROM msdyn_ocliveworkitem c LEFT JOIN systemuser a "
                         "ON a.systemuserid = c.msdyn_activeagentid ORDER BY c.activityid")
    assert len(outer) == len(client.values(f"{CONV}?$select=activityid"))
    assert any("a.fullname" not in r for r in outer) and any("a.fullname" in r for r in outer)
    filtered = rows(client, "SELECT c.activityid FROM msdyn_ocliveworkitem c INNER JOIN systemuser a "
                            "ON a.systemuserid = c.msdyn_activeagentid AND a.fullname LIKE 'z%'")
    assert len(filtered) < len(joined) or not filtered


def test_aggregates_and_group_by(client):
    groups = rows(client, "SELECT statuscode, COUNT(*) AS n FROM msdyn_ocliveworkitem GROUP BY statuscode "
                          "ORDER BY statuscode")
    expected = client.values(f"{CONV}?$apply=groupby((statuscode),aggregate($count as n))&$orderby=statuscode")
    assert [(g["statuscode"], g["n"]) for g in groups] == sorted((e["statuscode"], e["n"]) for e in expected)
    [total] = rows(client, "SELECT COUNT(*) AS total, MAX(msdyn_transfercount) AS most, "
                           "COUNT(DISTINCT statuscode) AS kinds FROM msdyn_ocliveworkitem")
    all_rows = client.values(f"{CONV}?$select=msdyn_transfercount,statuscode")
    assert total["total"] == len(all_rows)
    assert total["most"] == max(r["msdyn_transfercount"] or 0 for r in all_rows)
    assert total["kinds"] == len({r["statuscode"] for r in all_rows})


def test_equals_null_matches_nothing(client):
    assert rows(client, "SELECT subject FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid = NULL") == []


def test_pages_with_maxpagesize_and_next_links(client):
    text = "SELECT subject FROM msdyn_ocliveworkitem WHERE statuscode = 2 ORDER BY createdon DESC, activityid"
    expected = client.values(f"{CONV}?$select=subject&$filter=statuscode eq 2&$orderby=createdon desc,activityid")
    response = sql(client, text, headers={"Prefer": "odata.maxpagesize=7"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=7"
    seen, pages = [], 0
    while True:
        body = response.get_json()
        assert len(body["value"]) <= 7
        seen += body["value"]
        pages += 1
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert "sql=" in link and "$skiptoken=" in link
        response = client.get(link[link.index("/api/"):], headers={"Prefer": "odata.maxpagesize=7"})
        assert response.status_code == 200, response.get_json()
    assert pages > 1 and strip(seen) == strip(expected)


@pytest.mark.parametrize("text,named", [
    ("SELECT * FROM msdyn_ocliveworkitem", "SELECT *"),
    ("SELECT subject FROM msdyn_ocliveworkitem UNION SELECT subject FROM msdyn_ocliveworkitem", "UNION"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE activityid IN (SELECT activityid FROM msdyn_ocliveworkitem)",
     "subqueries"),
    ("SELECT statuscode, COUNT(*) AS n FROM msdyn_ocliveworkitem GROUP BY statuscode HAVING COUNT(*) > 1", "HAVING"),
    ("WITH x AS (SELECT subject FROM msdyn_ocliveworkitem) SELECT subject FROM x", "WITH"),
    ("SELECT c.subject FROM msdyn_ocliveworkitem c RIGHT JOIN systemuser a ON a.systemuserid = "
     "c.msdyn_activeagentid", "RIGHT"),
    ("SELECT c.subject FROM msdyn_ocliveworkitem c CROSS JOIN systemuser a", "CROSS"),
    ("SELECT subject FROM msdyn_ocliveworkitem ORDER BY activityid OFFSET 5 ROWS FETCH NEXT 5 ROWS ONLY", "OFFSET"),
    ("DELETE FROM msdyn_ocliveworkitem", "SELECT"),
    ("SELECT subject FROM msdyn_ocliveworkitem; SELECT subject FROM msdyn_ocliveworkitem", "one SELECT"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE subject = description", "column compared with a column"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE LEN(subject) > 3", "column"),
    ("SELECT UPPER(subject) FROM msdyn_ocliveworkitem", "select list"),
    ("SELECT subject FROM msdyn_ocliveworkitem ORDER BY LEN(subject)", "ORDER BY"),
    ("SELECT subject, COUNT(*) AS n FROM msdyn_ocliveworkitem", "GROUP BY"),
    ("SELECT CASE WHEN statuscode = 1 THEN 'a' END FROM msdyn_ocliveworkitem", "CASE"),
    ("SELECT TOP 6000 subject FROM msdyn_ocliveworkitem", "TOP"),
    ("SELECT subject FROM msdyn_ocliveworkitem WHERE EXISTS (SELECT 1 FROM systemuser)", "EXISTS"),
])
def test_outside_the_subset_is_refused_by_name(client, text, named):
    response = sql(client, text)
    assert response.status_code == 400, response.get_json()
    message = response.get_json()["error"]["message"]
    assert named in message


@pytest.mark.parametrize("text,entity_set,named", [
    ("SELECT nosuchcolumn FROM msdyn_ocliveworkitem", CONV, "nosuchcolumn"),
    ("SELECT name FROM account", CONV, "'account'"),
    ("SELECT subject FROM msdyn_ocliveworkitem c INNER JOIN nosuchtable n ON n.id = c.activityid", CONV,
     "nosuchtable"),
    ("SELECT x.subject FROM msdyn_ocliveworkitem c", CONV, "'x'"),
    ("SELEC subject FRM msdyn_ocliveworkitem", CONV, "parsed"),
])
def test_bad_sql_gets_a_clear_400(client, text, entity_set, named):
    response = sql(client, text, entity_set)
    assert response.status_code == 400, response.get_json()
    assert named in response.get_json()["error"]["message"]


def test_sql_is_a_whole_query_on_a_collection(client):
    combined = client.get(f"{CONV}?sql={quote('SELECT subject FROM msdyn_ocliveworkitem')}&$top=1")
    assert combined.status_code == 400 and "$top" in combined.get_json()["error"]["message"]
    [first] = client.values(f"{CONV}?$select=activityid&$top=1")
    single = client.get(f"{CONV}({first['activityid']})?sql={quote('SELECT subject FROM msdyn_ocliveworkitem')}")
    assert single.status_code == 400 and "entity set" in single.get_json()["error"]["message"]


def test_the_official_python_sdk_runs_sql_unchanged(sdk, client):  # noqa: F811  (the fixture)
    text = "SELECT subject, statuscode FROM msdyn_ocliveworkitem WHERE statuscode = 2 ORDER BY createdon DESC"
    records = sdk.query.sql(text)
    expected = client.values(f"{CONV}?$select=subject,statuscode&$filter=statuscode eq 2&$orderby=createdon desc")
    assert [r["activityid"] for r in records] == [r["activityid"] for r in expected]
    frame = sdk.dataframe.sql("SELECT TOP 4 subject FROM msdyn_ocliveworkitem ORDER BY activityid")
    assert list(frame["subject"]) == [r["subject"] for r in
                                      client.values(f"{CONV}?$select=subject&$orderby=activityid&$top=4")]
