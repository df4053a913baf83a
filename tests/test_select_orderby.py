"""$select shapes, $orderby (several keys, asc/desc, ties, nulls, lookups, choices) and $top."""
from collections import Counter

import pytest

SET = "msdyn_ocliveworkitems"




def test_select_returns_exactly_the_columns_etag_and_key(client):
    body = client.get(f"{SET}?$select=subject,statuscode,_msdyn_activeagentid_value,createdon&$top=3").get_json()
    assert body["@odata.context"].endswith(
        "$metadata#msdyn_ocliveworkitems(subject,statuscode,_msdyn_activeagentid_value,createdon)")
    for row in body["value"]:
        assert list(row) == ["@odata.etag", "subject", "statuscode", "_msdyn_activeagentid_value", "createdon",
                             "activityid"]
        assert row["createdon"].endswith("Z") and len(row["createdon"]) == 20


def test_no_select_returns_every_column_and_a_plain_context(client, seeded):
    body = client.get(f"{SET}?$top=1").get_json()
    assert body["@odata.context"].endswith("$metadata#msdyn_ocliveworkitems")
    row = body["value"][0]
    table = seeded.db.tables["msdyn_ocliveworkitem"]
    from emulator import metadata
    expected = {a.property_name for a in metadata.by_entity_set(SET).attributes} | {"@odata.etag"}
    assert set(row) == expected
    assert "msdyn_activeagentid" not in row and "_msdyn_activeagentid_value" in row
    assert all(not k.endswith("__target") for k in row)
    assert len(table.c) > len(expected) - 1  # hidden polymorphic target columns are not exposed


def test_value_shapes(client, rows):
    row = client.values(f"{SET}?$filter=msdyn_isoutbound eq true&$top=1")[0]
    assert row["msdyn_isoutbound"] is True
    assert isinstance(row["statuscode"], int)
    assert isinstance(row["msdyn_channel"], str) and row["msdyn_channel"].isdigit()
    assert row["activityid"] == row["activityid"].lower()
    assert row["@odata.etag"] == f'W/"{row["versionnumber"]}"'


def test_select_is_deduplicated_and_key_not_repeated(client):
    row = client.values(f"{SET}?$select=subject,subject,activityid&$top=1")[0]
    assert list(row) == ["@odata.etag", "subject", "activityid"]


def test_single_record_with_select(client, rows):
    target = rows[7]
    body = client.get(f"{SET}({target['activityid'].upper()})?$select=subject,statuscode").get_json()
    assert body["@odata.context"].endswith("$metadata#msdyn_ocliveworkitems(subject,statuscode)/$entity")
    assert body["subject"] == target["subject"] and body["activityid"] == target["activityid"]
    assert set(body) == {"@odata.context", "@odata.etag", "subject", "statuscode", "activityid"}


def test_single_property(client, rows):
    target = rows[3]
    body = client.get(f"{SET}({target['activityid']})/msdyn_title").get_json()
    assert body["value"] == target["msdyn_title"]


def sort_value(value):
    """Nulls lowest and strings case-insensitive, as SQL Server sorts."""
    return (value is not None, value.lower() if isinstance(value, str) else value)


@pytest.mark.parametrize("orderby,keys", [
    ("createdon desc", [("createdon", True)]),
    ("createdon", [("createdon", False)]),
    ("statuscode asc,createdon desc", [("statuscode", False), ("createdon", True)]),
    ("prioritycode desc,msdyn_title asc", [("prioritycode", True), ("msdyn_title", False)]),
    ("msdyn_closedon asc", [("msdyn_closedon", False)]),
    ("msdyn_closedon desc", [("msdyn_closedon", True)]),
    ("statecode", [("statecode", False)]),
])
def test_orderby_matches_python_sort(client, rows, orderby, keys):
    got = [r["activityid"] for r in client.values(f"{SET}?$select=activityid&$orderby={orderby}")]
    expected = sorted(rows, key=lambda r: r["activityid"])  # primary key breaks ties
    for column, descending in reversed(keys):  # stable sorts, last key first
        expected.sort(key=lambda r: sort_value(r[column]), reverse=descending)
    assert got == [r["activityid"] for r in expected]


def test_orderby_lookup_sorts_by_related_primary_name(client, seeded, rows):
    users = seeded.db.tables["systemuser"]
    with seeded.db.engine.connect() as conn:
        names = {u.systemuserid: u.fullname for u in conn.execute(users.select())}
    got = [r["activityid"] for r in client.values(f"{SET}?$select=activityid&$orderby=_msdyn_activeagentid_value")]
    expected = sorted(rows, key=lambda r: (r["msdyn_activeagentid"] is not None,
                                           names.get(r["msdyn_activeagentid"], "").lower(),
                                           r["msdyn_activeagentid"] or "", r["activityid"]))
    assert got == [r["activityid"] for r in expected]


@pytest.mark.parametrize("descending", [False, True])
def test_orderby_polymorphic_lookup_sorts_by_the_name_in_each_rows_own_target(client, seeded, rows, descending):
    """msdyn_customer points at an account (name) or a contact (fullname): each row sorts by the primary name of
    the table its own value points at (query-extras.md: lookups order by the related primary name), never by the
    first target's name only. Equal names by the GUID, nulls lowest, the primary key last."""
    with seeded.db.engine.connect() as conn:
        accounts = {r.accountid: r.name for r in conn.execute(seeded.db.tables["account"].select())}
        contacts = {r.contactid: r.fullname for r in conn.execute(seeded.db.tables["contact"].select())}
    targets = Counter(r["msdyn_customer__target"] for r in rows if r["msdyn_customer"])
    assert targets["account"] > 10 and targets["contact"] > 10  # rows of both targets

    def name(row):
        names = accounts if row["msdyn_customer__target"] == "account" else contacts
        return names.get(row["msdyn_customer"]) if row["msdyn_customer"] else None

    direction = " desc" if descending else ""
    got = [r["activityid"] for r in
           client.values(f"{SET}?$select=activityid&$orderby=_msdyn_customer_value{direction}")]
    expected = sorted(rows, key=lambda r: r["activityid"])
    expected.sort(key=lambda r: (sort_value(name(r)), sort_value(r["msdyn_customer"])), reverse=descending)
    assert got == [r["activityid"] for r in expected]


def test_nulls_sort_lowest_on_every_backend(client, rows):
    """Nulls first ascending and last descending, checked on SQLite as well as PostgreSQL (the two databases'
    native orders differ), for a date, a whole number, a decimal and a lookup."""
    for column, prop in [("msdyn_closedon", "msdyn_closedon"),
                         ("msdyn_conversationhandletimeinseconds", "msdyn_conversationhandletimeinseconds"),
                         ("msdyn_firstresponsetimeinmsadjforoh", "msdyn_firstresponsetimeinmsadjforoh"),
                         ("msdyn_activeagentid", "_msdyn_activeagentid_value")]:
        nulls = sum(r[column] is None for r in rows)
        assert 0 < nulls < len(rows), column
        for descending in (False, True):
            got = client.values(f"{SET}?$select={prop}&$orderby={prop}{' desc' if descending else ''}")
            flags = [r[prop] is None for r in got]
            assert flags == ([False] * (len(rows) - nulls) + [True] * nulls if descending
                             else [True] * nulls + [False] * (len(rows) - nulls)), (column, descending)


def test_default_order_is_primary_key(client, rows):
    got = [r["activityid"] for r in client.values(f"{SET}?$select=activityid")]
    assert got == sorted(r["activityid"] for r in rows)


def test_top_limits_rows_and_has_no_next_link(client):
    body = client.get(f"{SET}?$select=activityid&$top=5&$orderby=createdon desc").get_json()
    assert len(body["value"]) == 5
    assert "@odata.nextLink" not in body
    assert client.values(f"{SET}?$top=0") == []


def test_count(client, rows):
    body = client.get(f"{SET}?$filter=statuscode eq 3&$count=true&$top=1").get_json()
    assert list(body)[:2] == ["@odata.context", "@odata.count"]
    assert body["@odata.count"] == sum(1 for r in rows if r["statuscode"] == 3)
    response = client.get(f"{SET}/$count?$filter=statuscode eq 3")
    assert response.content_type.startswith("text/plain")
    assert response.get_data(as_text=True) == str(body["@odata.count"])
