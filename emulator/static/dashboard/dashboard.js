// The agent dashboard: one agent's conversations through the JavaScript getConversations (/omnichannel.js),
// formatted values from the Web API, sorting, filters, details with sessions, and a refresh every few seconds.
// Plain ES module, no build step, no third-party code.

const TOKEN = "demo"; // the emulator accepts any bearer token
const API = `${location.origin}/api/data/v9.2/`;
const FV = "@OData.Community.Display.V1.FormattedValue";
const PREFER = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"';
const REFRESH_MS = 3000;
const ALL_STATUSES = ["1", "2", "3", "5", "4"];
const ATTRIBUTES = ["msdyn_title", "subject", "msdyn_channel", "msdyn_customer", "statecode"];
// Labels used only when a record comes without formatted values (conversation-entity.md 1.3 and 1.4).
const STATUS_LABELS = { 1: "Open", 2: "Active", 3: "Waiting", 4: "Closed", 5: "Wrap-up", 6: "Resolved", 7: "Scheduled" };
const CHANNEL_LABELS = {
  19241000: "Microsoft Teams", 192300000: "WhatsApp", 192310000: "LINE", 192320000: "WeChat", 192330000: "Facebook",
  192340000: "SMS", 192350000: "Entity Records", 192350001: "Twitter", 192350002: "Custom", 192360000: "Live chat",
  192370000: "Voice", 192380000: "Video", 192390000: "Co-browse", 192400000: "Screen sharing",
  192440000: "Voice call", 192450000: "Apple Messages for Business", 192450001: "Google's Business Messages",
};

const $ = (selector, root = document) => root.querySelector(selector);
const state = {
  omnichannel: null, agentId: "", statuses: new Set(ALL_STATUSES), days: null,
  sort: { key: "created", descending: true }, paused: false, rows: [], seen: null, timer: 0, generation: 0,
  signature: "",
};

// -- Web API ------------------------------------------------------------------------------------------------------
async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${TOKEN}`, Accept: "application/json", "OData-Version": "4.0",
                    "OData-MaxVersion": "4.0", Prefer: PREFER };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path.startsWith("/") ? path : API + path,
                               { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `${response.status} ${response.statusText}`);
  return data;
}

async function loadOmnichannel() {
  // /omnichannel.js exposes createOmnichannel({ orgUrl, getToken }) as a module export or, in a page,
  // window.Microsoft.Omnichannel; importing it runs it either way.
  const module = await import("/omnichannel.js");
  const ns = window.Microsoft?.Omnichannel;
  const create = module.createOmnichannel || window.createOmnichannel || ns?.createOmnichannel;
  if (create) return create({ orgUrl: location.origin, getToken: async () => TOKEN });
  if (ns?.getConversations) return ns;
  throw new Error("/omnichannel.js loaded but exposes no getConversations");
}

function correlationId() {
  return globalThis.crypto?.randomUUID?.() ?? `dashboard-${Date.now()}`;
}

// Records from getConversations are exactly the Web API's; when they carry no formatted values (the function
// sends no Prefer header), the same records are read once more with annotations, 40 ids at a time.
async function withFormattedValues(records) {
  if (!records.length || records.every((r) => `statuscode${FV}` in r)) return records;
  const select = "msdyn_title,subject,msdyn_channel,statuscode,createdon,_msdyn_customer_value,"
    + "_msdyn_liveworkstreamid_value";
  const annotated = new Map();
  for (let i = 0; i < records.length; i += 40) {
    const ids = records.slice(i, i + 40).map((r) => r.activityid);
    const filter = ids.length === 1 ? `activityid eq ${ids[0]}` : `activityid in (${ids.join(",")})`;
    const page = await api(`msdyn_ocliveworkitems?$select=${select}&$filter=${encodeURIComponent(filter)}`);
    for (const r of page.value) annotated.set(r.activityid, r);
  }
  return records.map((r) => ({ ...annotated.get(r.activityid), ...r, ...pickAnnotations(annotated.get(r.activityid)) }));
}

function pickAnnotations(record) {
  return Object.fromEntries(Object.entries(record || {}).filter(([k]) => k.includes("@")));
}

// -- values shown -------------------------------------------------------------------------------------------------
function formatted(record, property) {
  const value = record[`${property}${FV}`];
  if (value !== undefined) return value;
  const raw = record[property];
  if (raw === null || raw === undefined) return "";
  if (property === "statuscode") return STATUS_LABELS[raw] ?? String(raw);
  if (property === "msdyn_channel") return String(raw).split(",").map((v) => CHANNEL_LABELS[v] ?? v).join("; ");
  if (property.endsWith("on") && /^\d{4}-\d\d-\d\dT/.test(raw)) {
    return new Date(raw).toLocaleString("en-US", { timeZone: "UTC", dateStyle: "short", timeStyle: "short" });
  }
  return String(raw);
}

function row(record) {
  return {
    id: record.activityid,
    status: record.statuscode,
    title: record.msdyn_title || record.subject || "(no title)",
    statusText: formatted(record, "statuscode"),
    channel: formatted(record, "msdyn_channel"),
    customer: formatted(record, "_msdyn_customer_value"),
    workstream: formatted(record, "_msdyn_liveworkstreamid_value"),
    created: formatted(record, "createdon"),
    createdon: record.createdon,
  };
}

const SORT_VALUE = {
  title: (r) => r.title, status: (r) => r.statusText, channel: (r) => r.channel, customer: (r) => r.customer,
  workstream: (r) => r.workstream, created: (r) => r.createdon,
};
const collator = new Intl.Collator("en", { sensitivity: "base", numeric: true });

function sortRows(rows) {
  const { key, descending } = state.sort;
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const primary = key === "created" ? (a.createdon < b.createdon ? -1 : a.createdon > b.createdon ? 1 : 0)
      : collator.compare(SORT_VALUE[key](a), SORT_VALUE[key](b));
    if (primary) return sign * primary;
    return a.createdon < b.createdon ? 1 : a.createdon > b.createdon ? -1 : (a.id < b.id ? -1 : 1);
  });
}

// -- rendering ----------------------------------------------------------------------------------------------------
function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function render() {
  const rows = sortRows(state.rows);
  const signature = JSON.stringify([state.sort, rows]);
  for (const th of document.querySelectorAll("#conversations th[data-column]")) {
    if (th.dataset.column === state.sort.key) th.setAttribute("aria-sort", state.sort.descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
  if (signature === state.signature) return; // nothing changed: keep the DOM (and the focus) as it is
  state.signature = signature;
  const focused = document.activeElement?.closest?.("#conversations tbody tr")?.dataset.id;
  const tbody = $("#conversations tbody");
  const fragment = document.createDocumentFragment();
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    tr.dataset.status = r.status;
    if (state.seen && !state.seen.has(r.id)) tr.className = "new";
    const title = document.createElement("td");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = r.title;
    open.setAttribute("aria-haspopup", "dialog");
    open.addEventListener("click", () => showDetails(r.id, open));
    title.append(open);
    const status = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `badge s${r.status}`;
    badge.textContent = r.statusText;
    status.append(badge);
    tr.append(title, status, cell(r.channel), cell(r.customer), cell(r.workstream),
              cell(r.created, "created"));
    fragment.append(tr);
  }
  tbody.replaceChildren(fragment);
  if (focused) tbody.querySelector(`tr[data-id="${focused}"] button`)?.focus();
  state.seen = new Set(rows.map((r) => r.id));
}

function say(text) {
  $("#status").textContent = text;
}

function showError(error) {
  const box = $("#error");
  box.hidden = !error;
  box.textContent = error ? `Could not load: ${error.message || error}` : "";
}

// -- loading ------------------------------------------------------------------------------------------------------
async function refresh() {
  clearTimeout(state.timer);
  const generation = ++state.generation;
  try {
    if (!state.agentId) return;
    if (!state.statuses.size) {
      state.rows = [];
      render();
      say("Choose at least one status.");
      return;
    }
    const input = { agentId: state.agentId, attributes: ATTRIBUTES,
                    orderBy: [{ attributeName: "createdon", descending: true }] };
    if (state.statuses.size < ALL_STATUSES.length) input.status = [...state.statuses].map(Number);
    if (state.days !== null) input.createdBeforeDays = state.days;
    const records = await withFormattedValues(await state.omnichannel.getConversations(input, correlationId()));
    if (generation !== state.generation) return; // a newer refresh started meanwhile
    const before = state.rows.length;
    state.rows = records.map(row);
    render();
    showError(null);
    const agent = $("#agent").selectedOptions[0]?.dataset.name || "the agent";
    $("#caption").textContent = `Conversations of ${agent}`;
    // The live region changes only when the count does, so a screen reader is not interrupted every 3 s.
    const count = `${state.rows.length} conversation${state.rows.length === 1 ? "" : "s"}`;
    if (before !== state.rows.length || $("#status").textContent !== count) say(count);
    $("#updated").textContent = `· updated ${new Date().toLocaleTimeString("en-GB", { hour12: false })}`;
  } catch (error) {
    if (generation === state.generation) showError(error);
  } finally {
    if (generation === state.generation && !state.paused) state.timer = setTimeout(refresh, REFRESH_MS);
  }
}

async function loadAgents() {
  const data = await api("systemusers?$select=fullname,title&$orderby=fullname asc");
  const select = $("#agent");
  select.replaceChildren();
  for (const user of data.value) {
    const option = document.createElement("option");
    option.value = user.systemuserid;
    option.dataset.name = user.fullname;
    option.textContent = user.title ? `${user.fullname} (${user.title})` : user.fullname;
    select.append(option);
  }
  const wanted = new URLSearchParams(location.search).get("agent");
  if (wanted && [...select.options].some((o) => o.value === wanted.toLowerCase())) select.value = wanted.toLowerCase();
  state.agentId = select.value;
}

// -- details ------------------------------------------------------------------------------------------------------
const DETAIL_FIELDS = [
  ["Title", "msdyn_title"], ["Subject", "subject"], ["Status", "statuscode"],
  ["Status change reason", "msdyn_statuschangereason"], ["Channel", "msdyn_channel"],
  ["Customer", "_msdyn_customer_value"], ["Work stream", "_msdyn_liveworkstreamid_value"],
  ["Queue", "_msdyn_cdsqueueid_value"], ["Agent", "_msdyn_activeagentid_value"], ["Priority", "prioritycode"],
  ["Created", "createdon"], ["Agent assigned", "msdyn_activeagentassignedon"],
  ["Wrap-up started", "msdyn_wrapupinitiatedon"], ["Closed", "msdyn_closedon"],
  ["First wait (s)", "msdyn_conversationfirstwaittimeinseconds"],
  ["Handle time (s)", "msdyn_conversationhandletimeinseconds"],
  ["Wrap-up time (s)", "msdyn_conversationwrapuptimeinseconds"], ["Transfers", "msdyn_transfercount"],
  ["Conversation id", "msdyn_ocliveworkitemid"],
];

async function showDetails(id, opener) {
  const dialog = $("#details");
  const fields = $("#details-fields");
  const sessions = $("#sessions tbody");
  fields.replaceChildren();
  sessions.replaceChildren();
  $("#details-title").textContent = "Loading conversation…";
  dialog.returnFocusTo = opener;
  if (!dialog.open) dialog.showModal();
  try {
    const select = DETAIL_FIELDS.map(([, p]) => p).concat("_msdyn_lastsessionid_value").join(",");
    const [record, legs] = await Promise.all([
      api(`msdyn_ocliveworkitems(${id})?$select=${select}`),
      api(`msdyn_ocsessions?$select=subject,_msdyn_activeagentid_value,msdyn_sessioncreatedon,msdyn_sessionclosedon,`
          + `statecode&$filter=_msdyn_liveworkitemid_value eq ${id}&$orderby=createdon asc`),
    ]);
    $("#details-title").textContent = record.msdyn_title || record.subject || "Conversation";
    for (const [label, property] of DETAIL_FIELDS) {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = formatted(record, property) || "—";
      dd.dataset.property = property;
      fields.append(dt, dd);
    }
    for (const s of legs.value) {
      const tr = document.createElement("tr");
      tr.dataset.id = s.activityid;
      const last = s.activityid === record._msdyn_lastsessionid_value;
      tr.append(cell(`${s.subject}${last ? " (last)" : ""}`), cell(formatted(s, "_msdyn_activeagentid_value") || "—"),
                cell(formatted(s, "msdyn_sessioncreatedon")), cell(formatted(s, "msdyn_sessionclosedon") || "—"),
                cell(formatted(s, "statecode")));
      sessions.append(tr);
    }
    if (!legs.value.length) {
      const tr = document.createElement("tr");
      const td = cell("No agent has taken this conversation yet.");
      td.colSpan = 5;
      tr.append(td);
      sessions.append(tr);
    }
  } catch (error) {
    $("#details-title").textContent = `Could not load the conversation: ${error.message}`;
  }
}

// -- simulation switch --------------------------------------------------------------------------------------------
async function setupSimulation() {
  const button = $("#simulation");
  const show = (s) => {
    button.hidden = false;
    button.setAttribute("aria-pressed", String(s.running));
  };
  try {
    show(await api("/_emulator/simulation"));
  } catch {
    return; // no control plane: no switch
  }
  button.addEventListener("click", async () => {
    const running = button.getAttribute("aria-pressed") !== "true";
    try {
      show(await api("/_emulator/simulation", { method: "POST", body: { running } }));
    } catch (error) {
      showError(error);
    }
  });
}

// -- wiring -------------------------------------------------------------------------------------------------------
function readFilters() {
  state.statuses = new Set([...document.querySelectorAll("input[name=status]:checked")].map((i) => i.value));
  const days = $("#days");
  const value = days.value.trim();
  const valid = value === "" || /^\d+$/.test(value);
  days.setAttribute("aria-invalid", String(!valid));
  state.days = valid && value !== "" ? Number(value) : null;
  return valid;
}

function wire() {
  const reset = () => { // what is shown belonged to the old choice
    state.rows = [];
    state.seen = null;
    render();
    say("Loading…");
  };
  $("#agent").addEventListener("change", (event) => {
    state.agentId = event.target.value;
    reset();
    const url = new URL(location.href);
    url.searchParams.set("agent", state.agentId);
    history.replaceState(null, "", url);
    refresh();
  });
  $("#filters").addEventListener("change", (event) => {
    if (event.target.id === "agent") return;
    if (readFilters()) {
      reset();
      refresh();
    }
  });
  $("#filters").addEventListener("submit", (event) => event.preventDefault());
  $("#refresh").addEventListener("click", () => refresh());
  $("#pause").addEventListener("click", (event) => {
    state.paused = !state.paused;
    event.target.setAttribute("aria-pressed", String(state.paused));
    if (state.paused) clearTimeout(state.timer);
    else refresh();
  });
  for (const button of document.querySelectorAll("#conversations th button")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      state.sort = state.sort.key === key ? { key, descending: !state.sort.descending }
        : { key, descending: key === "created" };
      render();
    });
  }
  const dialog = $("#details");
  $("#close-details").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.returnFocusTo?.focus());
}

async function main() {
  wire();
  readFilters();
  try {
    state.omnichannel = await loadOmnichannel();
    await loadAgents();
  } catch (error) {
    showError(error);
    return;
  }
  setupSimulation();
  document.body.dataset.ready = "true";
  await refresh();
}

main();
