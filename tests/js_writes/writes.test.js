// dynamics-web-api 2.5 writes against a live emulator, called the way the library's documentation shows.
// EMULATOR_URL and EMULATOR_SUMMARY are set by tests/test_real_clients_write.py; the test writes the ids it used
// to EMULATOR_SUMMARY so the Python side can check the database.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const { DynamicsWebApi } = require("dynamics-web-api");

const serverUrl = process.env.EMULATOR_URL;
const collection = "msdyn_ocliveworkitems";
const api = new DynamicsWebApi({
  serverUrl,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => "dummy-token",
  timeout: 10000,
});
const summary = {};

test("create, update, upsert, deleteRecord and executeBatch", async () => {
  const created = await api.create({ collection, data: { subject: "from dynamics-web-api", statecode: 0 } });
  assert.match(created, /^[0-9a-f-]{36}$/);
  summary.created = created;

  const represented = await api.create({
    collection, data: { subject: "with representation" }, returnRepresentation: true, select: ["subject"],
  });
  assert.equal(represented.subject, "with representation");
  assert.match(represented.activityid, /^[0-9a-f-]{36}$/);

  assert.equal(await api.update({ collection, key: created, data: { statecode: 1 } }), true);
  const closed = await api.retrieve({ collection, key: created, select: ["statecode", "statuscode"] });
  assert.deepEqual([closed.statecode, closed.statuscode], [1, 4]);

  // update() sends If-Match: *, so a missing row is not created: the emulator answers 404
  const missing = "00000000-0000-0000-0000-0000000000dd";
  await assert.rejects(api.update({ collection, key: missing, data: { subject: "nope" } }),
    (error) => error.status === 404);

  const upserted = "00000000-0000-0000-0000-0000000000ee";
  await api.upsert({ collection, key: upserted, data: { msdyn_title: "upserted once" } });
  await api.upsert({ collection, key: upserted, data: { msdyn_title: "upserted twice" } });
  const upsertedRow = await api.retrieve({ collection, key: upserted, select: ["msdyn_title"] });
  assert.equal(upsertedRow.msdyn_title, "upserted twice");
  summary.upserted = upserted;

  // If-None-Match: * makes upsert create-only: the library answers null on the 412
  assert.equal(await api.upsert({ collection, key: upserted, data: { msdyn_title: "x" }, ifnonematch: "*" }), null);

  const doomed = await api.create({ collection, data: { subject: "to delete" } });
  assert.equal(await api.deleteRecord({ collection, key: doomed }), true);
  summary.deleted = doomed;
  await assert.rejects(api.retrieve({ collection, key: doomed }), (error) => error.status === 404);

  api.startBatch();
  api.create({ collection, data: { subject: "batch 1" } });
  api.create({ collection, data: { subject: "batch 2" } });
  api.retrieveMultiple({ collection, select: ["subject"], filter: "startswith(subject,'batch ')" });
  const results = await api.executeBatch();
  assert.equal(results.length, 3);
  assert.match(results[0], /^[0-9a-f-]{36}$/);
  assert.match(results[1], /^[0-9a-f-]{36}$/);
  assert.deepEqual(results[2].value.map((r) => r.subject).sort(), ["batch 1", "batch 2"]);

  // A change set whose second request fails leaves nothing behind; the library rejects with the errors.
  api.startBatch();
  api.create({ collection, data: { subject: "batch rolled back" } });
  api.create({ collection, data: { subject: "bad", prioritycode: 99 } });
  await assert.rejects(api.executeBatch(), (errors) => Array.isArray(errors) && errors[0].status === 400);

  // A GET whose URL is over 2000 characters is sent as a $batch by the library, transparently.
  const ids = Array.from({ length: 60 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`);
  const longFilter = [created, ...ids].map((id) => `activityid eq ${id}`).join(" or ");
  const viaBatch = await api.retrieveMultiple({ collection, select: ["subject"], filter: longFilter });
  assert.deepEqual(viaBatch.value.map((r) => r.activityid), [created]);

  fs.writeFileSync(process.env.EMULATOR_SUMMARY, JSON.stringify(summary));
});
