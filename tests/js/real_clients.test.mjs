// npm dynamics-web-api against a live emulator (EMULATOR_URL, e.g. http://127.0.0.1:5555), run by
// tests/test_real_clients_read.py with `node --test`. Every client result is compared with a direct query.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DynamicsWebApi } from "dynamics-web-api";
import { API, SERVER, api } from "./emulator.mjs";

const SET = "msdyn_ocliveworkitems";
const ANNOTATION = "OData.Community.Display.V1.FormattedValue";

// A direct Web API request, without the client library.
async function direct(path) {
  const response = await fetch(API + path, {
    headers: { Authorization: "Bearer direct", Accept: "application/json" },
  });
  const body = await response.text();
  assert.equal(response.status, 200, `${path}: ${body}`);
  return response.headers.get("content-type").startsWith("application/json") ? JSON.parse(body) : body;
}

const ids = (rows) => rows.map((row) => row.activityid);
const filterOpen = `$filter=${encodeURIComponent("statecode eq 0")}`;

test("retrieveMultiple with select, filter, orderBy, count, maxPageSize and includeAnnotations", async () => {
  const expected = await direct(`${SET}?$select=subject,statecode&${filterOpen}&$orderby=createdon%20desc&$count=true`);
  assert.ok(expected.value.length > 10, "the data set has several pages of open conversations");
  const request = {
    collection: SET,
    select: ["subject", "statecode"],
    filter: "statecode eq 0",
    orderBy: ["createdon desc"],
    count: true,
    maxPageSize: 4,
    includeAnnotations: ANNOTATION,
  };
  const pages = [];
  let page = await api.retrieveMultiple(request);
  pages.push(page);
  assert.equal(page.oDataCount, expected["@odata.count"]);
  while (page.oDataNextLink) {
    assert.ok(page.oDataNextLink.startsWith(`${API}${SET}?`), page.oDataNextLink);
    page = await api.retrieveMultiple(request, page.oDataNextLink);
    pages.push(page);
  }
  const sizes = pages.map((p) => p.value.length);
  assert.ok(sizes.slice(0, -1).every((size) => size === 4), `page sizes ${sizes}`);
  assert.ok(sizes.at(-1) >= 1 && sizes.at(-1) <= 4, `page sizes ${sizes}`);
  const rows = pages.flatMap((p) => p.value);
  assert.deepEqual(ids(rows), ids(expected.value));
  assert.deepEqual(rows.map((r) => [r.subject, r.statecode]), expected.value.map((r) => [r.subject, r.statecode]));
});

test("retrieveMultiple ordered by createdon desc, and with top", async () => {
  const expected = await direct(`${SET}?$select=subject&${filterOpen}&$orderby=createdon%20desc`);
  const result = await api.retrieveMultiple({
    collection: SET, select: ["subject"], filter: "statecode eq 0", orderBy: ["createdon desc"],
  });
  assert.deepEqual(ids(result.value), ids(expected.value));
  assert.equal(result.oDataNextLink, undefined);
  const top = await api.retrieveMultiple({ collection: SET, top: 3 });
  assert.deepEqual(ids(top.value), ids((await direct(`${SET}?$top=3`)).value));
});

test("retrieveAll follows every nextLink", async () => {
  const expected = await direct(`${SET}?$select=subject&${filterOpen}`);
  const all = await api.retrieveAll({ collection: SET, select: ["subject"], filter: "statecode eq 0", maxPageSize: 7 });
  assert.deepEqual(ids(all.value), ids(expected.value));
  assert.equal(all.oDataNextLink, undefined);
});

test("retrieve one record, and a missing one", async () => {
  const [first] = (await direct(`${SET}?$select=subject&$orderby=createdon%20desc&$top=1`)).value;
  const record = await api.retrieve({ collection: SET, key: first.activityid, select: ["subject"] });
  assert.equal(record.activityid, first.activityid);
  assert.equal(record.subject, first.subject);
  await assert.rejects(
    api.retrieve({ collection: SET, key: "00000000-0000-0000-0000-000000000001", select: ["subject"] }),
    (error) => error.status === 404,
  );
});

test("count, with and without a filter", async () => {
  assert.equal(await api.count({ collection: SET }), Number(await direct(`${SET}/$count`)));
  const open = await direct(`${SET}?$select=activityid&${filterOpen}&$count=true`);
  assert.equal(await api.count({ collection: SET, filter: "statecode eq 0" }), open["@odata.count"]);
});

test("callFunction WhoAmI", async () => {
  const expected = await direct("WhoAmI()");
  const result = await api.callFunction("WhoAmI");
  assert.equal(result.UserId, expected.UserId);
  assert.equal(result.BusinessUnitId, expected.BusinessUnitId);
  assert.equal(result.OrganizationId, expected.OrganizationId);
});

test("useEntityNames resolves the entity set through EntityDefinitions", async () => {
  const named = new DynamicsWebApi({
    serverUrl: SERVER, dataApi: { version: "9.2" }, onTokenRefresh: async () => "dummy-token", timeout: 10000,
    useEntityNames: true,
  });
  const result = await named.retrieveMultiple({ collection: "msdyn_ocliveworkitem", select: ["subject"], top: 2 });
  assert.deepEqual(ids(result.value), ids((await direct(`${SET}?$select=subject&$top=2`)).value));
});
