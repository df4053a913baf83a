"""The FetchXML differential oracle: random FetchXML queries (nested and/or filters over every implemented operator
family, an inner, exists or in link-entity with its own filter, orders, page sizes) paged through with the paging
cookie must answer exactly the rows, in the order, of the same question asked in OData; and FetchXML damaged at
random answers 200, 400 or 501 in Dataverse's error shape, never 500. `make fuzz` runs the long version
(ORACLE_QUERIES)."""
from __future__ import annotations

import os
import random
import re
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from .oracle import report_section
from .test_fetchxml import CONV, ENTITY, all_pages, ids, odata

QUERIES = int(os.environ.get("ORACLE_QUERIES", "60"))
SEED = int(os.environ.get("ORACLE_SEED", "20260115"))
REPORT = os.environ.get("FUZZ_REPORT")
FN = "Microsoft.Dynamics.CRM."

STRINGS = ["subject", "msdyn_title"]
NUMBERS = ["msdyn_transfercount", "msdyn_conversationhandletimeinseconds", "msdyn_conversationfirstwaittimeinseconds"]
CHOICES = ["statuscode", "prioritycode", "msdyn_customersentimentlabel"]
DATES = ["createdon", "msdyn_closedon", "msdyn_startedon"]
LOOKUPS = ["msdyn_activeagentid", "msdyn_cdsqueueid"]
FLAGS = ["msdyn_isabandoned", "msdyn_isoutbound"]
COMPARE = {"eq": "eq", "ne": "ne", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}
RELATIVE = {"today": "Today", "yesterday": "Yesterday", "last-seven-days": "Last7Days", "this-week": "ThisWeek",
            "last-week": "LastWeek", "this-month": "ThisMonth", "last-month": "LastMonth", "this-year": "ThisYear"}
RELATIVE_X = {"last-x-hours": "LastXHours", "last-x-days": "LastXDays", "last-x-weeks": "LastXWeeks",
              "last-x-months": "LastXMonths", "olderthan-x-days": "OlderThanXDays",
              "olderthan-x-hours": "OlderThanXHours", "next-x-days": "NextXDays"}
NAV = "msdyn_activeagentid_msdyn_ocliveworkitem"


def prop(column: str) -> str:
    return f"_{column}_value" if column in LOOKUPS else column


class Generator:
    """Random (FetchXML, OData) pairs asking the same question of the seeded conversations."""

    def __init__(self, rng: random.Random, rows: list[dict]) -> None:
        self.rng, self.rows = rng, rows

    def value(self, column: str):
        present = [r[prop(column)] for r in self.rows if r[prop(column)] is not None]
        return self.rng.choice(present)

    def condition(self) -> tuple[str, str]:
        rng = self.rng
        family = rng.choice(["compare", "pattern", "null", "list", "range", "day", "relative", "flag", "lookup"])
        if family == "compare":
            column = rng.choice(NUMBERS + CHOICES + DATES + STRINGS)
            op, value = rng.choice(list(COMPARE)), self.value(column)
            literal = f"'{value}'" if column in STRINGS else value
            return (f'<condition attribute="{column}" operator="{op}" value="{value}"/>',
                    f"{column} {COMPARE[op]} {literal}")
        if family == "pattern":
            column = rng.choice(STRINGS)
            text = str(self.value(column))
            start = rng.randrange(max(1, len(text) - 3))
            needle = "".join(ch for ch in text[start:start + rng.randint(1, 3)] if ch not in "%_['&<>\"")
            needle = needle.upper() if rng.random() < 0.3 else needle
            op, fn, pattern = rng.choice([("like", "contains", "%{}%"), ("begins-with", "startswith", "{}"),
                                          ("ends-with", "endswith", "{}")])
            negate = rng.random() < 0.3
            op = {"like": "not-like", "begins-with": "not-begin-with", "ends-with": "not-end-with"}[op] if negate \
                else op
            return (f'<condition attribute="{column}" operator="{op}" value="{pattern.format(needle)}"/>',
                    f"{'not ' if negate else ''}{fn}({column},'{needle}')")
        if family == "null":
            column = rng.choice(STRINGS + DATES + LOOKUPS + NUMBERS)
            op = rng.choice(["null", "not-null"])
            return (f'<condition attribute="{column}" operator="{op}"/>',
                    f"{prop(column)} {'eq' if op == 'null' else 'ne'} null")
        if family == "list":
            column = rng.choice(NUMBERS + CHOICES + LOOKUPS)
            values = sorted({str(self.value(column)) for _ in range(rng.randint(1, 4))})
            op = rng.choice(["in", "not-in"])
            items = "".join(f"<value>{v}</value>" for v in values)
            return (f'<condition attribute="{column}" operator="{op}">{items}</condition>',
                    (f"{FN}{'In' if op == 'in' else 'NotIn'}(PropertyName='{prop(column)}',"
                    f"PropertyValues=[{','.join(repr(v) for v in values)}])"))
        if family == "range":
            column = rng.choice(NUMBERS + DATES)
            low, high = sorted([self.value(column), self.value(column)])
            op = rng.choice(["between", "not-between"])
            return ((f'<condition attribute="{column}" operator="{op}"><value>{low}</value><value>{high}</value>'
                    f'</condition>'),
                    (f"{FN}{'Between' if op == 'between' else 'NotBetween'}(PropertyName='{column}',"
                    f"PropertyValues=['{low}','{high}'])"))
        if family == "day":
            column, op = rng.choice(DATES), rng.choice(["on", "on-or-after", "on-or-before"])
            day = str(self.value(column))[:10]
            fn = {"on": "On", "on-or-after": "OnOrAfter", "on-or-before": "OnOrBefore"}[op]
            return (f'<condition attribute="{column}" operator="{op}" value="{day}"/>',
                    f"{FN}{fn}(PropertyName='{column}',PropertyValue='{day}')")
        if family == "relative":
            column = rng.choice(DATES)
            if rng.random() < 0.5:
                op = rng.choice(list(RELATIVE))
                return (f'<condition attribute="{column}" operator="{op}"/>',
                        f"{FN}{RELATIVE[op]}(PropertyName='{column}')")
            op, x = rng.choice(list(RELATIVE_X)), rng.randint(1, 40)
            return (f'<condition attribute="{column}" operator="{op}" value="{x}"/>',
                    f"{FN}{RELATIVE_X[op]}(PropertyName='{column}',PropertyValue={x})")
        if family == "flag":
            column, value = rng.choice(FLAGS), rng.choice([True, False])
            text = rng.choice(["1", "true"] if value else ["0", "false"])
            op = rng.choice(["eq", "ne"])
            return (f'<condition attribute="{column}" operator="{op}" value="{text}"/>',
                    f"{column} {op} {str(value).lower()}")
        column = rng.choice(LOOKUPS)
        value = self.value(column)
        return (f'<condition attribute="{column}" operator="eq" value="{{{value.upper()}}}"/>',
                f"{prop(column)} eq {value}")

    def filter(self, depth: int = 0) -> tuple[str, str]:
        kind = self.rng.choice(["and", "or"])
        parts = [self.filter(depth + 1) if depth < 2 and self.rng.random() < 0.25 else self.condition()
                 for _ in range(self.rng.randint(1, 3))]
        return (f'<filter type="{kind}">{"".join(x for x, _ in parts)}</filter>',
                "(" + f" {kind} ".join(f"({o})" for _, o in parts) + ")")

    def order(self) -> tuple[str, str, bool]:
        terms = self.rng.sample(NUMBERS + DATES + STRINGS + LOOKUPS + CHOICES, self.rng.randint(0, 2))
        fetch, odata_terms = "", []
        for column in terms:
            descending = self.rng.random() < 0.5
            fetch += f'<order attribute="{column}" descending="{str(descending).lower()}"/>'
            odata_terms.append(f"{prop(column)}{' desc' if descending else ''}")
        return fetch, ",".join(odata_terms), any(c in CHOICES for c in terms)

    def query(self) -> tuple[str, str]:
        fetch_filter, odata_filter = self.filter()
        order, odata_order, raw = self.order()
        link = ""
        if self.rng.random() < 0.2:
            letter = self.rng.choice("abcdjms")
            link_type = self.rng.choice(["inner", "exists", "in"])  # to one row each: the same rows
            link = (f'<link-entity name="systemuser" from="systemuserid" to="msdyn_activeagentid" alias="agent" '
                    f'link-type="{link_type}"><filter><condition attribute="fullname" operator="begins-with" '
                    f'value="{letter}"/></filter></link-entity>')
            odata_filter = f"({odata_filter}) and startswith({NAV}/fullname,'{letter}')"
        count = self.rng.choice([7, 50, 200, 5000])
        raw_order = ' useraworderby="true"' if raw else ""
        xml = (f'<fetch count="{count}"{raw_order}><entity name="{ENTITY}">'
               f'<attribute name="activityid"/>{order}{fetch_filter}{link}</entity></fetch>')
        url = f"{CONV}?$select=activityid&$filter={quote(odata_filter)}"
        return xml, url + (f"&$orderby={quote(odata_order)}" if odata_order else "")


@pytest.fixture(scope="module")
def data(client) -> list[dict]:
    columns = {prop(c) for c in STRINGS + NUMBERS + CHOICES + DATES + LOOKUPS + FLAGS}
    return odata(client, f"{CONV}?$select={','.join(sorted(columns))}")


def test_random_fetchxml_answers_as_odata(client, data):
    rng = random.Random(SEED)
    generator = Generator(rng, data)
    differences, matched = [], 0
    for _ in range(QUERIES):
        xml, url = generator.query()
        got, expected = ids(all_pages(client, xml)), ids(odata(client, url))
        if got != expected:
            differences.append(f"{xml}\n  vs {url}: {len(got)} rows, expected {len(expected)}")
        matched += bool(expected)
    if REPORT:
        report_section(Path(REPORT), "fetchxml-oracle", f"## FetchXML differential oracle\n\n{QUERIES} random "
                       f"FetchXML queries (seed {SEED}) against the same questions in OData: {len(differences)} "
                       f"differences; {matched} matched at least one row.")
    assert not differences, "\n".join(differences[:5])
    assert matched > QUERIES // 4  # the generator asks questions with answers



# Pieces a mutated query is built from: names, values and operators valid somewhere, so mutants get past the parser.
TOKENS = ["eq", "ne", "in", "like", "between", "null", "on", "last-x-days", "under", "this-fiscal-year", "outer",
          "inner", "exists", "true", "false", "1", "0", "-1", "99999999999999999999", "1e400", "nan", "",
          "2026-01-15", "9999-12-31T23:59:59Z", "0001-01-01", "{00000000-0000-0000-0000-000000000000}", "%", "[a]",
          "subject", "statuscode", "createdon", "msdyn_activeagentid", "ownerid", "msdyn_channel", "activityid",
          "systemuser", "queue", "msdyn_ocliveworkitem", "systemuserid", "queueid", "msdyn_cdsqueueid", "a", "b",
          "agent.fullname", "count", "countcolumn", "sum", "avg", "min", "max", "5000", "5001", "2"]
BASES = [
    ('<fetch count="7" page="2"><entity name="msdyn_ocliveworkitem"><attribute name="subject" alias="s"/>'
    '<order attribute="createdon" descending="true"/><filter type="or"><condition attribute="statuscode" '
    'operator="in"><value>1</value><value>2</value></condition><condition attribute="createdon" '
    'operator="last-x-days" value="3"/></filter><link-entity name="systemuser" from="systemuserid" '
    'to="msdyn_activeagentid" alias="agent" link-type="outer"><attribute name="fullname"/></link-entity>'
    '</entity></fetch>'),
    ('<fetch aggregate="true"><entity name="msdyn_ocliveworkitem"><attribute name="statuscode" alias="st" '
    'groupby="true"/><attribute name="msdyn_transfercount" alias="n" aggregate="sum"/><order alias="st"/>'
    '<link-entity name="queue" from="queueid" to="msdyn_cdsqueueid" alias="q"><attribute name="name" alias="qn" '
    'groupby="true"/></link-entity></entity></fetch>'),
    ('<fetch distinct="true" top="5"><entity name="msdyn_ocliveworkitem"><attribute name="prioritycode"/>'
    '<filter><condition attribute="subject" operator="begins-with" value="a"/><condition attribute="msdyn_channel" '
    'operator="contain-values"><value>192360000</value></condition></filter></entity></fetch>'),
]


def mutate(rng: random.Random, xml: str) -> str:
    """Replace a quoted value or an element name, or drop or duplicate a stretch of text."""
    kind = rng.randrange(4)
    if kind == 0:
        values = [m.span(1) for m in re.finditer(r'"([^"]*)"', xml)]
        start, end = rng.choice(values)
        return xml[:start] + rng.choice(TOKENS) + xml[end:]
    if kind == 1:
        names = [m.span(1) for m in re.finditer(r"</?([a-z-]+)", xml)]
        start, end = rng.choice(names)
        return xml[:start] + rng.choice(["entity", "link-entity", "filter", "condition", "value", "order",
                                         "attribute", "all-attributes", "fetch", "bogus"]) + xml[end:]
    start = rng.randrange(len(xml))
    end = min(len(xml), start + rng.randint(1, 40))
    if kind == 2:
        return xml[:start] + xml[end:]
    return xml[:start] + xml[start:end] * 2 + xml[end:]


def test_mutated_fetchxml_never_answers_500(client):
    rng = random.Random(SEED)
    statuses: Counter = Counter()
    for _ in range(QUERIES * 5):
        xml = rng.choice(BASES)
        for _ in range(rng.randint(1, 3)):
            xml = mutate(rng, xml)
        response = client.get(f"{CONV}?fetchXml={quote(xml)}")
        assert response.status_code in (200, 400, 501), f"{response.status_code} for {xml}: " \
                                                         f"{response.get_data(as_text=True)[:300]}"
        if response.status_code != 200:
            assert set(response.get_json()["error"]) == {"code", "message"}
        statuses[response.status_code] += 1
    assert statuses[200] and statuses[400]
