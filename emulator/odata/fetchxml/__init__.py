"""FetchXML (`?fetchXml=`): parsed with defusedxml, checked against the table metadata (grammar.py) and compiled
into the same query plan (plan.py) as the OData options (compiler.py); conditions reuse the SQL of the
Microsoft.Dynamics.CRM query functions (conditions.py); rows come back as Dataverse writes them (rows.py). What
FetchXML can say and the emulator does not run is refused by name. Facts: spec fetchxml.md; choices where it is
silent: docs/decisions.md, FetchXML."""
from .compiler import FetchQuery, compile_fetch
from .rows import ATTRIBUTE_NAME, FORMATTED_VALUE, records

__all__ = ["ATTRIBUTE_NAME", "FORMATTED_VALUE", "FetchQuery", "compile_fetch", "records"]
