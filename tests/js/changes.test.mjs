// npm dynamics-web-api's change tracking (trackChanges, then the delta link) against a live emulator
// (EMULATOR_URL), run by tests/test_change_tracking.py with `node --test`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { api } from "./emulator.mjs";

test("retrieveAll with trackChanges gives every row and a delta link; the delta link gives the changes", async () => {
  const initial = await api.retrieveAll({ collection: "accounts", select: ["name"], trackChanges: true, maxPageSize: 3 });
  assert.ok(initial.value.length > 3, "several pages");
  assert.match(initial.oDataDeltaLink, /\$select=name&\$deltatoken=\d+%21/);

  const created = await api.create({ collection: "accounts", data: { name: "Tracked by dynamics-web-api" } });
  const renamed = initial.value[0].accountid;
  await api.update({ collection: "accounts", key: renamed, data: { name: "Renamed while tracked" } });
  const delta = await api.retrieveMultiple({ collection: "accounts" }, initial.oDataDeltaLink);
  assert.deepEqual(delta.value.map((r) => [r.accountid, r.name]),
    [[created, "Tracked by dynamics-web-api"], [renamed, "Renamed while tracked"]]);
  assert.ok(delta.oDataDeltaLink && delta.oDataDeltaLink !== initial.oDataDeltaLink);

  await api.deleteRecord({ collection: "accounts", key: created });
  const next = await api.retrieveMultiple({ collection: "accounts" }, delta.oDataDeltaLink);
  assert.equal(next.value.length, 1);
  assert.equal(next.value[0].id, created);
  assert.equal(next.value[0].reason, "deleted");
});
