"""Error pages of the console: every exception under ``/console`` becomes a Chinese HTML page, never a stack trace.

Called by :func:`admin.errors.handle_exception` for console paths (JSON for ``…​.json`` paths and script requests
that ask for JSON). Statuses as in the API (RFC 9110): not logged in 401, role or scope 403 (also a refused CSRF
token), no such case or page 404, a status that does not allow the action 409, bad input 422, anything unexpected
500 — logged with its stack trace, shown only as "系统出错" with the time.
"""

from __future__ import annotations

import datetime as dt
import logging

from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json

from admin.console.session import ConsoleForbidden, ConsoleUnauthenticated, CsrfRejected
from admin.console.templating import SHANGHAI, render_page
from workflow.exceptions import (
    ActorNotAllowed,
    CaseNotFound,
    ConcurrentUpdate,
    IllegalTransition,
    JuhaobanError,
    NotCaseUnit,
)

logger = logging.getLogger(__name__)

_TITLES = {
    401: "请先登录",
    403: "无权访问",
    404: "没有找到",
    405: "不支持的操作",
    409: "操作未执行",
    413: "内容太大",
    422: "填写有误",
    500: "系统出错",
}
_MESSAGES = {
    ConsoleUnauthenticated: "登录已失效，请重新登录。",
    CsrfRejected: "页面已过期或来源不明，操作未执行。请刷新页面后重试。",
    ConsoleForbidden: "您的账号无权查看或办理此项内容。",
    ActorNotAllowed: "您的账号无权办理此项操作。",
    NotCaseUnit: "该工单不属于您的单位。",
    CaseNotFound: "没有找到这个工单。",
    IllegalTransition: "该工单当前的状态不允许这个操作，请刷新后查看最新状态。",
    ConcurrentUpdate: "其他人刚刚修改了这个工单，操作未执行。请刷新后重试。",
}
_STATUS = {
    ConsoleUnauthenticated: 401,
    CsrfRejected: 403,
    ConsoleForbidden: 403,
    ActorNotAllowed: 403,
    NotCaseUnit: 403,
    CaseNotFound: 404,
    IllegalTransition: 409,
    ConcurrentUpdate: 409,
}


def _classify(exception: Exception) -> tuple[int, str]:
    for cls, status in _STATUS.items():
        if isinstance(exception, cls):
            return status, _MESSAGES[cls]
    if isinstance(exception, JuhaobanError):
        return 422, "填写的内容不符合要求，请检查后重试。"
    if isinstance(exception, SanicException):
        status = getattr(exception, "status_code", None) or 500
        if status < 500:
            return status, "请求无法处理。" if status != 404 else "没有这个页面。"
    return 500, "系统出错，已记录，请稍后重试或联系管理员。"


def wants_json(request: Request) -> bool:
    """Whether the console request is a script's (JSON answer) rather than a page's."""
    return request.path.endswith(".json") or "application/json" in (request.headers.get("accept") or "")


def console_error(request: Request, exception: Exception) -> HTTPResponse:
    """The error page (or JSON for scripts) for ``exception`` raised on a console path; never raises itself."""
    status, message = _classify(exception)
    if status >= 500:
        logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=exception)
    code = getattr(exception, "code", None) if isinstance(exception, JuhaobanError) else None
    if wants_json(request):
        return json({"error": {"code": code or _TITLES.get(status, "error"), "message": message}}, status=status,
                    ensure_ascii=False)
    try:
        return render_page(request, "error.html", status=status, title=_TITLES.get(status, "出错了"), message=message,
                      status_code=status, at=dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
                      logged_in=getattr(request.ctx, "console", None) is not None)
    except Exception:  # the error page itself must never fail
        logger.exception("The console error page could not be rendered")
        return HTTPResponse("系统出错 / internal error", status=status, content_type="text/plain; charset=utf-8")
