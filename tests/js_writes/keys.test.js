// dynamics-web-api 2.5 addressing records by alternate key (`key: "accountnumber='A-1'"`, as the library's
// documentation shows) against a live emulator whose account and contact tables carry keys. EMULATOR_URL is set by
// tests/test_alternate_keys.py.
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { DynamicsWebApi } = require("dynamics-web-api");

const api = new DynamicsWebApi({
  serverUrl: process.env.EMULATOR_URL,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => "dummy-token",
  timeout: 10000,
});

test("upsert, retrieve, update, bind and delete by alternate key", async () => {
  const key = "accountnumber='JS-1'";
  await api.upsert({ collection: "accounts", key, data: { name: "from dynamics-web-api" } });
  await api.upsert({ collection: "accounts", key, data: { telephone1: "555-0199" } });
  const account = await api.retrieve({ collection: "accounts", key, select: ["name", "telephone1"] });
  assert.deepEqual([account.name, account.telephone1], ["from dynamics-web-api", "555-0199"]);

  // update() sends If-Match: *: a key no row has is not created
  await assert.rejects(api.update({ collection: "accounts", key: "accountnumber='JS-404'", data: { name: "x" } }),
    (error) => error.status === 404 && error.code === "0x80060891");
  assert.equal(await api.update({ collection: "accounts", key, data: { name: "renamed" } }), true);

  await api.create({ collection: "contacts", data: {
    firstname: "Key", emailaddress1: "key@js.example", "parentcustomerid_account@odata.bind": `/accounts(${key})`,
  } });
  const contact = await api.retrieve({
    collection: "contacts", key: "firstname='Key',emailaddress1='key@js.example'", select: ["_parentcustomerid_value"],
  });
  assert.equal(contact._parentcustomerid_value, account.accountid);

  assert.equal(await api.deleteRecord({ collection: "accounts", key }), true);
  await assert.rejects(api.retrieve({ collection: "accounts", key }), (error) => error.status === 404);
});
