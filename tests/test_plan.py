"""The query plan (emulator/plan.py) run by the store's one executor (store/query.py): joins in both directions, inner
and outer, with their own conditions and columns; grouping and aggregates, with the aggregate row limit; order, limit
and keyset paging; counts. Each plan is built directly and compared with hand-written SQLAlchemy on the same seeded
rows, on every backend."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from emulator import metadata
from emulator.errors import BadRequest
from emulator.plan import Aggregate, Group, Join, Order, Plan
from emulator.store import query

CONVERSATION, USER = metadata.table("msdyn_ocliveworkitem"), metadata.table("systemuser")
AGENT = CONVERSATION.attribute("msdyn_activeagentid")
HANDLE_TIME = CONVERSATION.attribute("msdyn_conversationhandletimeinseconds")


def fetch(db, statement) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(statement)]


def plain(rows) -> list[tuple]:
    return [tuple(row) for row in rows]


def test_inner_join_to_the_lookup_target_with_its_own_condition_and_columns(seeded):
    db = seeded.db
    conversations, users = db.tables["msdyn_ocliveworkitem"], db.tables["systemuser"]
    agent = users.alias("agent")
    plan = Plan(CONVERSATION, [CONVERSATION.attribute("subject")],
                joins=[Join(agent, USER, AGENT, conversations, where=agent.c.fullname >= "M",
                            columns=(USER.attribute("fullname"),))],
                order=[Order(USER.attribute("fullname"), source=agent)])
    page = query.run(db, plan)
    expected = fetch(db, sa.select(conversations.c.subject, conversations.c.activityid, users.c.fullname)
                     .join(users, sa.and_(users.c.systemuserid == conversations.c.msdyn_activeagentid,
                                          users.c.fullname >= "M")))
    got = [(row.subject, row.activityid, row._mapping["agent.fullname"]) for row in page.rows]
    assert 0 < len(got) < len(fetch(db, sa.select(conversations.c.activityid)))
    assert sorted(got) == sorted(expected)
    names = [name for _, _, name in got]
    assert names == sorted(names, key=str.lower)  # ordered by the joined column
    assert page.last_keys[0][0] == "agent.fullname"


def test_outer_join_keeps_the_rows_its_condition_matches_nothing_for(seeded):
    db = seeded.db
    conversations, users = db.tables["msdyn_ocliveworkitem"], db.tables["systemuser"]
    agent = users.alias("agent")
    plan = Plan(CONVERSATION, [CONVERSATION.attribute("subject")],
                joins=[Join(agent, USER, AGENT, conversations, outer=True, where=agent.c.fullname >= "M",
                            columns=(USER.attribute("fullname"),))])
    got = [(row.activityid, row._mapping["agent.fullname"]) for row in query.run(db, plan).rows]
    expected = fetch(db, sa.select(conversations.c.activityid, users.c.fullname).select_from(
        conversations.outerjoin(users, sa.and_(users.c.systemuserid == conversations.c.msdyn_activeagentid,
                                               users.c.fullname >= "M"))))
    assert sorted(got, key=str) == sorted(expected, key=str)
    assert any(name is None for _, name in got) and any(name is not None for _, name in got)
    assert len(got) == len(fetch(db, sa.select(conversations.c.activityid)))


def test_join_through_a_polymorphic_lookup_matches_its_target_table_only(seeded):
    db = seeded.db
    conversations, users = db.tables["msdyn_ocliveworkitem"], db.tables["systemuser"]
    owner = users.alias("owner")
    plan = Plan(CONVERSATION, [], joins=[Join(owner, USER, CONVERSATION.attribute("ownerid"), conversations,
                                              columns=(USER.attribute("fullname"),))])
    got = [(row.activityid, row._mapping["owner.fullname"]) for row in query.run(db, plan).rows]
    expected = fetch(db, sa.select(conversations.c.activityid, users.c.fullname).join(
        users, sa.and_(users.c.systemuserid == conversations.c.ownerid,
                       conversations.c.ownerid__target == "systemuser")))
    assert got and sorted(got) == sorted(expected)


def test_one_to_many_join_grouped_by_the_parent_with_counts(seeded):
    """From each agent to the conversations whose lookup points at it: groups and aggregates over the join."""
    db = seeded.db
    conversations, users = db.tables["msdyn_ocliveworkitem"], db.tables["systemuser"]
    handled = conversations.alias("handled")
    plan = Plan(USER, joins=[Join(handled, CONVERSATION, AGENT, users, to_many=True,
                                  where=handled.c.statecode == 1)],
                groups=[Group(USER.attribute("fullname"), "agent")],
                aggregates=[Aggregate("count", "conversations"),
                            Aggregate("sum", "handle_time", HANDLE_TIME, handled)],
                order=[Order(alias="conversations", descending=True), Order(alias="agent")])
    got = plain(query.run(db, plan).rows)
    count, handle = sa.func.count(), conversations.c.msdyn_conversationhandletimeinseconds
    expected = fetch(db, sa.select(users.c.fullname, count, sa.func.sum(handle))
                     .join(conversations, sa.and_(conversations.c.msdyn_activeagentid == users.c.systemuserid,
                                                  conversations.c.statecode == 1))
                     .group_by(users.c.fullname).order_by(count.desc(), users.c.fullname))
    assert got and got == expected


def test_grouping_with_every_aggregate(seeded):
    db = seeded.db
    conversations = db.tables["msdyn_ocliveworkitem"]
    status = CONVERSATION.attribute("statuscode")
    plan = Plan(CONVERSATION, groups=[Group(status, "status")],
                aggregates=[Aggregate("count", "rows"),
                            Aggregate("countcolumn", "closed", CONVERSATION.attribute("msdyn_closedon")),
                            Aggregate("countdistinct", "agents", AGENT),
                            *(Aggregate(f, f, HANDLE_TIME) for f in ("sum", "avg", "min", "max"))],
                order=[Order(alias="status")])
    handle = conversations.c.msdyn_conversationhandletimeinseconds
    expected = fetch(db, sa.select(conversations.c.statuscode, sa.func.count(),
                                   sa.func.count(conversations.c.msdyn_closedon),
                                   sa.func.count(sa.distinct(conversations.c.msdyn_activeagentid)),
                                   sa.func.sum(handle), sa.func.avg(handle), sa.func.min(handle), sa.func.max(handle))
                     .group_by(conversations.c.statuscode).order_by(conversations.c.statuscode))
    rows = query.run(db, plan).rows
    assert len(expected) > 1 and plain(rows) == expected
    assert list(rows[0]._fields) == ["status", "rows", "closed", "agents", "sum", "avg", "min", "max"]


def test_aggregates_without_groups_over_a_filtered_join(seeded):
    db = seeded.db
    conversations, users = db.tables["msdyn_ocliveworkitem"], db.tables["systemuser"]
    agent = users.alias("agent")
    plan = Plan(CONVERSATION, joins=[Join(agent, USER, AGENT, conversations)], where=agent.c.fullname < "M",
                aggregates=[Aggregate("count", "n"), Aggregate("max", "latest", CONVERSATION.attribute("createdon"))])
    expected = fetch(db, sa.select(sa.func.count(), sa.func.max(conversations.c.createdon))
                     .join(users, users.c.systemuserid == conversations.c.msdyn_activeagentid)
                     .where(users.c.fullname < "M"))
    assert plain(query.run(db, plan).rows) == expected


def test_keyset_paging_walks_every_row_once_in_dataverse_order(seeded):
    """Descending with nulls lowest (last), the key breaking ties; each page starts strictly after the last one's
    sort values as the paging cookie carries them (text)."""
    db = seeded.db
    conversations = db.tables["msdyn_ocliveworkitem"]
    handle = conversations.c.msdyn_conversationhandletimeinseconds
    expected = fetch(db, sa.select(conversations.c.activityid, handle)
                     .order_by(handle.desc().nulls_last(), conversations.c.activityid))
    seen: list[tuple] = []
    after = None
    while True:
        plan = Plan(CONVERSATION, [HANDLE_TIME], order=[Order(HANDLE_TIME, descending=True)], limit=37, after=after)
        page = query.run(db, plan)
        seen += [(row.activityid, row.msdyn_conversationhandletimeinseconds) for row in page.rows]
        if not page.more:
            break
        after = [(name, None if value is None else str(value)) for name, value in page.last_keys]
    assert seen == expected
    assert any(value is None for _, value in expected)  # the nulls are paged through as well


def test_count_matches_the_joined_and_filtered_rows(seeded):
    db = seeded.db
    conversations, users = db.tables["msdyn_ocliveworkitem"], db.tables["systemuser"]
    agent = users.alias("agent")
    plan = Plan(CONVERSATION, [], joins=[Join(agent, USER, AGENT, conversations, where=agent.c.fullname >= "M")],
                where=conversations.c.statecode == 0, limit=5, count=True)
    page = query.run(db, plan)
    expected = fetch(db, sa.select(sa.func.count())
                     .select_from(conversations.join(users, sa.and_(
                         users.c.systemuserid == conversations.c.msdyn_activeagentid, users.c.fullname >= "M")))
                     .where(conversations.c.statecode == 0))[0][0]
    assert (page.count, page.count_exceeded) == (expected, False)
    assert len(page.rows) == min(5, expected) and page.more == (expected > 5)
    assert query.count(db, plan) == (expected, False)


def test_a_grouped_count_counts_the_groups_without_joins_too(seeded):
    db = seeded.db
    conversations = db.tables["msdyn_ocliveworkitem"]
    plan = Plan(CONVERSATION, groups=[Group(CONVERSATION.attribute("statuscode"), "status")], count=True)
    expected = fetch(db, sa.select(sa.func.count(sa.distinct(conversations.c.statuscode))))[0][0]
    assert query.run(db, plan).count == expected == query.count(db, plan)[0] > 1


def test_the_aggregate_limit_counts_the_rows_entering_the_grouping(seeded):
    """Over the limit: Dataverse's AggregateQueryRecordLimit error, for the page and the count alike; at it, none."""
    db = seeded.db
    conversations = db.tables["msdyn_ocliveworkitem"]
    where = conversations.c.statecode == 1
    entering = fetch(db, sa.select(sa.func.count()).where(where))[0][0]
    at_limit = Plan(CONVERSATION, where=where, aggregates=[Aggregate("count", "n")], aggregate_limit=entering)
    assert plain(query.run(db, at_limit).rows) == [(entering,)]
    over = Plan(CONVERSATION, where=where, aggregates=[Aggregate("count", "n")], aggregate_limit=entering - 1)
    for run in (query.run, query.count):
        with pytest.raises(BadRequest) as refused:
            run(db, over)
        assert refused.value.code == "0x8004e023"


def test_a_choice_ordered_by_label_pages_by_label_then_value(seeded):
    """by_label: the option label first (FetchXML's order), then the value and the key; the cookie's keys name it."""
    db = seeded.db
    status = CONVERSATION.attribute("statuscode")
    labels = {o.value: o.label for o in status.option_set.options}
    everything = query.run(db, Plan(CONVERSATION, [status], order=[Order(status, by_label=True)])).rows
    keys = [(labels[row.statuscode], row.statuscode, row.activityid) for row in everything]
    assert keys == sorted(keys) and len({k[0] for k in keys}) > 2
    page = query.run(db, Plan(CONVERSATION, [status], order=[Order(status, by_label=True)], limit=100))
    assert [name for name, _ in page.last_keys] == ["statuscode.label", "statuscode", "activityid"]
    after = [(name, str(value)) for name, value in page.last_keys]
    rest = query.run(db, Plan(CONVERSATION, [status], order=[Order(status, by_label=True)], after=after)).rows
    assert [row.activityid for row in (*page.rows, *rest)] == [row.activityid for row in everything]
    assert page.sort_values(page.rows[0])[2] == ("activityid", page.rows[0].activityid)


def test_a_group_by_an_expression_and_a_count_with_its_own_limit(seeded):
    db = seeded.db
    conversations = db.tables["msdyn_ocliveworkitem"]
    year = sa.cast(sa.func.substr(conversations.c.createdon, 1, 4), sa.Integer)
    plan = Plan(CONVERSATION, groups=[Group(CONVERSATION.attribute("createdon"), "year", expr=year)],
                aggregates=[Aggregate("count", "n")], order=[Order(alias="year")])
    expected = fetch(db, sa.select(year, sa.func.count()).group_by(year).order_by(year))
    assert plain(query.run(db, plan).rows) == expected and len(expected) == 2
    assert query.count(db, Plan(CONVERSATION, []), limit=100) == (100, True)
    assert query.count(db, Plan(CONVERSATION, []), limit=1000) == (500, False)
