"""Domain errors translated once into polite Chinese replies for residents (never a stack trace)."""

from __future__ import annotations

from workflow.exceptions import (
    CaseNotFound,
    InvalidReport,
    JuhaobanError,
    NotCaseOwner,
    UnknownCategory,
    UnknownTownship,
)

_REPLIES = {
    CaseNotFound: "没有查到这个工单号，请核对一下（格式如 JL20261129-0007）。",
    NotCaseOwner: "没有查到您名下的这个工单。为保护群众隐私，只能查询本人反映的事项。",
    UnknownTownship: "没找到这个乡镇，请说一下是巨鹿县哪个乡镇（如巨鹿镇、王虎寨镇、官亭镇）。",
    UnknownCategory: "这个问题暂时没能归类，已请调度员判断。",
    InvalidReport: "登记信息有一项不符合要求：{detail}。请补充后再试。",
}

# Resident-facing names of the report fields ``InvalidReport`` can name (its ``field`` context).
_FIELD_NAMES = {
    "description": "问题描述",
    "reporter_phone": "联系电话（请留11位手机号或带区号的座机号，也可以回复“不留”）",
    "township": "乡镇",
    "village": "村名",
    "category_code": "问题类别",
    "channel": "来源渠道",
    "reporter_id": "反映人",
}


def polite_error(error: JuhaobanError) -> str:
    """The resident-facing sentence for a ``workflow`` error (a generic apology for unknown ones)."""
    for kind, template in _REPLIES.items():
        if isinstance(error, kind):
            return template.format(detail=_detail(error))
    return "抱歉，系统处理时出了点问题，您说的内容已保留，请稍后再试或说“转人工”。"


def _detail(error: JuhaobanError) -> str:
    """The Chinese name of the field an error is about; never the (English, technical) message itself."""
    context = getattr(error, "context", None) or {}
    return _FIELD_NAMES.get(str(context.get("field")), "部分内容")
