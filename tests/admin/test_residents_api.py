"""A REST client fetches what its resident was told (accepted, resolved …), in order, page by page."""

from __future__ import annotations

import datetime as dt

from admin_support import Tokens, report


async def test_the_resident_reads_each_update_once_in_order(api, tokens: Tokens, case_service, lifecycle, clock):
    from workflow.transitions import Actor

    case_id = case_service.file_report(report(reporter_id="rest-user-7", channel="rest")).case_id
    clock.advance(dt.timedelta(minutes=5))
    lifecycle.accept(case_id, Actor.dispatcher("李"), importance_level=1)

    first = await api.get("/api/residents/rest-user-7/messages", token=tokens.dispatcher)
    assert first.status == 200
    [accepted] = first.body["messages"]
    assert accepted["kind"] == "accepted" and case_id in accepted["text"] and "县生态环境分局" in accepted["text"]

    clock.advance(dt.timedelta(hours=1))
    lifecycle.assign(case_id, Actor.dispatcher("李"))
    lifecycle.acknowledge(case_id, Actor.unit("county_ecology"))
    clock.advance(dt.timedelta(hours=1))
    lifecycle.resolve(case_id, Actor.unit("county_ecology"), result="已制止焚烧")
    later = await api.get("/api/residents/rest-user-7/messages", {"since": first.body["next_since"]},
                          token=tokens.dispatcher)
    assert [m["kind"] for m in later.body["messages"]] == ["resolved"]
    assert "已制止焚烧" in later.body["messages"][0]["text"] and "满意" in later.body["messages"][0]["text"]

    nothing_new = await api.get("/api/residents/rest-user-7/messages", {"since": later.body["next_since"]},
                                token=tokens.dispatcher)
    assert nothing_new.body["messages"] == [] and nothing_new.body["next_since"] == later.body["next_since"]


async def test_units_may_not_read_residents_messages_and_bad_cursors_are_refused(api, tokens: Tokens):
    assert (await api.get("/api/residents/x/messages", token=tokens.lead_unit)).status == 403
    assert (await api.get("/api/residents/x/messages", token=None)).status == 401
    bad = await api.get("/api/residents/x/messages", {"since": "yesterday"}, token=tokens.dispatcher)
    assert bad.status == 422 and bad.body["error"]["code"] == "invalid_query_parameter"
    naive = await api.get("/api/residents/x/messages", {"since": "2026-11-30T08:00:00"}, token=tokens.dispatcher)
    assert naive.status == 422
