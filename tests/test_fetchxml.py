"""FetchXML over the Web API (GET <set>?fetchXml=, also inside $batch), through real HTTP on every backend: a
differential test asks each question in FetchXML and in OData and compares the answers (filters of every operator
family, link-entities, orders, paging through every page); the row shape, annotations, paging cookie, counts,
distinct and aggregates against spec fetchxml.md; malformed or not emulated FetchXML gets a named error, never a
500; and the real clients' FetchXML paging (the official Python SDK, npm dynamics-web-api's fetch and fetchAll)."""
from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from datetime import date, timedelta
from urllib.parse import quote, unquote
from xml.sax.saxutils import quoteattr

import pytest
from defusedxml import ElementTree

from .conftest import NOW
from .test_batch import batch_body, request_part, responses, send
from .test_real_clients_read import JS, _node_tools, https_url, sdk  # noqa: F401  (fixtures)

CONV = "msdyn_ocliveworkitems"
ENTITY = "msdyn_ocliveworkitem"
ALL = 'odata.include-annotations="*"'
PAGING = 'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"'
FORMATTED = "@OData.Community.Display.V1.FormattedValue"


def fetch(client, xml: str, entity_set: str = CONV, prefer: str | None = None, extra: str = ""):
    headers = {"Prefer": prefer} if prefer else {}
    return client.get(f"{entity_set}?fetchXml={quote(xml)}{extra}", headers=headers)


def answer(client, xml: str, entity_set: str = CONV, prefer: str | None = None) -> dict:
    response = fetch(client, xml, entity_set, prefer)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def odata(client, path: str) -> list[dict]:
    """Every row of an OData query, following nextLinks."""
    rows: list[dict] = []
    while path:
        response = client.get(path, headers={"Prefer": "odata.maxpagesize=5000"})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        rows += body["value"]
        link = body.get("@odata.nextLink")
        path = link[link.index("/api/"):] if link else None
    return rows


def conversations(filter_xml: str = "", *, attrs: str = '<attribute name="activityid"/>', order: str = "",
                  links: str = "", fetch_attrs: str = "") -> str:
    return (f'<fetch{fetch_attrs}><entity name="{ENTITY}">{attrs}{order}'
            f'{f"<filter>{filter_xml}</filter>" if filter_xml else ""}{links}</entity></fetch>')


def all_pages(client, xml: str, entity_set: str = CONV) -> list[dict]:
    """Every page, as the official Python SDK pages: the cookie's inner pagingcookie, decoded twice, goes back in
    paging-cookie with the outer pagenumber as page, until morerecords is absent."""
    root = ElementTree.fromstring(xml)
    rows: list[dict] = []
    for _ in range(200):
        body = answer(client, ElementTree.tostring(root, encoding="unicode"), entity_set, PAGING)
        rows += body["value"]
        if not body.get("@Microsoft.Dynamics.CRM.morerecords"):
            assert "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie" not in body  # else fetchAll loops forever
            return rows
        cookie = ElementTree.fromstring(body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
        root.set("page", cookie.get("pagenumber"))
        if cookie.get("pagingcookie"):
            root.set("paging-cookie", unquote(unquote(cookie.get("pagingcookie"))))
    raise AssertionError("more than 200 pages")


def ids(rows: list[dict], key: str = "activityid") -> list[str]:
    return [r[key] for r in rows]


@pytest.fixture(scope="module")
def sample(client) -> dict:
    """Values the seeded data holds, for conditions that must match something."""
    rows = odata(client, f"{CONV}?$select=_msdyn_activeagentid_value,subject,createdon&$orderby=createdon")
    agent = next(r["_msdyn_activeagentid_value"] for r in rows if r["_msdyn_activeagentid_value"])
    return {"agent": agent, "day": rows[len(rows) // 2]["createdon"][:10]}


# (FetchXML filter, the same question as an OData $filter); {agent} and {day} come from the seeded data.
FN = "Microsoft.Dynamics.CRM."
DIFFERENTIAL = [
    ('<condition attribute="statuscode" operator="eq" value="2"/>', "statuscode eq 2"),
    ('<condition attribute="statuscode" operator="ne" value="2"/>', "statuscode ne 2"),
    ('<condition attribute="statuscode" operator="neq" value="2"/>', "statuscode ne 2"),
    ('<condition attribute="msdyn_conversationhandletimeinseconds" operator="gt" value="300"/>',
     "msdyn_conversationhandletimeinseconds gt 300"),
    ('<condition attribute="msdyn_conversationhandletimeinseconds" operator="ge" value="300"/>',
     "msdyn_conversationhandletimeinseconds ge 300"),
    ('<condition attribute="msdyn_transfercount" operator="lt" value="1"/>', "msdyn_transfercount lt 1"),
    ('<condition attribute="createdon" operator="le" value="{day}T12:00:00Z"/>', "createdon le {day}T12:00:00Z"),
    ('<condition attribute="subject" operator="eq" value="LOGIN PROBLEM (ERIC SANCHEZ)"/>',
     "subject eq 'login problem (eric sanchez)'"),
    ('<condition attribute="subject" operator="like" value="%reset%"/>', "contains(subject,'reset')"),
    ('<condition attribute="subject" operator="not-like" value="%reset%"/>', "not contains(subject,'reset')"),
    ('<condition attribute="subject" operator="begins-with" value="pass"/>', "startswith(subject,'pass')"),
    ('<condition attribute="subject" operator="not-begin-with" value="pass"/>', "not startswith(subject,'pass')"),
    ('<condition attribute="subject" operator="ends-with" value="z)"/>', "endswith(subject,'z)')"),
    ('<condition attribute="subject" operator="not-end-with" value="z)"/>', "not endswith(subject,'z)')"),
    ('<condition attribute="msdyn_closedon" operator="null"/>', "msdyn_closedon eq null"),
    ('<condition attribute="msdyn_closedon" operator="not-null"/>', "msdyn_closedon ne null"),
    ('<condition attribute="statuscode" operator="in"><value>1</value><value>3</value></condition>',
     f"{FN}In(PropertyName='statuscode',PropertyValues=['1','3'])"),
    ('<condition attribute="statuscode" operator="not-in"><value>1</value><value>3</value></condition>',
     f"{FN}NotIn(PropertyName='statuscode',PropertyValues=['1','3'])"),
    (('<condition attribute="msdyn_conversationhandletimeinseconds" operator="between"><value>100</value>'
     '<value>400</value></condition>'),
     f"{FN}Between(PropertyName='msdyn_conversationhandletimeinseconds',PropertyValues=['100','400'])"),
    (('<condition attribute="msdyn_conversationhandletimeinseconds" operator="not-between"><value>100</value>'
     '<value>400</value></condition>'),
     f"{FN}NotBetween(PropertyName='msdyn_conversationhandletimeinseconds',PropertyValues=['100','400'])"),
    ('<condition attribute="createdon" operator="on" value="{day}"/>',
     f"{FN}On(PropertyName='createdon',PropertyValue='{{day}}')"),
    ('<condition attribute="createdon" operator="on-or-after" value="{day}"/>',
     f"{FN}OnOrAfter(PropertyName='createdon',PropertyValue='{{day}}')"),
    ('<condition attribute="createdon" operator="on-or-before" value="{day}"/>',
     f"{FN}OnOrBefore(PropertyName='createdon',PropertyValue='{{day}}')"),
    ('<condition attribute="createdon" operator="today"/>', f"{FN}Today(PropertyName='createdon')"),
    ('<condition attribute="createdon" operator="yesterday"/>', f"{FN}Yesterday(PropertyName='createdon')"),
    ('<condition attribute="createdon" operator="last-seven-days"/>', f"{FN}Last7Days(PropertyName='createdon')"),
    ('<condition attribute="createdon" operator="this-week"/>', f"{FN}ThisWeek(PropertyName='createdon')"),
    ('<condition attribute="createdon" operator="last-month"/>', f"{FN}LastMonth(PropertyName='createdon')"),
    ('<condition attribute="createdon" operator="this-year"/>', f"{FN}ThisYear(PropertyName='createdon')"),
    ('<condition attribute="createdon" operator="last-x-hours" value="30"/>',
     f"{FN}LastXHours(PropertyName='createdon',PropertyValue=30)"),
    ('<condition attribute="createdon" operator="last-x-days" value="3"/>',
     f"{FN}LastXDays(PropertyName='createdon',PropertyValue=3)"),
    ('<condition attribute="createdon" operator="olderthan-x-days" value="5"/>',
     f"{FN}OlderThanXDays(PropertyName='createdon',PropertyValue=5)"),
    ('<condition attribute="createdon" operator="olderthan-x-minutes" value="600"/>',
     f"{FN}OlderThanXMinutes(PropertyName='createdon',PropertyValue=600)"),
    ('<condition attribute="msdyn_closedon" operator="next-x-weeks" value="1"/>',
     f"{FN}NextXWeeks(PropertyName='msdyn_closedon',PropertyValue=1)"),
    ('<condition attribute="msdyn_activeagentid" operator="eq" value="{agent}"/>',
     "_msdyn_activeagentid_value eq {agent}"),
    ('<condition attribute="msdyn_activeagentid" operator="eq" value="{{{agent}}}"/>',
     "_msdyn_activeagentid_value eq {agent}"),
    ('<condition attribute="msdyn_activeagentid" operator="ne-userid"/>',
     f"{FN}NotEqualUserId(PropertyName='_msdyn_activeagentid_value')"),
    ('<condition attribute="msdyn_channel" operator="contain-values"><value>192360000</value></condition>',
     f"{FN}ContainValues(PropertyName='msdyn_channel',PropertyValues=['192360000'])"),
    ('<condition attribute="msdyn_channel" operator="not-contain-values"><value>192360000</value></condition>',
     f"{FN}DoesNotContainValues(PropertyName='msdyn_channel',PropertyValues=['192360000'])"),
    ('<condition attribute="msdyn_isabandoned" operator="eq" value="1"/>', "msdyn_isabandoned eq true"),
    ('<condition attribute="msdyn_isabandoned" operator="ne" value="true"/>', "msdyn_isabandoned ne true"),
    (('<filter type="or"><condition attribute="statuscode" operator="eq" value="4"/><filter>'
     '<condition attribute="statuscode" operator="eq" value="2"/>'
     '<condition attribute="msdyn_transfercount" operator="ge" value="1"/></filter></filter>'),
     "statuscode eq 4 or (statuscode eq 2 and msdyn_transfercount ge 1)"),
]


@pytest.mark.parametrize("fetch_filter,odata_filter", DIFFERENTIAL, ids=[d[1][:60] for d in DIFFERENTIAL])
def test_each_operator_family_answers_as_odata_does(client, sample, fetch_filter, odata_filter):
    expected = ids(odata(client, f"{CONV}?$select=activityid&$filter={quote(odata_filter.format(**sample))}"))
    got = ids(answer(client, conversations(fetch_filter.format(**sample)))["value"])
    assert sorted(got) == sorted(expected)
    assert 0 < len(got) or "today" in fetch_filter or "next-x" in fetch_filter


ORDERS = [
    ('<order attribute="createdon" descending="true"/>', "createdon desc"),
    ('<order attribute="msdyn_transfercount"/><order attribute="subject" descending="true"/>',
     "msdyn_transfercount,subject desc"),
    ('<order attribute="msdyn_activeagentid"/>', "_msdyn_activeagentid_value"),  # lookups sort by name
    ('<order attribute="msdyn_closedon" descending="true"/>', "msdyn_closedon desc"),
]


@pytest.mark.parametrize("fetch_order,odata_order", ORDERS, ids=[o[1] for o in ORDERS])
def test_orders_and_every_page_through_the_paging_cookie_as_odata(client, fetch_order, odata_order):
    odata_filter = "statuscode ne 1"
    expected = ids(odata(client, f"{CONV}?$select=activityid&$filter={quote(odata_filter)}&$orderby="
                                 f"{quote(odata_order)}"))
    xml = conversations('<condition attribute="statuscode" operator="ne" value="1"/>', order=fetch_order,
                        fetch_attrs=' count="37"')
    assert ids(all_pages(client, xml)) == expected
    assert ids(answer(client, xml.replace('count="37"', 'count="5000"'))["value"]) == expected


def test_pages_by_number_without_a_cookie(client):
    expected = ids(odata(client, f"{CONV}?$select=activityid&$orderby=createdon"))
    pages = [ids(answer(client, conversations(order='<order attribute="createdon"/>',
                                              fetch_attrs=f' count="100" page="{n}"'))["value"]) for n in (1, 2, 5, 6)]
    assert pages == [expected[:100], expected[100:200], expected[400:500], []]


def test_linked_columns_filters_and_orders(client):
    """An inner link to the agent: its columns named <alias>.<column>, its filter in the join, ordered after the
    root's orders; the same rows as OData's filter on the navigation property."""
    xml = conversations(attrs='<attribute name="subject"/>', order='<order attribute="statuscode" />',
                        links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                              'alias="agent"><attribute name="fullname"/><attribute name="title" alias="role"/>'
                              '<filter><condition attribute="fullname" operator="begins-with" value="a"/></filter>'
                              '<order attribute="fullname" descending="true"/></link-entity>',
                        fetch_attrs=' useraworderby="true"')
    rows = answer(client, xml)["value"]
    nav = "msdyn_activeagentid_msdyn_ocliveworkitem"
    expected = odata(client, f"{CONV}?$select=activityid,statuscode&$filter=startswith({nav}/fullname,'a')")
    assert sorted(ids(rows)) == sorted(ids(expected)) and rows
    assert all(r["agent.fullname"].lower().startswith("a") for r in rows)
    status = {r["activityid"]: r["statuscode"] for r in expected}
    keys = [(status[r["activityid"]], [-ord(ch) for ch in r["agent.fullname"].lower()], r["activityid"])
            for r in rows]
    assert keys == sorted(keys)
    assert all("role" in r or "agent.title" not in r for r in rows)


def test_outer_link_keeps_every_row_and_entityname_conditions_filter_after_the_join(client):
    link = ('<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" link-type="outer" '
            'alias="a"><attribute name="fullname"/></link-entity>')
    everyone = answer(client, conversations(links=link))["value"]
    assert len(everyone) == 500 and any("a.fullname" not in r for r in everyone)
    unassigned = answer(client, conversations('<condition entityname="a" attribute="systemuserid" '
                                              'operator="null"/>', links=link))["value"]
    expected = odata(client, f"{CONV}?$select=activityid&$filter=_msdyn_activeagentid_value eq null")
    assert sorted(ids(unassigned)) == sorted(ids(expected)) and unassigned


def test_one_to_many_link_repeats_parents_and_pages_by_number(client):
    """Users joined to the conversations they handle (from the conversation's lookup to the user's key): one row per
    conversation; distinct gives each user once; pages by number, with a cookie that carries no keys."""
    handled = odata(client, f"{CONV}?$select=_msdyn_activeagentid_value&$filter=statuscode eq 4")
    per_agent = Counter(r["_msdyn_activeagentid_value"] for r in handled if r["_msdyn_activeagentid_value"])
    link = ('<link-entity name="msdyn_ocliveworkitem" from="msdyn_activeagentid" to="systemuserid" alias="c">'
            '<attribute name="subject"/><filter><condition attribute="statuscode" operator="eq" value="4"/>'
            '</filter></link-entity>')
    xml = (f'<fetch count="25"><entity name="systemuser"><attribute name="systemuserid"/>'
           f'<attribute name="fullname"/>{link}</entity></fetch>')
    rows = all_pages(client, xml, "systemusers")
    assert Counter(r["systemuserid"] for r in rows) == per_agent
    distinct = answer(client, xml.replace('<fetch count="25">', '<fetch distinct="true">').replace(
        '<attribute name="subject"/>', ""), "systemusers")["value"]
    assert sorted(ids(distinct, "systemuserid")) == sorted(per_agent)
    assert all("@odata.etag" not in r for r in distinct)


def test_row_shape_aliases_and_formatted_values(client, sample):
    xml = (f'<fetch top="3"><entity name="{ENTITY}"><attribute name="subject"/>'
           f'<attribute name="msdyn_closedon"/><attribute name="statuscode"/><attribute name="msdyn_activeagentid"/>'
           f'<attribute name="msdyn_activeagentid" alias="who"/><filter>'
           f'<condition attribute="msdyn_activeagentid" operator="eq" value="{sample["agent"]}"/>'
           f'<condition attribute="msdyn_closedon" operator="null"/></filter>'
           f'<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid">'
           f'<attribute name="fullname"/></link-entity></entity></fetch>')
    plain = answer(client, xml)["value"]
    assert plain and all("msdyn_closedon" not in r for r in plain)  # nulls are left out
    row = plain[0]
    assert set(row) == {"@odata.etag", "activityid", "subject", "statuscode", "_msdyn_activeagentid_value", "who",
                        "systemuser1.fullname"}
    assert row["who"] == row["_msdyn_activeagentid_value"] == sample["agent"]
    annotated = answer(client, xml, prefer=ALL)["value"][0]
    assert annotated["statuscode" + FORMATTED] in ("Open", "Active", "Waiting", "Wrap-up")
    assert annotated["who@OData.Community.Display.V1.AttributeName"] == "msdyn_activeagentid"
    assert annotated["who@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert annotated["who" + FORMATTED] == annotated["systemuser1.fullname"]
    assert annotated["_msdyn_activeagentid_value" + FORMATTED] == annotated["systemuser1.fullname"]
    formatted = fetch(client, xml, prefer='odata.include-annotations="OData.Community.Display.V1.FormattedValue"')
    assert formatted.headers["Preference-Applied"] == \
        'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'


def test_all_attributes_and_no_attributes_return_every_column(client):
    one = '<filter><condition attribute="statuscode" operator="eq" value="4"/></filter>'
    none = answer(client, f'<fetch top="1"><entity name="{ENTITY}">{one}</entity></fetch>')["value"][0]
    every = answer(client, f'<fetch top="1"><entity name="{ENTITY}"><all-attributes/>{one}</entity></fetch>')
    assert none == every["value"][0] and "msdyn_closedon" in none and "_ownerid_value" in none


def test_choice_columns_sort_by_label_unless_useraworderby(client):
    xml = conversations(attrs='<attribute name="statuscode"/>', order='<order attribute="statuscode"/>')
    by_label = answer(client, xml, prefer=ALL)["value"]
    labels = [r["statuscode" + FORMATTED] for r in by_label]
    assert labels == sorted(labels, key=str.lower) and len(set(labels)) > 2
    raw = [r["statuscode"] for r in answer(client, xml.replace("<fetch>", '<fetch useraworderby="1">'))["value"]]
    assert raw == sorted(raw) and raw != [r["statuscode"] for r in by_label]


def test_top_count_and_total_record_count(client):
    assert len(answer(client, conversations(fetch_attrs=' top="7"'))["value"]) == 7
    counted = answer(client, conversations('<condition attribute="statuscode" operator="eq" value="4"/>',
                                           fetch_attrs=' count="10" returntotalrecordcount="true"'), prefer=ALL)
    expected = len(odata(client, f"{CONV}?$select=activityid&$filter=statuscode eq 4"))
    assert counted["@odata.count"] == counted["@Microsoft.Dynamics.CRM.totalrecordcount"] == expected
    assert counted["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    assert len(counted["value"]) == 10 and counted["@Microsoft.Dynamics.CRM.morerecords"] is True
    dollar = fetch(client, conversations(fetch_attrs=' count="2"'), extra="&$count=true").get_json()
    assert dollar["@odata.count"] == 500
    cookie = ElementTree.fromstring(counted["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
    assert cookie.get("pagenumber") == "2" and cookie.get("istracking") == "False"
    inner = ElementTree.fromstring(unquote(unquote(cookie.get("pagingcookie"))))
    assert inner.get("page") == "1" and [key.tag for key in inner] == ["activityid"]
    assert (inner[0].get("first"), inner[0].get("last")) == (counted["value"][0]["activityid"],
                                                             counted["value"][-1]["activityid"])
    plain = answer(client, conversations(fetch_attrs=' count="10"'))
    assert not any(key.startswith("@Microsoft") for key in plain)  # the annotations are asked for


def test_distinct_returns_each_combination_once(client):
    xml = conversations(attrs='<attribute name="statuscode"/><attribute name="prioritycode"/>',
                        fetch_attrs=' distinct="true"')
    rows = answer(client, xml)["value"]
    everything = odata(client, f"{CONV}?$select=statuscode,prioritycode")
    assert sorted((r["statuscode"], r.get("prioritycode")) for r in rows) == \
        sorted({(r["statuscode"], r["prioritycode"]) for r in everything}, key=str)


def test_aggregates_grouped_and_ordered(client):
    xml = (f'<fetch aggregate="true"><entity name="{ENTITY}">'
           '<attribute name="statuscode" alias="status" groupby="true"/>'
           '<attribute name="activityid" alias="rows" aggregate="count"/>'
           '<attribute name="msdyn_closedon" alias="closed" aggregate="countcolumn"/>'
           '<attribute name="msdyn_activeagentid" alias="agents" aggregate="countcolumn" distinct="true"/>'
           '<attribute name="msdyn_conversationhandletimeinseconds" alias="total" aggregate="sum"/>'
           '<attribute name="msdyn_conversationhandletimeinseconds" alias="mean" aggregate="avg"/>'
           '<attribute name="msdyn_conversationhandletimeinseconds" alias="low" aggregate="min"/>'
           '<attribute name="msdyn_conversationhandletimeinseconds" alias="high" aggregate="max"/>'
           '<order alias="status" descending="true"/></entity></fetch>')
    got = answer(client, xml)["value"]
    assert [g["status"] for g in got] == sorted((g["status"] for g in got), reverse=True)
    rows = odata(client, f"{CONV}?$select=statuscode,msdyn_closedon,_msdyn_activeagentid_value,"
                         "msdyn_conversationhandletimeinseconds")
    for group in got:
        mine = [r for r in rows if r["statuscode"] == group["status"]]
        times = [r["msdyn_conversationhandletimeinseconds"] for r in mine
                 if r["msdyn_conversationhandletimeinseconds"] is not None]
        assert group["rows"] == len(mine)
        assert group["closed"] == sum(r["msdyn_closedon"] is not None for r in mine)
        assert group["agents"] == len({r["_msdyn_activeagentid_value"] for r in mine} - {None})
        if times:
            assert (group["total"], group["low"], group["high"]) == (sum(times), min(times), max(times))
            assert group["mean"] == int(sum(times) / len(times))  # whole-number columns average whole
        assert "@odata.etag" not in group and "activityid" not in group


def test_aggregate_over_a_linked_column_and_the_aggregate_limit(client):
    xml = (f'<fetch aggregate="true"{{limit}}><entity name="{ENTITY}">'
           '<attribute name="activityid" alias="n" aggregate="count"/>'
           '<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" alias="agent">'
           '<attribute name="fullname" alias="agent" groupby="true"/></link-entity>'
           '<order alias="n" descending="true"/></entity></fetch>')
    got = answer(client, xml.format(limit=""))["value"]
    rows = odata(client, f"{CONV}?$select=_msdyn_activeagentid_value")
    assert sum(g["n"] for g in got) == sum(r["_msdyn_activeagentid_value"] is not None for r in rows)
    assert [g["n"] for g in got] == sorted((g["n"] for g in got), reverse=True)
    response = fetch(client, xml.format(limit=' aggregatelimit="100"'))
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "0x8004e023", "message": "AggregateQueryRecordLimit exceeded. Cannot perform this operation."}


def test_inside_a_batch(client):
    xml = conversations(fetch_attrs=' top="2"')
    answered = send(client, batch_body(request_part("GET", f"/api/data/v9.2/{CONV}?fetchXml={quote(xml)}")))
    [(status, text)] = responses(answered)
    assert status == 200 and len(json.loads(text[text.index("{"):])["value"]) == 2


BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><fetch><entity name="msdyn_ocliveworkitem">'
        '<attribute name="subject"/><filter><condition attribute="subject" operator="eq" value="&lol3;"/>'
        '</filter></entity></fetch>')
# (FetchXML, status, error code, words the message must hold)
REFUSED = [
    ("<fetch><entity name='msdyn_ocliveworkitem'>", 400, "0x80040201", "Invalid XML"),
    (BOMB, 400, "0x80040201", "Invalid XML"),
    ("<fetch><entity name='account'/></fetch>", 400, "0x80060888", "does not match"),
    ("<fetch><entity name='nosuchtable'/></fetch>", 400, "0x80041102", "nosuchtable"),
    (conversations(attrs='<attribute name="nosuchcolumn"/>'), 400, "0x80041103", "nosuchcolumn"),
    (conversations(attrs='<attribute name="_ownerid_value"/>'), 400, "0x80041103", "_ownerid_value"),
    (conversations('<condition attribute="subject" operator="eq"/>'), 400, "0x80040203", "'eq'"),
    (conversations('<condition attribute="subject" operator="null" value="x"/>'), 400, "0x80040203", "'null'"),
    (conversations('<condition attribute="createdon" operator="between"><value>2026-01-01</value></condition>'),
     400, "0x80040203", "'between'"),
    (conversations('<condition attribute="statuscode" operator="in"/>'), 400, "0x80040203", "'in'"),
    (conversations('<condition attribute="subject" operator="sounds-like" value="x"/>'), 400, "0x80040201",
     "sounds-like"),
    (conversations('<condition attribute="statuscode" operator="eq" value="open"/>'), 400, None, "open"),
    (conversations('<condition attribute="createdon" operator="last-x-days" value="many"/>'), 400, None, "many"),
    (conversations(attrs='<attribute name="subject" colour="red"/>'), 400, "0x80040201", "colour"),
    (conversations(attrs='<column name="subject"/>'), 400, "0x80040201", "column"),
    (conversations(fetch_attrs=' top="3" count="2"'), 400, "0x80040203", "top"),
    (conversations(fetch_attrs=' count="5001"'), 400, "0x80040203", "count"),
    (conversations(links='<link-entity name="systemuser"/>'), 400, "0x80041102", "many-to-many"),
    (conversations(fetch_attrs=' aggregate="true"', attrs='<attribute name="subject"/>'), 400, "0x80040203",
     "alias"),
    (conversations('<condition attribute="createdon" operator="this-fiscal-year"/>'), 501, "0x8004d101",
     "this-fiscal-year"),
    (conversations('<condition attribute="ownerid" operator="eq-useroruserteams"/>'), 501, "0x8004d101",
     "eq-useroruserteams"),
    (conversations('<condition attribute="msdyn_activeagentid" operator="under" value="{x}"/>'), 501,
     "0x8004d101", "under"),
    (conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                         'link-type="matchfirstrowusingcrossapply"/>'), 501, "0x8004d101",
     "matchfirstrowusingcrossapply"),
    (conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                         'link-type="any"/>'), 400, "0x80040201", "any"),
    (conversations('<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid"/>'), 400,
     "0x80040201", "inner"),
    (conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                         'link-type="exists"><order attribute="fullname"/></link-entity>'), 501, "0x8004d101",
     "exists"),
    (conversations(links='<link-entity name="account" from="name" to="subject"/>'), 501, "0x8004d101",
     "account.name"),
    (conversations(fetch_attrs=' aggregate="true"', attrs='<attribute name="createdon" alias="d" groupby="true" '
                                                          'dategrouping="fiscal-period"/>'), 501, "0x8004d101",
     "fiscal-period"),
    (conversations(fetch_attrs=' aggregate="true"', attrs='<attribute name="subject" alias="d" groupby="true" '
                                                          'dategrouping="year"/>'), 400, "0x80040203", "subject"),
    (conversations('<condition attribute="subject" operator="like" value="[a-c]%"/>'), 501, "0x8004d101", "[...]"),
    (conversations(fetch_attrs=' datasource="retained"'), 501, "0x8004d101", "datasource"),
    (conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                         f'alias="{ENTITY}"/>'), 400, "0x80040203", "already names"),
    (conversations(order='<order attribute="msdyn_transfercount"/>', fetch_attrs=' count="3" page="2" paging-cookie='
                   + quoteattr('<cookie page="1"><msdyn_transfercount last="many" /><activityid last="x" /></cookie>')),
     400, None, "'many'"),
    (conversations(fetch_attrs=' count="3" page="2" paging-cookie="&lt;cookie"'), 400, "0x80040201", "paging cookie"),
    (conversations(fetch_attrs=' count="3" page="2" paging-cookie='
                   + quoteattr('<cookie page="1"><createdon last="x" /></cookie>')), 400, None, "paging cookie"),
]


@pytest.mark.parametrize("xml,status,code,words", REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_malformed_or_not_emulated_fetchxml_is_refused_by_name(client, xml, status, code, words):
    response = fetch(client, xml)
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert code is None or error["code"] == code
    assert words in error["message"]


def test_fetchxml_with_other_system_options_or_off_a_collection_is_refused(client):
    xml = conversations(fetch_attrs=' top="1"')
    response = fetch(client, xml, extra="&$select=subject")
    assert response.status_code == 400 and "$select" in response.get_json()["error"]["message"]
    one = answer(client, xml)["value"][0]["activityid"]
    response = client.get(f"{CONV}({one})?fetchXml={quote(xml)}")
    assert response.status_code == 400 and "fetchXml" in response.get_json()["error"]["message"]


def test_a_cookie_from_the_client_in_dataverse_form(client):
    """Braced upper-case GUIDs, as Dataverse writes them, are the same keys."""
    first = answer(client, conversations(fetch_attrs=' count="3"'), prefer=PAGING)
    last = first["value"][-1]["activityid"]
    cookie = f'<cookie page="1"><activityid last="{{{last.upper()}}}" first="{{{last.upper()}}}" /></cookie>'
    second = answer(client, conversations(fetch_attrs=f' count="3" page="2" paging-cookie={quoteattr(cookie)}'))
    expected = ids(odata(client, f"{CONV}?$select=activityid&$orderby=activityid"))
    assert ids(first["value"]) + ids(second["value"]) == expected[:6]


def test_nested_links_through_a_polymorphic_lookup_and_orders_by_alias_and_entityname(client):
    """Conversation -> its queue -> the queue's owner (ownerid points at a user or a team); the root orders by the
    owner's name (entityname) before its own aliased column."""
    xml = (f'<fetch><entity name="{ENTITY}"><attribute name="subject" alias="s"/>'
           '<order entityname="owner" attribute="fullname" descending="true"/><order alias="s"/>'
           '<link-entity name="queue" from="queueid" to="msdyn_cdsqueueid" alias="q"><attribute name="name"/>'
           '<link-entity name="systemuser" from="systemuserid" to="ownerid" alias="owner">'
           '<attribute name="fullname"/></link-entity></link-entity></entity></fetch>')
    rows = answer(client, xml)["value"]
    expected = odata(client, f"{CONV}?$select=activityid&$filter=_msdyn_cdsqueueid_value ne null")
    queues = odata(client, "queues?$select=name,_ownerid_value")
    owned_by_users = {q["name"] for q in queues if q["_ownerid_value"] in
                      {u["systemuserid"] for u in odata(client, "systemusers?$select=systemuserid")}}
    assert rows and all(r["q.name"] in owned_by_users for r in rows)
    assert len(rows) <= len(expected)
    keys = [(r["owner.fullname"].lower(), r["s"].lower()) for r in rows]
    assert keys == sorted(keys, key=lambda k: (tuple(-ord(c) for c in k[0]), k[1]))


def test_valueof_compares_two_columns(client):
    rows = odata(client, f"{CONV}?$select=createdon,msdyn_startedon")
    xml = conversations('<condition attribute="msdyn_startedon" operator="gt" valueof="createdon"/>',
                        attrs='<attribute name="createdon"/><attribute name="msdyn_startedon"/>')
    got = answer(client, xml)["value"]
    assert sorted(ids(got)) == sorted(r["activityid"] for r in rows
                                      if r["msdyn_startedon"] and r["msdyn_startedon"] > r["createdon"])


@pytest.mark.parametrize("xml,code", [
    (conversations("<filter>" * 40 + '<condition attribute="statuscode" operator="eq" value="1"/>' + "</filter>" * 40),
     "0x80060888"),
    (conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid"/>' * 16),
     "0x8004430D"),
    (conversations(attrs='<attribute name="subject"><value>1</value></attribute>'), "0x80040201"),
])
def test_query_size_limits(client, xml, code):
    """Inside a $batch, where long FetchXML goes (URLs up to 64 KB)."""
    answered = send(client, batch_body(request_part("GET", f"/api/data/v9.2/{CONV}?fetchXml={quote(xml)}")))
    [(status, text)] = responses(answered)
    assert status == 400 and json.loads(text[text.index("{"):])["error"]["code"] == code


def test_long_fetchxml_goes_in_a_batch_up_to_64_kb_and_500_conditions(client):
    """Past 32 KB a GET answers 414; inside a $batch the same FetchXML runs (URLs up to 64 KB), and past 500
    conditions it answers Dataverse's TooManyConditionsInQuery."""
    def conditions(n: int) -> str:
        return conversations('<filter type="or">' + '<condition attribute="subject" operator="ne" value="x"/>' * n
                             + "</filter>")

    assert fetch(client, conditions(450)).status_code == 414
    for n, status in ((450, 200), (501, 400)):
        answered = send(client, batch_body(request_part("GET", f"/api/data/v9.2/{CONV}?fetchXml="
                                                                f"{quote(conditions(n))}")))
        [(got, text)] = responses(answered)
        assert got == status, text[:300]
    assert json.loads(text[text.index("{"):])["error"]["code"] == "0x8004430C"


# -- real clients: the official Python SDK and npm dynamics-web-api -------------------------------------------------

def test_python_sdk_fetchxml_pages_with_the_cookie(sdk, client):  # noqa: F811  (the fixture)
    """client.query.fetchxml(...).execute_pages(): its own cookie handling, page after page."""
    xml = conversations('<condition attribute="statuscode" operator="ne" value="1"/>',
                        attrs='<attribute name="subject"/>', order='<order attribute="createdon"/>',
                        fetch_attrs=' count="60"')
    expected = odata(client, f"{CONV}?$select=subject&$filter=statuscode ne 1&$orderby=createdon")
    pages = list(sdk.query.fetchxml(xml).execute_pages())
    assert len(pages) == -(-len(expected) // 60) > 1
    records = [record for page in pages for record in page]
    assert [r["activityid"] for r in records] == ids(expected)
    assert [r["subject"] for r in records] == [r["subject"] for r in expected]


def test_python_sdk_fetchxml_falls_back_to_pages_by_number(sdk, client):  # noqa: F811  (the fixture)
    link = ('<link-entity name="msdyn_ocliveworkitem" from="msdyn_activeagentid" to="systemuserid" alias="c">'
            '<attribute name="subject"/></link-entity>')
    xml = f'<fetch count="100"><entity name="systemuser"><attribute name="fullname"/>{link}</entity></fetch>'
    with pytest.warns(UserWarning, match="simple paging"):
        records = sdk.query.fetchxml(xml).execute()
    assigned = odata(client, f"{CONV}?$select=activityid&$filter=_msdyn_activeagentid_value ne null")
    assert len(records) == len(assigned) > 100


def test_dynamics_web_api_fetch_and_fetch_all(live):
    node, npm = _node_tools()
    if not (JS / "node_modules" / "dynamics-web-api").is_dir():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True,
                                   timeout=300, check=False)
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    env["EMULATOR_URL"] = live.url
    result = subprocess.run([node, "--test", "--test-reporter=tap", "fetchxml.test.mjs"], cwd=JS, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"node --test failed:\n{result.stdout}\n{result.stderr}"
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) == 3, result.stdout  # none skipped or lost


@pytest.mark.parametrize("link_type,inside_filter", [("exists", False), ("in", False), ("any", True),
                                                     ("not all", True)])
def test_exists_in_and_any_links_filter_without_repeating_or_adding_columns(client, link_type, inside_filter):
    """Users with a closed conversation: each once, with no linked columns (a semi-join)."""
    closed = odata(client, f"{CONV}?$select=_msdyn_activeagentid_value&$filter=statuscode eq 4")
    agents = {r["_msdyn_activeagentid_value"] for r in closed} - {None}
    link = (f'<link-entity name="msdyn_ocliveworkitem" from="msdyn_activeagentid" to="systemuserid" '
            f'link-type="{link_type}"><attribute name="subject"/><filter>'
            f'<condition attribute="statuscode" operator="eq" value="4"/></filter></link-entity>')
    body = f"<filter>{link}</filter>" if inside_filter else link
    rows = answer(client, f'<fetch><entity name="systemuser"><attribute name="fullname"/>{body}</entity></fetch>',
                  "systemusers")["value"]
    assert sorted(ids(rows, "systemuserid")) == sorted(agents) and agents
    assert all(set(r) == {"@odata.etag", "systemuserid", "fullname"} for r in rows)


def test_not_any_and_all_links(client):
    """not any: users without a closed conversation; all: users with conversations, none of them closed."""
    conversations_of: dict[str, set[int]] = {}
    for r in odata(client, f"{CONV}?$select=_msdyn_activeagentid_value,statuscode"):
        if r["_msdyn_activeagentid_value"]:
            conversations_of.setdefault(r["_msdyn_activeagentid_value"], set()).add(r["statuscode"])
    users = ids(odata(client, "systemusers?$select=systemuserid"), "systemuserid")

    def ask(link_type: str) -> list[str]:
        xml = (f'<fetch><entity name="systemuser"><attribute name="systemuserid"/><filter type="and">'
               f'<link-entity name="msdyn_ocliveworkitem" from="msdyn_activeagentid" to="systemuserid" '
               f'link-type="{link_type}"><filter><condition attribute="statuscode" operator="eq" value="4"/>'
               f'</filter></link-entity></filter></entity></fetch>')
        return sorted(ids(answer(client, xml, "systemusers")["value"], "systemuserid"))

    assert ask("not any") == sorted(u for u in users if 4 not in conversations_of.get(u, set()))
    assert ask("all") == sorted(u for u in users if u in conversations_of and 4 not in conversations_of[u])
    assert ask("not any") and users


def test_exists_link_against_odata_on_the_many_to_one_side(client):
    xml = conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                              'link-type="exists"><filter><condition attribute="fullname" operator="begins-with" '
                              'value="a"/></filter></link-entity>')
    nav = "msdyn_activeagentid_msdyn_ocliveworkitem"
    expected = odata(client, f"{CONV}?$select=activityid&$filter=startswith({nav}/fullname,'a')")
    assert sorted(ids(answer(client, xml)["value"])) == sorted(ids(expected)) and expected


def week_of_year(day: date) -> int:
    """SQL Server's DATEPART(week): weeks start on Sunday and week 1 holds January 1."""
    january_first = (date(day.year, 1, 1).weekday() + 1) % 7  # 0 = Sunday
    return (day.timetuple().tm_yday - 1 + january_first) // 7 + 1


def test_dategrouping_by_day_week_month_quarter_and_year(client):
    assert week_of_year(date(2023, 3, 25)) == 12  # the docs' example
    parts = ("day", "week", "month", "quarter", "year")
    xml = (f'<fetch aggregate="true"><entity name="{ENTITY}">'
           + "".join(f'<attribute name="createdon" alias="{p}" groupby="true" dategrouping="{p}"/>' for p in parts)
           + '<attribute name="activityid" alias="n" aggregate="count"/></entity></fetch>')
    got = Counter({tuple(g[p] for p in parts): g["n"] for g in answer(client, xml)["value"]})
    expected: Counter = Counter()
    for row in odata(client, f"{CONV}?$select=createdon"):
        day = date.fromisoformat(row["createdon"][:10])
        expected[(day.day, week_of_year(day), day.month, (day.month + 2) // 3, day.year)] += 1
    assert got == expected and len(got) > 10


def test_a_repeated_fetchxml_follows_the_clock_and_the_caller(emulator, api):
    """Compiled FetchXML is reused per text: the same query must still answer for the current clock and caller."""
    recent = conversations('<condition attribute="createdon" operator="last-x-days" value="400"/>')
    assert len(answer(api, recent)["value"]) == 10
    emulator.clock.set(NOW + timedelta(days=800))
    assert answer(api, recent)["value"] == []
    mine = conversations('<condition attribute="msdyn_activeagentid" operator="eq-userid"/>',
                         attrs='<attribute name="msdyn_activeagentid"/>')
    agent = next(r["_msdyn_activeagentid_value"] for r in odata(api, f"{CONV}?$select=_msdyn_activeagentid_value")
                 if r["_msdyn_activeagentid_value"])
    assert all(r.get("_msdyn_activeagentid_value") != agent for r in answer(api, mine)["value"])
    emulator.caller_id = agent
    rows = answer(api, mine)["value"]
    assert rows and all(r["_msdyn_activeagentid_value"] == agent for r in rows)


def test_a_link_with_only_from_or_only_to_follows_the_one_relationship(client):
    both = conversations(links='<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" '
                               'alias="a"><attribute name="fullname"/></link-entity>')
    expected = answer(client, both)["value"]
    assert answer(client, both.replace('from="systemuserid" ', ""))["value"] == expected
    sessions = conversations(links='<link-entity name="msdyn_ocsession" from="msdyn_liveworkitemid" to="activityid" '
                                   'link-type="exists"/>')
    with_sessions = answer(client, sessions)["value"]
    assert with_sessions and answer(client, sessions.replace('from="msdyn_liveworkitemid" ', ""))["value"] == \
        with_sessions  # the session's one lookup to conversations
    for ambiguous in ('<link-entity name="systemuser" to="activityid"/>',  # no user lookup points at conversations
                      '<link-entity name="systemuser" from="systemuserid"/>'):  # several conversation lookups do
        refused = fetch(client, conversations(links=ambiguous))
        assert refused.status_code == 400 and "both" in refused.get_json()["error"]["message"]
