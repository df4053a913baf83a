"""Benchmark (not a test): the query languages of issue 18 against the OData they stand beside, at one size
(default 1,000,000 conversations), p50 server-side with wrk (1 connection) in rounds that alternate the figures:

- getConversations' query as FetchXML over the same query in OData (target: at most 1.2x);
- "count of conversations by statuscode" as $apply and as FetchXML over the raw SQL GROUP BY plus the bare-route
  floor (target: at most 2x). Dataverse refuses an aggregate over more than 50,000 rows, so the count is of the
  busiest agent's conversations, as a real dashboard's would be;
- a change-tracking delta of 100 changed rows over a getConversations page (target: at most 1.5x).

    .venv/bin/python bench/query_languages.py [--conversations 1000000] [--database URL] [--rounds 5]

Prints the table and writes bench/results/<UTC time>-query-languages.json."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import AUTH, BARE_PATH, NOW, Server, machine, wrk  # noqa: E402
from run import Store, raw_sql, seed  # noqa: E402

from emulator.omnichannel import Omnichannel  # noqa: E402
from emulator.omnichannel.request import build  # noqa: E402

RESULTS = Path(__file__).with_name("results")
SET = "msdyn_ocliveworkitems"


def fetchxml_of_get_conversations(agent: str) -> str:
    """The FetchXML a developer writes for getConversations' query (bench/run.py's request)."""
    return (f'<fetch><entity name="msdyn_ocliveworkitem">'
            f'<attribute name="msdyn_ocliveworkitemid"/><attribute name="msdyn_liveworkstreamid"/>'
            f'<attribute name="msdyn_lastsessionid"/><attribute name="statuscode"/><attribute name="createdon"/>'
            f'<filter><condition attribute="msdyn_activeagentid" operator="eq" value="{agent}"/>'
            f'<condition attribute="statuscode" operator="in"><value>2</value><value>3</value><value>4</value>'
            f'</condition><condition attribute="createdon" operator="last-x-days" value="90"/></filter>'
            f'<order attribute="createdon" descending="true"/></entity></fetch>')


def fetchxml_count_by_status(agent: str) -> str:
    return (f'<fetch aggregate="true"><entity name="msdyn_ocliveworkitem">'
            f'<attribute name="statuscode" groupby="true" alias="statuscode"/>'
            f'<attribute name="activityid" aggregate="count" alias="n"/>'
            f'<filter><condition attribute="msdyn_activeagentid" operator="eq" value="{agent}"/></filter>'
            f'</entity></fetch>')


def rounds_of(urls: dict[str, str], args) -> dict[str, float]:
    """Median p50 (ms) of each URL over `args.rounds` rounds, each round in a rotated order."""
    names, seen = list(urls), {name: [] for name in urls}
    for i in range(args.rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            seen[name].append(wrk(urls[name], connections=1, seconds=args.round_seconds, headers=AUTH)["p50_ms"])
    return {name: round(statistics.median(values), 3) for name, values in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--database", help="a SQLite emulator database already seeded (else a temporary one)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--round-seconds", type=float, default=3)
    parser.add_argument("--requests", type=int, default=300, help="raw SQL runs per measurement")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-ql-"))
    store = None
    if args.database:
        url = args.database
    else:
        store = Store("sqlite", directory, args.conversations, None)
        print(f"seeding {args.conversations} conversations: {seed(store.url, args.conversations)}", file=sys.stderr)
        url = store.url
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        agent = str(conn.execute(sa.text(
            "SELECT msdyn_activeagentid FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid IS NOT NULL "
            "GROUP BY msdyn_activeagentid ORDER BY count(*) DESC, 1 LIMIT 1")).scalar())
    group_sql = ("SELECT statuscode, count(*) FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid = ? "
                 "GROUP BY statuscode")
    grouped_raw = raw_sql(engine, group_sql, (agent,), args.requests)["p50_ms"]
    try:
        with Server(url, "--no-baseline", "--now", NOW, bare=True) as server:
            server.wait(BARE_PATH)
            api = f"{server.url}/api/data/v9.2/"
            request = {"agentId": agent, "status": [2, 3, 4], "createdBeforeDays": 90,
                       "orderBy": [{"attributeName": "createdon", "descending": True}]}
            odata = Omnichannel(server.url, "bench").conversations_url(build(request))
            page_rows = len(requests.get(odata, headers=AUTH, timeout=60).json()["value"])
            tracked = requests.get(f"{api}{SET}?$select=subject,statuscode",
                                   headers={**AUTH, "Prefer": "odata.track-changes,odata.maxpagesize=1"}, timeout=600)
            tracked.raise_for_status()
            delta_link = _delta_link(tracked)
            start = requests.get(f"{api}{SET}?$select=activityid&$top=100&$orderby=createdon desc", headers=AUTH,
                                 timeout=60).json()["value"]
            for row in start:  # the 100 changes the delta answers
                requests.patch(f"{api}{SET}({row['activityid']})", json={"msdyn_title": "changed"},
                               headers=AUTH, timeout=60).raise_for_status()
            changed = len(requests.get(delta_link, headers=AUTH, timeout=60).json()["value"])
            urls = {
                "bare route": server.url + BARE_PATH,
                "getConversations (OData)": odata,
                "getConversations (FetchXML)": f"{api}{SET}?fetchXml={quote(fetchxml_of_get_conversations(agent))}",
                "count by status ($apply)": f"{api}{SET}?$apply=" + quote(
                    f"filter(_msdyn_activeagentid_value eq {agent})/groupby((statuscode),aggregate($count as n))"),
                "count by status (FetchXML)": f"{api}{SET}?fetchXml={quote(fetchxml_count_by_status(agent))}",
                "delta of 100 changes": delta_link,
            }
            p50 = rounds_of(urls, args)
    finally:
        engine.dispose()
        if store is not None:
            store.close()
    floor = p50["bare route"]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "conversations": args.conversations, "agent": agent, "page_rows": page_rows, "delta_rows": changed,
        "p50_ms": p50, "raw_group_by_ms": grouped_raw,
        "ratios": {
            "FetchXML / OData getConversations": round(p50["getConversations (FetchXML)"] /
                                                       p50["getConversations (OData)"], 2),
            "$apply count / (raw GROUP BY + floor)": round(p50["count by status ($apply)"] / (grouped_raw + floor), 2),
            "FetchXML count / (raw GROUP BY + floor)": round(p50["count by status (FetchXML)"] /
                                                             (grouped_raw + floor), 2),
            "delta of 100 / getConversations page": round(p50["delta of 100 changes"] /
                                                          p50["getConversations (OData)"], 2),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}-query-languages.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("conversations", "page_rows", "delta_rows", "p50_ms", "raw_group_by_ms",
                                             "ratios")}, indent=2))
    print(f"written to {out}", file=sys.stderr)


def _delta_link(tracked: requests.Response) -> str:
    """The delta link on the last page of a tracked query's answer."""
    body = tracked.json()
    while "@odata.deltaLink" not in body:
        prefer = "odata.track-changes,odata.maxpagesize=5000"
        body = requests.get(body["@odata.nextLink"], headers={**AUTH, "Prefer": prefer}, timeout=600).json()
    return body["@odata.deltaLink"]


if __name__ == "__main__":
    main()
