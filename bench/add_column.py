"""Adding a column to a table of N rows (default 1,000,000) through the Web API, timed, on SQLite or PostgreSQL:
the column is added with ALTER TABLE ... ADD COLUMN and no default, which neither backend answers with a table
rewrite, so the time does not grow with the rows. Run: python bench/add_column.py [--rows N] [--database URL]"""
from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from emulator.app import create_app
from emulator.server import prepare
from emulator.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    emulator = prepare(Settings(database_url=url, load="never", now="2026-01-15T12:00:00Z"))
    client = create_app(emulator).test_client()
    api, auth = "/api/data/v9.2", {"Authorization": "Bearer bench"}
    label = {"LocalizedLabels": [{"Label": "Bench", "LanguageCode": 1033}]}
    table = {"SchemaName": "new_Bench", "DisplayName": label, "DisplayCollectionName": label,
             "OwnershipType": "UserOwned", "IsActivity": False, "HasActivities": False, "HasNotes": False,
             "Attributes": [{"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                             "SchemaName": "new_Name", "MaxLength": 100, "IsPrimaryName": True,
                             "DisplayName": label}]}
    assert client.post(f"{api}/EntityDefinitions", json=table, headers=auth).status_code == 204
    sql = emulator.db.tables["new_bench"]
    started = time.perf_counter()
    with emulator.db.engine.begin() as conn:
        batch = 50_000
        for offset in range(0, args.rows, batch):
            conn.execute(sql.insert(), [{"new_benchid": str(uuid.uuid4()), "new_name": f"row {i}", "statecode": 0,
                                         "statuscode": 1, "versionnumber": i}
                                        for i in range(offset, min(offset + batch, args.rows))])
    print(f"loaded {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
    for kind, name in (("IntegerAttributeMetadata", "new_Count"), ("StringAttributeMetadata", "new_Code")):
        column = {"@odata.type": f"Microsoft.Dynamics.CRM.{kind}", "SchemaName": name, "DisplayName": label}
        started = time.perf_counter()
        response = client.post(f"{api}/EntityDefinitions(LogicalName='new_bench')/Attributes", json=column,
                               headers=auth)
        elapsed = time.perf_counter() - started
        assert response.status_code == 204, response.get_data(as_text=True)
        print(f"{emulator.db.engine.dialect.name}: POST .../Attributes ({kind}) on {args.rows:,} rows: "
              f"{elapsed * 1000:.1f} ms")
    with emulator.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(emulator.db.tables["new_bench"])).scalar() \
            == args.rows
    client.delete(f"{api}/EntityDefinitions(LogicalName='new_bench')", headers=auth)
    emulator.db.dispose()


if __name__ == "__main__":
    main()
