"""``juhaoban wechat-menu`` publishes the menu whose keys the channel understands."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bot" / "channels"))
from channel_support import FakeWeChatApi  # noqa: E402

from bot.channels.wechat import MENU_INTENTS  # noqa: E402
from juhaoban.cli import main  # noqa: E402


def _keys(buttons):
    for button in buttons:
        yield from _keys(button.get("sub_button", []))
        if "key" in button:
            yield button["key"]


def test_it_publishes_the_menu_with_every_key_the_channel_handles(monkeypatch):
    api = FakeWeChatApi("wx_menu", "menu-secret").start()
    try:
        for name, value in {"WECHAT_TOKEN": "t", "WECHAT_APPID": "wx_menu", "WECHAT_SECRET": "menu-secret",
                            "WECHAT_API_BASE": api.base_url, "REDIS_URL": ""}.items():
            monkeypatch.setenv(name, value)
        assert main(["wechat-menu"]) == 0
    finally:
        api.close()
    [menu] = api.menus
    assert sorted(_keys(menu["button"])) == sorted(MENU_INTENTS)


def test_it_says_what_is_missing_when_the_account_is_not_configured(monkeypatch, capsys):
    for name in ("WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["wechat-menu"]) == 2
    assert "WECHAT_APPID" in capsys.readouterr().err
