"""The Microsoft.Dynamics.CRM.* query functions and parameter aliases in $filter/$orderby, through the Web API,
on rows inserted with exact values. Date cases mirror the table in docs/query-functions.md: every bound of every
range gets rows one second before, at and one second after it, so each boundary rule is checked."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest

from emulator.app import create_app
from emulator.clock import format_instant
from emulator.store.seed import ADMIN_USER_ID

from .conftest import NOW, Client, make_emulator

SET = "msdyn_ocliveworkitems"
FN = "Microsoft.Dynamics.CRM."
OTHER_USER = "11111111-2222-4333-8444-555555555555"
_ID_NAMESPACE = uuid.UUID("5f0c2f4e-7c1b-4f7e-9d55-3c1f2b8a9e10")


def row_id(name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, name))


def url(**params: str) -> str:
    """A request on the conversations set, every option properly URL-encoded ('@p1' keys included)."""
    return f"{SET}?" + urlencode({k.replace("_dollar_", "$"): v for k, v in params.items()}, quote_via=quote)


def insert(emulator, rows: list[dict]) -> None:
    """Direct inserts through emulator.db: every row carries every column (one executemany shape)."""
    table = emulator.db.tables["msdyn_ocliveworkitem"]
    complete = []
    for i, row in enumerate(rows):
        values = {c: None for c in table.c.keys()}
        values.update({"subject": row["name"], "statecode": 0, "statuscode": 1, "versionnumber": 5000 + i,
                       "activitytypecode": "msdyn_ocliveworkitem"})
        values.update({k: v for k, v in row.items() if k != "name"})
        values["activityid"] = row_id(row["name"])
        complete.append(values)
    with emulator.db.engine.begin() as conn:
        conn.execute(table.insert(), complete)


def names(client: Client, path: str, by_id: dict[str, str]) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {by_id[r["activityid"]] for r in response.get_json()["value"]}


# -- relative and absolute date functions ---------------------------------------------------------------------
T = "T00:00:00Z"
AT_NOW = "2026-01-15T12:00:00Z"
DATE_CASES = [  # (function, PropertyValue or None, the range it must match at NOW)
    ("Today", None, f"[2026-01-15{T}, 2026-01-16{T})"),
    ("Yesterday", None, f"[2026-01-14{T}, 2026-01-15{T})"),
    ("Tomorrow", None, f"[2026-01-16{T}, 2026-01-17{T})"),
    ("Last7Days", None, f"[2026-01-08{T}, {AT_NOW}]"),
    ("Next7Days", None, f"[{AT_NOW}, 2026-01-23{T})"),
    ("LastWeek", None, f"[2026-01-04{T}, 2026-01-11{T})"),
    ("ThisWeek", None, f"[2026-01-11{T}, 2026-01-18{T})"),
    ("NextWeek", None, f"[2026-01-18{T}, 2026-01-25{T})"),
    ("LastMonth", None, f"[2025-12-01{T}, 2026-01-01{T})"),
    ("ThisMonth", None, f"[2026-01-01{T}, 2026-02-01{T})"),
    ("NextMonth", None, f"[2026-02-01{T}, 2026-03-01{T})"),
    ("LastYear", None, f"[2025-01-01{T}, 2026-01-01{T})"),
    ("ThisYear", None, f"[2026-01-01{T}, 2027-01-01{T})"),
    ("NextYear", None, f"[2027-01-01{T}, 2028-01-01{T})"),
    ("LastXHours", "3", f"[2026-01-15T09:00:00Z, {AT_NOW}]"),
    ("LastXHours", "0", f"[{AT_NOW}, {AT_NOW}]"),
    ("LastXDays", "3", f"[2026-01-12{T}, {AT_NOW}]"),
    ("LastXDays", "0", f"[2026-01-15{T}, {AT_NOW}]"),
    ("LastXDays", "7", f"[2026-01-08{T}, {AT_NOW}]"),
    ("LastXWeeks", "2", f"[2026-01-01{T}, {AT_NOW}]"),
    ("LastXMonths", "2", f"[2025-11-15{T}, {AT_NOW}]"),
    ("LastXYears", "1", f"[2025-01-15{T}, {AT_NOW}]"),
    ("NextXHours", "3", f"[{AT_NOW}, 2026-01-15T15:00:00Z]"),
    ("NextXDays", "3", f"[{AT_NOW}, 2026-01-19{T})"),
    ("NextXDays", "0", f"[{AT_NOW}, 2026-01-16{T})"),
    ("NextXWeeks", "1", f"[{AT_NOW}, 2026-01-23{T})"),
    ("NextXMonths", "1", f"[{AT_NOW}, 2026-02-16{T})"),
    ("NextXYears", "1", f"[{AT_NOW}, 2027-01-16{T})"),
    ("OlderThanXMinutes", "30", "(, 2026-01-15T11:30:00Z)"),
    ("OlderThanXHours", "3", "(, 2026-01-15T09:00:00Z)"),
    ("OlderThanXDays", "3", f"(, 2026-01-12{T})"),
    ("OlderThanXDays", "0", f"(, 2026-01-15{T})"),
    ("OlderThanXWeeks", "1", f"(, 2026-01-08{T})"),
    ("OlderThanXMonths", "1", f"(, 2025-12-15{T})"),
    ("OlderThanXYears", "1", f"(, 2025-01-15{T})"),
    ("On", "'2026-01-10'", f"[2026-01-10{T}, 2026-01-11{T})"),
    ("On", "2026-01-10", f"[2026-01-10{T}, 2026-01-11{T})"),
    ("On", "'2026-01-10T23:30:00Z'", f"[2026-01-10{T}, 2026-01-11{T})"),
    ("OnOrAfter", "'2026-01-10'", f"[2026-01-10{T}, )"),
    ("OnOrBefore", "'2026-01-10'", f"(, 2026-01-11{T})"),
    ("LastXYears", "100000", f"(, {AT_NOW}]"),  # clamped to year 1: the whole past
    ("OlderThanXYears", "100000", "(, )never"),
    ("NextXYears", "100000", f"[{AT_NOW}, )"),
]
_INTERVAL = re.compile(r"^([\[(])([^,]*), ?([^\])]*)([\])])(never)?$")


def interval(text: str):
    """'[a, b)' -> a predicate on stored instants (same fixed-width text, so text order is time order)."""
    match = _INTERVAL.match(text)
    assert match, text
    opening, low, high, closing, never = match.groups()
    if never:
        return lambda value: False
    def contains(value: str) -> bool:
        if low and (value < low or (opening == "(" and value == low)):
            return False
        if high and (value > high or (closing == ")" and value == high)):
            return False
        return True
    return contains


def bounds(text: str) -> list[str]:
    return [b for b in _INTERVAL.match(text).group(2, 3) if b]


def boundary_instants(cases, now: datetime) -> list[str]:
    """Each bound one second before, at and after it; now and its neighbours; far past and future."""
    instants = {format_instant(datetime(2000, 1, 1, tzinfo=UTC)),
                format_instant(datetime(2100, 1, 1, tzinfo=UTC))}
    points = [now] + [datetime.fromisoformat(b.replace("Z", "+00:00")) for *_, r in cases for b in bounds(r)]
    for point in points:
        for delta in (-1, 0, 1):
            instants.add(format_instant(point + timedelta(seconds=delta)))
    return sorted(instants)


def dated_rows(instants: list[str]) -> list[dict]:
    return [{"name": i, "createdon": i} for i in instants] + [{"name": "no date", "createdon": None}]


def call(function: str, value: str | None, column: str = "createdon") -> str:
    args = f"PropertyName='{column}'" + (f",PropertyValue={value}" if value is not None else "")
    return f"{FN}{function}({args})"


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    """An emulator of its own (schema only, clock at NOW) holding one row per boundary instant; read-only."""
    emulator = make_emulator(tmp_path_factory.mktemp("functions") / "emulator.db", conversations=0)
    instants = boundary_instants(DATE_CASES, NOW)
    insert(emulator, dated_rows(instants))
    yield Client(create_app(emulator)), instants, {row_id(n): n for n in [*instants, "no date"]}
    emulator.db.dispose()


@pytest.mark.parametrize("function,value,expected", DATE_CASES,
                         ids=[f"{f}({v})" if v else f for f, v, _ in DATE_CASES])
def test_date_function_matches_exactly_its_range(dated, function, value, expected):
    client, instants, by_id = dated
    wanted = {i for i in instants if interval(expected)(i)}
    got = names(client, url(_dollar_select="createdon", _dollar_filter=call(function, value)), by_id)
    assert got == wanted, f"extra: {sorted(got - wanted)}, missing: {sorted(wanted - got)}"
    assert "no date" not in got


def test_every_date_function_is_covered():
    from emulator.odata.functions import REGISTRY

    dated_names = {n for n, *_ in (v for v in REGISTRY.values())} - {
        "In", "NotIn", "Between", "NotBetween", "ContainValues", "DoesNotContainValues", "EqualUserId",
        "NotEqualUserId"}
    assert dated_names == {f for f, *_ in DATE_CASES}


@pytest.mark.parametrize("n", [0, 1, 3, 30])
@pytest.mark.parametrize("unit", ["Hours", "Days", "Weeks", "Months", "Years"])
def test_last_x_and_older_than_x_split_the_past(dated, unit, n):
    client, instants, by_id = dated
    older = "OlderThanX" + unit
    last = names(client, url(_dollar_filter=call("LastX" + unit, str(n))), by_id)
    before = names(client, url(_dollar_filter=call(older, str(n))), by_id)
    past = {i for i in instants if i <= AT_NOW}
    assert last & before == set()
    assert last | before == past


@pytest.mark.parametrize("now,function,value,expected", [
    # month ends: one month before 31 March is 28 February (2026 is no leap year)
    ("2026-03-31T10:00:00Z", "LastXMonths", "1", f"[2026-02-28{T}, 2026-03-31T10:00:00Z]"),
    ("2026-03-31T10:00:00Z", "OlderThanXMonths", "1", f"(, 2026-02-28{T})"),
    ("2026-01-31T10:00:00Z", "NextXMonths", "1", f"[2026-01-31T10:00:00Z, 2026-03-01{T})"),
    ("2028-02-29T10:00:00Z", "LastXYears", "1", f"[2027-02-28{T}, 2028-02-29T10:00:00Z]"),
    # weeks start on Sunday: on a Sunday this week starts today, on a Saturday it ends tonight
    ("2026-01-18T05:00:00Z", "ThisWeek", None, f"[2026-01-18{T}, 2026-01-25{T})"),
    ("2026-01-18T05:00:00Z", "LastWeek", None, f"[2026-01-11{T}, 2026-01-18{T})"),
    ("2026-01-17T23:00:00Z", "ThisWeek", None, f"[2026-01-11{T}, 2026-01-18{T})"),
    ("2026-01-17T23:00:00Z", "NextWeek", None, f"[2026-01-18{T}, 2026-01-25{T})"),
    # year ends
    ("2026-12-31T23:59:59Z", "Tomorrow", None, f"[2027-01-01{T}, 2027-01-02{T})"),
    ("2026-01-01T00:00:00Z", "Yesterday", None, f"[2025-12-31{T}, 2026-01-01{T})"),
    ("2026-01-01T00:00:00Z", "LastMonth", None, f"[2025-12-01{T}, 2026-01-01{T})"),
    ("2026-12-15T08:00:00Z", "NextMonth", None, f"[2027-01-01{T}, 2027-02-01{T})"),
])
def test_calendar_edges(fresh, now, function, value, expected):
    clock = datetime.fromisoformat(now.replace("Z", "+00:00"))
    fresh.clock.set(clock)
    cases = [(function, value, expected)]
    instants = boundary_instants(cases, clock)
    insert(fresh, dated_rows(instants))
    by_id = {row_id(n): n for n in [*instants, "no date"]}
    got = names(Client(create_app(fresh)), url(_dollar_filter=call(function, value)), by_id)
    assert got == {i for i in instants if interval(expected)(i)}


def test_date_function_on_another_date_column_and_with_aliases(fresh):
    insert(fresh, [{"name": "closed today", "msdyn_closedon": "2026-01-15T01:00:00Z", "createdon": "2025-01-01T00:00:00Z"},
                   {"name": "closed last year", "msdyn_closedon": "2025-06-01T00:00:00Z"},
                   {"name": "open"}])
    client, by_id = Client(create_app(fresh)), {row_id(n): n for n in ("closed today", "closed last year", "open")}
    assert names(client, url(_dollar_filter=call("Today", None, "msdyn_closedon")), by_id) == {"closed today"}
    aliased = url(_dollar_filter=f"{FN}LastXDays(PropertyName=@p1,PropertyValue=@p2)", **{"@p1": "'msdyn_closedon'",
                                                                                          "@p2": "300"})
    assert names(client, aliased, by_id) == {"closed today", "closed last year"}
    combined = url(_dollar_filter=f"{call('ThisYear', None, 'msdyn_closedon')} or "
                                  f"not {call('OnOrAfter', '2025-01-01', 'msdyn_closedon')}")
    assert names(client, combined, by_id) == {"closed today"}  # 'open' has no date: neither side is true


# -- values, ranges, choices, the caller ----------------------------------------------------------------------
LIVE_CHAT, SMS, WHATSAPP, FACEBOOK, TEAMS = "192360000", "192340000", "192300000", "192330000", "19241000"
VALUE_ROWS = [
    {"name": "chat", "msdyn_channel": LIVE_CHAT, "statuscode": 1, "msdyn_transfercount": 0,
     "ownerid": ADMIN_USER_ID, "ownerid__target": "systemuser", "msdyn_activeagentid": ADMIN_USER_ID,
     "createdon": "2026-01-01T00:00:00Z", "msdyn_title": "OBrian"},
    {"name": "chat+sms", "msdyn_channel": f"{LIVE_CHAT},{SMS}", "statuscode": 2, "msdyn_transfercount": 1,
     "ownerid": ADMIN_USER_ID, "ownerid__target": "systemuser", "msdyn_activeagentid": OTHER_USER,
     "createdon": "2026-01-10T00:00:00Z", "msdyn_title": "O'Brian"},
    {"name": "sms+whatsapp", "msdyn_channel": f"{SMS},{WHATSAPP}", "statuscode": 3, "msdyn_transfercount": 2,
     "ownerid": OTHER_USER, "ownerid__target": "systemuser", "createdon": "2026-01-10T00:00:01Z",
     "msdyn_title": 'Say "hi"'},
    {"name": "teams", "msdyn_channel": TEAMS, "statuscode": 4, "statecode": 1, "msdyn_transfercount": 3,
     "ownerid": OTHER_USER, "ownerid__target": "systemuser", "createdon": "2026-01-15T12:00:00Z",
     "msdyn_title": "a,b"},
    {"name": "spaced", "msdyn_channel": f"{FACEBOOK}, {WHATSAPP}", "statuscode": 5, "msdyn_transfercount": 4,
     "ownerid": OTHER_USER, "ownerid__target": "systemuser", "createdon": "2025-12-31T23:59:59Z"},
    {"name": "nothing", "msdyn_channel": None, "statuscode": 1, "msdyn_transfercount": None, "createdon": None},
]
ALL = {r["name"] for r in VALUE_ROWS}


@pytest.fixture(scope="module")
def valued(tmp_path_factory):
    emulator = make_emulator(tmp_path_factory.mktemp("values") / "emulator.db", conversations=0)
    insert(emulator, VALUE_ROWS)
    yield Client(create_app(emulator)), {row_id(n): n for n in ALL}
    emulator.db.dispose()


def cv(function: str, column: str, *values: str, quote_char: str = '"') -> str:
    items = ",".join(f"{quote_char}{v}{quote_char}" for v in values)
    return f"{FN}{function}(PropertyName='{column}',PropertyValues=[{items}])"


@pytest.mark.parametrize("filter_,expected", [
    (cv("ContainValues", "msdyn_channel", SMS), {"chat+sms", "sms+whatsapp"}),
    (cv("ContainValues", "msdyn_channel", LIVE_CHAT), {"chat", "chat+sms"}),
    (cv("ContainValues", "msdyn_channel", SMS, TEAMS), {"chat+sms", "sms+whatsapp", "teams"}),
    (cv("ContainValues", "msdyn_channel", WHATSAPP), {"sms+whatsapp", "spaced"}),
    (cv("ContainValues", "msdyn_channel", FACEBOOK, quote_char="'"), {"spaced"}),
    # whole values only: a prefix, a suffix or an inner part of an option value never matches
    (cv("ContainValues", "msdyn_channel", "1923"), set()),
    (cv("ContainValues", "msdyn_channel", "92360000"), set()),
    (cv("ContainValues", "msdyn_channel", "1924100"), set()),
    (cv("DoesNotContainValues", "msdyn_channel", SMS), {"chat", "teams", "spaced", "nothing"}),
    (cv("DoesNotContainValues", "msdyn_channel", SMS, LIVE_CHAT), {"teams", "spaced", "nothing"}),
    (cv("DoesNotContainValues", "msdyn_channel", "1923"), ALL),
    (f"not {cv('ContainValues', 'msdyn_channel', SMS)}", {"chat", "teams", "spaced"}),
    (cv("In", "statuscode", "2", "3"), {"chat+sms", "sms+whatsapp"}),
    (cv("In", "statuscode", "4"), {"teams"}),
    (cv("NotIn", "statuscode", "1", "2"), {"sms+whatsapp", "teams", "spaced"}),
    # docs/query-functions.md: NotIn never matches a null value ('nothing' has no transfer count, no title, and
    # only 'chat' and 'chat+sms' have an active agent)
    (cv("NotIn", "msdyn_transfercount", "1", "2"), {"chat", "teams", "spaced"}),
    (cv("NotIn", "msdyn_title", "obrian"), {"chat+sms", "sms+whatsapp", "teams"}),
    (cv("NotIn", "_msdyn_activeagentid_value", OTHER_USER), {"chat"}),
    (f"not {cv('In', 'msdyn_transfercount', '1', '2')}", {"chat", "teams", "spaced"}),
    (cv("In", "msdyn_title", "OBrian", "O'Brian"), {"chat", "chat+sms"}),
    (cv("In", "msdyn_title", "obrian"), {"chat"}),  # case-insensitive, as SQL Server's collation
    (cv("In", "msdyn_title", r"Say \"hi\"", "a,b"), {"sms+whatsapp", "teams"}),
    (cv("In", "_msdyn_activeagentid_value", OTHER_USER.upper()), {"chat+sms"}),
    (cv("Between", "msdyn_transfercount", "1", "3"), {"chat+sms", "sms+whatsapp", "teams"}),
    (cv("Between", "msdyn_transfercount", "3", "1"), set()),
    (cv("Between", "msdyn_transfercount", "0", "0"), {"chat"}),
    (cv("NotBetween", "msdyn_transfercount", "1", "3"), {"chat", "spaced"}),
    (cv("Between", "createdon", "2026-01-01", "2026-01-10"), {"chat", "chat+sms"}),
    (cv("Between", "createdon", "2026-01-01T00:00:00Z", "2026-01-10T00:00:01Z"),
     {"chat", "chat+sms", "sms+whatsapp"}),
    (cv("NotBetween", "createdon", "2026-01-01", "2026-01-10"), {"sms+whatsapp", "teams", "spaced"}),
    (f"{FN}EqualUserId(PropertyName='_ownerid_value')", {"chat", "chat+sms"}),
    (f"{FN}NotEqualUserId(PropertyName='_ownerid_value')", {"sms+whatsapp", "teams", "spaced"}),
    (f"{FN}EqualUserId(PropertyName='_msdyn_activeagentid_value')", {"chat"}),
    (f"{FN}NotEqualUserId(PropertyName='_msdyn_activeagentid_value')", {"chat+sms"}),
    (f"{FN}EqualUserId(PropertyName='_ownerid_value') and {cv('ContainValues', 'msdyn_channel', SMS)}",
     {"chat+sms"}),
])
def test_value_functions(valued, filter_, expected):
    client, by_id = valued
    assert names(client, url(_dollar_filter=filter_), by_id) == expected


def test_a_repeated_filter_follows_the_clock_the_caller_and_new_rows(fresh):
    """The compiled $filter is cached per text: the same URL must still answer for the current clock and caller,
    and see rows written since."""
    owned = {"ownerid__target": "systemuser"}
    insert(fresh, [{"name": "mine today", "createdon": "2026-01-15T01:00:00Z", "ownerid": ADMIN_USER_ID, **owned},
                   {"name": "theirs yesterday", "createdon": "2026-01-14T01:00:00Z", "ownerid": OTHER_USER, **owned}])
    client = Client(create_app(fresh))
    by_id = {row_id(n): n for n in ("mine today", "theirs yesterday")}
    today = url(_dollar_filter=call("Today", None))
    mine = url(_dollar_filter=f"{FN}EqualUserId(PropertyName='_ownerid_value')")
    assert names(client, today, by_id) == {"mine today"}
    fresh.clock.set(datetime(2026, 1, 14, 12, tzinfo=UTC))
    assert names(client, today, by_id) == {"theirs yesterday"}
    assert names(client, mine, by_id) == {"mine today"}
    fresh.caller_id = OTHER_USER
    assert names(client, mine, by_id) == {"theirs yesterday"}
    table = fresh.db.tables["msdyn_ocliveworkitem"]
    with fresh.db.engine.begin() as conn:  # a row handed to the caller after the clause was cached
        conn.execute(table.update().where(table.c.activityid == row_id("mine today")).values(ownerid=OTHER_USER))
    assert names(client, mine, by_id) == {"theirs yesterday", "mine today"}


# -- parameter aliases ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("params,expected", [
    ({"$filter": f"{FN}In(PropertyName=@p1,PropertyValues=@p2)", "@p1": "'msdyn_title'",
      "@p2": '["OBrian","O\'Brian"]'}, {"chat", "chat+sms"}),
    ({"$filter": f"{FN}In(PropertyName=@p1,PropertyValues=@p2)", "@p1": "'msdyn_title'",
      "@p2": '["Say \\"hi\\""]'}, {"sms+whatsapp"}),
    ({"$filter": f"{FN}In(PropertyName=@p1,PropertyValues=@p2)", "@p1": "'msdyn_title'",
      "@p2": "['O''Brian']"}, {"chat+sms"}),
    ({"$filter": f"{FN}In(PropertyName=@p1,PropertyValues=@p2)", "@p1": "'statuscode'", "@p2": '["3"]'},
     {"sms+whatsapp"}),
    ({"$filter": f"{FN}ContainValues(PropertyName=@p1,PropertyValues=@p2)", "@p1": "'msdyn_channel'",
      "@p2": f'["{SMS}","{TEAMS}"]'}, {"chat+sms", "sms+whatsapp", "teams"}),
    ({"$filter": f"{FN}Between(PropertyName=@c,PropertyValues=@range)", "@c": "'msdyn_transfercount'",
      "@range": '["2","4"]'}, {"sms+whatsapp", "teams", "spaced"}),
    ({"$filter": "statuscode eq @s", "@s": "3"}, {"sms+whatsapp"}),
    ({"$filter": "msdyn_title eq @t", "@t": "'O''Brian'"}, {"chat+sms"}),
    ({"$filter": "createdon ge @d and createdon lt @e", "@d": "2026-01-10T00:00:00Z",
      "@e": "2026-01-15T12:00:00Z"}, {"chat+sms", "sms+whatsapp"}),
    ({"$filter": "msdyn_transfercount eq @missing"}, {"nothing"}),  # an alias with no value counts as null
    ({"$filter": "msdyn_transfercount eq @empty", "@empty": ""}, {"nothing"}),
    ({"$filter": "@outer", "@outer": "statuscode eq @inner", "@inner": "4"}, {"teams"}),
    ({"$filter": "statuscode in @list", "@list": "(2,3)"}, {"chat+sms", "sms+whatsapp"}),
])
def test_aliases_in_filter(valued, params, expected):
    client, by_id = valued
    assert names(client, f"{SET}?" + urlencode(params, quote_via=quote), by_id) == expected


@pytest.mark.parametrize("params,expected", [
    ({"$orderby": "@o", "@o": "msdyn_transfercount desc"},
     ["spaced", "teams", "sms+whatsapp", "chat+sms", "chat", "nothing"]),
    ({"$orderby": "@o,createdon", "@o": "statuscode"},
     ["nothing", "chat", "chat+sms", "sms+whatsapp", "teams", "spaced"]),
    ({"$orderby": "createdon @dir", "@dir": "desc", "$filter": "createdon ne null"},
     ["teams", "sms+whatsapp", "chat+sms", "chat", "spaced"]),
])
def test_aliases_in_orderby(valued, params, expected):
    client, by_id = valued
    response = client.get(f"{SET}?" + urlencode(params, quote_via=quote))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [by_id[r["activityid"]] for r in response.get_json()["value"]] == expected


# -- bad input: a 400 naming what is wrong, never a 500 -------------------------------------------------------
@pytest.mark.parametrize("filter_,fragment", [
    (f"{FN}NoSuchFunction(PropertyName='createdon')", "Microsoft.Dynamics.CRM.NoSuchFunction"),
    (f"{FN}today(PropertyName='createdon')", "Microsoft.Dynamics.CRM.today"),
    ("Other.Namespace.Today(PropertyName='createdon')", "Other.Namespace.Today"),
    (f"{FN}Today()", "PropertyName"),
    (f"{FN}Today(PropertyName=createdon)", "PropertyName"),
    (f"{FN}Today(PropertyName='nosuchcolumn')", "nosuchcolumn"),
    (f"{FN}Today(PropertyName='statuscode')", "statuscode"),
    (f"{FN}Today(PropertyName='createdon',PropertyValue=1)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon')", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue='x')", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=-1)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=1.5)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=null)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=true)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=99999999999999999999)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=1,PropertyValue=2)", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=1,Extra=2)", "Extra"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=1,A=2,B=3)", "'A'"),
    (f"{FN}LastXDays('createdon',1)", "named parameters"),
    (f"{FN}On(PropertyName='createdon',PropertyValue='2026-02-30')", "PropertyValue"),
    (f"{FN}On(PropertyName='createdon',PropertyValue='yesterday')", "PropertyValue"),
    (f"{FN}On(PropertyName='createdon',PropertyValue=5)", "PropertyValue"),
    (f"{FN}OnOrAfter(PropertyName='createdon')", "PropertyValue"),
    (cv("Between", "msdyn_transfercount", "1"), "PropertyValues"),
    (cv("Between", "msdyn_transfercount", "1", "2", "3"), "PropertyValues"),
    (cv("Between", "msdyn_transfercount", "1", "x"), "PropertyValues"),
    (cv("Between", "createdon", "2026-01-01", "soon"), "PropertyValues"),
    (cv("Between", "msdyn_title", "a", "b"), "msdyn_title"),
    (f"{FN}Between(PropertyName='msdyn_transfercount',PropertyValues='1')", "PropertyValues"),
    (f"{FN}Between(PropertyName='msdyn_transfercount',PropertyValues=[])", "empty array"),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"1\",])", "position"),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"1\",null])", "null"),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"1\"", "Invalid JSON"),
    (f"{FN}In(PropertyName='statuscode')", "PropertyValues"),
    (cv("In", "statuscode", "open"), "PropertyValues"),
    (cv("ContainValues", "statuscode", "1"), "statuscode"),
    (cv("ContainValues", "msdyn_channel", "sms"), "PropertyValues"),
    (cv("DoesNotContainValues", "msdyn_channel", "1.5"), "PropertyValues"),
    (f"{FN}EqualUserId(PropertyName='createdon')", "createdon"),
    (f"{FN}EqualUserId(PropertyName='_ownerid_value',PropertyValue='x')", "PropertyValue"),
    (f"{FN}LastXDays(PropertyName='createdon',PropertyValue=1) eq true", ""),
    (f"{FN}LastXDays", ""),
    (f"{FN}LastXDays(PropertyName=@p9,PropertyValue=1)", "PropertyName"),  # unset alias: null
])
def test_bad_calls_are_400s_naming_the_problem(valued, filter_, fragment):
    client, _ = valued
    response = client.get(url(_dollar_filter=filter_))
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message"}
    assert fragment in error["message"]


def test_self_referencing_alias_is_a_400(valued):
    client, _ = valued
    response = client.get(f"{SET}?" + urlencode({"$filter": "@a", "@a": "@a"}, quote_via=quote))
    assert response.status_code == 400
    assert "@a" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("filter_,status", [
    ("[1,2]", 400), ("(1,2)", 400), ("[[1]]", 400), ("[1] and statuscode eq 1", 400),
    ("statuscode in ((1,2),3)", 400), ("statuscode in ([1],2)", 400), ("statuscode eq [1]", 400),
    ("statuscode eq 99999999999999999999", 200), ("statuscode eq -99999999999999999999", 200),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[[\"1\"]])", 400),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"2147483648\"])", 400),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"2147483647\"])", 200),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[1,2])", 200),
    (f"{FN}In(PropertyName='msdyn_isabandoned',PropertyValues=[true])", 200),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"1\" \"2\"])", 400),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"1\",,\"2\"])", 400),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[,\"2\"])", 400),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"1\\\"])", 400),
    (f"{FN}In(PropertyName='statuscode',PropertyValues=[\"\\u0031\"])", 200),
    (cv("Between", "msdyn_transfercount", "99999999999999999999999", "1"), 400),
    (cv("Between", "msdyn_firstresponsetimeinmsadjforoh", "1e400", "nan"), 400),
    (cv("Between", "createdon", "0001-01-01T00:00:00+01:00", "2026-01-01"), 400),
    (cv("ContainValues", "msdyn_channel", "99999999999999999999999999"), 200),
    (f"{FN}On(PropertyName='createdon',PropertyValue='0001-01-01T00:00:00+01:00')", 400),
    (f"{FN}On(PropertyName='createdon',PropertyValue='9999-12-31')", 200),
    (f"{FN}OnOrBefore(PropertyName='createdon',PropertyValue=9999-12-31T23:59:59Z)", 200),
    (f"{FN}NextXYears(PropertyName='createdon',PropertyValue=9223372036854775807)", 200),
    (f"{FN}OlderThanXMinutes(PropertyName='createdon',PropertyValue=9223372036854775807)", 200),
    (f"{FN}X(A='a',B='b',C='c')", 400),  # odata-query's three-named-parameter rule, fixed
])
def test_odd_input_never_crashes(valued, filter_, status):
    client, _ = valued
    response = client.get(url(_dollar_filter=filter_))
    assert response.status_code == status, response.get_data(as_text=True)
