/* The reference Microsoft.Omnichannel.getConversations for JavaScript: no dependencies, for a browser page and
 * for Node 20 (global fetch). It mirrors emulator/omnichannel/request.py and client.py: the same validation (before
 * any request), the same Web API query, every page followed, the same rejections (Error with message, code, status).
 *
 *   const omnichannel = createOmnichannel({ orgUrl: "http://127.0.0.1:5555", getToken: () => "any-token" });
 *   const records = await omnichannel.getConversations({ agentId: "...", status: [3] }, "my-correlation-id");
 *
 * One file, three ways to load it (README.md, "getConversations from JavaScript", runs each):
 *   CommonJS:      const { createOmnichannel } = require("./omnichannel.js");
 *   ES module:     import { createOmnichannel } from "./omnichannel.js";   (Node; or omnichannel.mjs anywhere)
 *   browser:       <script src="/omnichannel.js"></script> defines window.createOmnichannel, window.OmnichannelClient
 *                  and window.Microsoft.Omnichannel.getConversations, whose orgUrl is the page's origin, so code
 *                  written for the real API runs unchanged. */
(function (root) {
  "use strict";

  var ENTITY_SET = "msdyn_ocliveworkitems";
  var API_PATH = "/api/data/v9.2/";
  var INVALID_ARGUMENT = "0x80040203"; // Dataverse's InvalidArgument code, for inputs rejected before any request
  var NETWORK_ERROR = "NetworkError"; // no HTTP answer at all
  var EXAMPLE_GUID = "2b330c52-6844-4d36-8e05-03c78c9681dc";

  var COLUMNS = [
    "activityid", "msdyn_ocliveworkitemid", "subject", "msdyn_title", "description", "statecode", "statuscode",
    "msdyn_channel", "activitytypecode", "msdyn_createdon", "msdyn_modifiedon", "msdyn_closedon", "msdyn_startedon",
    "msdyn_initiatedon", "msdyn_activeagentassignedon", "msdyn_firstwaitstartedon", "msdyn_statusupdatedon",
    "msdyn_wrapupinitiatedon", "msdyn_isoutbound", "msdyn_isabandoned", "msdyn_isagentaccepted",
    "msdyn_copilotengaged", "msdyn_thirdpartyconversation", "msdyn_isagentsession",
    "msdyn_firstresponsetimeinmsadjforoh", "msdyn_averageresponsetimeinmsadjforoh",
    "msdyn_conversationfirstwaittimeinseconds", "msdyn_conversationhandletimeinseconds",
    "msdyn_conversationholdtimeinseconds", "msdyn_conversationtalktimeinseconds",
    "msdyn_conversationwrapuptimeinseconds", "msdyn_transfercount", "msdyn_escalationcount",
    "msdyn_statuschangereason", "msdyn_workstreamworkdistributionmode", "msdyn_customersentimentlabel",
    "prioritycode", "createdon", "modifiedon", "overriddencreatedon", "versionnumber"
  ];
  var LOOKUPS = [
    "msdyn_activeagentid", "msdyn_liveworkstreamid", "msdyn_lastsessionid", "msdyn_queueid", "msdyn_cdsqueueid",
    "msdyn_customer", "msdyn_issueid", "regardingobjectid", "createdby", "modifiedby", "ownerid"
  ];
  var DEFAULT_ATTRIBUTES = ["msdyn_ocliveworkitemid", "msdyn_liveworkstreamid", "msdyn_lastsessionid", "StatusCode",
    "CreatedOn"];
  var STATUS_REASONS = { 1: "Open", 2: "Active", 3: "Waiting", 4: "Closed", 5: "Wrap-up", 6: "Resolved",
    7: "Scheduled" };

  var BY_NAME = {};
  COLUMNS.forEach(function (n) { BY_NAME[n] = n; });
  LOOKUPS.forEach(function (n) { BY_NAME[n] = "_" + n + "_value"; BY_NAME["_" + n + "_value"] = "_" + n + "_value"; });

  function resolveColumn(name) {
    var key = name.trim().toLowerCase();
    return Object.prototype.hasOwnProperty.call(BY_NAME, key) ? BY_NAME[key] : null;
  }

  function omnichannelError(message, code, status) {
    var error = new Error(message);
    error.name = "OmnichannelError";
    error.code = code;
    error.status = status;
    return error;
  }

  function reject(message) { return omnichannelError(message, INVALID_ARGUMENT, null); }

  function jsonType(value) {
    if (value === null || value === undefined) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") return typeof value;
    return "object";
  }

  function aType(value) { // "a number", "an array", "null"
    var name = jsonType(value);
    return name === "null" ? name : ("aeiou".indexOf(name[0]) >= 0 ? "an " : "a ") + name;
  }

  function isPlainObject(value) { return jsonType(value) === "object"; }

  function parseInput(value) {
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch (e) {
        var shown = value.length <= 50 ? value : value.slice(0, 50) + "...";
        throw reject("input is not valid JSON: " + shown);
      }
    }
    if (!isPlainObject(value)) {
      throw reject("input must be an object (or a JSON string of one) with at least agentId, not " +
        aType(value) + ".");
    }
    return value;
  }

  var HEX_GUID = "[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}";
  var GUID = new RegExp("^(?:\\{" + HEX_GUID + "\\}|" + HEX_GUID + ")$"); // braces both or neither

  function agentId(value) {
    if (value === null || value === undefined || (typeof value === "string" && !value.trim())) {
      throw reject("agentId is required: the id (a GUID) of the agent whose conversations to get.");
    }
    if (typeof value !== "string") throw reject("agentId must be a GUID string, not " + aType(value) + ".");
    var text = value.trim();
    if (!GUID.test(text)) throw reject("agentId '" + value + "' is not a GUID such as " + EXAMPLE_GUID + ".");
    return text.replace(/^\{|\}$/g, "").toLowerCase();
  }

  function unknownStatus(text) {
    var known = Object.keys(STATUS_REASONS).map(function (v) { return v + " " + STATUS_REASONS[v]; }).join(", ");
    return reject("status value '" + text + "' is not a known statuscode of msdyn_ocliveworkitem (" + known + ").");
  }

  function statuses(value) {
    if (value === null || value === undefined) return [];
    if (typeof value === "string" || typeof value === "number") value = [value];
    if (!Array.isArray(value)) {
      throw reject("status must be an array of status reason values such as [3] or [\"2,3\"], not " +
        aType(value) + ".");
    }
    var out = [];
    value.forEach(function (item) {
      if (typeof item === "string") {
        item.split(",").forEach(function (raw) {
          var piece = raw.trim();
          if (!/^[+-]?[0-9]+$/.test(piece) || !STATUS_REASONS[parseInt(piece, 10)]) throw unknownStatus(piece);
          out.push(parseInt(piece, 10));
        });
      } else if (typeof item === "number") {
        if (!Number.isInteger(item) || !STATUS_REASONS[item]) throw unknownStatus(String(item));
        out.push(item);
      } else {
        throw reject("status values must be numbers or numeric strings, not " + aType(item) + ".");
      }
    });
    return out.filter(function (v, i) { return out.indexOf(v) === i; });
  }

  function createdWithinDays(value) {
    if (value === null || value === undefined) return null;
    var number = null;
    var shown;
    if (typeof value === "string") {
      if (/^[0-9]+$/.test(value.trim())) number = Number(value.trim());
      shown = "'" + value + "'";
    } else {
      if (typeof value === "number" && Number.isInteger(value)) number = value;
      shown = typeof value === "number" ? String(value) : aType(value);
    }
    if (number === null || number < 0 || !Number.isSafeInteger(number)) {
      throw reject("createdBeforeDays must be a whole number of days, 0 or more (conversations created " +
        "within the last N days), not " + shown + ".");
    }
    return number;
  }

  function column(name, where) {
    if (typeof name !== "string" || !name.trim()) {
      var shown = typeof name === "string" ? "an empty string" : aType(name);
      throw reject(where + " must be a column name of msdyn_ocliveworkitem, not " + shown + ".");
    }
    var resolved = resolveColumn(name);
    if (resolved === null) throw reject(where + " '" + name + "' is not a column of msdyn_ocliveworkitem.");
    return resolved;
  }

  function select(value) {
    if (value === null || value === undefined) value = [];
    if (!Array.isArray(value)) {
      throw reject("attributes must be an array of column names, not " + aType(value) + ".");
    }
    var names = value.map(function (item) { return column(item, "attribute"); })
      .concat(DEFAULT_ATTRIBUTES.map(resolveColumn));
    return names.filter(function (v, i) { return names.indexOf(v) === i; });
  }

  function order(value) {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      throw reject("orderBy must be an array of {attributeName, descending} objects, not " + aType(value) + ".");
    }
    return value.map(function (item) {
      if (!isPlainObject(item)) {
        throw reject("orderBy entries must be objects such as {\"attributeName\":\"createdon\"," +
          "\"descending\":true}, not " + aType(item) + ".");
      }
      var descending = item.descending === null || item.descending === undefined ? false : item.descending;
      if (typeof descending !== "boolean") {
        throw reject("orderBy descending must be true or false, not " + aType(descending) + ".");
      }
      return [column(item.attributeName, "orderBy attributeName"), descending];
    });
  }

  /* getConversations' input (object or JSON string) -> the Web API query string it becomes. */
  function buildQuery(input) {
    var data = parseInput(input);
    var agent = agentId(data.agentId);
    var status = statuses(data.status);
    var days = createdWithinDays(data.createdBeforeDays);
    var names = select(data.attributes);
    var terms = order(data.orderBy);
    var filter = ["_msdyn_activeagentid_value eq " + agent];
    if (status.length) {
      filter.push("Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=[" +
        status.map(function (s) { return "'" + s + "'"; }).join(",") + "])");
    }
    if (days !== null) {
      filter.push("Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=" + days + ")");
    }
    var options = [["$select", names.join(",")], ["$filter", filter.join(" and ")]];
    if (terms.length) {
      options.push(["$orderby", terms.map(function (t) { return t[0] + (t[1] ? " desc" : " asc"); }).join(",")]);
    }
    return options.map(function (o) { return o[0] + "=" + encodeURIComponent(o[1]); }).join("&");
  }

  function createOmnichannel(options) {
    options = options || {};
    var orgUrl = String(options.orgUrl || "").replace(/\/+$/, "");
    var getToken = options.getToken;
    var timeout = options.timeout || 30; // seconds, as the Python client's
    var fetchImpl = options.fetch || (typeof fetch === "function" ? fetch.bind(root) : null);

    async function headers(correlationId) {
      var h = { "Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0" };
      var token = typeof getToken === "function" ? await getToken() : getToken;
      if (token) h["Authorization"] = "Bearer " + token;
      if (correlationId !== null && correlationId !== undefined && correlationId !== "") {
        h["x-ms-correlation-id"] = String(correlationId);
      }
      return h;
    }

    async function get(url, correlationId) {
      var response;
      var init = { method: "GET", headers: await headers(correlationId) };
      if (typeof AbortSignal !== "undefined" && AbortSignal.timeout) init.signal = AbortSignal.timeout(timeout * 1000);
      try {
        response = await fetchImpl(url, init);
      } catch (e) {
        var error = e && e.name === "TimeoutError"
          ? omnichannelError("The server at " + orgUrl + " did not answer within " + timeout + " s.", NETWORK_ERROR,
            null)
          : omnichannelError("The server at " + orgUrl + " could not be reached.", NETWORK_ERROR, null);
        error.cause = e; // refused, reset, DNS...
        throw error;
      }
      var text = await response.text();
      var body = null;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      if (!response.ok) {
        var error = isPlainObject(body) ? body.error : null;
        if (isPlainObject(error)) {
          throw omnichannelError(String(error.message || "HTTP " + response.status),
            String(error.code || ""), response.status);
        }
        throw omnichannelError("The server answered HTTP " + response.status + " without a Dataverse error body.",
          "", response.status);
      }
      if (!isPlainObject(body) || !Array.isArray(body.value)) {
        throw omnichannelError("The server's answer is not an OData collection (no 'value' array).", "",
          response.status);
      }
      return body;
    }

    /* Resolves with every matching record, exactly as the Web API returns them; rejects with an Error carrying
     * message, code and status (status null when no server answered). */
    async function getConversations(input, correlationId) {
      var url = orgUrl + API_PATH + ENTITY_SET + "?" + buildQuery(input);
      if (!fetchImpl) throw omnichannelError("No fetch function is available.", NETWORK_ERROR, null);
      var records = [];
      var seen = {};
      while (url) {
        seen[url] = true;
        var body = await get(url, correlationId);
        Array.prototype.push.apply(records, body.value);
        url = body["@odata.nextLink"];
        if (url && seen[url]) {
          throw omnichannelError("The server returned the same @odata.nextLink twice: " + url, "", 200);
        }
      }
      return records;
    }

    return { getConversations: getConversations, orgUrl: orgUrl };
  }

  var api = { createOmnichannel: createOmnichannel, buildQuery: buildQuery, INVALID_ARGUMENT: INVALID_ARGUMENT,
    NETWORK_ERROR: NETWORK_ERROR };

  // In a page: window.Microsoft.Omnichannel.getConversations against the page's own origin.
  if (typeof window !== "undefined" && window.location && window.location.origin) {
    var page = createOmnichannel({ orgUrl: window.location.origin, getToken: function () {
      var t = window.OMNICHANNEL_TOKEN; // a page may set a token; the emulator accepts any non-empty one
      return typeof t === "function" ? t() : (t || "emulator");
    } });
    window.Microsoft = window.Microsoft || {};
    window.Microsoft.Omnichannel = window.Microsoft.Omnichannel || {};
    window.Microsoft.Omnichannel.getConversations = page.getConversations;
  }
  if (typeof module === "object" && module && module.exports) {
    // CommonJS (require), and named exports for `import { createOmnichannel } from ".../omnichannel.js"` in Node:
    // Node finds `exports.<name> =` assignments in a CommonJS file and offers them as an ES module's names.
    exports.createOmnichannel = createOmnichannel;
    exports.buildQuery = buildQuery;
    exports.INVALID_ARGUMENT = INVALID_ARGUMENT;
    exports.NETWORK_ERROR = NETWORK_ERROR;
  } else {
    root.createOmnichannel = createOmnichannel;
    root.OmnichannelClient = api;
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
