"""The live simulation: driven step by step on a frozen clock, every transition it makes is one the spec allows
(conversation-entity.md 1.3) and every row stays coherent; the control plane switches it on and off."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from emulator.app import create_app
from emulator.clock import parse_instant
from emulator.simulation import Simulator, for_app

from .conftest import NOW, Client, make_emulator

# Written out from the spec, never imported from the code under test (conversation-entity.md 1.3):
#   statuscode 1 Open, 2 Active, 3 Waiting, 4 Closed (statecode 1), 5 Wrap-up (statecode 0)
#   "Transitions: Open->Active|Closed; Active->Wrap-up|Open|Waiting|Closed; Wrap-up->Closed; Waiting->Closed|Active|Open."
# A conversation is born Open (None -> Open: it arrives in a queue with no agent).
STATUS = {"Open": 1, "Active": 2, "Waiting": 3, "Closed": 4, "Wrap-up": 5}
SPEC_TRANSITIONS = "Open->Active|Closed; Active->Wrap-up|Open|Waiting|Closed; Wrap-up->Closed; Waiting->Closed|Active|Open"
ALLOWED: dict[int | None, set[int]] = {None: {STATUS["Open"]}}
for _rule in SPEC_TRANSITIONS.split("; "):
    _source, _targets = _rule.split("->")
    ALLOWED[STATUS[_source]] = {STATUS[t] for t in _targets.split("|")}
STATE_OF = {1: 0, 2: 0, 3: 0, 5: 0, 4: 1}
STEPS = 400


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The default data set, then STEPS simulation steps 5 s apart on a fixed seed, with a snapshot of every
    conversation's status after each step."""
    emulator = make_emulator(tmp_path_factory.mktemp("sim") / "emulator.db")
    client = Client(create_app(emulator))
    simulator = Simulator(emulator.db, emulator.clock, rate=20, seed=3)
    simulator.step()  # the first step only sets the starting instant
    snapshots = [_statuses(client)]
    for _ in range(STEPS):
        emulator.clock.advance(timedelta(seconds=5))
        simulator.step()
        snapshots.append(_statuses(client))
    yield emulator, client, simulator, snapshots
    emulator.db.dispose()


def _statuses(client: Client) -> dict[str, int]:
    rows = client.values("msdyn_ocliveworkitems?$select=statuscode", headers={"Prefer": "odata.maxpagesize=5000"})
    return {r["activityid"]: r["statuscode"] for r in rows}


def test_every_recorded_transition_is_allowed_and_all_kinds_happen(run):
    _, _, simulator, _ = run
    seen = Counter((t.from_status, t.to_status) for t in simulator.transitions)
    for (source, target), n in seen.items():
        assert target in ALLOWED[source], f"{source} -> {target} ({n} times) is not an allowed transition"
    # A run this long exercises every allowed transition, so the check above covers them all.
    expected = {(s, t) for s, targets in ALLOWED.items() for t in targets}
    assert set(seen) == expected


def test_snapshot_diffs_show_only_allowed_transitions(run):
    _, _, simulator, snapshots = run
    changes = 0
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        assert set(before) <= set(after), "a conversation disappeared"
        for cid, status in after.items():
            source = before.get(cid)
            if source != status:
                changes += 1
                assert status in ALLOWED[source], f"{cid}: {source} -> {status}"
    assert changes == len(simulator.transitions)


def test_rows_stay_coherent(run):
    emulator, client, _, _ = run
    rows = client.values("msdyn_ocliveworkitems", headers={"Prefer": "odata.maxpagesize=5000"})
    sessions = client.values("msdyn_ocsessions", headers={"Prefer": "odata.maxpagesize=5000"})
    by_id = {s["activityid"]: s for s in sessions}
    legs: dict[str, list[dict]] = {}
    for s in sessions:
        legs.setdefault(s["_msdyn_liveworkitemid_value"], []).append(s)
    now = emulator.clock.now()
    simulated = [r for r in rows if parse_instant(r["createdon"]) > NOW]
    assert len(simulated) > 100
    for r in rows:
        status, cid = r["statuscode"], r["activityid"]
        assert r["statecode"] == STATE_OF[status], cid
        assert parse_instant(r["modifiedon"]) <= now
        if status in (2, 3, 5):
            assert r["_msdyn_activeagentid_value"], f"{cid} is {status} without an agent"
        if status == 1 and parse_instant(r["createdon"]) > NOW:
            assert r["_msdyn_activeagentid_value"] is None, f"{cid} is Open (in a queue) with an agent"
        if status == 4:
            assert parse_instant(r["msdyn_closedon"]) > parse_instant(r["createdon"]), cid
        else:
            assert r["msdyn_closedon"] is None, cid
        if status == 2:
            assert r["msdyn_activeagentassignedon"] and r["msdyn_isagentaccepted"] is True
        if status == 5:
            assert parse_instant(r["msdyn_wrapupinitiatedon"]) >= parse_instant(r["msdyn_activeagentassignedon"])
        last = r["_msdyn_lastsessionid_value"]
        if last:
            session = by_id[last]
            assert session["_msdyn_liveworkitemid_value"] == cid
            newest = max(legs[cid], key=lambda s: (s["createdon"], s["versionnumber"]))
            assert newest["activityid"] == last, f"{cid}: last session is not the newest leg"
            # Only the last leg may still be open, and only while an agent holds the conversation.
            assert all(s["statecode"] == 1 for s in legs[cid] if s["activityid"] != last)
            assert (session["statecode"] == 0) == (status in (2, 5)), cid
            if status in (2, 5):
                assert session["_msdyn_activeagentid_value"] == r["_msdyn_activeagentid_value"]
        elif parse_instant(r["createdon"]) > NOW:
            assert cid not in legs and not r["msdyn_isagentaccepted"]


def test_timeline_columns_follow_the_transitions(run):
    _, client, simulator, _ = run
    rows = {r["activityid"]: r for r in client.values("msdyn_ocliveworkitems",
                                                      headers={"Prefer": "odata.maxpagesize=5000"})}
    history: dict[str, list] = {}
    for t in simulator.transitions:
        history.setdefault(t.activityid, []).append(t)
    checked = 0
    for cid, moves in history.items():
        if moves[0].from_status is not None:
            continue  # seeded before the run: its earlier history is the seed's
        r = rows[cid]
        assert r["createdon"] == moves[0].at and r["statuscode"] == moves[-1].to_status
        assert r["modifiedon"] == moves[-1].at == r["msdyn_statusupdatedon"]
        accepted = [t for t in moves if t.to_status == 2]
        if accepted:
            first = accepted[0]
            assert r["msdyn_conversationfirstwaittimeinseconds"] == \
                (parse_instant(first.at) - parse_instant(r["createdon"])).total_seconds()
            assert r["msdyn_activeagentassignedon"] == accepted[-1].at
            # Handle time is the sum of the time spent Active.
            spans = [(a, b) for a, b in zip(moves, moves[1:], strict=False) if a.to_status == 2]
            handled = sum((parse_instant(b.at) - parse_instant(a.at)).total_seconds() for a, b in spans)
            assert (r["msdyn_conversationhandletimeinseconds"] or 0) == handled
        if r["statuscode"] == 4:
            assert r["msdyn_closedon"] == moves[-1].at
            if moves[-2].to_status == 5:
                assert r["msdyn_conversationwrapuptimeinseconds"] == \
                    (parse_instant(moves[-1].at) - parse_instant(moves[-2].at)).total_seconds()
            assert r["msdyn_isabandoned"] == (not accepted)
        checked += 1
    assert checked > 100


def test_every_change_bumps_versionnumber(tmp_path):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=60)
    client = Client(create_app(emulator))
    before = {r["activityid"]: r for r in client.values("msdyn_ocliveworkitems")}
    simulator = Simulator(emulator.db, emulator.clock, rate=30, seed=5)
    simulator.step()
    emulator.clock.advance(timedelta(seconds=20))
    made = simulator.step()
    after = {r["activityid"]: r for r in client.values("msdyn_ocliveworkitems")}
    moved = {t.activityid for t in made if t.from_status is not None}
    assert moved
    highest = max(r["versionnumber"] for r in before.values())
    for cid, r in after.items():
        if cid in moved:
            assert r["versionnumber"] > highest and r["modifiedon"] == "2026-01-15T12:00:20Z"
            assert r["@odata.etag"] != before[cid]["@odata.etag"]
        elif cid in before:
            assert r == before[cid]
    assert len({r["versionnumber"] for r in after.values()}) == len(after)
    emulator.db.dispose()


def test_same_seed_same_run(tmp_path):
    runs = []
    for n in range(2):
        emulator = make_emulator(tmp_path / f"e{n}.db", conversations=40)
        simulator = Simulator(emulator.db, emulator.clock, rate=15, seed=11)
        simulator.step()
        for _ in range(40):
            emulator.clock.advance(timedelta(seconds=7))
            simulator.step()
        runs.append(list(simulator.transitions))
        emulator.db.dispose()
    assert runs[0] == runs[1] and len(runs[0]) > 20


def test_frozen_clock_means_no_movement(tmp_path):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=20)
    simulator = Simulator(emulator.db, emulator.clock, rate=600, seed=1)
    assert simulator.step() == [] and simulator.step() == []


def test_control_plane_switch(tmp_path):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=20)
    app = create_app(emulator)
    http = app.test_client()
    state = http.get("/_emulator/simulation").get_json()
    assert state["running"] is False and state["rate"] == 12
    state = http.post("/_emulator/simulation", json={"running": True, "rate": 90, "seed": 4}).get_json()
    assert state["running"] is True and state["rate"] == 90 and state["seed"] == 4
    assert for_app(app).running
    assert http.get("/_emulator/simulation").get_json()["running"] is True
    state = http.post("/_emulator/simulation", json={"running": False}).get_json()
    assert state["running"] is False and not for_app(app).running
    emulator.db.dispose()


@pytest.mark.parametrize("body, fragment", [
    ({"running": "yes"}, "'running'"), ({"rate": 0}, "'rate'"), ({"rate": "fast"}, "'rate'"),
    ({"seed": 1.5}, "'seed'"), ({"speed": 2}, "Unknown simulation setting(s): speed"), ([1], "JSON object"),
])
def test_control_plane_rejects_bad_settings(tmp_path, body, fragment):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=0)
    response = create_app(emulator).test_client().post("/_emulator/simulation", json=body)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]["message"]
    emulator.db.dispose()


def test_background_thread_steps_on_a_running_clock(tmp_path):
    """With a real (moving) clock the background thread makes the center move on its own."""
    emulator = make_emulator(tmp_path / "emulator.db", conversations=20)
    emulator.clock.set(NOW, frozen=False)
    simulator = Simulator(emulator.db, emulator.clock, rate=3000, seed=2, interval=0.05)
    simulator.start()
    try:
        for _ in range(200):  # bounded wait, not a timing assertion: it passes as soon as rows arrive
            if emulator.db.count("msdyn_ocliveworkitem") > 20:
                break
            simulator._stop.wait(0.05)
    finally:
        simulator.stop()
    assert emulator.db.count("msdyn_ocliveworkitem") > 20 and not simulator.running
    emulator.db.dispose()


def test_simulated_and_web_api_writes_share_one_row_version_sequence(tmp_path):
    emulator = make_emulator(tmp_path / "emulator.db", conversations=30)
    client = Client(create_app(emulator))
    simulator = Simulator(emulator.db, emulator.clock, rate=60, seed=9)
    simulator.step()
    emulator.clock.advance(timedelta(seconds=30))
    assert simulator.step()
    target = client.values("msdyn_ocliveworkitems?$select=subject&$top=1")[0]["activityid"]
    response = client.request("PATCH", f"msdyn_ocliveworkitems({target})", json={"description": "noted"})
    assert response.status_code == 204, response.get_data(as_text=True)
    emulator.clock.advance(timedelta(seconds=30))
    assert simulator.step()
    versions = [r["versionnumber"] for name in ("msdyn_ocliveworkitems", "msdyn_ocsessions")
                for r in client.values(f"{name}?$select=versionnumber", headers={"Prefer": "odata.maxpagesize=5000"})]
    assert len(versions) == len(set(versions))
    patched = client.values(f"msdyn_ocliveworkitems?$select=versionnumber&$filter=activityid eq {target}")[0]
    newer = client.values("msdyn_ocliveworkitems?$select=versionnumber&$filter=createdon gt 2026-01-15T12:00:30Z")
    assert newer and all(r["versionnumber"] > patched["versionnumber"] for r in newer)
    emulator.db.dispose()
