"""Run the admin API: ``python -m admin --host 0.0.0.0 --port 8000``.

One worker process with the access log on. Settings come from the environment
(:meth:`workflow.settings.Settings.from_env`); ``JUHAOBAN_ADMIN_TOKEN`` must be set.
"""

from __future__ import annotations

import argparse
import logging.config
import sys
from typing import Sequence

from sanic.log import LOGGING_CONFIG_DEFAULTS

from admin.app import create_app
from admin.auth import AdminTokenMissing
from admin.chat import ChatSocketUrlInvalid

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build the app and serve until interrupted.

    Args:
        argv: Command-line arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        The process exit status: 0 after a clean shutdown, 2 when the configuration is unusable
        (no admin token, an unusable ``JUHAOBAN_CHAT_SOCKET_URL``).
    """
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        app = create_app()
    except (AdminTokenMissing, ChatSocketUrlInvalid) as error:
        print(f"admin: {error}", file=sys.stderr)
        return 2
    app.run(host=args.host, port=args.port, workers=1, access_log=True, debug=False)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m admin", description="巨好办 admin/management API")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    return parser


def _configure_logging() -> None:
    logging.config.dictConfig(_logging_config())


def _logging_config() -> dict:
    # sanic's own format for its loggers (the access log needs its formatter's extra fields),
    # plus the same console handler for our packages.
    # (Shallow copies: the handler entries hold sys.stdout/sys.stderr, which cannot be deep-copied.)
    # Every handler masks residents' phone numbers (workflow.log_masking), the access log's request line too.
    ours = {name: {"level": "INFO", "handlers": ["console"], "propagate": False} for name in ("admin", "workflow")}
    handlers = {name: {**handler, "filters": [*handler.get("filters", ()), "mask_phones"]}
                for name, handler in LOGGING_CONFIG_DEFAULTS["handlers"].items()}
    return {
        **LOGGING_CONFIG_DEFAULTS,
        "filters": {**LOGGING_CONFIG_DEFAULTS.get("filters", {}),
                    "mask_phones": {"()": "workflow.log_masking.PhoneMaskingFilter"}},
        "handlers": handlers,
        "loggers": {**LOGGING_CONFIG_DEFAULTS["loggers"], **ours},
    }

if __name__ == "__main__":
    sys.exit(main())
