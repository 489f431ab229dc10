"""Phone numbers out of the logs: a :class:`logging.Filter` that masks them in every record a handler writes.

Residents' numbers reach log lines through messages and their arguments (a case's description, a tracker dump, an
exception's text). :class:`PhoneMaskingFilter` rewrites the record before it is formatted: the message with its
arguments merged (``record.getMessage()``), the exception text, the stack and the text ``extra`` attributes
(sanic's access log puts the request line, query string included, in ``request``), each through
:func:`workflow.phones.mask_phones_in` (``13812345678`` → ``138****5678``). Install it on the *handlers*
(:func:`install_phone_masking`): a filter on a logger would not see records propagated from its children.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from workflow.phones import mask_phones_in

_FORMATTER = logging.Formatter()
#: Attributes every LogRecord has; any other text attribute is an ``extra`` (sanic's access log: ``request``).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class PhoneMaskingFilter(logging.Filter):
    """Masks mainland phone numbers in a record's message, arguments, exception text and stack; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave it to the handler's error path
            message = None
        if message is not None:
            masked = mask_phones_in(message)
            if masked != message or record.args:
                record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones_in(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, mask_phones_in(value))
        return True


def install_phone_masking(loggers: Iterable[logging.Logger | str | None] = (None,)) -> PhoneMaskingFilter:
    """Add one :class:`PhoneMaskingFilter` to every handler of ``loggers`` (default: the root logger's) that has none.

    Call it after logging is configured; handlers added later are not covered. Returns the filter.
    """
    masking = PhoneMaskingFilter()
    for logger in loggers:
        target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        for handler in target.handlers:
            if not any(isinstance(f, PhoneMaskingFilter) for f in handler.filters):
                handler.addFilter(masking)
    return masking
