"""$filter: every operator and literal kind, checked against the same rows evaluated in plain Python."""
import pytest

from emulator.store.seed import ADMIN_USER_ID, DOC_AGENT_ID

SET = "msdyn_ocliveworkitems"




@pytest.fixture(scope="module")
def agents(seeded):
    table = seeded.db.tables["systemuser"]
    with seeded.db.engine.connect() as conn:
        return {r.systemuserid: r.fullname for r in conn.execute(table.select())}


def ids(client, expression, **params):
    query = {"$select": "activityid", "$filter": expression, **params}
    return sorted(r["activityid"] for r in client.values(SET, query_string=query))


def where(rows, predicate):
    return sorted(r["activityid"] for r in rows if predicate(r))


def some(rows, column):
    """A value of `column` that some but not all rows have."""
    values = [r[column] for r in rows if r[column] is not None]
    return sorted(values)[len(values) // 2]


CUTOFF = "2025-12-20T00:00:00Z"

CASES = [
    ("statuscode eq 3", lambda r: r["statuscode"] == 3),
    ("statuscode ne 4", lambda r: r["statuscode"] != 4),
    ("statuscode gt 3", lambda r: r["statuscode"] > 3),
    ("statuscode ge 3", lambda r: r["statuscode"] >= 3),
    ("statuscode lt 3", lambda r: r["statuscode"] < 3),
    ("statuscode le 3", lambda r: r["statuscode"] <= 3),
    ("statuscode eq 2 or statuscode eq 3", lambda r: r["statuscode"] in (2, 3)),
    ("statecode eq 0 and prioritycode eq 2", lambda r: r["statecode"] == 0 and r["prioritycode"] == 2),
    ("not (statuscode eq 4)", lambda r: r["statuscode"] != 4),
    ("not (statuscode eq 4) and msdyn_isoutbound eq false",
     lambda r: r["statuscode"] != 4 and not r["msdyn_isoutbound"]),
    ("not msdyn_isoutbound", lambda r: not r["msdyn_isoutbound"]),
    ("(statuscode eq 1 or statuscode eq 2) and prioritycode ne 1",
     lambda r: r["statuscode"] in (1, 2) and r["prioritycode"] != 1),
    ("statuscode in (1,5)", lambda r: r["statuscode"] in (1, 5)),
    ("_msdyn_activeagentid_value eq null", lambda r: r["msdyn_activeagentid"] is None),
    ("_msdyn_activeagentid_value ne null", lambda r: r["msdyn_activeagentid"] is not None),
    ("msdyn_closedon eq null and statecode eq 0", lambda r: r["msdyn_closedon"] is None and r["statecode"] == 0),
    (f"_msdyn_activeagentid_value eq {DOC_AGENT_ID}", lambda r: r["msdyn_activeagentid"] == DOC_AGENT_ID),
    (f"_msdyn_activeagentid_value eq {DOC_AGENT_ID.upper()}", lambda r: r["msdyn_activeagentid"] == DOC_AGENT_ID),
    (f"_msdyn_activeagentid_value eq '{DOC_AGENT_ID}'", lambda r: r["msdyn_activeagentid"] == DOC_AGENT_ID),
    (f"_msdyn_activeagentid_value eq '{{{DOC_AGENT_ID.upper()}}}'", lambda r: r["msdyn_activeagentid"] == DOC_AGENT_ID),
    (f"_ownerid_value ne {ADMIN_USER_ID}", lambda r: r["ownerid"] != ADMIN_USER_ID),
    (f"createdon ge {CUTOFF}", lambda r: r["createdon"] >= CUTOFF),
    (f"createdon lt {CUTOFF}", lambda r: r["createdon"] < CUTOFF),
    ("createdon ge 2025-12-20", lambda r: r["createdon"] >= CUTOFF),
    ("createdon gt 2025-12-19T23:00:00-01:00", lambda r: r["createdon"] > CUTOFF),
    ("msdyn_isoutbound eq true", lambda r: r["msdyn_isoutbound"]),
    ("msdyn_isabandoned", lambda r: r["msdyn_isabandoned"]),
    ("msdyn_firstresponsetimeinmsadjforoh gt 50000.5", lambda r: (r["msdyn_firstresponsetimeinmsadjforoh"] or 0) > 50000.5),
    ("msdyn_conversationfirstwaittimeinseconds le 100", lambda r: (r["msdyn_conversationfirstwaittimeinseconds"] is not None
                                                                   and r["msdyn_conversationfirstwaittimeinseconds"] <= 100)),
    ("msdyn_channel eq '192360000'", lambda r: r["msdyn_channel"] == "192360000"),
    ("contains(msdyn_title,'refund')", lambda r: "refund" in r["msdyn_title"].lower()),
    ("contains(msdyn_title,'REFUND')", lambda r: "refund" in r["msdyn_title"].lower()),
    ("startswith(subject,'billing')", lambda r: r["subject"].lower().startswith("billing")),
    ("endswith(msdyn_title,'7')", lambda r: r["msdyn_title"].endswith("7")),
    ("not contains(msdyn_title,'Refund')", lambda r: "refund" not in r["msdyn_title"].lower()),
    ("msdyn_transfercount eq msdyn_escalationcount", lambda r: r["msdyn_transfercount"] == r["msdyn_escalationcount"]),
]


@pytest.mark.parametrize("expression,predicate", CASES, ids=[c[0] for c in CASES])
def test_filter_matches_python_evaluation(client, rows, expression, predicate):
    expected = where(rows, predicate)
    assert ids(client, expression) == expected
    # a filter that selects nothing or everything proves little: the data must make each case discriminate
    assert 0 < len(expected) < len(rows) or expression in ("msdyn_transfercount eq msdyn_escalationcount",)


def test_string_equality_is_case_insensitive(client, rows):
    title = rows[0]["msdyn_title"]
    expected = where(rows, lambda r: r["msdyn_title"].lower() == title.lower())
    assert ids(client, f"msdyn_title eq '{title.upper()}'") == expected
    assert ids(client, f"msdyn_title eq '{title.lower()}'") == expected


def test_quotes_are_escaped_by_doubling(client, fresh):
    from emulator.app import create_app

    from .conftest import Client

    table = fresh.db.tables["account"]
    with fresh.db.engine.begin() as conn:
        conn.execute(table.insert(), [{"accountid": "00000000-0000-0000-0000-0000000000a1", "name": "O'Bryan Ltd",
                                        "versionnumber": 1}])
    values = Client(create_app(fresh)).values("accounts?$filter=name eq 'O''Bryan Ltd'")
    assert [v["name"] for v in values] == ["O'Bryan Ltd"]


def test_navigation_path_filters_on_the_related_row(client, rows, agents):
    name = agents[DOC_AGENT_ID]
    expected = where(rows, lambda r: r["msdyn_activeagentid"] == DOC_AGENT_ID)
    assert ids(client, f"msdyn_activeagentid_msdyn_ocliveworkitem/fullname eq '{name.lower()}'") == expected


def test_parameter_aliases(client, rows):
    expected = where(rows, lambda r: r["statuscode"] == 3)
    assert ids(client, "statuscode eq @s", **{"@s": "3"}) == expected
    assert ids(client, "statuscode eq @missing") == []  # an alias without a value is null


def test_plus_as_space_and_percent_encoding_both_decode(client, rows):
    expected = where(rows, lambda r: r["statuscode"] == 3)
    response = client.get(f"{SET}?%24select=activityid&%24filter=statuscode+eq+3")
    assert sorted(v["activityid"] for v in response.get_json()["value"]) == expected


def test_python_odata_parenthesised_key_filter(client, rows):
    target = rows[5]["activityid"]
    assert ids(client, f"(activityid eq {target})") == [target]


@pytest.mark.parametrize("expression,fragment", [
    ("statuscode eq", "Syntax error at position"),
    ("statuscode eq '3'", "incompatible types"),
    ("subject eq 3", "incompatible types"),
    ("_msdyn_activeagentid_value eq 'not-a-guid'", "not a valid GUID"),
    ("createdon eq 'yesterday'", "incompatible types"),
    ("statuscode add 1 eq 2", "arithmetic operator"),
    ("year(createdon) eq 2025", "'year' is not supported"),
    ("subject", "must evaluate to a Boolean"),
    ("subject eq 'unterminated", "unterminated literal"),
    ("statuscode eq 3 and", "Syntax error"),
    ("Microsoft.Dynamics.CRM.NoSuchThing(PropertyName='createdon')", "An unknown function with name "
                                                                     "'Microsoft.Dynamics.CRM.NoSuchThing'"),
    ("statuscode lt null", "cannot compare with null"),
    ("statuscode eq 1 €", "Syntax error at position 15"),
    ("statuscode eq 1 @", "character '@' is not valid at position 16"),
    ("not statuscode eq 4", "Found operand type 'Edm.Int32' for operator kind 'Not'"),
])
def test_malformed_filters_are_400_with_a_pointer(client, expression, fragment):
    response = client.get(SET, query_string={"$filter": expression})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert fragment in error["message"]
    assert error["code"].startswith("0x")


def test_the_parse_and_statement_caches_stay_bounded():
    """The caches of parsed filters and built statements (emulator/lru.py) evict the least recently used."""
    from emulator.lru import LRU

    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
