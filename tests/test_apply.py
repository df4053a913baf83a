"""$apply over real HTTP on SQLite and PostgreSQL: every grouping and aggregate checked against the same question
answered in Python over the rows read with plain SQL, the documented examples' shapes (query-extras.md §1), the
combinations with $orderby, $top and $count, the 50,000-row aggregate limit, and every error (400 for what
Dataverse refuses or cannot parse, a named 501 for valid OData the emulator does not emulate, never a 500)."""
from __future__ import annotations

from collections import Counter, defaultdict
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import metadata
from emulator.app import create_app

from .conftest import Client
from .test_batch import batch_body, request_part, responses, send

CONV = "msdyn_ocliveworkitems"
TABLE = metadata.table("msdyn_ocliveworkitem")
AGENT = "msdyn_activeagentid_msdyn_ocliveworkitem"  # navigation property of the lookup to systemuser
FORMATTED = "OData.Community.Display.V1.FormattedValue"
ANNOTATED = {"Prefer": f'odata.include-annotations="{FORMATTED}"'}
HANDLE = "msdyn_conversationhandletimeinseconds"  # Integer, with nulls
RESPONSE = "msdyn_firstresponsetimeinmsadjforoh"  # Decimal (2 places), with nulls


def get(client: Client, apply: str, extra: str = "", **kwargs):
    return client.get(f"{CONV}?$apply={quote(apply)}{extra}", **kwargs)


def values(client: Client, apply: str, extra: str = "", **kwargs) -> list[dict]:
    response = get(client, apply, extra, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["value"]


def error(response) -> tuple[int, str, str]:
    payload = response.get_json()
    return response.status_code, payload["error"]["code"], payload["error"]["message"]


def present(rows: list[dict], column: str) -> list:
    return [r[column] for r in rows if r[column] is not None]


def without_nulls(row: dict) -> dict:
    return {k: v for k, v in row.items() if v is not None}


def total(numbers) -> int | None:
    """SQL's SUM: None over no values."""
    numbers = [n for n in numbers if n is not None]
    return sum(numbers) if numbers else None


@pytest.fixture(scope="module")
def agents(seeded) -> dict[str, str]:
    """systemuser id -> fullname, read with plain SQL."""
    users = seeded.db.tables["systemuser"]
    with seeded.db.engine.connect() as conn:
        return {r.systemuserid: r.fullname for r in conn.execute(sa.select(users.c.systemuserid, users.c.fullname))}


# -- the documented examples' shapes ----------------------------------------------------------------------------

def test_groupby_lists_the_distinct_values_in_ascending_order(client, rows):
    response = get(client, "groupby((statuscode))", headers=ANNOTATED)
    body = response.get_json()
    assert response.status_code == 200
    assert body["@odata.context"].endswith(f"/api/data/v9.2/$metadata#{CONV}")  # no column list
    labels = TABLE.attribute("statuscode").option_set.label
    assert body["value"] == [{f"statuscode@{FORMATTED}": labels(code), "statuscode": code}
                             for code in sorted({r["statuscode"] for r in rows})]
    assert response.headers["Preference-Applied"] == f'odata.include-annotations="{FORMATTED}"'


def test_count_by_status_matches_the_rows(client, rows):
    counted = values(client, "groupby((statuscode),aggregate($count as count))", headers=ANNOTATED)
    expected = Counter(r["statuscode"] for r in rows)
    assert [(g["statuscode"], g["count"]) for g in counted] == sorted(expected.items())
    assert all(g[f"count@{FORMATTED}"] == str(g["count"]) for g in counted)  # counts format as plain digits
    assert all("@odata.etag" not in g and "activityid" not in g for g in counted)


def test_aggregate_without_groupby_is_one_row_of_every_method(client, rows):
    apply = (f"aggregate({HANDLE} with sum as total,{HANDLE} with average as mean,{HANDLE} with min as low,"
             f"{HANDLE} with max as high,{RESPONSE} with sum as responses,{RESPONSE} with average as meanresponse,"
             f"_msdyn_activeagentid_value with countdistinct as agents,createdon with max as lastCreate,"
             f"createdon with min as firstCreate,$count as n)")
    [row] = values(client, apply)
    handle, response = present(rows, HANDLE), present(rows, RESPONSE)
    assert row["total"] == sum(handle) and row["low"] == min(handle) and row["high"] == max(handle)
    assert row["mean"] == sum(handle) // len(handle)  # a whole-number column's average is whole
    assert row["responses"] == pytest.approx(round(sum(response), 2), abs=0.005)
    assert row["meanresponse"] == pytest.approx(sum(response) / len(response))
    assert row["agents"] == len(set(present(rows, "msdyn_activeagentid")))
    assert row["lastCreate"] == max(r["createdon"] for r in rows)  # ISO UTC text, as documented
    assert row["firstCreate"] == min(r["createdon"] for r in rows)
    assert row["n"] == len(rows)


def test_filter_then_groupby_and_aggregate(client, rows):
    grouped = values(client, f"filter(statecode eq 1 and {HANDLE} ne null)/groupby((prioritycode,statuscode),"
                             f"aggregate({HANDLE} with sum as total,$count as n))")
    expected: dict[tuple, list[int]] = defaultdict(list)
    for r in rows:
        if r["statecode"] == 1 and r[HANDLE] is not None:
            expected[(r["prioritycode"], r["statuscode"])].append(r[HANDLE])
    assert [((g["prioritycode"], g["statuscode"]), g["total"], g["n"]) for g in grouped] == \
        [(key, sum(v), len(v)) for key, v in sorted(expected.items())]


def test_groupby_a_related_column_through_a_lookup(client, rows, agents):
    """`groupby((primarycontactid/fullname),aggregate(...))` in the docs: the key is `<table>_<column>`; rows with
    an empty lookup form a group of their own with the key left out."""
    grouped = values(client, f"groupby(({AGENT}/fullname),aggregate({HANDLE} with sum as total,$count as n))")
    expected: dict[str | None, list] = defaultdict(list)
    for r in rows:
        expected[agents.get(r["msdyn_activeagentid"])].append(r[HANDLE])
    assert grouped[0] == without_nulls({"total": total(expected[None]), "n": len(expected[None])})
    named = sorted((k, v) for k, v in expected.items() if k is not None)
    assert [(g["systemuser_fullname"], g["n"]) for g in grouped[1:]] == [(k, len(v)) for k, v in named]
    assert [g.get("total") for g in grouped[1:]] == [total(v) for _, v in named]


def test_filter_then_groupby_a_related_column_alone(client, rows, agents):
    grouped = values(client, f"filter(statuscode eq 4)/groupby(({AGENT}/fullname))")
    names = {agents[r["msdyn_activeagentid"]] for r in rows if r["statuscode"] == 4 and r["msdyn_activeagentid"]}
    assert all(set(g) <= {"systemuser_fullname"} for g in grouped)  # the conversations with no agent: {}
    assert [g["systemuser_fullname"] for g in grouped if g] == sorted(names)


def test_groupby_a_lookup_serves_x_value_with_its_annotations(client, rows, agents):
    grouped = values(client, "groupby((_msdyn_activeagentid_value),aggregate($count as n))",
                     headers={"Prefer": 'odata.include-annotations="*"'})
    expected = Counter(r["msdyn_activeagentid"] for r in rows)
    assert grouped[0] == {"n@" + FORMATTED: str(expected[None]), "n": expected[None]}  # the empty lookup's group
    assert {g["_msdyn_activeagentid_value"]: g["n"] for g in grouped[1:]} == \
        {k: v for k, v in expected.items() if k is not None}
    for g in grouped[1:]:
        assert g[f"_msdyn_activeagentid_value@{FORMATTED}"] == agents[g["_msdyn_activeagentid_value"]]
        assert g["_msdyn_activeagentid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"


def test_groupby_a_polymorphic_lookup_knows_each_values_table(client, rows):
    grouped = values(client, "groupby((_msdyn_customer_value))",
                     headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'})
    expected = {r["msdyn_customer"]: r["msdyn_customer__target"] for r in rows}
    assert {g["_msdyn_customer_value"]: g["_msdyn_customer_value@Microsoft.Dynamics.CRM.lookuplogicalname"]
            for g in grouped} == expected
    assert all(len(g) == 2 for g in grouped)  # the hidden target column is not served


def test_several_groups_are_the_distinct_combinations_with_nulls_left_out(client, rows):
    grouped = values(client, f"groupby((statecode,{HANDLE}))")
    expected = sorted({(r["statecode"], r[HANDLE]) for r in rows}, key=lambda k: (k[0], k[1] is not None, k[1]))
    assert [(g["statecode"], g.get(HANDLE)) for g in grouped] == expected  # nulls sort first, as Dataverse's
    assert all(HANDLE not in g for g in grouped if g.get(HANDLE) is None)


def test_a_polymorphic_lookups_navigation_reaches_its_own_table_only(client, rows):
    """`msdyn_customer` holds accounts and contacts: through its account navigation, a contact is no account."""
    grouped = values(client, "groupby((msdyn_customer_msdyn_ocliveworkitem_account/name),aggregate($count as n))")
    accounts = [r for r in rows if r["msdyn_customer__target"] == "account"]
    assert grouped[0] == {"n": len(rows) - len(accounts)}
    assert sum(g["n"] for g in grouped[1:]) == len(accounts) and all("account_name" in g for g in grouped[1:])


def test_grouping_by_a_related_choice_formats_its_label(client, seeded, rows):
    streams = seeded.db.tables["msdyn_liveworkstream"]
    with seeded.db.engine.connect() as conn:
        source = dict(conn.execute(sa.select(streams.c.msdyn_liveworkstreamid, streams.c.msdyn_streamsource)).all())
    grouped = values(client, "groupby((msdyn_liveworkstreamid_msdyn_ocliveworkitem/msdyn_streamsource),"
                             "aggregate($count as n))", headers=ANNOTATED)
    expected = Counter(source[r["msdyn_liveworkstreamid"]] for r in rows)
    key = "msdyn_liveworkstream_msdyn_streamsource"
    assert [(g[key], g["n"]) for g in grouped] == sorted(expected.items())
    labels = metadata.table("msdyn_liveworkstream").attribute("msdyn_streamsource").option_set.label
    assert all(g[f"{key}@{FORMATTED}"] == labels(g[key]) for g in grouped)


def test_aggregating_a_related_column(client, seeded, rows):
    streams = seeded.db.tables["msdyn_liveworkstream"]
    with seeded.db.engine.connect() as conn:
        capacity = dict(conn.execute(sa.select(streams.c.msdyn_liveworkstreamid,
                                               streams.c.msdyn_capacityrequired)).all())
    [row] = values(client, "aggregate(msdyn_liveworkstreamid_msdyn_ocliveworkitem/msdyn_capacityrequired "
                           "with sum as capacity)")
    assert row["capacity"] == sum(capacity[r["msdyn_liveworkstreamid"]] or 0 for r in rows)


def test_empty_input(client):
    assert values(client, "filter(statuscode eq 99)/groupby((statuscode),aggregate($count as n))") == []
    assert values(client, f"filter(statuscode eq 99)/aggregate($count as n,{HANDLE} with sum as total)") == \
        [{"n": 0}]  # a null aggregate is left out, as a null group value is


def test_formatted_values_of_aggregates(client, rows):
    [row] = values(client, f"aggregate({RESPONSE} with sum as total,{HANDLE} with average as mean,"
                           f"createdon with max as last)", headers=ANNOTATED)
    assert row[f"total@{FORMATTED}"] == f"{row['total']:,.2f}"
    assert row[f"mean@{FORMATTED}"] == f"{row['mean']:,}"
    last = row["last"]  # 2026-01-15T11:02:41Z -> 1/15/2026 11:02 AM
    assert row[f"last@{FORMATTED}"].startswith(f"{int(last[5:7])}/{int(last[8:10])}/{last[:4]} ")


# -- with other options -----------------------------------------------------------------------------------------

def test_orderby_a_group_property_top_and_count(client, rows, agents):
    response = get(client, f"groupby(({AGENT}/fullname,statuscode),aggregate($count as n))",
                   f"&$orderby={AGENT}/fullname desc,statuscode desc&$top=4&$count=true")
    body = response.get_json()
    expected = sorted({(agents[r["msdyn_activeagentid"]], r["statuscode"]) for r in rows
                       if r["msdyn_activeagentid"]}, reverse=True)
    assert [(g["systemuser_fullname"], g["statuscode"]) for g in body["value"]] == expected[:4]
    groups = {(r["msdyn_activeagentid"], r["statuscode"]) for r in rows}
    assert body["@odata.count"] == len({(agents.get(a), s) for a, s in groups})
    assert "@odata.nextLink" not in body


def test_orderby_one_group_property_keeps_the_others_ascending(client, rows):
    grouped = values(client, "groupby((statecode,statuscode))", "&$orderby=statecode desc")
    assert [(g["statecode"], g["statuscode"]) for g in grouped] == \
        sorted({(r["statecode"], r["statuscode"]) for r in rows}, key=lambda k: (-k[0], k[1]))


def test_all_groups_come_in_one_page_whatever_the_page_size(client, rows):
    response = get(client, "groupby((_ownerid_value))", headers={"Prefer": "odata.maxpagesize=2"})
    assert len(response.get_json()["value"]) == len({r["ownerid"] for r in rows})
    assert "@odata.nextLink" not in response.get_json()
    assert "Preference-Applied" not in response.headers  # the page size was not applied


def test_filter_alone_filters_the_rows_as_filter_does(client):
    both = client.values(f"{CONV}?$apply=filter(statuscode eq 4)&$filter=prioritycode eq 2&$select=subject")
    plain = client.values(f"{CONV}?$filter=statuscode eq 4 and prioritycode eq 2&$select=subject")
    assert both == plain and plain
    assert client.values(f"{CONV}?$apply=filter(statuscode eq 1)/filter(prioritycode eq 0)&$select=subject") == \
        client.values(f"{CONV}?$filter=statuscode eq 1 and prioritycode eq 0&$select=subject")


def test_count_path_counts_the_groups(client, rows):
    response = client.get(f"{CONV}/$count?$apply={quote('groupby((statuscode,prioritycode))')}")
    assert response.status_code == 200
    assert int(response.get_data(as_text=True)) == len({(r["statuscode"], r["prioritycode"]) for r in rows})


def test_parameter_aliases_in_filter(client, rows):
    [row] = values(client, "filter(statuscode eq @s)/aggregate($count as n)", "&@s=4")
    assert row["n"] == sum(r["statuscode"] == 4 for r in rows)


def test_inside_a_batch(client, rows):
    apply = quote("groupby((statecode),aggregate($count as n))")
    answered = responses(send(client, batch_body(request_part("GET", f"/api/data/v9.2/{CONV}?$apply={apply}"))))
    [(status, text)] = answered
    counts = Counter(r["statecode"] for r in rows)
    assert status == 200
    assert all(f'{{"statecode":{state},"n":{n}}}' in text for state, n in counts.items())


# -- the 50,000-row aggregate limit -----------------------------------------------------------------------------

def add_conversations(emulator, first: int, last: int, statuscode: int = 1) -> None:
    """Rows first..last (only what a count needs) with one INSERT ... SELECT over a recursive CTE."""
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    numbers = sa.select(sa.literal(first).label("i")).cte("numbers", recursive=True)
    numbers = numbers.union_all(sa.select((numbers.c.i + 1).label("i")).where(numbers.c.i < last))
    rows = sa.select(sa.cast(numbers.c.i, sa.String(36)), sa.literal("bulk"), sa.literal(0),
                     sa.literal(statuscode), sa.literal(1))
    with emulator.db.engine.begin() as conn:
        conn.execute(table.insert().from_select(["activityid", "subject", "statecode", "statuscode",
                                                 "versionnumber"], rows))


def test_more_than_50000_rows_entering_an_aggregate_is_dataverses_error(fresh):
    client = Client(create_app(fresh))
    add_conversations(fresh, 1, 50000)
    assert values(client, "aggregate($count as n)") == [{"n": 50000}]
    add_conversations(fresh, 50001, 50001, statuscode=2)
    for response in (get(client, "aggregate($count as n)"), get(client, "groupby((statuscode))"),
                     client.get(f"{CONV}/$count?$apply=groupby((statuscode))")):
        status, code, message = error(response)
        assert (status, code) == (400, "0x8004e023")
        assert message == "AggregateQueryRecordLimit exceeded. Cannot perform this operation."
    # the documented way out: a narrower filter; and rows that are not aggregated have no such limit
    assert values(client, "filter(statuscode eq 1)/aggregate($count as n)") == [{"n": 50000}]
    response = client.get(f"{CONV}?$apply=filter(statecode eq 0)&$select=subject&$count=true")
    assert response.status_code == 200 and response.get_json()["@odata.count"] == 5000


# -- errors -----------------------------------------------------------------------------------------------------

NOT_EMULATED = [
    ("topcount(3,msdyn_transfercount)", "", "topcount"),
    ("compute(msdyn_transfercount add 1 as x)", "", "compute"),
    ("concat(identity,aggregate($count as n))", "", "concat"),
    ("groupby((statuscode),topcount(1,msdyn_transfercount))", "", "topcount"),
    ("groupby((rollup(statecode,statuscode)))", "", "rollup"),
    ("groupby((statuscode))/filter(statuscode eq 1)", "", "after groupby"),
    ("aggregate($count as n)/aggregate(n with sum as m)", "", "after groupby"),
    ("groupby((msdyn_activeagentid_msdyn_ocliveworkitem))", "", "navigation property"),
    (f"groupby(({AGENT}/createdby/fullname))", "", "more than one navigation"),
    ("groupby((ownerid_msdyn_ocliveworkitem/fullname))", "", "several tables"),
    ("groupby((msdyn_liveworkitemid_msdyn_ocsession/subject))", "", "collection-valued"),
    ("groupby((statuscode),filter(statuscode eq 1))", "", "filter"),
    ("groupby((statuscode),aggregate($count as n)/aggregate(n with sum as m))", "", "more than one"),
    (f"aggregate({HANDLE} with sum from statuscode as x)", "", "from"),
    ("groupby((statuscode))", "&$filter=statuscode eq 1", "$filter"),
    ("groupby((statuscode))", "&$select=statuscode", "$select"),
    ("aggregate($count as n)", f"&$expand={AGENT}($select=fullname)", "$expand"),
]


@pytest.mark.parametrize("apply,extra,what", NOT_EMULATED, ids=[f"{a}{e}" for a, e, _ in NOT_EMULATED])
def test_valid_odata_not_emulated_is_a_named_501(client, apply, extra, what):
    status, code, message = error(get(client, apply, extra))
    assert (status, code) == (501, "0x8004d101")
    assert what in message and "not implement" in message


DATAVERSE_REFUSES = [
    ("groupby((createdon))", "", "0x80060888", "groupby with datetime values is not supported"),
    ("groupby((statuscode),aggregate($count as n))", "&$orderby=n", "0x80060888",
     "The query node SingleValueOpenPropertyAccess is not supported."),
    ("groupby((statuscode))", "&$orderby=prioritycode", "0x80060888", "SingleValueOpenPropertyAccess"),
    ("aggregate(subject with sum as s)", "", "0x80060888", "'sum' cannot be applied to the property 'subject'"),
    ("aggregate(msdyn_isabandoned with average as s)", "", "0x80060888", "'average' cannot be applied"),
    ("aggregate(subject with max as s)", "", "0x80060888", "'max' cannot be applied"),
    ("aggregate(msdyn_transfercount with count as s)", "", "0x80060888", "method 'count' is not supported"),
    ("aggregate(msdyn_transfercount with sum as statuscode)", "", "0x80060888", "alias 'statuscode'"),
    ("aggregate(msdyn_transfercount with sum as n,msdyn_transfercount with max as n)", "", "0x80060888",
     "'n' is used more than once"),
    ("groupby((_ownerid_value),aggregate($count as ownerid__target))", "", "0x80060888", "more than once"),
    ("aggregate(msdyn_transfercount with sum as 1x)", "", "0x80060888", "not a valid alias"),
    ("aggregate(msdyn_transfercount)", "", "0x80060888", "Syntax error"),
    ("groupby(statuscode)", "", "0x80060888", "in parentheses"),
    ("groupby((statuscode,statuscode))", "", "0x80060888", "more than once"),
    ("groupby((statuscode),aggregate($count as n),aggregate($count as m))", "", "0x80060888", "Syntax error"),
    ("groupby((statuscode),frobnicate(1))", "", "0x80060888", "not a valid $apply transformation inside groupby"),
    ("groupby(())", "", "0x80060888", "empty property"),
    ("groupby((statuscode)", "", "0x80060888", "unbalanced"),
    ("frobnicate(1)", "", "0x80060888", "'frobnicate' is not a valid $apply transformation"),
    ("statuscode eq 1", "", "0x80060888", "is not a transformation"),
    ("filter(statuscode eq)", "", "0x80060888", "Syntax error"),
    ("filter(statuscode eq '1')", "", "0x80060888", "incompatible types"),
    ("filter(subject eq 'x)", "", "0x80060888", "unbalanced"),
    ("groupby((nosuchcolumn))", "", "0x0", "Could not find a property named 'nosuchcolumn'"),
    (f"groupby(({AGENT}/nosuchcolumn))", "", "0x0", "Could not find a property named 'nosuchcolumn'"),
    ("aggregate(nosuchcolumn with sum as s)", "", "0x0", "Could not find a property named 'nosuchcolumn'"),
    ("groupby((statuscode))", "&$skiptoken=x", "0x80060888", "one page"),
]


@pytest.mark.parametrize("apply,extra,code,message", DATAVERSE_REFUSES,
                         ids=[f"{a}{e}" for a, e, _, _ in DATAVERSE_REFUSES])
def test_what_dataverse_refuses_is_a_400(client, apply, extra, code, message):
    status, got_code, got_message = error(get(client, apply, extra))
    assert (status, got_code) == (400, code)
    assert message in got_message


def test_apply_on_a_single_record_is_a_400(client, rows):
    response = client.get(f"{CONV}({rows[0]['activityid']})?$apply={quote('aggregate($count as n)')}")
    assert error(response)[:2] == (400, "0x80060888")


PIECES = ["filter(", "groupby(", "aggregate(", "(", ")", "((", "))", ",", "/", " with ", " as ", "$count",
          "sum", "average", "countdistinct", "statuscode", HANDLE, f"{AGENT}/fullname", "_ownerid_value", "'",
          " eq 1", "n", "topcount(", "createdon", " from "]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join))
def test_any_apply_text_is_answered_never_a_500(client, text):
    assert get(client, text).status_code in (200, 400, 501)


# -- differential: random groupings and aggregates against Python ---------------------------------------------

GROUPS = {  # group path -> (JSON key, the value of a row)
    "statuscode": ("statuscode", lambda r, names: r["statuscode"]),
    "prioritycode": ("prioritycode", lambda r, names: r["prioritycode"]),
    "msdyn_transfercount": ("msdyn_transfercount", lambda r, names: r["msdyn_transfercount"]),
    "msdyn_customersentimentlabel": ("msdyn_customersentimentlabel",
                                     lambda r, names: r["msdyn_customersentimentlabel"]),
    "_msdyn_activeagentid_value": ("_msdyn_activeagentid_value", lambda r, names: r["msdyn_activeagentid"]),
    f"{AGENT}/fullname": ("systemuser_fullname", lambda r, names: names.get(r["msdyn_activeagentid"])),
}
MEASURES = [HANDLE, RESPONSE, "msdyn_conversationtalktimeinseconds", "msdyn_transfercount"]
FILTERS = {  # filter() text -> the same condition in Python
    "statecode eq 1": lambda r: r["statecode"] == 1,
    "prioritycode ne 0 and msdyn_transfercount gt 0": lambda r: r["prioritycode"] != 0 and
    r["msdyn_transfercount"] > 0,
    f"{HANDLE} ge 1000 or statuscode eq 2": lambda r: (r[HANDLE] is not None and r[HANDLE] >= 1000) or
    r["statuscode"] == 2,
}


def aggregate_of(method: str, numbers: list):
    numbers = [n for n in numbers if n is not None]
    if method == "countdistinct":
        return len(set(numbers))
    if not numbers:
        return None
    if method == "average" and all(isinstance(n, int) for n in numbers):
        return sum(numbers) // len(numbers)  # whole-number columns average whole (the values are not negative)
    return {"sum": sum, "min": min, "max": max, "average": lambda v: sum(v) / len(v)}[method](numbers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.lists(st.sampled_from(sorted(GROUPS)), max_size=2, unique=True),
       measures=st.lists(st.tuples(st.sampled_from(MEASURES),
                                   st.sampled_from(["sum", "average", "min", "max", "countdistinct"])),
                         min_size=0, max_size=3, unique=True),
       condition=st.one_of(st.none(), st.sampled_from(sorted(FILTERS))))
def test_random_groupings_agree_with_python(client, rows, agents, groups, measures, condition):
    aggregates = [f"{column} with {method} as a{i}" for i, (column, method) in enumerate(measures)]
    if not aggregates and not groups:
        aggregates = ["$count as a0"]
    parts = [f"groupby(({','.join(groups)}){',aggregate(' + ','.join(aggregates) + ')' if aggregates else ''})"
             if groups else f"aggregate({','.join(aggregates)})"]
    if condition:
        parts.insert(0, f"filter({condition})")
    served = values(client, "/".join(parts))
    chosen = [r for r in rows if condition is None or FILTERS[condition](r)]
    buckets: dict[tuple, list[dict]] = defaultdict(list)
    for r in chosen:
        buckets[tuple(GROUPS[g][1](r, agents) for g in groups)].append(r)
    if not groups:
        buckets.setdefault((), [])
    expected = []
    for key in sorted(buckets, key=lambda k: [(v is not None, v) for v in k]):  # nulls first, as served
        row = {GROUPS[g][0]: v for g, v in zip(groups, key, strict=True) if v is not None}
        for i, (column, method) in enumerate(measures):
            row[f"a{i}"] = aggregate_of(method, [r[column] for r in buckets[key]])
        if not measures and not groups:
            row["a0"] = len(buckets[key])
        expected.append(without_nulls(row))
    assert len(served) == len(expected)
    for got, want in zip(served, expected, strict=True):
        assert got.keys() == want.keys()
        for name, value in want.items():
            assert got[name] == (pytest.approx(value, abs=0.01) if isinstance(value, float) else value), name
