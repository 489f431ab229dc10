"""What a shared location and an image do in the conversation (WeChat location and image messages)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from actions.channel_events import ActionAttachEvidence, ActionShareLocation
from actions.report import ActionStartReport, ActionSubmitReport, ValidateReportForm
from action_support import DOMAIN, make_tracker, said
from test_report import FILLED, PARSE, slots_of

DATA = Path(__file__).resolve().parents[2] / "data"

# The positions of data/reference/coordinates.yml: 王虎寨镇's seat and its sample village 小韩寨村.
WANGHUZHAI_SEAT = (37.3010, 115.0830)


def location(latitude, longitude, label="河北省邢台市巨鹿县"):
    return [{"entity": "latitude", "value": latitude}, {"entity": "longitude", "value": longitude},
            {"entity": "location_label", "value": label}]


def image(media_id="media-img-1", url="http://mmbiz.example/1.jpg"):
    return [{"entity": "media_id", "value": media_id}, {"entity": "pic_url", "value": url}]


async def test_it_places_a_shared_location_in_the_nearest_village(svc, dispatcher):
    village = svc.locator.nearest(*WANGHUZHAI_SEAT)  # the seat itself: township only
    tracker = make_tracker("/share_location", intent="share_location", entities=location(*WANGHUZHAI_SEAT),
                           channel="wechat")
    slots = slots_of(await ActionShareLocation().run(dispatcher, tracker, DOMAIN))
    assert village.township.name == "王虎寨镇" and slots["township"] == "王虎寨镇"
    assert slots["shared_location"]["latitude"] == WANGHUZHAI_SEAT[0]
    assert "王虎寨镇" in said(dispatcher) and "遇到了什么问题" in said(dispatcher)


async def test_it_names_the_village_when_the_resident_stands_in_it(svc, dispatcher):
    point = yaml.safe_load((DATA / "reference" / "coordinates.yml").read_text())["villages"]["wanghuzhai_xiaohanzhai"]
    tracker = make_tracker("/share_location", intent="share_location", entities=location(point[0] + 0.001, point[1]))
    slots = slots_of(await ActionShareLocation().run(dispatcher, tracker, DOMAIN))
    assert (slots["township"], slots["village"]) == ("王虎寨镇", "小韩寨村")


async def test_it_fills_nothing_for_a_location_outside_the_county(svc, dispatcher):
    tracker = make_tracker("/share_location", intent="share_location", entities=location(39.9042, 116.4074, "北京"))
    events = await ActionShareLocation().run(dispatcher, tracker, DOMAIN)
    assert events == []
    assert "不在巨鹿县范围内" in said(dispatcher)


async def test_a_location_shared_first_is_the_place_of_the_next_report(svc, dispatcher):
    shared = {"township": "王虎寨镇", "village": None, "latitude": 37.301, "longitude": 115.083, "label": "王虎寨"}
    tracker = make_tracker("厂子天天晚上往河沟里放黑水", parse_extra=PARSE, slots={"shared_location": shared})
    slots = slots_of(await ActionStartReport().run(dispatcher, tracker, DOMAIN))
    assert slots["township"] == "王虎寨镇"


async def test_the_form_leaves_a_location_or_image_to_its_own_action(svc, dispatcher):
    form = ValidateReportForm()
    asked_township = make_tracker("/share_location", intent="share_location", entities=location(*WANGHUZHAI_SEAT),
                                  slots={"requested_slot": "township"})
    asked_phone = make_tracker("/share_image", intent="share_image", entities=image(),
                               slots={"requested_slot": "phone"})
    assert form.extract_township(dispatcher, asked_township, DOMAIN) == {}
    assert form.extract_phone(dispatcher, asked_phone, DOMAIN) == {}


async def test_images_sent_during_a_report_are_filed_with_it_with_the_shared_point(svc, dispatcher):
    tracker = make_tracker("/share_image", intent="share_image", entities=image(), channel="wechat",
                           slots={"requested_slot": "phone"})
    evidence = slots_of(await ActionAttachEvidence().run(dispatcher, tracker, DOMAIN))["evidence"]
    assert evidence == [{"kind": "image", "source": "wechat", "media_id": "media-img-1",
                         "url": "http://mmbiz.example/1.jpg"}]
    assert "第1张" in said(dispatcher)
    shared = {"township": "王虎寨镇", "village": None, "latitude": 37.301, "longitude": 115.083, "label": "王虎寨"}
    confirm = make_tracker("对", intent="affirm", channel="wechat",
                           slots={**FILLED, "confirmed": True, "evidence": evidence, "shared_location": shared})
    await ActionSubmitReport().run(dispatcher, confirm, DOMAIN)
    case = svc.cases.get_case(re.search(r"JL\d{8}-\d{4}", said(dispatcher)).group(0))
    assert [a["media_id"] for a in case.attachments] == ["media-img-1"]
    assert (case.latitude, case.longitude, case.location_label) == (37.301, 115.083, "王虎寨")
    assert case.channel == "wechat"


async def test_an_image_right_after_filing_goes_to_that_case(svc, dispatcher):
    filed = make_tracker("对", intent="affirm", slots={**FILLED, "confirmed": True})
    await ActionSubmitReport().run(dispatcher, filed, DOMAIN)
    case_id = re.search(r"JL\d{8}-\d{4}", said(dispatcher)).group(0)
    photo = make_tracker("/share_image", intent="share_image", entities=image("media-after"),
                         slots={"last_case_id": case_id})
    events = await ActionAttachEvidence().run(dispatcher, photo, DOMAIN)
    assert events == [] and f"已附到工单 {case_id}" in said(dispatcher)
    assert [a["media_id"] for a in svc.cases.get_case(case_id).attachments] == ["media-after"]


async def test_an_image_before_any_report_waits_for_it(svc, dispatcher):
    tracker = make_tracker("/share_image", intent="share_image", entities=image())
    slots = slots_of(await ActionAttachEvidence().run(dispatcher, tracker, DOMAIN))
    assert len(slots["evidence"]) == 1
    assert "遇到了什么问题" in said(dispatcher)


async def test_the_form_leaves_a_request_for_a_person_to_its_rule(svc, dispatcher):
    asked = make_tracker("转人工", intent="request_human", slots={"requested_slot": "township"})
    assert ValidateReportForm().extract_township(dispatcher, asked, DOMAIN) == {}
