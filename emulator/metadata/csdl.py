"""Read a Dataverse org's CSDL `$metadata` document (../shared/spec/schema-breadth.md §1) into the emulator's tables.

Parsing streams the XML through defusedxml's SAX parser (no DTD, no entities: an entity-expansion bomb is refused
before it expands) and keeps what the importer needs: entity types with their keys, properties, navigation
properties, alternate-key annotations, and the container's entity sets. `build` turns that into `Table`s; details
CSDL does not carry (choice labels, display names, required levels, string lengths...) come from an EntityDefinitions
export merged by `details.py`. Every problem is a MetadataError naming the file, line and element."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import Locator

from defusedxml import DefusedXmlException
from defusedxml.expatreader import create_parser

from . import details as d
from . import model as m

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
BASE = "crmbaseentity"  # every table derives from it
MODEL_BASE = "crmmodelbaseentity"  # metadata types (EntityMetadata...) derive from it: not tables
ACTIVITY_BASE = "activitypointer"
ALTERNATE_KEYS = ("OData.Community.Keys.V1.AlternateKeys", "Keys.AlternateKeys")
COMPUTED = ("Org.OData.Core.V1.Computed", "Core.Computed")
PERMISSIONS = ("Org.OData.Core.V1.Permissions", "Core.Permissions")
DESCRIPTION = ("Org.OData.Core.V1.Description", "Core.Description")
# Edm types Dataverse uses for columns the emulator has no type for (image and file data): such columns are left
# out (and counted); any other type not in EDM_DEFAULT is an error.
SKIPPED_EDM = frozenset({"Edm.Binary", "Edm.Stream"})
EDM_DEFAULT = {  # the column type an Edm type stands for when no EntityDefinitions detail says more
    "Edm.Guid": m.UNIQUEIDENTIFIER, "Edm.String": m.STRING, "Edm.Int32": m.INTEGER, "Edm.Int64": m.BIGINT,
    "Edm.Decimal": m.DECIMAL, "Edm.Double": m.DOUBLE, "Edm.Boolean": m.BOOLEAN, "Edm.DateTimeOffset": m.DATETIME,
    "Edm.Date": m.DATETIME,
}
_LOOKUP_PROPERTY = re.compile(r"^_(?P<name>.+)_value$")
_COLLECTION = re.compile(r"^Collection\((?P<type>.+)\)$")


class MetadataError(ValueError):
    """A $metadata document (or EntityDefinitions export) the emulator cannot load; the message names the file, the
    line and the element."""


@dataclass
class PropertyDef:
    name: str
    type: str
    line: int
    max_length: int | None = None
    nullable: bool = True
    computed: bool = False
    read_only: bool = False
    description: str = ""


@dataclass
class NavigationDef:
    name: str
    type: str  # the target type, as written (mscrm.account); without Collection(...)
    collection: bool
    line: int
    partner: str | None = None
    constraint: tuple[str, str] | None = None  # (our `_x_value` property, the target's key)


@dataclass
class TypeDef:
    name: str
    line: int
    base: str | None = None  # as written (mscrm.crmbaseentity)
    abstract: bool = False
    key: list[str] = field(default_factory=list)
    properties: dict[str, PropertyDef] = field(default_factory=dict)
    navigations: list[NavigationDef] = field(default_factory=list)
    alternate_keys: list[tuple[str, ...]] = field(default_factory=list)
    description: str = ""


@dataclass
class Document:
    source: str
    types: dict[str, TypeDef] = field(default_factory=dict)  # by unqualified name
    entity_sets: dict[str, tuple[str, int]] = field(default_factory=dict)  # type name -> (entity set, line)
    prefixes: set[str] = field(default_factory=set)  # namespaces and aliases of the schemas

    def error(self, line: int, element: str, message: str) -> MetadataError:
        return MetadataError(f"{self.source}, line {line}: {element}: {message}")

    def type_name(self, written: str) -> str:
        """`mscrm.account` / `Microsoft.Dynamics.CRM.account` -> `account` (names of other namespaces unchanged)."""
        prefix, _, name = written.rpartition(".")
        return name if prefix in self.prefixes else written


class _Handler(ContentHandler):
    """Collects a Document; SAX keeps memory flat however large the file."""

    def __init__(self, doc: Document) -> None:
        super().__init__()
        self.doc = doc
        self.locator: Locator | None = None
        self.stack: list[str] = []
        self.type: TypeDef | None = None
        self.prop: PropertyDef | None = None
        self.nav: NavigationDef | None = None
        self.annotation: list[str] = []  # terms of the open Annotation elements
        self.key_depth = 0  # >0 inside an alternate-keys annotation: the Record depth
        self.key_columns: list[str] | None = None
        self.in_container = False

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 (SAX's name)
        self.locator = locator

    @property
    def line(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def _need(self, attrs, name: str, element: str) -> str:
        value = attrs.get((None, name))
        if not value:
            raise self.doc.error(self.line, element, f"has no {name} attribute")
        return value

    def startElementNS(self, name, qname, attrs) -> None:  # noqa: N802
        uri, local = name
        parent = self.stack[-1] if self.stack else None
        self.stack.append(local)
        line = self.line
        if parent is None:
            if (uri, local) != (EDMX, "Edmx"):
                raise self.doc.error(line, f"<{qname or local}>",
                                     "not a CSDL $metadata document (its root element must be edmx:Edmx)")
            return
        if uri != EDM:
            return
        get = attrs.get
        if local == "Schema":
            for attr in ("Namespace", "Alias"):
                if value := get((None, attr)):
                    self.doc.prefixes.add(value)
        elif local == "EntityType" and parent == "Schema":
            type_name = self._need(attrs, "Name", "<EntityType>")
            if type_name in self.doc.types:
                raise self.doc.error(line, f"<EntityType Name=\"{type_name}\">", "declared twice (first on line "
                                                                                  f"{self.doc.types[type_name].line})")
            self.type = TypeDef(type_name, line, base=get((None, "BaseType")),
                                abstract=get((None, "Abstract"), "false") == "true")
            self.doc.types[type_name] = self.type
        elif self.type is not None:
            self._in_type(local, parent, get, attrs, line)
        elif local == "EntityContainer":
            self.in_container = True
        elif local == "EntitySet" and self.in_container:
            set_name = self._need(attrs, "Name", "<EntitySet>")
            written = self._need(attrs, "EntityType", f"<EntitySet Name=\"{set_name}\">")
            self.doc.entity_sets.setdefault(written, (set_name, line))

    def _in_type(self, local: str, parent: str | None, get, attrs, line: int) -> None:
        t = self.type
        assert t is not None
        where = f"of EntityType '{t.name}'"
        if local == "PropertyRef" and parent == "Key":
            t.key.append(self._need(attrs, "Name", f"<PropertyRef> {where}"))
        elif local == "Property" and parent == "EntityType":
            prop_name = self._need(attrs, "Name", f"<Property> {where}")
            element = f"<Property Name=\"{prop_name}\"> {where}"
            if prop_name in t.properties:
                raise self.doc.error(line, element, "declared twice")
            length = get((None, "MaxLength"))
            self.prop = PropertyDef(prop_name, self._need(attrs, "Type", element), line,
                                    max_length=int(length) if length and length.isdigit() else None,
                                    nullable=get((None, "Nullable"), "true") != "false")
            t.properties[prop_name] = self.prop
        elif local == "NavigationProperty" and parent == "EntityType":
            nav_name = self._need(attrs, "Name", f"<NavigationProperty> {where}")
            written = self._need(attrs, "Type", f"<NavigationProperty Name=\"{nav_name}\"> {where}")
            match = _COLLECTION.match(written)
            self.nav = NavigationDef(nav_name, match.group("type") if match else written, match is not None, line,
                                     partner=get((None, "Partner")))
            t.navigations.append(self.nav)
        elif local == "ReferentialConstraint" and self.nav is not None:
            element = f"<ReferentialConstraint> of NavigationProperty '{self.nav.name}' {where}"
            self.nav.constraint = (self._need(attrs, "Property", element),
                                   self._need(attrs, "ReferencedProperty", element))
        elif local == "Annotation":
            term = get((None, "Term"), "")
            self.annotation.append(term)
            target = self.prop if self.prop is not None else None
            if term in COMPUTED and target is not None and get((None, "Bool"), "true") == "true":
                target.computed = True
            elif term in DESCRIPTION and (text := get((None, "String"))):
                if target is not None:
                    target.description = text
                elif self.nav is None:
                    t.description = text
        elif self.annotation and self.annotation[0] in ALTERNATE_KEYS and self.prop is None:
            if local == "Record":
                self.key_depth += 1
                if self.key_depth == 1:
                    self.key_columns = []
            elif local == "PropertyValue" and get((None, "Property")) == "Name" and self.key_columns is not None:
                self.key_columns.append(get((None, "PropertyPath")) or get((None, "String")) or "")
        # Permissions as an attribute (EnumMember="...PermissionType/Read") or as <EnumMember> text (characters())
        if local == "Annotation" and self.prop is not None and get((None, "Term"), "") in PERMISSIONS:
            member = get((None, "EnumMember"), "")
            if member and member.rsplit("/", 1)[-1] == "Read":
                self.prop.read_only = True

    def characters(self, content: str) -> None:
        if self.stack and self.stack[-1] == "EnumMember" and self.prop is not None and self.annotation \
                and self.annotation[-1] in PERMISSIONS and content.strip().rsplit("/", 1)[-1] == "Read":
            self.prop.read_only = True

    def endElementNS(self, name, qname) -> None:  # noqa: N802
        local = self.stack.pop()
        if name[0] != EDM:
            return
        if local == "EntityType":
            self.type = None
        elif local == "Property":
            self.prop = None
        elif local == "NavigationProperty":
            self.nav = None
        elif local == "Annotation" and self.annotation:
            self.annotation.pop()
        elif local == "Record" and self.key_depth:
            self.key_depth -= 1
            if self.key_depth == 0 and self.key_columns and self.type is not None:
                self.type.alternate_keys.append(tuple(self.key_columns))
                self.key_columns = None
        elif local == "EntityContainer":
            self.in_container = False


def parse(path: str | Path, source: str | None = None) -> Document:
    """The document at `path`, parsed (not yet checked against itself: `build` does that)."""
    doc = Document(source or str(path))
    handler = _Handler(doc)
    parser = create_parser()
    parser.forbid_dtd = True  # a $metadata document has no DTD; refusing it refuses every entity trick too
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(handler)
    try:
        parser.parse(str(path))
    except SAXParseException as e:
        raise MetadataError(f"{doc.source}, line {e.getLineNumber()}: not well-formed XML: {e.getMessage()}") \
            from None
    except DefusedXmlException as e:
        raise MetadataError(f"{doc.source}, line {handler.line}: refused: {type(e).__name__} ({e}); a $metadata "
                            f"document declares no DTD and no entities") from None
    except OSError as e:
        raise MetadataError(f"{doc.source}: cannot read the file: {e.strerror or e}") from None
    if not doc.types and not doc.prefixes:
        raise MetadataError(f"{doc.source}: not a CSDL $metadata document (no Schema)")
    return doc


# -- from the document to tables --------------------------------------------------------------------------------
@dataclass
class Imported:
    """What a document (and its details) made: the tables, and what was left out."""

    tables: tuple[m.Table, ...]
    detailed: frozenset[tuple[str, str]] = frozenset()  # (table, column) the details file described
    skipped_columns: tuple[str, ...] = ()  # table.column of types the emulator does not store (Edm.Binary)
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        text = f"{len(self.tables)} tables"
        if self.skipped_columns:
            text += f" ({len(self.skipped_columns)} image/file columns left out)"
        return text


PRIMARY_NAME_GUESSES = ("name", "fullname", "subject", "title")


class _Builder:
    def __init__(self, doc: Document, details: Any, known: frozenset[str]) -> None:
        self.doc = doc
        self.details = details
        self.known = known  # tables a lookup may target beyond the document's (the emulator's shipped ones)
        self.sets: dict[str, str] = {}
        for written, (set_name, line) in doc.entity_sets.items():
            name = doc.type_name(written)
            if name not in doc.types:
                raise doc.error(line, f"<EntitySet Name=\"{set_name}\">", f"its EntityType '{written}' is not in "
                                                                          f"the document")
            self.sets[name] = set_name
        self.chains = {name: self._chain(t) for name, t in doc.types.items()}
        self.tables = [t for t in doc.types.values()
                       if t.name in self.sets and not t.abstract and MODEL_BASE not in self._names(t)]
        self.names = {t.name for t in self.tables}
        self.detailed: set[tuple[str, str]] = set()
        self.skipped: list[str] = []
        self.notes: list[str] = []

    def _chain(self, t: TypeDef) -> list[TypeDef]:
        """The type and its bases, nearest first (the common crmbaseentity need not be declared)."""
        out, seen = [t], {t.name}
        while out[-1].base:
            base = self.doc.type_name(out[-1].base)
            found = self.doc.types.get(base)
            if found is None:
                if base in (BASE, MODEL_BASE):
                    break
                raise self.doc.error(out[-1].line, f"<EntityType Name=\"{out[-1].name}\">",
                                     f"its BaseType '{out[-1].base}' is not in the document")
            if found.name in seen:
                raise self.doc.error(found.line, f"<EntityType Name=\"{found.name}\">", "derives from itself")
            seen.add(found.name)
            out.append(found)
        return out

    def _names(self, t: TypeDef) -> set[str]:
        chain = self.chains[t.name]
        names = {c.name for c in chain}
        if chain[-1].base:
            names.add(self.doc.type_name(chain[-1].base))
        return names

    def _descendants(self, abstract: TypeDef) -> list[str]:
        return [t.name for t in self.tables if abstract.name in self._names(t) and t.name != abstract.name]

    def _targets(self, t: TypeDef, nav: NavigationDef) -> list[str]:
        name = self.doc.type_name(nav.type)
        found = self.doc.types.get(name)
        element = f"<NavigationProperty Name=\"{nav.name}\"> of EntityType '{t.name}'"
        if found is None:
            if name in self.known:
                return [name]
            raise self.doc.error(nav.line, element, f"refers to table '{nav.type}', which is neither in the "
                                                    f"document nor one of the emulator's tables")
        if found.name in self.names:
            return [found.name]
        if found.name == BASE:
            return []  # any table: the lookup's Targets (details) say which
        descendants = self._descendants(found)
        if not descendants:
            raise self.doc.error(nav.line, element, f"refers to '{nav.type}', which is not a table (no entity set) "
                                                    f"and no table derives from it")
        return descendants

    def build(self) -> Imported:
        tables = tuple(self._table(t) for t in self.tables)
        return Imported(tables, frozenset(self.detailed), tuple(self.skipped), tuple(self.notes))

    def _table(self, t: TypeDef) -> m.Table:
        details = self.details.table(t.name) if self.details is not None else None
        chain = self.chains[t.name]
        element = f"<EntityType Name=\"{t.name}\">"
        props: dict[str, PropertyDef] = {}
        for c in reversed(chain):  # the base's properties first
            props.update(c.properties)
        key_owner = next((c for c in chain if c.key), None)
        primary_id = t.key[0] if t.key else None
        if primary_id is None and details is not None and details.get("PrimaryIdAttribute") in props:
            primary_id = details["PrimaryIdAttribute"]
        if primary_id is None and f"{t.name}id" in props:
            primary_id = f"{t.name}id"
        if primary_id is None and key_owner is not None:
            primary_id = key_owner.key[0]
        if primary_id is None:
            raise self.doc.error(t.line, element, "has no Key and derives none")
        if len(t.key) > 1:
            raise self.doc.error(t.line, element, "has a compound Key; Dataverse tables are keyed by one GUID")
        if primary_id not in props:
            raise self.doc.error(t.line, element, f"its Key names '{primary_id}', which is not one of its properties")
        if props[primary_id].type != "Edm.Guid":
            raise self.doc.error(props[primary_id].line, f"<Property Name=\"{primary_id}\"> of {element}",
                                 f"the key must be an Edm.Guid, not {props[primary_id].type}")
        # an abstract base's key (principal's ownerid) is not a column of a table keyed by its own id
        for c in chain[1:]:
            if c.abstract and c.key and c.key[0] != primary_id:
                props.pop(c.key[0], None)
        navigations = self._lookup_navigations(t, chain, props)
        attributes = []
        for prop in props.values():
            attr = self._attribute(t, prop, primary_id, navigations, details)
            if attr is not None:
                attributes.append(attr)
        attributes += self._system_columns(t.name, {a.logical_name for a in attributes})
        by_name = {a.logical_name: a for a in attributes}
        primary_name = details.get("PrimaryNameAttribute") if details is not None else None
        if primary_name not in by_name:
            primary_name = next((n for n in PRIMARY_NAME_GUESSES if n in by_name), None) \
                or next((a.logical_name for a in attributes if a.logical_name.endswith("_name")
                         and a.type == m.STRING), None) \
                or next((a.logical_name for a in attributes if a.type == m.STRING), primary_id)
        is_activity = ACTIVITY_BASE in self._names(t) and t.name != ACTIVITY_BASE or t.name == ACTIVITY_BASE
        ownership = "UserOwned" if "ownerid" in by_name else "OrganizationOwned"
        display = plural = t.name
        description = t.description
        change_tracking = True
        if details is not None:
            display = _label(details.get("DisplayName")) or display
            plural = _label(details.get("DisplayCollectionName")) or plural
            description = _label(details.get("Description")) or description
            ownership = details.get("OwnershipType") if isinstance(details.get("OwnershipType"), str) else ownership
            if isinstance(details.get("IsActivity"), bool):
                is_activity = details["IsActivity"]
            if isinstance(details.get("ChangeTrackingEnabled"), bool):
                change_tracking = details["ChangeTrackingEnabled"]
        keys = self._keys(t, props, by_name, details)
        return m.Table(t.name, self.sets[t.name], display, plural, primary_id, primary_name, tuple(attributes),
                       ownership=ownership, is_activity=is_activity, description=description, keys=keys,
                       change_tracking=change_tracking)

    def _system_columns(self, table: str, present: set[str]) -> list[m.Attribute]:
        """The audit columns Dataverse gives every table, for a (hand-written) document that leaves them out."""
        added = []
        for name, display in (("createdon", "Created On"), ("modifiedon", "Modified On")):
            if name not in present:
                added.append(m.Attribute(name, m.DATETIME, display, valid_for_create=False, valid_for_update=False))
        for name, display in (("createdby", "Created By"), ("modifiedby", "Modified By")):
            if name not in present:
                users = "systemuser" in self.names or "systemuser" in self.known
                added.append(m.Attribute(name, m.LOOKUP, display, targets=("systemuser",) if users else (),
                                         navigation=(("systemuser", name),) if users else (),
                                         valid_for_create=False, valid_for_update=False))
        if "versionnumber" not in present:
            added.append(m.Attribute("versionnumber", m.BIGINT, "Version Number", valid_for_create=False,
                                     valid_for_update=False))
        if added:
            self.notes.append(f"{table}: added Dataverse's audit columns {', '.join(a.logical_name for a in added)}")
        return added

    def _lookup_navigations(self, t: TypeDef, chain: list[TypeDef],
                            props: dict[str, PropertyDef]) -> dict[str, list[tuple[str, str]]]:
        """`_x_value` property -> [(target table, single-valued navigation)] from the navigation properties."""
        lookups = [name for name, p in props.items() if _LOOKUP_PROPERTY.match(name) and p.type == "Edm.Guid"]
        found: dict[str, list[tuple[str, str]]] = {name: [] for name in lookups}
        for c in reversed(chain):
            for nav in c.navigations:
                targets = self._targets(t, nav)
                if nav.collection:
                    continue  # the other table's lookup, seen from here: imported with that table
                element = f"<NavigationProperty Name=\"{nav.name}\"> of EntityType '{t.name}'"
                if nav.constraint is not None:
                    prop = nav.constraint[0]
                    if prop not in found:
                        raise self.doc.error(nav.line, element, f"its ReferentialConstraint names '{prop}', which "
                                                                f"is not a lookup (_<column>_value) property of "
                                                                f"'{t.name}'")
                else:  # no constraint (a polymorphic owner): the lookup the name starts with
                    candidates = [p for p in found if nav.name == p[1:-6] or nav.name.startswith(p[1:-6] + "_")]
                    if not candidates:
                        self.notes.append(f"{t.name}.{nav.name}: a navigation property without a "
                                          f"ReferentialConstraint and no lookup of its name; left out")
                        continue
                    prop = max(candidates, key=len)
                if not targets:
                    targets = self._detail_targets(t.name, prop[1:-6]) or ["*"]
                for target in targets:
                    if (target, nav.name) not in found[prop]:
                        found[prop].append((target, nav.name))
        return found

    def _detail_targets(self, table: str, column: str) -> list[str]:
        attr = self.details.attribute(table, column) if self.details is not None else None
        targets = attr.get("Targets") if attr is not None else None
        if not isinstance(targets, list):
            return ["systemuser", "team"] if column == "ownerid" else []
        return [x for x in targets if isinstance(x, str) and (x in self.names or x in self.known)]

    def _attribute(self, t: TypeDef, prop: PropertyDef, primary_id: str,
                   navigations: dict[str, list[tuple[str, str]]], details_table: Any) -> m.Attribute | None:
        edm = prop.type
        if edm in SKIPPED_EDM:
            self.skipped.append(f"{t.name}.{prop.name}")
            return None
        if edm not in EDM_DEFAULT:
            raise self.doc.error(prop.line, f"<Property Name=\"{prop.name}\"> of EntityType '{t.name}'",
                                 f"unknown type '{edm}' (Dataverse columns are {', '.join(sorted(EDM_DEFAULT))}; "
                                 f"image and file columns, {' and '.join(sorted(SKIPPED_EDM))}, are left out)")
        lookup = _LOOKUP_PROPERTY.match(prop.name) if edm == "Edm.Guid" else None
        name = lookup.group("name") if lookup else prop.name
        detail = self.details.attribute(t.name, name) if self.details is not None else None
        if detail is not None:
            self.detailed.add((t.name, name))
        kwargs: dict[str, Any] = {"description": prop.description}
        if lookup:
            pairs = [p for p in navigations.get(prop.name, []) if p[0] != "*"]
            targets = list(dict.fromkeys(target for target, _ in pairs))
            for extra in self._detail_targets(t.name, name) if detail is not None else ():
                if extra not in targets:
                    targets.append(extra)
            given = _details_type(detail)
            type_ = given if given in m.LOOKUP_TYPES else m.OWNER if name == "ownerid" \
                else m.CUSTOMER if sorted(targets) == ["account", "contact"] else m.LOOKUP
            kwargs.update(targets=tuple(targets), navigation=tuple(pairs))
        else:
            type_ = EDM_DEFAULT[edm]
            given = _details_type(detail)
            if given is not None and given in m.EDM_TYPES and m.EDM_TYPES[given] == edm \
                    and given not in m.LOOKUP_TYPES:
                type_ = given
            if prop.max_length is not None and type_ in m.STRING_TYPES:
                kwargs["max_length"] = prop.max_length
        if name == primary_id:
            kwargs.update(required="SystemRequired", valid_for_update=False)
        elif not prop.nullable:
            kwargs["required"] = "SystemRequired"  # Nullable="false": a value always (the details may say more)
        if prop.computed or prop.read_only:
            kwargs.update(valid_for_create=False, valid_for_update=False)
        display = name
        if detail is not None:
            display = _label(detail.get("DisplayName")) or display
            kwargs["description"] = _label(detail.get("Description")) or kwargs["description"]
            kwargs.update(_detail_values(t.name, name, type_, detail))
        return m.Attribute(name, type_, display, **kwargs)

    def _keys(self, t: TypeDef, props: dict[str, PropertyDef], by_name: dict[str, m.Attribute],
              details: Any) -> tuple[m.EntityKey, ...]:
        keys: dict[tuple[str, ...], m.EntityKey] = {}
        for columns in t.alternate_keys:
            names = tuple(c[1:-6] if _LOOKUP_PROPERTY.match(c) and c[1:-6] in by_name else c for c in columns)
            for c in names:
                if c not in by_name:
                    raise self.doc.error(t.line, f"<EntityType Name=\"{t.name}\">",
                                         f"its alternate key names '{c}', which is not one of its columns")
            keys[names] = m.EntityKey(f"{t.name}_{'_'.join(names)}", names)
        for key in (details.get("Keys") or []) if details is not None else []:
            if not isinstance(key, dict) or not isinstance(key.get("KeyAttributes"), list):
                continue
            names = tuple(key["KeyAttributes"])
            if not all(c in by_name for c in names):
                self.notes.append(f"{t.name}: key {key.get('LogicalName')} names a column the document lacks; "
                                  f"left out")
                continue
            name = key.get("LogicalName") or key.get("SchemaName") or f"{t.name}_{'_'.join(names)}"
            keys[names] = m.EntityKey(str(name).lower(), names, _label(key.get("DisplayName")) or "")
        return tuple(keys.values())


def _label(value: Any) -> str | None:
    return d.label(value)


def _details_type(detail: Any) -> str | None:
    return d.attribute_type(detail) if detail is not None else None


def _detail_values(table: str, column: str, type_: str, detail: dict[str, Any]) -> dict[str, Any]:
    """Attribute keyword arguments from an attribute's EntityDefinitions entry."""
    out: dict[str, Any] = {}
    if (level := d.required_level(detail)) is not None:
        out["required"] = level
    for key, arg in (("IsValidForCreate", "valid_for_create"), ("IsValidForUpdate", "valid_for_update")):
        if isinstance(detail.get(key), bool):
            out[arg] = detail[key]
    if type_ in m.STRING_TYPES and isinstance(detail.get("MaxLength"), int):
        out["max_length"] = detail["MaxLength"]
    for key, arg in (("MinValue", "min_value"), ("MaxValue", "max_value")):
        if (value := d.number(detail.get(key))) is not None and type_ not in m.STRING_TYPES:
            out[arg] = value
    if isinstance(detail.get("Precision"), int):
        out["precision"] = detail["Precision"]
    if type_ in m.CHOICE_TYPES or type_ == m.MULTISELECT:
        if (options := d.option_set(table, column, detail)) is not None:
            out["option_set"] = options
        default = detail.get("DefaultFormValue")
        if isinstance(default, int) and default != -1:
            out["default"] = default
    if type_ == m.BOOLEAN:
        true_label, false_label = d.boolean_labels(detail)
        if true_label:
            out["true_label"] = true_label
        if false_label:
            out["false_label"] = false_label
        if isinstance(detail.get("DefaultValue"), bool):
            out["default"] = detail["DefaultValue"]
    return out


def build(doc: Document, details: Any = None, known: frozenset[str] = frozenset()) -> Imported:
    """The document's tables (entity types with an entity set that derive from crmbaseentity), with `details` (a
    details.Details) merged; `known`: tables outside the document that lookups may target."""
    return _Builder(doc, details, known).build()
