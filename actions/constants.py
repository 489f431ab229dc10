"""Names shared by the domain, the rules and the actions (one place, like rasa-sdk's ``constants.py``)."""

# intents
INTENT_REPORT_ISSUE = "report_issue"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
INTENT_ASK_CASE_STATUS = "ask_case_status"
INTENT_OUT_OF_SCOPE = "out_of_scope"
INTENT_RATE_SATISFIED = "rate_satisfied"
INTENT_RATE_BASICALLY_SATISFIED = "rate_basically_satisfied"
INTENT_RATE_UNSATISFIED = "rate_unsatisfied"
INTENT_CASE_UPDATE = "EXTERNAL_case_update"
ENTITY_NOTIFICATION_TEXT = "notification_text"
ENTITY_NOTIFICATION_KIND = "notification_kind"
# sent by the channels (bot/channels/wechat.py), never typed
INTENT_SHARE_LOCATION = "share_location"
INTENT_SHARE_IMAGE = "share_image"
INTENT_SUBSCRIBE = "subscribe"
INTENT_START_REPORT = "start_report"
INTENT_ASK_POINTS = "ask_points"
CHANNEL_INTENTS = (INTENT_SHARE_LOCATION, INTENT_SHARE_IMAGE, INTENT_SUBSCRIBE)
ENTITY_LATITUDE = "latitude"
ENTITY_LONGITUDE = "longitude"
ENTITY_LOCATION_LABEL = "location_label"
ENTITY_MEDIA_ID = "media_id"
ENTITY_PIC_URL = "pic_url"

# entities
ENTITY_TOWNSHIP = "township"
ENTITY_VILLAGE = "village"
ENTITY_PHONE = "phone"
ENTITY_CASE_ID = "case_id"

# slots
SLOT_DESCRIPTION = "description"
SLOT_CATEGORY = "category"
SLOT_CATEGORY_CONFIDENCE = "category_confidence"
SLOT_CATEGORY_RANKING = "category_ranking"
SLOT_SUGGESTED_CATEGORY = "suggested_category"
SLOT_CATEGORY_CHOICE = "category_choice"
SLOT_AWAITING_CATEGORY_CHOICE = "awaiting_category_choice"
SLOT_MATTER_TYPE = "matter_type"
SLOT_TOWNSHIP = "township"
SLOT_VILLAGE = "village"
SLOT_PHONE = "phone"
SLOT_CONFIRMED = "confirmed"
SLOT_NEEDS_REVIEW = "needs_review"
SLOT_CASE_ID = "case_id"
SLOT_LAST_CASE_ID = "last_case_id"
SLOT_REQUESTED = "requested_slot"
SLOT_SHARED_LOCATION = "shared_location"
SLOT_EVIDENCE = "evidence"

# the value of the phone slot when the resident declines to leave a number
PHONE_DECLINED = "declined"
# the value of category_choice when the resident hands the choice to a dispatcher
CHOICE_DISPATCHER = "dispatcher"

# forms and actions
FORM_REPORT = "report_form"
ACTION_START_REPORT = "action_start_report"
ACTION_SUBMIT_REPORT = "action_submit_report"
ACTION_CASE_STATUS = "action_case_status"
ACTION_TRIAGE_UNCLEAR = "action_triage_unclear"
ACTION_RATE_CASE = "action_rate_case"
ACTION_NOTIFY_CASE_UPDATE = "action_notify_case_update"
VALIDATE_REPORT_FORM = "validate_report_form"
ACTION_ASK_CONFIRMED = "action_ask_confirmed"
ACTION_ASK_CATEGORY_CHOICE = "action_ask_category_choice"
ACTION_SHARE_LOCATION = "action_share_location"
ACTION_ATTACH_EVIDENCE = "action_attach_evidence"

# how many alternative categories "不对" offers
ALTERNATIVES_OFFERED = 3
