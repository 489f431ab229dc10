"""``juhaoban migrate`` / ``serve`` prepare a fresh database: schema, reference data, the points mall's catalogue."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from juhaoban.serve import prepare
from workflow.db import make_engine, make_session_factory
from workflow.mall import Mall

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def test_a_fresh_database_has_goods_to_redeem_and_preparing_again_keeps_the_stock(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    prepare(SimpleNamespace(database_url=url, data_dir=DATA_DIR))
    engine = make_engine(url)
    try:
        mall = Mall(make_session_factory(engine))
        items = mall.catalogue()
        assert [item.name for item in items][:2] == ["洗衣粉", "食用油"] and all(item.stock > 0 for item in items)
        mall.restock("洗衣粉", 5)
        prepare(SimpleNamespace(database_url=url, data_dir=DATA_DIR))
        assert mall.find_item("洗衣粉").stock == items[0].stock + 5
    finally:
        engine.dispose()
    assert "mall catalogue: 6 items" in capsys.readouterr().out
