"""Parses and compiles OData (and this round FetchXML, $apply) into the query plan; knows no Flask and no SQL engine."""
