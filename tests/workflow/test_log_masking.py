"""Phone numbers masked in log output (workflow.log_masking)."""

from __future__ import annotations

import io
import logging

import pytest

from workflow.log_masking import PhoneMaskingFilter, install_phone_masking


@pytest.fixture
def captured():
    """A logger whose one handler (with the filter) writes to a string; yields (logger, stream)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(request)s"))
    handler.addFilter(PhoneMaskingFilter())
    logger = logging.getLogger("test.log_masking")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    yield logger, stream
    logger.handlers = []


def test_numbers_in_the_message_and_its_arguments_are_masked(captured):
    logger, stream = captured
    logger.info("case %s filed by %s: 我的电话13812345678", "JL20261130-0001", "0319-5123456",
                extra={"request": "GET /console/cases?text=13912345678"})

    line = stream.getvalue()
    assert "138****5678" in line and "0319-***3456" in line and "139****5678" in line
    assert "13812345678" not in line and "5123456" not in line and "13912345678" not in line
    assert "JL20261130-0001" in line  # a case id is not a phone number


def test_numbers_in_an_exception_are_masked(captured):
    logger, stream = captured
    try:
        raise ValueError("bad phone 13812345678")
    except ValueError:
        logger.exception("failed", extra={"request": "-"})

    text = stream.getvalue()
    assert "Traceback" in text and "138****5678" in text and "13812345678" not in text


def test_a_record_without_numbers_is_unchanged_and_never_dropped(captured):
    logger, stream = captured
    logger.info("%d cases swept in %.1f s", 12, 0.5, extra={"request": "-"})
    assert stream.getvalue() == "INFO 12 cases swept in 0.5 s -\n"


def test_install_adds_the_filter_once_to_every_handler():
    logger = logging.getLogger("test.log_masking.install")
    handlers = [logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())]
    logger.handlers = list(handlers)
    try:
        install_phone_masking([logger])
        install_phone_masking(["test.log_masking.install"])
        assert all(sum(isinstance(f, PhoneMaskingFilter) for f in h.filters) == 1 for h in handlers)
    finally:
        logger.handlers = []


def test_the_admin_process_masks_numbers_on_all_its_handlers():
    from admin.__main__ import _logging_config

    config = _logging_config()
    handlers = config["handlers"]
    assert set(handlers) >= {"console", "access_console", "error_console"}
    assert all("mask_phones" in handler["filters"] for handler in handlers.values())
    assert config["filters"]["mask_phones"]["()"] == "workflow.log_masking.PhoneMaskingFilter"
    used = {name for logger in config["loggers"].values() for name in logger["handlers"]}
    assert used <= set(handlers)
    # Build the handlers as dictConfig does, without touching this process's loggers.
    from logging.config import DictConfigurator

    configurator = DictConfigurator(config)
    masking = configurator.configure_filter(dict(config["filters"]["mask_phones"]))
    assert isinstance(masking, PhoneMaskingFilter)
