"""Category names for the conversation: code → Chinese name, and which category a resident's words name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from workflow.reference import ReferenceData


@dataclass(frozen=True)
class CategoryNames:
    """The responsibility list's category names (``{code: name}``), read from the reference data."""

    names: Dict[str, str]

    @classmethod
    def load(cls, data_dir: Path) -> "CategoryNames":
        """Reads ``data/reference/`` (raises ``ReferenceDataError`` when it is invalid)."""
        reference = ReferenceData.load(data_dir)
        return cls({code: spec.name for code, spec in reference.categories.items()})

    def name(self, code: Optional[str]) -> str:
        """The Chinese name of ``code`` (``生态环境``), or ``未分类`` for None or an unknown code."""
        return self.names.get(code or "", "未分类")

    def find_in(self, text: str) -> Optional[str]:
        """The code of the longest category name that ``text`` contains (``城市管理那个`` → city_management)."""
        hits = [(len(name), code) for code, name in self.names.items() if name in text]
        return max(hits)[1] if hits else None
