"""``juhaoban wechat-menu``: publish the official account's custom menu (:data:`bot.channels.wechat.MENU`).

The account's settings come from ``credentials.yml`` and the ``WECHAT_*`` environment variables, as for the channel.
"""

from __future__ import annotations

import json
import sys

import yaml

from juhaoban import paths

CREDENTIALS_KEY = "bot.channels.wechat.WeChatInput"


def run(*, show_only: bool = False) -> int:
    """Publishes the menu (or only prints it); returns the exit code: 0 done, 2 the channel is not configured or
    the platform refused (the reason on stderr)."""
    from wechatpy.exceptions import WeChatClientException

    from bot.channels.wechat import MENU, WeChatConfig, WeChatConfigError
    from bot.channels.wechat_api import CountyWeChatClient

    print(json.dumps(MENU, ensure_ascii=False, indent=2))
    if show_only:
        return 0
    try:
        credentials = (yaml.safe_load(paths.CREDENTIALS.read_text(encoding="utf-8")) or {}).get(CREDENTIALS_KEY)
        config = WeChatConfig.from_credentials(credentials)
    except WeChatConfigError as error:
        print(f"wechat-menu: {error}", file=sys.stderr)
        return 2
    if not config.enabled:
        print("wechat-menu: set WECHAT_TOKEN, WECHAT_APPID and WECHAT_SECRET (or credentials.yml) first",
              file=sys.stderr)
        return 2
    try:
        answer = CountyWeChatClient(config.appid, config.secret, config.api_base_url).create_menu(MENU)
    except WeChatClientException as error:
        print(f"wechat-menu: the platform refused: {error}", file=sys.stderr)
        return 2
    print(f"published: {answer}")
    return 0
