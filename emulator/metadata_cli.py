"""`dataverse-emulator metadata`: pull an org's schema into the two files `serve --metadata DIR` loads, and check a
metadata file. See docs/metadata.md."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click
import orjson

from .metadata import cache, csdl

if TYPE_CHECKING:
    import requests

NAMESPACE = "Microsoft.Dynamics.CRM"
# Type-specific properties come back only through a cast (schema-breadth.md §2.1, §2.4): per AttributeType, the
# cast, the properties to select and whether to expand the OptionSet.
CASTS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "String": ("StringAttributeMetadata", ("MaxLength",), False),
    "Memo": ("MemoAttributeMetadata", ("MaxLength",), False),
    "Integer": ("IntegerAttributeMetadata", ("MinValue", "MaxValue"), False),
    "BigInt": ("BigIntAttributeMetadata", ("MinValue", "MaxValue"), False),
    "Decimal": ("DecimalAttributeMetadata", ("MinValue", "MaxValue", "Precision"), False),
    "Double": ("DoubleAttributeMetadata", ("MinValue", "MaxValue", "Precision"), False),
    "Money": ("MoneyAttributeMetadata", ("MinValue", "MaxValue", "Precision"), False),
    "DateTime": ("DateTimeAttributeMetadata", ("Format", "DateTimeBehavior"), False),
    "Boolean": ("BooleanAttributeMetadata", ("DefaultValue",), True),
    "Picklist": ("PicklistAttributeMetadata", ("DefaultFormValue",), True),
    "State": ("StateAttributeMetadata", (), True),
    "Status": ("StatusAttributeMetadata", (), True),
    "MultiSelectPicklist": ("MultiSelectPicklistAttributeMetadata", ("DefaultFormValue",), True),
    "Lookup": ("LookupAttributeMetadata", ("Targets",), False),
}


class PullError(click.ClickException):
    pass


class Org:
    """The org's Web API with a bearer token (kept in memory only: never written, never printed)."""

    def __init__(self, url: str, token: str, version: str, timeout: float) -> None:
        import requests  # only here: the CLI's other commands start without it

        base = url.rstrip("/")
        self.api = base if "/api/data/" in base else f"{base}/api/data/{version}"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "OData-MaxVersion": "4.0",
                                     "OData-Version": "4.0"})
        self.timeout = timeout
        self.requests = 0

    def get(self, path: str, accept: str = "application/json", prefer: str | None = None) -> requests.Response:
        headers = {"Accept": accept}
        if prefer:
            headers["Prefer"] = prefer
        import requests

        url = f"{self.api}/{path}"
        for attempt in range(5):
            self.requests += 1
            try:
                response = self.session.get(url, headers=headers, timeout=self.timeout)
            except requests.RequestException as e:
                raise PullError(f"cannot reach {self.api}: {type(e).__name__}") from None
            if response.status_code == 429 and attempt < 4:  # service protection: wait as told
                time.sleep(min(float(response.headers.get("Retry-After", "1") or 1), 60))
                continue
            if response.status_code in (401, 403):
                raise PullError(f"{self.api} refused the token ({response.status_code}) for GET {path.split('?')[0]}")
            return response
        return response

    def json(self, path: str) -> Any:
        response = self.get(path)
        if response.status_code != 200:
            raise PullError(f"GET {path.split('?')[0]} answered {response.status_code}: {_message(response)}")
        return response.json()


def _message(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _prune(document: bytes, every: set[str], keep: set[str], gone_sets: set[str]) -> bytes:
    """The document with only the `keep` tables' entity types and sets (their bases and every non-table type stay),
    and without navigation properties to tables outside (`every`: all the org's tables)."""
    import xml.etree.ElementTree as ET

    from defusedxml.ElementTree import fromstring

    edm = f"{{{csdl.EDM}}}"
    ET.register_namespace("edmx", csdl.EDMX)
    ET.register_namespace("", csdl.EDM)
    root = fromstring(document, forbid_dtd=True)
    for schema in root.iter(f"{edm}Schema"):
        for entity in list(schema.findall(f"{edm}EntityType")):
            name = entity.get("Name", "")
            if name in every and name not in keep:
                schema.remove(entity)
                continue
            for nav in list(entity.findall(f"{edm}NavigationProperty")):
                target = nav.get("Type", "").removeprefix("Collection(").rstrip(")").rpartition(".")[2]
                if target in every and target not in keep:
                    entity.remove(nav)
        for container in schema.findall(f"{edm}EntityContainer"):
            for entity_set in list(container.findall(f"{edm}EntitySet")):
                name = entity_set.get("EntityType", "").rpartition(".")[2]
                if name in every and name not in keep:
                    container.remove(entity_set)
                    continue
                for binding in list(entity_set.findall(f"{edm}NavigationPropertyBinding")):
                    if binding.get("Target") in gone_sets:
                        entity_set.remove(binding)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _closure(doc: csdl.Document, imported: dict[str, csdl.TypeDef], wanted: list[str]) -> set[str]:
    """The wanted tables and every table their lookups reach (so that the pruned document is whole)."""
    keep: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name in keep or name not in imported:
            continue
        keep.add(name)
        t: csdl.TypeDef | None = imported[name]
        while t is not None:
            for nav in t.navigations:
                if not nav.collection:
                    target = doc.type_name(nav.type)
                    if target in imported:
                        todo.append(target)
                    elif target != csdl.BASE:  # an abstract base (principal): the tables deriving from it
                        todo.extend(n for n, d in imported.items() if d.base and doc.type_name(d.base) == target)
            t = doc.types.get(doc.type_name(t.base)) if t.base else None
    return keep


def _table_details(org: Org, name: str, notes: list[str]) -> dict[str, Any]:
    """One table's EntityMetadata with its Attributes (type-specific properties merged in from the casts) and
    Keys."""
    key = f"EntityDefinitions(LogicalName='{quote(name)}')"
    entity = org.json(f"{key}?$expand=Attributes")
    entity.pop("@odata.context", None)
    attributes = {a["LogicalName"]: a for a in entity.get("Attributes", [])}
    kinds = {"MultiSelectPicklist" if (a.get("AttributeTypeName") or {}).get("Value") == "MultiSelectPicklistType"
             else a.get("AttributeType") for a in attributes.values()}
    for kind in sorted(k for k in kinds if k in CASTS):
        cast, select, expand = CASTS[kind]
        query = f"$select={','.join(('LogicalName', *select))}" + ("&$expand=OptionSet" if expand else "")
        response = org.get(f"{key}/Attributes/{NAMESPACE}.{cast}?{query}")
        if response.status_code != 200:
            notes.append(f"{name}: {cast} answered {response.status_code}; its columns keep the common properties")
            continue
        for item in response.json().get("value", []):
            if item.get("LogicalName") in attributes:
                attributes[item["LogicalName"]].update({k: v for k, v in item.items() if not k.startswith("@")
                                                        and not k.endswith("@odata.context")})
    response = org.get(f"{key}/Keys")
    if response.status_code == 200:
        entity["Keys"] = [{k: v for k, v in item.items() if not k.startswith("@")}
                          for item in response.json().get("value", [])]
    else:
        notes.append(f"{name}: Keys answered {response.status_code}; no alternate keys recorded")
    entity["Attributes"] = list(attributes.values())
    return entity


@click.group("metadata")
def metadata_group() -> None:
    """An org's schema: pull it from a live org, check a file (serve it with `serve --metadata DIR`)."""


@metadata_group.command("pull")
@click.option("--org", "org_url", required=True, help="The org's URL, e.g. https://contoso.crm.dynamics.com.")
@click.option("--token", envvar="DATAVERSE_TOKEN", required=True,
              help="A bearer token for the org (env DATAVERSE_TOKEN; prefer the variable: command lines are "
                   "visible to other users). Never written to the files or printed.")
@click.option("--tables", default=None, metavar="a,b",
              help="Only these tables (logical names) and the tables their lookups reach. Default: every table.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help=f"Directory to write {cache.CSDL_FILE} and {cache.DETAILS_FILE} into.")
@click.option("--api-version", default="v9.2", show_default=True)
@click.option("--timeout", default=120.0, show_default=True, help="Seconds per request.")
def pull(org_url: str, token: str, tables: str | None, out_dir: str, api_version: str, timeout: float) -> None:
    """Write an org's $metadata and its EntityDefinitions (attributes, option sets, keys; one table at a time)."""
    org = Org(org_url, token, api_version, timeout)
    started = time.perf_counter()
    response = org.get("$metadata", accept="application/xml", prefer='odata.include-annotations="*"')
    if response.status_code != 200:
        raise PullError(f"GET $metadata answered {response.status_code}: {_message(response)}")
    document = response.content
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".{cache.CSDL_FILE}.pulling"
    staging.write_bytes(document)
    try:
        doc = csdl.parse(staging, source=f"{org.api}/$metadata")
        built = csdl.build(doc)
    except csdl.MetadataError as e:
        staging.unlink()
        raise PullError(f"the org's $metadata cannot be imported: {e}") from None
    names = [t.logical_name for t in built.tables]
    if tables:
        wanted = [n.strip() for n in tables.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            staging.unlink()
            raise PullError(f"no table {', '.join(unknown)} in the org's $metadata")
        keep = _closure(doc, {n: doc.types[n] for n in names}, wanted)
        gone = {t.entity_set for t in built.tables if t.logical_name not in keep}
        document = _prune(document, set(names), keep, gone)
        names = [n for n in names if n in keep]
    notes: list[str] = []
    with click.progressbar(names, label="EntityDefinitions", file=sys.stderr) as bar:
        entities = [_table_details(org, name, notes) for name in bar]
    staging.unlink()
    (out / cache.CSDL_FILE).write_bytes(document)
    (out / cache.DETAILS_FILE).write_bytes(orjson.dumps({"value": entities}, option=orjson.OPT_INDENT_2) + b"\n")
    for note in notes[:20]:
        click.echo(f"note: {note}", err=True)
    if len(notes) > 20:
        click.echo(f"note: ... and {len(notes) - 20} more", err=True)
    click.echo(f"Pulled {len(names)} tables ({org.requests} requests, {time.perf_counter() - started:.1f} s) into "
               f"{out / cache.CSDL_FILE} and {out / cache.DETAILS_FILE}.")


@metadata_group.command("check")
@click.argument("path", type=click.Path(exists=True))
@click.option("--details", "details_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="The EntityDefinitions export (default: the directory's entitydefinitions.json).")
def check(path: str, details_path: str | None) -> None:
    """Load a $metadata file (or metadata directory) as `serve --metadata` would, and say what it holds; the
    compiled cache is written on the way."""
    started = time.perf_counter()
    try:
        loaded = cache.load(cache.source(path, details_path))
    except cache.MetadataLoadError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{loaded.source.document}: {loaded.imported.summary()} "
               f"({'from the cache' if loaded.cached else 'parsed, cache written'}, "
               f"{time.perf_counter() - started:.2f} s).")
    for note in loaded.imported.notes[:20]:
        click.echo(f"note: {note}", err=True)
