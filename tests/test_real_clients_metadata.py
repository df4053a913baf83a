"""The official Python SDK (PyPI PowerPlatform-Dataverse-Client) runs its table and column calls against a live
emulator, unchanged: create a table with columns of every type it offers (CreateEntities), add and remove columns,
an alternate key, a lookup, records written and read back as a DataFrame, and the table deleted."""
from __future__ import annotations

import time
from enum import IntEnum

import pytest

from emulator.app import create_app

from .conftest import BACKENDS, LiveServer, drop_database, make_emulator


class FakeCredential:
    """Satisfies azure.core's TokenCredential protocol; the emulator accepts any bearer token."""

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken("dummy-token", int(time.time()) + 3600)


class Size(IntEnum):
    Small = 100000000
    Large = 100000001


@pytest.fixture(params=BACKENDS)
def sdk(request, tmp_path):
    pytest.importorskip("PowerPlatform.Dataverse")
    from PowerPlatform.Dataverse.client import DataverseClient
    from PowerPlatform.Dataverse.core.config import DataverseConfig

    emulator = make_emulator(tmp_path / "emulator.db", conversations=10, backend=request.param)
    live = LiveServer(create_app(emulator))
    client = DataverseClient("https://placeholder.invalid", FakeCredential(),
                             DataverseConfig(http_retries=1, http_timeout=10))
    client._base_url = live.url  # real-clients.md 1.B: the SDK refuses http:// in its constructor
    yield client, emulator
    live.stop()
    drop_database(emulator)


def test_sdk_table_lifecycle(sdk):
    client, emulator = sdk
    started = time.monotonic()
    info = client.tables.create("new_Gadget", {"new_Price": "decimal", "new_Count": "int", "new_Notes": "memo",
                                               "new_Ratio": "float", "new_Due": "datetime", "new_Active": "bool",
                                               "new_Code": "string", "new_Size": Size}, solution="MySolution")
    assert info["table_logical_name"] == "new_gadget" and info["entity_set_name"] == "new_gadgets"
    assert info["primary_name_attribute"] == "new_name" and info["metadata_id"]
    assert client.tables.get("new_Gadget")["entity_set_name"] == "new_gadgets"
    assert "new_gadget" in {t["LogicalName"] for t in client.tables.list()}

    client.tables.add_columns("new_Gadget", {"new_Weight": "double", "new_Comment": "string"})
    columns = {c["LogicalName"] for c in client.tables.list_columns("new_Gadget")}
    assert {"new_price", "new_count", "new_weight", "new_comment", "new_size"} <= columns

    key = client.tables.create_alternate_key("new_Gadget", "new_CodeKey", ["new_code"])
    assert [k.key_attributes for k in client.tables.get_alternate_keys("new_Gadget")] == [["new_code"]]
    assert key.metadata_id

    relationship = client.tables.create_lookup_field("new_gadget", "new_AccountId", "account")
    assert relationship.relationship_id

    # labels of the choice column resolve to their values, as the SDK does before every write
    first = client.records.create("new_gadget", {"new_name": "g1", "new_price": 9.5, "new_count": 3,
                                                 "new_size": "Large", "new_active": True, "new_code": "G-1",
                                                 "new_due": "2026-02-01T00:00:00Z"})
    second = client.records.create("new_gadget", {"new_name": "g2", "new_count": 5, "new_code": "G-2"})
    frame = (client.query.builder("new_gadget").select("new_name", "new_count", "new_size", "new_price")
             .order_by("new_name").execute().to_dataframe())
    assert list(frame["new_name"]) == ["g1", "g2"] and list(frame["new_count"]) == [3, 5]
    assert frame["new_size"].iloc[0] == Size.Large and frame["new_price"].iloc[0] == 9.5
    ids = client.query.builder("new_gadget").select("new_gadgetid").execute().to_dataframe()["new_gadgetid"]
    assert {first, second} == set(ids)

    client.tables.remove_columns("new_Gadget", ["new_Comment"])
    assert "new_comment" not in {c["LogicalName"] for c in client.tables.list_columns("new_Gadget")}

    client.tables.delete("new_Gadget")
    assert client.tables.get("new_Gadget") is None
    assert "new_gadget" not in emulator.db.tables
    assert time.monotonic() - started < 30  # no client-side retry loop waited on a 404
