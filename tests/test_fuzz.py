"""Property-based fuzzing of every route: random and malformed query options, keys, headers, bodies, encodings
and very long inputs. The property: never a 5xx (except 501 for a feature the emulator names as not
implemented), never a Python traceback in a body, and every error is a Dataverse-shaped JSON body with a 4xx.
A short, derandomised run is part of the suite; `make fuzz` runs the long one and writes bench/results/fuzz.md."""
from __future__ import annotations

import json
import os
import string
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import metadata
from emulator.app import create_app
from emulator.settings import DEFAULT_TENANT
from emulator.webapi.routing import HANDLERS

from .conftest import make_emulator
from .oracle import report_section

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # per test; `make fuzz` raises it
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
REPORT = os.environ.get("FUZZ_REPORT")
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None,
                suppress_health_check=list(HealthCheck))
NOT_IMPLEMENTED_CODE = "0x8004d101"  # errors.NotSupported: a named, deliberate 501
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "<!doctype html", "<html")

TALLY: Counter = Counter()  # (route kind, status class) -> cases
SETS = sorted(t.entity_set for t in metadata.SHIPPED.tables)
TOP_LEVEL = sorted({kind for kind, _ in HANDLERS} - {"service", "collection", "entity", "property", "count",
                                                      "action"})
PATH_SAFE = "/()=,$'{}"
GUIDS = ["00000000-0000-0000-0000-000000000000", "2b330c52-6844-4d36-8e05-03c78c9681dc"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    emulator = make_emulator(tmp_path_factory.mktemp("fuzz") / "fuzz.db", conversations=120, agents=6)
    for table in metadata.SHIPPED.tables:  # real keys of every set, so record routes reach the database too
        with emulator.db.engine.connect() as conn:
            sql = emulator.db.tables[table.logical_name]
            GUIDS.extend(r[0] for r in conn.execute(sql.select().with_only_columns(sql.c[table.primary_id])
                                                    .limit(2)))
    yield create_app(emulator)
    emulator.db.dispose()
    if REPORT and TALLY:
        write_report()


# -- strategies --------------------------------------------------------------------------------------------------
ODD = st.sampled_from(["\x00", "\u202e", "\ufeff", "\U0001f600", "é", "ß", "İ", "\u0301", "\\", "'", "''", '"',
                       "%", "%25", "%ZZ", "%C3%28", "%00", "&", "=", "#", "?", "/", "(", ")", "[", "]", "{", "}",
                       ",", ";", "@", "$", "*", " ", "\t", "\n", "+", "-", ".", ":", "<", ">"])
TEXT = st.one_of(st.text(max_size=30), st.text(alphabet=string.printable, max_size=30),
                 st.lists(ODD, max_size=8).map("".join))
LONG = st.builds(lambda s, n: (s or "x") * n, st.text(min_size=1, max_size=5), st.integers(1000, 12000))


def properties(entity_set: str) -> list[str]:
    return [a.property_name for a in metadata.by_entity_set(entity_set).attributes]


EDM_VALUES = {"Edm.String": st.text(max_size=120), "Edm.Int32": st.integers(-10, 2**31),
              "Edm.Int64": st.integers(-2**63, 2**63), "Edm.Decimal": st.floats(-1e12, 1e12),
              "Edm.Double": st.floats(allow_nan=False), "Edm.Boolean": st.booleans(),
              "Edm.DateTimeOffset": st.sampled_from(["2026-01-15T12:00:00Z", "2026-13-01T00:00:00Z", "yesterday"]),
              "Edm.Guid": st.sampled_from(GUIDS + ["not-a-guid"])}


def plausible_record(entity_set: str) -> st.SearchStrategy[dict]:
    """A body of real columns with values of roughly the right type: reaches the write validation paths."""
    attrs = metadata.by_entity_set(entity_set).attributes
    return st.lists(st.sampled_from(attrs), max_size=6).flatmap(lambda chosen: st.fixed_dictionaries(
        {a.property_name: st.one_of(st.none(), EDM_VALUES[a.edm_type]) for a in chosen if not a.is_lookup}))


def literal() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-2**70, 2**70).map(str), st.floats(allow_nan=True).map(repr), st.sampled_from(GUIDS),
        TEXT.map(lambda t: "'" + t.replace("'", "''") + "'"), TEXT.map(lambda t: "'" + t + "'"),
        st.sampled_from(["null", "true", "false", "2026-01-15T12:00:00Z", "2026-01-15", "0001-01-01T00:00:00Z",
                         "9999-12-31T23:59:59Z", "@p1", "@p2", "@nope", "['1','2']", "[]", "(1,2)", "()", "1e999",
                         "-0", "INF", "duration'P1D'", "12:00:00", "geography'POINT(1 2)'"]))


def filter_text(props: list[str]) -> st.SearchStrategy[str]:
    names = st.one_of(st.sampled_from(props), TEXT, st.sampled_from(
        ["msdyn_activeagentid_msdyn_ocliveworkitem/fullname", "ownerid/fullname", "a/b/c", "Subject"]))
    op = st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "in", "has", "add", "EQ", "like", "=", "=="])
    compare = st.builds(lambda n, o, v: f"{n} {o} {v}", names, op, literal())
    func = st.builds(lambda f, n, v: f"{f}({n},{v})", st.sampled_from(
        ["contains", "startswith", "endswith", "substring", "tolower", "length", "any"]), names, literal())
    crm = st.builds(lambda f, n, v: f"Microsoft.Dynamics.CRM.{f}(PropertyName='{n}',{v})", st.sampled_from(
        ["In", "NotIn", "LastXDays", "NextXDays", "Between", "Today", "EqualUserId", "Above", "Nope", "lastxdays"]),
        names, st.one_of(literal().map(lambda v: f"PropertyValue={v}"),
                         literal().map(lambda v: f"PropertyValues=[{v}]"), TEXT))
    leaf = st.one_of(compare, func, crm, names, literal())
    tree = st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda a, o, b: f"{a} {o} {b}", inner, st.sampled_from(["and", "or", "AND", "xor"]), inner),
        inner.map(lambda a: f"not {a}"), inner.map(lambda a: f"({a})"), inner.map(lambda a: f"-{a}")),
        max_leaves=8)
    return st.one_of(tree, tree.map(lambda t: t[: len(t) // 2]), TEXT, LONG,
                     st.integers(1, 400).map(lambda n: "(" * n + "statecode eq 0" + ")" * n),
                     st.integers(1, 700).map(lambda n: " or ".join(["statecode eq 0"] * n)),
                     st.integers(1, 400).map(lambda n: "not " * n + "(statecode eq 0)"))


def options(entity_set: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    props = properties(entity_set)
    select = st.one_of(st.lists(st.sampled_from(props), max_size=6).map(",".join), TEXT, LONG,
                       st.integers(1, 400).map(lambda n: ",".join([props[0]] * n)))
    orderby = st.one_of(st.lists(st.builds(lambda p, d: f"{p}{d}", st.one_of(st.sampled_from(props), TEXT),
                                           st.sampled_from(["", " asc", " desc", " DESC", " up", "  "])),
                                 max_size=4).map(",".join), TEXT, st.just("@p1"))
    top = st.one_of(st.integers(-5, 6000).map(str), st.integers(0, 2**70).map(str), TEXT,
                    st.just("9" * 5000), st.just(" 3 "), st.just("3.5"))
    count = st.one_of(st.sampled_from(["true", "false", "TRUE", "1", ""]), TEXT)
    skiptoken = st.one_of(TEXT, LONG, st.builds(
        lambda page, name, value: '<cookie pagenumber="2" pagingcookie="' + quote(quote(
            f'<cookie page="{page}"><{name} last="{value}" first="{value}" /></cookie>', safe=""), safe="")
        + '" istracking="False" />', st.one_of(st.integers(-3, 10**25).map(str), TEXT),
        st.sampled_from(props + ["activityid", "x", "createdon"]), TEXT),
        st.just('<!DOCTYPE x [<!ENTITY a "aaaa">]><cookie pagenumber="&a;" />'))
    value_by_name = {"$filter": filter_text(props), "$select": select, "$orderby": orderby, "$top": top,
                     "$count": count, "$skiptoken": skiptoken, "$expand": st.one_of(TEXT, st.sampled_from(props)),
                     "$apply": TEXT, "$skip": st.just("1"), "$search": TEXT, "$format": st.just("json"),
                     "@p1": literal(), "@p2": st.one_of(literal(), st.just("@p1")), "$FILTER": TEXT,
                     "$": TEXT, "plain": TEXT}
    pair = st.sampled_from(sorted(value_by_name)).flatmap(lambda k: st.tuples(st.just(k), value_by_name[k]))
    return st.lists(st.one_of(pair, st.tuples(TEXT, TEXT)), max_size=5)


def encode(pairs: list[tuple[str, str]], raw: bool) -> str:
    if raw:  # as a careless client sends it: unescaped, sometimes with stray percent signs
        return "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass").decode("latin-1")
    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'), safe='$@')}="
                    f"{quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in pairs)


def key_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(GUIDS), st.sampled_from(GUIDS).map(lambda g: "{" + g.upper() + "}"),
                     st.sampled_from(GUIDS).map(lambda g: f"activityid={g}"),
                     st.sampled_from(GUIDS).map(lambda g: f"'{g}'"), TEXT, LONG, st.just(""))


@st.composite
def requests_(draw) -> dict:
    kind = draw(st.sampled_from(["collection", "entity", "property", "count", "unknown", "top-level", "control",
                                 "service", "version"]))
    entity_set = draw(st.sampled_from(SETS))
    version = "v9.2"
    path = ""
    if kind == "collection":
        path = entity_set
    elif kind == "entity":
        path = f"{entity_set}({draw(key_text())})"
    elif kind == "property":
        path = f"{entity_set}({draw(key_text())})/{draw(st.one_of(st.sampled_from(properties(entity_set)), TEXT))}"
    elif kind == "count":
        path = f"{entity_set}/$count"
    elif kind == "unknown":
        path = "/".join(draw(st.lists(TEXT, min_size=1, max_size=4)))
    elif kind == "top-level":
        path = draw(st.sampled_from(TOP_LEVEL + ["WhoAmI()", "$metadata", "$batch", "EntityDefinitions"]))
        path += draw(st.sampled_from(["", "()", "(LogicalName='account')", "/x"]))
    elif kind == "version":
        version = draw(st.sampled_from(["v9.0", "v9.1", "v8.2", "v10", "", "%00", "v9.2%2F.."]))
        path = entity_set
    if kind == "control":
        url = "/_emulator/" + draw(st.sampled_from(["health", "", "x", "reset", "clock", "seed"]))
    else:
        url = f"/api/data/{version}/" + quote(path.encode("utf-8", "surrogatepass"), safe="/()=,$'{}")
    pairs = draw(options(entity_set))
    if pairs:
        url += "?" + encode(pairs, draw(st.booleans()))
    headers = {}
    auth = draw(st.sampled_from(["ok", "ok", "ok", "missing", "odd"]))
    if auth == "ok":
        headers["Authorization"] = "Bearer fuzz-token"
    elif auth == "odd":
        headers["Authorization"] = draw(st.one_of(st.just("Bearer "), st.just("Basic dXNlcjpwYXNz"),
                                                  TEXT.map(lambda t: "Bearer " + t), TEXT))
    for name, value in (("Prefer", st.one_of(st.sampled_from([
            "odata.maxpagesize=2", "odata.maxpagesize=0", "odata.maxpagesize=99999999999999999999",
            'odata.include-annotations="*"', "return=representation", "odata.maxpagesize=-1,,,=", "=", ",",
            'odata.include-annotations="', "odata.track-changes"]), TEXT, LONG)),
            ("If-Match", st.one_of(st.sampled_from(["*", 'W/"1"', 'W/"', "null", ""]), TEXT)),
            ("If-None-Match", st.one_of(st.sampled_from(["*", "null"]), TEXT)),
            ("Content-Type", st.one_of(st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                        "text/plain", "application/xml", "multipart/mixed",
                                                        "application/json; charset=latin-1"]), TEXT)),
            ("MSCRMCallerID", st.one_of(st.sampled_from(GUIDS), TEXT))):
        if draw(st.booleans()):
            headers[name] = draw(value)
    headers = {k: v.encode("latin-1", "ignore").decode("latin-1").replace("\n", " ").replace("\r", " ")
               for k, v in headers.items()}  # what HTTP can carry in a header at all
    method = draw(st.sampled_from(["GET", "GET", "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS",
                                   "MERGE"]))
    body = None
    if method in ("POST", "PATCH", "PUT", "DELETE") or draw(st.integers(0, 9)) == 0:
        json_value = st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), TEXT),
            lambda inner: st.one_of(st.lists(inner, max_size=4),
                                    st.dictionaries(st.one_of(st.sampled_from(properties(entity_set)), TEXT,
                                                              st.sampled_from(["@odata.type", "x@odata.bind"])),
                                                    inner, max_size=5)), max_leaves=10)
        body = draw(st.one_of(
            json_value.map(lambda v: json.dumps(v).encode()),
            plausible_record(entity_set).map(lambda v: json.dumps(v).encode()),
            plausible_record(entity_set).map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=200), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.just(b'{"subject": '), st.just(b"\xff\xfe{}"), st.just(b'{"a":' * 3000 + b"1" + b"}" * 3000)))
    return {"kind": kind, "method": method, "url": url, "headers": headers, "body": body,
            "entity_set": entity_set if kind in ("collection", "entity", "property", "count") else None}


# -- the property --------------------------------------------------------------------------------------------------
def check(response, case: dict) -> None:
    status = response.status_code
    text = response.get_data(as_text=True)
    where = f"{case['method']} {case['url'][:300]} -> {status}: {text[:500]}"
    TALLY[(case["kind"], f"{status // 100}xx")] += 1
    TALLY[("all", str(status))] += 1
    if case.get("entity_set"):
        TALLY[("set:" + case["entity_set"], f"{status // 100}xx")] += 1
    for marker in TRACEBACK_MARKERS:
        assert marker.lower() not in text.lower(), where
    body = None
    if status >= 400 and case["method"] != "HEAD":
        body = json.loads(text)  # a JSON error body, always
        assert set(body) == {"error"}, where
        assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str), where
        assert body["error"]["message"], where
    if status >= 500:
        assert status == 501, where
        assert case["method"] == "HEAD" or body["error"]["code"] == NOT_IMPLEMENTED_CODE, where


@FUZZ
@given(case=requests_())
def test_no_request_gets_a_5xx_or_a_traceback(app, case):
    client = app.test_client()
    response = client.open(case["url"], method=case["method"], headers=case["headers"], data=case["body"])
    check(response, case)


@FUZZ
@given(entity_set=st.sampled_from(SETS), filter_=st.data())
def test_filters_on_every_entity_set(app, entity_set, filter_):
    text = filter_.draw(filter_text(properties(entity_set)))
    case = {"kind": "filter", "method": "GET", "entity_set": entity_set, "url": f"/api/data/v9.2/{entity_set}?$filter="
            + quote(text.encode("utf-8", "surrogatepass"), safe="")}
    response = app.test_client().get(case["url"], headers={"Authorization": "Bearer fuzz-token"})
    check(response, case)


def test_health_and_routes_answer_without_fuzz(app):
    """The fixture's routes are live: a plain read and the health check succeed (so the fuzz tests exercise
    the real handlers, not a broken app)."""
    client = app.test_client()
    assert client.get("/_emulator/health").status_code == 200
    for entity_set in SETS:
        response = client.get(f"/api/data/v9.2/{entity_set}?$top=1", headers={"Authorization": "Bearer t"})
        assert response.status_code == 200, response.get_data(as_text=True)


def write_report() -> None:
    kinds = sorted({k for k, _ in TALLY if k != "all" and not k.startswith("set:")})
    sets = sorted({k for k, _ in TALLY if k.startswith("set:")})
    classes = ["2xx", "3xx", "4xx", "5xx"]
    lines = ["| route kind | cases | " + " | ".join(classes) + " |", "|---|---:|" + "---:|" * len(classes)]
    total = 0
    for kind in kinds:
        row = [TALLY[(kind, c)] for c in classes]
        total += sum(row)
        lines.append(f"| {kind} | {sum(row)} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "Cases per entity set (its collection, records, properties, $count and $filter cases):", "",
              "| entity set | cases | " + " | ".join(classes) + " |", "|---|---:|" + "---:|" * len(classes)]
    for key in sets:
        row = [TALLY[(key, c)] for c in classes]
        lines.append(f"| {key[4:]} | {sum(row)} | " + " | ".join(str(v) for v in row) + " |")
    statuses = sorted((s, n) for (k, s), n in TALLY.items() if k == "all")
    five = sum(n for s, n in statuses if s.startswith("5"))
    text = (f"Cases: **{total}** ({EXAMPLES} examples per test, hypothesis, seeded data of 120 conversations).\n"
            f"Responses with status 500 or any 5xx other than a named 501: **{five - sum(n for s, n in statuses if s == '501')}**.\n\n"
            + "\n".join(lines) + "\n\nStatus codes seen: " + ", ".join(f"{s} x{n}" for s, n in statuses) + "\n")
    report_section(Path(REPORT), "fuzz", text)


@pytest.fixture(scope="module")
def strict_app(tmp_path_factory):
    emulator = make_emulator(tmp_path_factory.mktemp("strict") / "strict.db", conversations=5, auth="strict")
    emulator.settings.auth_clients = json.dumps([{"client_id": "fuzz-client", "client_secret": "fuzz-secret"}])
    app = create_app(emulator)
    form = {"grant_type": "client_credentials", "client_id": "fuzz-client", "client_secret": "fuzz-secret",
            "scope": "http://localhost/.default"}
    app.config["GENUINE_TOKEN"] = app.test_client().post(
        f"/{emulator.settings.tenant_id}/oauth2/v2.0/token", data=form).get_json()["access_token"]
    yield app
    emulator.db.dispose()


def mutate(token: str, position: int, char: str) -> str:
    i = position % len(token)
    return token[:i] + char + token[i + 1:]


@FUZZ
@given(data=st.data())
def test_strict_auth_refuses_every_forged_token_and_the_token_endpoint_never_fails(strict_app, data):
    genuine = strict_app.config["GENUINE_TOKEN"]
    header, payload, signature = genuine.split(".")
    token = data.draw(st.one_of(
        TEXT, st.builds(mutate, st.just(genuine), st.integers(0, 10**6), st.sampled_from("AbZz09-_.=")),
        st.builds(lambda p: f"{header}.{p}.{signature}", TEXT),
        st.builds(lambda h: f"{h}.{payload}.{signature}", st.sampled_from(
            ["eyJhbGciOiJub25lIn0", "eyJhbGciOiJIUzI1NiJ9", "e30", ""])),
        st.just(f"{header}.{payload}."), st.just(genuine[::-1])))
    client = strict_app.test_client()
    response = client.get("/api/data/v9.2/msdyn_ocliveworkitems?$top=1",
                          headers={"Authorization": "Bearer " + token.encode("latin-1", "ignore").decode("latin-1")
                                   .replace("\n", "").replace("\r", "")})
    case = {"kind": "strict-auth", "method": "GET", "url": "token"}
    check(response, case)
    if token.strip() != genuine:
        assert response.status_code == 401, token
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    form = data.draw(st.dictionaries(st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "x"]),
                                     st.one_of(TEXT, st.sampled_from(["client_credentials", "fuzz-client",
                                                                      "fuzz-secret", "http://localhost/.default"])),
                                     max_size=5))
    tenant = data.draw(st.one_of(st.just(DEFAULT_TENANT), TEXT.map(lambda t: quote(t, safe="") or "x")))
    response = client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
    TALLY[("token-endpoint", f"{response.status_code // 100}xx")] += 1
    assert response.status_code < 500 and "Traceback" not in response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict) and ("access_token" in body or isinstance(body.get("error"), (str, dict)))
