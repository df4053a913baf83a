"""A large org's $metadata, made up: `tables` custom tables of `columns` columns each (strings, numbers, choices,
dates, flags, money, an image column the importer leaves out), each with lookups to two earlier tables, the owner,
collection-valued partners and an alternate key, shaped like Dataverse's document (schema-breadth.md §1). Used by
bench/metadata_cold_start.py and tests/test_metadata_import.py; never committed as a file."""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">\n'
        '<edmx:Reference Uri="http://vocabularies.odata.org/OData.Community.Keys.V1.xml">'
        '<edmx:Include Namespace="OData.Community.Keys.V1" Alias="Keys"/></edmx:Reference>\n'
        '<edmx:DataServices>\n'
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">\n'
        '<EntityType Name="crmbaseentity" Abstract="true"/>\n')
KINDS = (("Edm.String", ' MaxLength="200" Unicode="false"'), ("Edm.Int32", ""), ("Edm.Decimal", ' Scale="Variable"'),
         ("Edm.DateTimeOffset", ""), ("Edm.Boolean", ""), ("Edm.Double", ""), ("Edm.Int64", ""))


def table_name(i: int) -> str:
    return f"new_table{i:04d}"


def synthetic_csdl(tables: int = 1000, columns: int = 40) -> bytes:
    out = [HEAD]
    sets = []
    for i in range(tables):
        name = table_name(i)
        targets = [table_name(j) for j in sorted({i - 1, i // 2}) if 0 <= j < i]
        out.append(f'<EntityType Name="{name}" BaseType="mscrm.crmbaseentity">'
                   f'<Key><PropertyRef Name="{name}id"/></Key>'
                   f'<Property Name="{name}id" Type="Edm.Guid"/>'
                   f'<Property Name="new_name" Type="Edm.String" MaxLength="100" Unicode="false"/>'
                   f'<Property Name="new_code" Type="Edm.String" MaxLength="40"/>'
                   '<Property Name="entityimage" Type="Edm.Binary"/>'
                   '<Property Name="statecode" Type="Edm.Int32"/><Property Name="statuscode" Type="Edm.Int32"/>'
                   '<Property Name="createdon" Type="Edm.DateTimeOffset">'
                   '<Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/></Property>'
                   '<Property Name="modifiedon" Type="Edm.DateTimeOffset"/>'
                   '<Property Name="versionnumber" Type="Edm.Int64"/>'
                   '<Property Name="_ownerid_value" Type="Edm.Guid"/>'
                   '<Property Name="_createdby_value" Type="Edm.Guid"/>'
                   '<Property Name="_modifiedby_value" Type="Edm.Guid"/>')
        for c in range(columns - 11 - len(targets)):
            edm, facets = KINDS[c % len(KINDS)]
            out.append(f'<Property Name="new_col{c:03d}" Type="{edm}"{facets}/>')
        for target in targets:
            out.append(f'<Property Name="_new_{target}id_value" Type="Edm.Guid"/>')
        for target in targets:
            out.append(f'<NavigationProperty Name="new_{target}id" Type="mscrm.{target}" '
                       f'Partner="new_{name}_{target}">'
                       f'<ReferentialConstraint Property="_new_{target}id_value" ReferencedProperty="{target}id"/>'
                       '</NavigationProperty>')
        for lookup in ("ownerid", "createdby", "modifiedby"):
            out.append(f'<NavigationProperty Name="{lookup}" Type="mscrm.systemuser" Partner="{lookup}_{name}">'
                       f'<ReferentialConstraint Property="_{lookup}_value" ReferencedProperty="systemuserid"/>'
                       '</NavigationProperty>')
        for j in (i + 1, i * 2, i * 2 + 1):
            if j < tables and i in (j - 1, j // 2) and j != i:
                out.append(f'<NavigationProperty Name="new_{table_name(j)}_{name}" '
                           f'Type="Collection(mscrm.{table_name(j)})" Partner="new_{name}id"/>')
        out.append('<Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>'
                   '<Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key"><Collection>'
                   '<Record Type="OData.Community.Keys.V1.PropertyRef">'
                   '<PropertyValue Property="Alias" String="new_code"/>'
                   '<PropertyValue Property="Name" PropertyPath="new_code"/></Record>'
                   '</Collection></PropertyValue></Record></Collection></Annotation>')
        out.append("</EntityType>\n")
        sets.append(f'<EntitySet Name={quoteattr(name + "s")} EntityType="Microsoft.Dynamics.CRM.{name}"/>\n')
    out.append('<EntityContainer Name="System">\n')
    out.extend(sets)
    out.append("</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n")
    return "".join(out).encode()
