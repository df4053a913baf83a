// The getConversations contract suite for omnichannel.js, run by tests/test_contract.py with `node --test`:
// it reads the prepared calls (records already created, placeholders resolved) from $CONTRACT_MANIFEST, runs each
// through createOmnichannel().getConversations, checks it as test_contract.py's check() does, and writes every
// outcome to the manifest's results file so the Python side can compare the two clients record for record.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createOmnichannel } = require("../../emulator/static/omnichannel.js");

const manifestPath = process.env.CONTRACT_MANIFEST;
const manifest = manifestPath ? JSON.parse(readFileSync(manifestPath, "utf8")) : { calls: [] };
const results = {};

if (!manifestPath) {
  test("contract suite", { skip: "CONTRACT_MANIFEST is not set: run it through tests/test_contract.py" }, () => {});
}

async function setClock(controlUrl, now) {
  if (!now || !controlUrl) return;
  const response = await fetch(`${controlUrl}/_emulator/clock`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ now, frozen: true }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function run(call) {
  await setClock(call.controlUrl, call.clock);
  const client = createOmnichannel({ orgUrl: call.orgUrl, getToken: async () => call.token, timeout: 60 });
  const input = "inputJson" in call ? call.inputJson : call.input;
  try {
    return { records: await client.getConversations(input, call.correlationId) };
  } catch (e) {
    return { error: { message: e.message, code: e.code, status: e.status } };
  }
}

function sorted(values) { return [...values].sort(); }

function check(outcome, expect) {
  if (expect.error) {
    assert.ok(outcome.error, `expected a rejection, got ${outcome.records && outcome.records.length} records`);
    assert.deepEqual([outcome.error.code, outcome.error.status], [expect.error.code, expect.error.status],
      JSON.stringify(outcome.error));
    assert.ok(outcome.error.message.includes(expect.error.message), JSON.stringify(outcome.error));
    return;
  }
  assert.ok(outcome.records, `expected records, got the rejection ${JSON.stringify(outcome.error)}`);
  let records = outcome.records;
  if (expect.only) {
    const only = new Set(expect.only);
    records = records.filter((r) => only.has(r.activityid));
  }
  const ids = records.map((r) => r.activityid);
  let position = 0;
  for (const group of expect.ids) {
    assert.deepEqual(sorted(ids.slice(position, position + group.length)), sorted(group), `at position ${position}`);
    position += group.length;
  }
  assert.equal(ids.length, position, `${ids.length - position} unexpected records`);
  for (const record of records) assert.deepEqual(sorted(Object.keys(record)), expect.keys);
  const byId = Object.fromEntries(records.map((r) => [r.activityid, r]));
  for (const [id, values] of Object.entries(expect.values)) {
    for (const [key, value] of Object.entries(values)) assert.deepEqual(byId[id][key], value, `${id} ${key}`);
  }
}

for (const call of manifest.calls) {
  test(call.id, async () => {
    const outcome = await run(call);
    results[call.id] = outcome;
    check(outcome, call.expect);
  });
}

after(() => {
  if (manifest.results) writeFileSync(manifest.results, JSON.stringify(results));
});
