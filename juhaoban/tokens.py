"""``juhaoban token create|list|revoke``: bearer tokens of the admin API for dispatchers, units and admins.

The database must be migrated and the reference data loaded (``juhaoban migrate``), since a unit token names a unit
of the responsibility list. The clear token is printed once and never stored (only its SHA-256).
"""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """Runs one token sub-command; returns 0, or 1 after printing a clear error."""
    from workflow.api_tokens import create_token, list_tokens, revoke_token
    from workflow.db import make_engine, make_session_factory
    from workflow.exceptions import JuhaobanError
    from workflow.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    session_factory = make_session_factory(engine)
    try:
        if args.token_command == "create":
            issued = create_token(session_factory, args.role, args.unit, name=args.name)
            record = issued.record
            print(f"token {record.id} for {record.name} ({record.role.value}"
                  f"{', ' + record.unit_code if record.unit_code else ''}); keep it, it is shown only once:")
            print(issued.token)
        elif args.token_command == "list":
            for record in list_tokens(session_factory, include_revoked=True):
                state = "revoked " + record.revoked_at.isoformat() if record.revoked_at else "active"
                print(f"{record.id:>4}  {record.role.value:<10} {record.unit_code or '-':<28} {record.name}  ({state})")
        elif args.token_command == "revoke":
            record = revoke_token(session_factory, args.id)
            print(f"token {record.id} of {record.name} revoked")
    except JuhaobanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0
