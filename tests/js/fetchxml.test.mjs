// npm dynamics-web-api's fetch and fetchAll (FetchXML) against a live emulator (EMULATOR_URL), run by
// tests/test_fetchxml.py with `node --test`. Every answer is compared with the same question asked in OData.
import assert from "node:assert/strict";
import { test } from "node:test";
import { API, api } from "./emulator.mjs";

// Every row of an OData query, following nextLinks, without the client library.
async function direct(path) {
  let url = API + path;
  const rows = [];
  while (url) {
    const response = await fetch(url, { headers: { Authorization: "Bearer direct", Accept: "application/json" } });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    rows.push(...body.value);
    url = body["@odata.nextLink"];
  }
  return rows;
}

test("fetchAll pages with the paging cookie through every page", async () => {
  const expected = await direct("msdyn_ocliveworkitems?$select=activityid&$filter=statuscode%20ne%201&$orderby=createdon%20desc");
  const fetchXml = `<fetch count="40"><entity name="msdyn_ocliveworkitem"><attribute name="subject"/>
    <order attribute="createdon" descending="true"/>
    <filter><condition attribute="statuscode" operator="ne" value="1"/></filter></entity></fetch>`;
  const result = await api.fetchAll({ collection: "msdyn_ocliveworkitems", fetchXml, includeAnnotations: "*" });
  assert.ok(expected.length > 80, "several pages");
  assert.deepEqual(result.value.map((r) => r.activityid), expected.map((r) => r.activityid));
});

test("fetch gives one page and the next page's number and cookie", async () => {
  const fetchXml = `<fetch count="5"><entity name="msdyn_ocliveworkitem"><attribute name="subject"/>
    <order attribute="subject"/></entity></fetch>`;
  const first = await api.fetch({ collection: "msdyn_ocliveworkitems", fetchXml, includeAnnotations: "*" });
  assert.equal(first.value.length, 5);
  assert.equal(first.PagingInfo.nextPage, 2);
  assert.match(first.PagingInfo.cookie, /^&lt;cookie page=&quot;1&quot;&gt;/);  // entity-escaped for the XML
  const second = await api.fetch({ collection: "msdyn_ocliveworkitems", fetchXml, includeAnnotations: "*",
    pageNumber: first.PagingInfo.nextPage, pagingCookie: first.PagingInfo.cookie });
  const expected = await direct("msdyn_ocliveworkitems?$select=activityid&$orderby=subject&$top=10");
  assert.deepEqual([...first.value, ...second.value].map((r) => r.activityid), expected.map((r) => r.activityid));
});

test("fetchAll pages by number when the link repeats rows (no keys in the cookie)", async () => {
  const closed = await direct("msdyn_ocliveworkitems?$select=_msdyn_activeagentid_value&$filter=statuscode%20eq%204");
  const fetchXml = `<fetch count="30"><entity name="systemuser"><attribute name="fullname"/>
    <link-entity name="msdyn_ocliveworkitem" from="msdyn_activeagentid" to="systemuserid" alias="c">
    <attribute name="subject"/><filter><condition attribute="statuscode" operator="eq" value="4"/></filter>
    </link-entity></entity></fetch>`;
  const result = await api.fetchAll({ collection: "systemusers", fetchXml, includeAnnotations: "*" });
  assert.equal(result.value.length, closed.filter((r) => r._msdyn_activeagentid_value).length);
  assert.ok(result.value.every((r) => r["c.subject"] !== undefined));
});
