"""Executes: the SQL schema, query plans as SQL, writes through one record API, seeding; knows no HTTP."""
