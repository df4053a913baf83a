"""Discovery: the service document, $metadata as CSDL XML generated from the table metadata, and WhoAmI."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from functools import lru_cache

import orjson
from flask import Response

from .. import metadata, server
from ..errors import ResourceNotFound
from ..metadata import Table
from ..responses import ODATA_HEADERS, bytes_response, json_response
from . import operations
from .read import service_root
from .routing import Resource, handles

NAMESPACE = "Microsoft.Dynamics.CRM"
ALIAS = "mscrm"
EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
VOCABULARIES = (  # the vocabularies Dataverse's $metadata references
    ("http://vocabularies.odata.org/OData.Community.Keys.V1.xml", "OData.Community.Keys.V1", "Keys"),
    ("http://vocabularies.odata.org/OData.Community.Display.V1.xml", "OData.Community.Display.V1", "Display"),
)
WHOAMI_PROPERTIES = ("BusinessUnitId", "UserId", "OrganizationId")
ET.register_namespace("edmx", EDMX)

# Stable ids for the emulated organization and its root business unit (no table holds them).
_IDS = uuid.UUID("3f5e7d2c-6b1a-4c8e-9f0d-2a4b6c8e0f13")
ORGANIZATION_ID = str(uuid.uuid5(_IDS, "organization"))
BUSINESS_UNIT_ID = str(uuid.uuid5(_IDS, "businessunit"))


def metadata_id(*parts: str) -> str:
    """A stable MetadataId for a table, column or option set, the same in every emulator."""
    return str(uuid.uuid5(_IDS, "/".join(parts)))


@handles("service", "GET")
def service_document(resource: Resource):
    return bytes_response(_service_document(metadata.current(), service_root()))


@lru_cache(maxsize=64)
def _service_document(catalog: metadata.Catalog, root: str) -> bytes:
    """The service document of one catalog at one service root, built once."""
    value = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in catalog.tables]
    return orjson.dumps({"@odata.context": f"{root}$metadata", "value": value})


@handles("$metadata", "GET")
def metadata_document(resource: Resource):
    if resource.rest not in ("", "/"):
        raise ResourceNotFound(resource.rest.lstrip("/").split("/")[0])
    response = Response(_csdl_bytes(metadata.current()), content_type="application/xml; charset=utf-8")
    response.headers.update(ODATA_HEADERS)
    return response


@handles("WhoAmI", "GET")
def who_am_i(resource: Resource):
    if resource.rest not in ("", "()"):
        raise ResourceNotFound(resource.path.split("/")[0])
    emulator = server.current()
    return json_response({"@odata.context": f"{service_root()}$metadata#{NAMESPACE}.WhoAmIResponse",
                          "BusinessUnitId": BUSINESS_UNIT_ID, "UserId": emulator.caller_id,
                          "OrganizationId": ORGANIZATION_ID})


@lru_cache(maxsize=8)
def _csdl_bytes(catalog: metadata.Catalog) -> bytes:
    """A catalog never changes, so its document is built once."""
    return ET.tostring(csdl(catalog), encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _navigations(table: Table) -> list[tuple[str, str, list[str]]]:
    """(navigation property, lookup property, target tables) for each single-valued navigation, in column order.
    Polymorphic owners use one navigation name for every target, so a name can have several targets."""
    found: dict[str, tuple[str, list[str]]] = {}
    for attr in table.lookups:
        for target, nav in attr.navigation:
            found.setdefault(nav, (attr.property_name, []))[1].append(target)
    return [(nav, prop, targets) for nav, (prop, targets) in found.items()]


def _entity_type(schema: ET.Element, table: Table) -> None:
    entity = _sub(schema, "EntityType", Name=table.logical_name, BaseType=f"{ALIAS}.crmbaseentity")
    key = _sub(entity, "Key")
    _sub(key, "PropertyRef", Name=table.primary_id)
    for attr in table.attributes:
        prop = _sub(entity, "Property", Name=attr.property_name, Type=attr.edm_type)
        if attr.logical_name == table.primary_id:
            prop.set("Nullable", "false")
        elif attr.max_length is not None and attr.edm_type == "Edm.String":
            prop.set("MaxLength", str(attr.max_length))
        elif attr.edm_type == "Edm.Decimal":
            prop.set("Scale", "Variable")
    for nav, lookup_property, targets in _navigations(table):
        if len(targets) == 1:
            target = metadata.table(targets[0])
            element = _sub(entity, "NavigationProperty", Name=nav, Type=f"{ALIAS}.{target.logical_name}")
            _sub(element, "ReferentialConstraint", Property=lookup_property,
                 ReferencedProperty=target.primary_id)
        else:
            # one name for several target tables: typed by their common base, no single referenced key
            _sub(entity, "NavigationProperty", Name=nav, Type=f"{ALIAS}.crmbaseentity")


def csdl(catalog: metadata.Catalog) -> ET.Element:
    """The CSDL document: every table as an EntityType and EntitySet, plus WhoAmI."""
    root = ET.Element(f"{{{EDMX}}}Edmx", Version="4.0")
    for uri, namespace, alias in VOCABULARIES:
        reference = _sub(root, f"{{{EDMX}}}Reference", Uri=uri)
        _sub(reference, f"{{{EDMX}}}Include", Namespace=namespace, Alias=alias)
    services = _sub(root, f"{{{EDMX}}}DataServices")
    # Dataverse declares the EDM namespace as the Schema's default namespace; its descendants inherit it.
    schema = _sub(services, "Schema", Namespace=NAMESPACE, Alias=ALIAS, xmlns=EDM)
    _sub(schema, "EntityType", Name="crmbaseentity", Abstract="true")
    for table in catalog.tables:
        _entity_type(schema, table)
    response = _sub(schema, "ComplexType", Name="WhoAmIResponse")
    for name in WHOAMI_PROPERTIES:
        _sub(response, "Property", Name=name, Type="Edm.Guid", Nullable="false")
    function = _sub(schema, "Function", Name="WhoAmI")
    _sub(function, "ReturnType", Type=f"{ALIAS}.WhoAmIResponse", Nullable="false")
    container = _sub(schema, "EntityContainer", Name="System")
    for table in catalog.tables:
        entity_set = _sub(container, "EntitySet", Name=table.entity_set,
                          EntityType=f"{NAMESPACE}.{table.logical_name}")
        for nav, _, targets in _navigations(table):
            if len(targets) == 1:
                _sub(entity_set, "NavigationPropertyBinding", Path=nav,
                     Target=catalog.table(targets[0]).entity_set)
    _sub(container, "FunctionImport", Name="WhoAmI", Function=f"{NAMESPACE}.WhoAmI")
    _operations(schema, container, catalog)
    return root


def _operations(schema: ET.Element, container: ET.Element, catalog: metadata.Catalog) -> None:
    """The emulated functions and actions (operations.py) with their signatures, complex and enum types. An
    operation whose bound or parameter table is not in the catalog is typed by crmbaseentity."""
    def entity_type(name: str) -> str:
        return f"{ALIAS}.{name}" if catalog.find(name) is not None else f"{ALIAS}.crmbaseentity"

    for name, members in operations.ENUM_TYPES.items():
        enum = _sub(schema, "EnumType", Name=name)
        for value, member in enumerate(members):
            _sub(enum, "Member", Name=member, Value=str(value))
    for name, properties in operations.COMPLEX_TYPES.items():
        complex_type = _sub(schema, "ComplexType", Name=name)
        for prop, type_name in properties:
            _sub(complex_type, "Property", Name=prop, Type=type_name)
    for op in operations.OPERATIONS.values():
        element = _sub(schema, op.kind, Name=op.name)
        if op.bound_to is not None:
            element.set("IsBound", "true")
            _sub(element, "Parameter", Name="entity", Type=entity_type(op.bound_to), Nullable="false")
        for param in op.parameters:
            type_name = entity_type(param.entity_type) if param.type == operations.ENTITY else param.type
            attrs = {"Name": param.name, "Type": type_name}
            if not param.optional:
                attrs["Nullable"] = "false"
            _sub(element, "Parameter", **attrs)
        if op.returns is not None:
            _sub(element, "ReturnType", Type=op.returns, Nullable="false")
        if op.bound_to is None:
            if op.kind == "Function":
                _sub(container, "FunctionImport", Name=op.name, Function=f"{NAMESPACE}.{op.name}")
            else:
                _sub(container, "ActionImport", Name=op.name, Action=f"{NAMESPACE}.{op.name}")
