"""The grid register as one CSV file (网格台账): import with per-row validation, and export in the same format.

One file, one row per person (the way a county's 人口台账 is kept in Excel): every row names its village, grid and
household and, when there is one, a resident. A household without residents entered is one row with the resident
columns empty; a grid without households one row with the household columns empty too. Export writes exactly this
format, so export → import changes nothing.

Columns (the Chinese header, or the code in brackets; order free, unknown columns ignored with a warning):

- 乡镇 (``township``): optional; checked against the village's township when given.
- 村/社区 (``village``): the village or community's name or alias.
- 村/社区编码 (``village_code``): ``villages.code``; wins over the name (which must then match it).
- 网格编码 (``grid_code``): required, ≤ 64 characters, unique across the county.
- 网格名称 (``grid_name``): required (第一网格), unique within the village.
- 网格类型 (``grid_kind``): 农村 (``rural``) or 城镇 (``urban``; 社区 accepted).
- 网格员账号 (``worker``): the user name of a console ``grid_worker`` account of that village; empty: no worker.
- 户编码 (``household_code``): empty on a grid-only row; ≤ 64 characters, unique across the county.
- 户主姓名 (``head_name``), 住址 (``address``): required with a household.
- 户人数 (``member_count``): required with a household, 1–20.
- 有老人 (``has_elderly``), 有残疾人 (``has_disabled``), 有外出人员 (``has_members_away``): 是/否 (also 1/0, Y/N, √);
  empty: 否. What 帮我办 needs to know.
- 姓名 (``name``): the resident; empty on a household-only row.
- 与户主关系 (``role``): 户主, 配偶, 子女, 父母, 孙子女, 兄弟姐妹, 其他 (and common variants: 妻子, 儿子, 孙女 …).
- 联系电话 (``phone``): optional; a mainland mobile or landline, stored normalised (:func:`workflow.phones.normalize_phone`).
- 身份证后四位 (``id_card_last4``): optional; the last 4 characters only (a full ID number: only its last 4 are
  kept, with a warning — full numbers are never stored).

Required columns: 网格编码, 网格名称, 网格类型 and 村/社区编码 or 村/社区; with 户编码 also 户主姓名, 住址, 户人数; with
姓名 also 户编码 and 与户主关系. An optional column that is absent leaves that field unchanged (a file without
网格员账号 does not touch the workers); present but empty, it is empty (no worker).

Every row is complete: the grid's and the household's columns are repeated on each of their rows (fill down in
Excel), and must agree — a later row that disagrees is an error naming the first row. A person is identified by
household code and name.

Encoding: UTF-8 with or without BOM, or, when the bytes are not UTF-8, GBK (read as GB 18030, its superset: Excel
in China saves "CSV (逗号分隔)" as GBK). Export writes UTF-8 with BOM, which Excel opens correctly (or GB 18030 on
request, for old Excel). Separator: comma (a tab-separated file is recognised by its header).

Validation: a bad row is reported with its line number (the header is line 1; a quoted value spanning lines counts
them all) and skipped; the rest imports. Errors: unknown village or township, a missing or too long value, a bad
grid kind, role, member count (outside 1–20), phone or ID-card ending, a row disagreeing with an earlier row of the
same grid or household, a duplicate person, a grid name taken in the village, a worker account that is not a grid
worker of the village, a code of sample data or a village holding sample data (:mod:`workflow.grid_sample`; real
and sample rows never mix), Excel's scientific notation in a code or number (1.30529E+14). Warnings (imported
anyway): a grid above the county's size rule (more than 60 rural or 100 urban households, issue 6:
:func:`workflow.grids.grid_size_warning`), more residents entered than the household's member count, a 户主 whose
name is not the household's head, a full ID number cut to its last 4, ignored columns.

Import updates by code (grid code, household code; a person by household and name) and is idempotent: importing the
same file again changes nothing. It never deletes: a person or household missing from the file stays.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from workflow.exceptions import JuhaobanError
from workflow.gazetteer import Gazetteer
from workflow.grids import GRID_KIND_LABELS, grid_size_warning, household_count
from workflow.models import (
    HOUSEHOLD_MEMBERS_MAX,
    HOUSEHOLD_MEMBERS_MIN,
    Account,
    Grid,
    Household,
    Resident,
    Township,
    Village,
)
from workflow.phones import normalize_phone

#: The columns in export order: (code, Chinese header).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("township", "乡镇"),
    ("village", "村/社区"),
    ("village_code", "村/社区编码"),
    ("grid_code", "网格编码"),
    ("grid_name", "网格名称"),
    ("grid_kind", "网格类型"),
    ("worker", "网格员账号"),
    ("household_code", "户编码"),
    ("head_name", "户主姓名"),
    ("address", "住址"),
    ("member_count", "户人数"),
    ("has_elderly", "有老人"),
    ("has_disabled", "有残疾人"),
    ("has_members_away", "有外出人员"),
    ("name", "姓名"),
    ("role", "与户主关系"),
    ("phone", "联系电话"),
    ("id_card_last4", "身份证后四位"),
)
HEADERS = {key: header for key, header in COLUMNS}
#: Resident roles in Chinese, as export writes them (:data:`workflow.models.RESIDENT_ROLES`).
ROLE_LABELS = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女",
               "sibling": "兄弟姐妹", "other": "其他"}
EXPORT_ENCODINGS = ("utf-8-sig", "gb18030")

_HEADER_ALIASES = {
    "村": "village", "社区": "village", "村社区": "village", "村(社区)": "village", "村名": "village",
    "村编码": "village_code", "村社区编码": "village_code", "村(社区)编码": "village_code",
    "网格号": "grid_code", "网格": "grid_name", "网格员": "worker", "户号": "household_code",
    "户主": "head_name", "地址": "address", "家庭住址": "address", "人口数": "member_count", "家庭人口": "member_count",
    "电话": "phone", "手机": "phone", "手机号": "phone", "联系方式": "phone", "关系": "role",
    "身份证号后四位": "id_card_last4", "身份证后4位": "id_card_last4",
}
_ROLE_WORDS = {
    "head": ("户主", "本人", "head"),
    "spouse": ("配偶", "妻", "妻子", "夫", "丈夫", "spouse"),
    "child": ("子女", "子", "女", "儿子", "女儿", "长子", "次子", "长女", "次女", "儿媳", "女婿", "child"),
    "parent": ("父母", "父", "母", "父亲", "母亲", "parent"),
    "grandchild": ("孙子女", "孙子", "孙女", "外孙", "外孙女", "grandchild"),
    "sibling": ("兄弟姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹", "sibling"),
    "other": ("其他", "其它", "other"),
}
_ROLES = {word: role for role, words in _ROLE_WORDS.items() for word in words}
_KINDS = {"农村": "rural", "农村网格": "rural", "rural": "rural", "村": "rural",
          "城镇": "urban", "城镇网格": "urban", "社区": "urban", "城市": "urban", "urban": "urban"}
_YES = {"是", "有", "1", "y", "yes", "true", "√", "✓"}
_NO = {"", "否", "无", "0", "n", "no", "false", "×"}
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+\d+$", re.IGNORECASE)
_LAST4 = re.compile(r"^\d{3}[\dX]$")
_FULL_ID = re.compile(r"^(\d{17}[\dX]|\d{15})$")
_MAX_CODE, _MAX_NAME, _MAX_ADDRESS = 64, 64, 256
_GRID_FIELDS = ("village_code", "grid_name", "grid_kind", "worker")
_HOUSEHOLD_FIELDS = ("grid_code", "head_name", "address", "member_count", "has_elderly", "has_disabled",
                     "has_members_away")
_RESIDENT_FIELDS = ("role", "phone", "id_card_last4")
_FLAGS = ("has_elderly", "has_disabled", "has_members_away")


class GridCsvError(JuhaobanError):
    """The file as a whole cannot be read: its encoding, or its header (no row is imported). Context: ``line``."""

    code = "grid_csv_error"


@dataclass(frozen=True)
class LineIssue:
    """One error or warning: the file's ``line`` (1 = the header), the ``column`` (its Chinese header) if any."""

    line: int
    message: str
    column: str | None = None

    def format(self) -> str:
        """``第 5 行 [联系电话]：…`` — how the command line prints it."""
        where = f" [{self.column}]" if self.column else ""
        return f"第 {self.line} 行{where}：{self.message}"


@dataclass
class Counts:
    """Rows of one table the import created, updated, or found already as the file has them."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would have done).

    ``rows`` counts data rows (blank rows skipped), ``imported`` the rows taken; ``errors`` are the rows refused,
    one issue each, in line order; ``warnings`` are imported anyway. ``encoding`` is how the file was read
    (``utf-8-sig``, ``utf-8`` or ``gbk``).
    """

    encoding: str = "utf-8"
    dry_run: bool = False
    rows: int = 0
    imported: int = 0
    grids: Counts = field(default_factory=Counts)
    households: Counts = field(default_factory=Counts)
    residents: Counts = field(default_factory=Counts)
    errors: list[LineIssue] = field(default_factory=list)
    warnings: list[LineIssue] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) created or updated."""
        return any(c.created or c.updated for c in (self.grids, self.households, self.residents))

    def summary(self) -> str:
        """One Chinese line: rows, what changed per table, errors and warnings."""
        def part(name: str, c: Counts) -> str:
            return f"{name}新增 {c.created}、更新 {c.updated}、未变 {c.unchanged}"

        head = "（试运行，未写入）" if self.dry_run else ""
        return (f"{head}共 {self.rows} 行，导入 {self.imported} 行，出错 {len(self.errors)} 行，"
                f"警告 {len(self.warnings)} 条；{part('网格', self.grids)}；{part('户', self.households)}；"
                f"{part('居民', self.residents)}（编码 {self.encoding}）")


class _RowError(Exception):
    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.message, self.column = message, column


# ---------------------------------------------------------------------- reading the file
def decode_csv(data: bytes) -> tuple[str, str]:
    """The file's text and how it was read: ``utf-8-sig`` (BOM), ``utf-8``, or ``gbk`` (decoded as GB 18030).

    Raises:
        GridCsvError: UTF-16 (Excel's "Unicode text"), or bytes that are neither UTF-8 nor GBK.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise GridCsvError("文件是 UTF-16（Excel 的“Unicode 文本”）：请另存为“CSV UTF-8（逗号分隔）”", line=1)
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise GridCsvError(f"文件以 UTF-8 BOM 开头，但内容不是 UTF-8（第 {_line_at(data, error.start)} 行）",
                               line=_line_at(data, error.start)) from error
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as error:
        raise GridCsvError(f"文件既不是 UTF-8 也不是 GBK（第 {_line_at(data, error.start)} 行）",
                           line=_line_at(data, error.start)) from error


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _header_key(raw: str) -> str | None:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or "")).lower()
    for key, header in COLUMNS:
        if text in (key, unicodedata.normalize("NFKC", header).replace("/", ""), header):
            return key
    return _HEADER_ALIASES.get(text) or _HEADER_ALIASES.get(text.replace("/", ""))


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, values) for each record, the header included."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    for values in reader:
        yield previous + 1, values
        previous = reader.line_num


# ---------------------------------------------------------------------- import
def import_grid_csv(session: Session, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Import a grid register CSV (the module's format) in the caller's transaction; the caller commits.

    Each valid row is written in its own savepoint, so a row the database still refuses becomes that row's error
    and the others stay. With ``dry_run`` everything is validated and written, then rolled back: the report says
    what the import would do.

    Args:
        data: The file's bytes (UTF-8 with or without BOM, or GBK).

    Returns:
        The report: counts per table, per-line errors (rows skipped) and warnings.

    Raises:
        GridCsvError: The encoding or the header is unusable (nothing is imported).
    """
    text, encoding = decode_csv(data)
    report = ImportReport(encoding=encoding, dry_run=dry_run)
    records = _records(text)
    try:
        _, header = next(records)
    except StopIteration:
        raise GridCsvError("文件是空的：第 1 行应是表头", line=1) from None
    columns = _columns(header, report)
    outer = session.begin_nested()
    try:
        _Importer(session, columns, report).run(records)
    finally:
        if dry_run:
            outer.rollback()
        else:
            outer.commit()
    report.errors.sort(key=lambda issue: issue.line)
    report.warnings.sort(key=lambda issue: issue.line)
    return report


def _columns(header: list[str], report: ImportReport) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        if not (raw or "").strip():
            continue
        key = _header_key(raw)
        if key is None:
            report.warnings.append(LineIssue(1, f"不认识的列“{raw.strip()}”，已忽略"))
        elif key in columns:
            raise GridCsvError(f"表头里“{HEADERS[key]}”出现了两次", line=1)
        else:
            columns[key] = index
    missing = [key for key in ("grid_code", "grid_name", "grid_kind") if key not in columns]
    if "village_code" not in columns and "village" not in columns:
        missing.insert(0, "village_code")
    if "household_code" in columns:
        missing += [key for key in ("head_name", "address", "member_count") if key not in columns]
    if "name" in columns:
        missing += [key for key in ("household_code", "role") if key not in columns]
    if missing:
        names = "、".join(HEADERS[key] for key in dict.fromkeys(missing))
        raise GridCsvError(f"表头缺少必需的列：{names}（见 workflow/grid_csv.py 的格式说明）", line=1)
    return columns


class _Importer:
    def __init__(self, session: Session, columns: dict[str, int], report: ImportReport) -> None:
        self.session, self.columns, self.report = session, columns, report
        self.gazetteer = Gazetteer.from_session(session)
        self.villages = {v.code: v for v in session.execute(select(Village)).scalars()}
        self.townships = {t.code: t for t in session.execute(select(Township)).scalars()}
        self.accounts: dict[str, Account | None] = {}
        self.sample_villages = set(session.execute(
            select(Grid.village_code).where(Grid.is_sample.is_(True)).distinct()
        ).scalars())
        # First valid line and values of each grid, household and person seen in the file.
        self.grids: dict[str, tuple[int, dict[str, Any]]] = {}
        self.grid_names: dict[tuple[str, str], tuple[int, str]] = {}
        self.households: dict[str, tuple[int, dict[str, Any]]] = {}
        self.people: dict[tuple[str, str], int] = {}
        self.household_rows: dict[str, Household | None] = {}  # the database's, as written so far

    # -------------------------------------------------------------- driver
    def run(self, records: Iterator[tuple[int, list[str]]]) -> None:
        for line, values in records:
            if not any((value or "").strip() for value in values):
                continue
            self.report.rows += 1
            try:
                row = self._parse(values)
                self._check(line, row)
                self._write(line, row)
            except _RowError as error:
                self.report.errors.append(LineIssue(line, error.message, error.column))
                continue
            self.report.imported += 1
        self._size_warnings()

    # -------------------------------------------------------------- one row, on its own
    def _get(self, values: list[str], key: str) -> str | None:
        """The cell's stripped value; None when the column is absent from the file."""
        index = self.columns.get(key)
        if index is None:
            return None
        value = values[index] if index < len(values) else ""
        value = unicodedata.normalize("NFKC", value or "").strip()
        if _SCIENTIFIC.match(value):
            raise _RowError(f"“{value}”是 Excel 的科学计数法，原来的数字已丢失：把这一列设为“文本”后重新填写",
                            HEADERS[key])
        return value

    def _parse(self, values: list[str]) -> dict[str, Any]:
        get = lambda key: self._get(values, key)  # noqa: E731
        row: dict[str, Any] = {}
        row["village_code"] = self._village(get("township"), get("village"), get("village_code"))
        row["grid_code"] = _required(get("grid_code"), "grid_code", _MAX_CODE)
        row["grid_name"] = _required(get("grid_name"), "grid_name", _MAX_NAME)
        kind = get("grid_kind") or ""
        if kind.lower() not in _KINDS:
            raise _RowError(f"“{kind}”不是网格类型：填 农村 或 城镇", HEADERS["grid_kind"])
        row["grid_kind"] = _KINDS[kind.lower()]
        worker = get("worker")
        if worker is not None:
            row["worker"] = worker.lower() or None
        household_code = get("household_code") or ""
        person = get("name") or ""
        if not household_code:
            stray = [key for key in (*_HOUSEHOLD_FIELDS[1:], "name", *_RESIDENT_FIELDS) if get(key)]
            if stray:
                raise _RowError(f"户编码是空的，却填了{HEADERS[stray[0]]}", HEADERS["household_code"])
            return row
        row["household_code"] = _required(household_code, "household_code", _MAX_CODE)
        row["head_name"] = _required(get("head_name"), "head_name", _MAX_NAME)
        row["address"] = _required(get("address"), "address", _MAX_ADDRESS)
        row["member_count"] = _member_count(get("member_count") or "")
        for flag in _FLAGS:
            value = get(flag)
            if value is not None:
                row[flag] = _flag(value, flag)
        if not person:
            stray = [key for key in _RESIDENT_FIELDS if get(key)]
            if stray:
                raise _RowError(f"姓名是空的，却填了{HEADERS[stray[0]]}", HEADERS["name"])
            return row
        row["name"] = _required(person, "name", _MAX_NAME)
        role = get("role") or ""
        if role.lower() not in _ROLES:
            raise _RowError(f"“{role}”不是与户主关系：填 {'、'.join(ROLE_LABELS.values())}", HEADERS["role"])
        row["role"] = _ROLES[role.lower()]
        phone = get("phone")
        if phone is not None:
            try:
                row["phone"] = normalize_phone(phone) if phone else None
            except ValueError:
                raise _RowError(f"“{phone}”不是手机号或固定电话", HEADERS["phone"]) from None
        last4 = get("id_card_last4")
        if last4 is not None:
            row["id_card_last4"] = self._last4(last4.upper(), row)
        return row

    def _last4(self, value: str, row: dict[str, Any]) -> str | None:
        if not value:
            return None
        if _FULL_ID.match(value):
            row["_full_id"] = True
            return value[-4:]
        if not _LAST4.match(value):
            hint = "（Excel 会去掉开头的 0：把这一列设为“文本”）" if value.isdigit() and len(value) < 4 else ""
            raise _RowError(f"身份证后四位应是 4 位（3 位数字加数字或 X）{hint}", HEADERS["id_card_last4"])
        return value

    def _village(self, township: str | None, name: str | None, code: str | None) -> str:
        township_code = None
        if township:
            found = self.gazetteer.resolve_township(township)
            if found is None:
                raise _RowError(f"没有“{township}”这个乡镇", HEADERS["township"])
            township_code = found.code
        if code:
            village = self.villages.get(code)
            if village is None:
                raise _RowError(f"没有编码为“{code}”的村/社区", HEADERS["village_code"])
            if name and village.code not in {v.code for v in self.gazetteer.villages_named(name)}:
                raise _RowError(f"村/社区“{name}”与编码“{code}”（{village.name}）不符", HEADERS["village"])
        elif name:
            candidates = self.gazetteer.villages_named(name, township_code)
            if not candidates:
                raise _RowError(f"没有“{name}”这个村/社区" + ("（在该乡镇）" if township_code else ""),
                                HEADERS["village"])
            if len(candidates) > 1:
                raise _RowError(f"“{name}”不止一个，请填乡镇或村/社区编码", HEADERS["village"])
            village = self.villages[candidates[0].code]
        else:
            raise _RowError("村/社区编码和村/社区都是空的", HEADERS["village_code"])
        if township_code and village.township_code != township_code:
            raise _RowError(f"{village.name}不在{self.townships[township_code].name}", HEADERS["township"])
        return village.code

    # -------------------------------------------------------------- against earlier rows and the database
    def _check(self, line: int, row: dict[str, Any]) -> None:
        grid_code, village_code = row["grid_code"], row["village_code"]
        grid_values = {key: row[key] for key in _GRID_FIELDS if key in row}
        _agree(self.grids.get(grid_code), grid_values, f"网格 {grid_code}")
        name_key = (village_code, row["grid_name"])
        taken = self.grid_names.get(name_key)
        if taken is not None and taken[1] != grid_code:
            raise _RowError(f"第 {taken[0]} 行的网格 {taken[1]} 已叫“{row['grid_name']}”", HEADERS["grid_name"])
        if village_code in self.sample_villages:
            raise _RowError(f"{self.villages[village_code].name}有示例网格数据：先删除示例数据"
                            f"（juhaoban grids sample --remove），真实数据不与示例数据混放", HEADERS["village_code"])
        if grid_code not in self.grids:  # later rows of the grid agree with this one (checked above)
            existing = self.session.get(Grid, grid_code)
            if existing is not None and existing.is_sample:
                raise _RowError(f"网格编码 {grid_code} 是示例数据的编码", HEADERS["grid_code"])
            other = self.session.execute(
                select(Grid.code).where(Grid.village_code == village_code, Grid.name == row["grid_name"],
                                        Grid.code != grid_code)
            ).scalar_one_or_none()
            if other is not None:
                raise _RowError(f"{self.villages[village_code].name}已有网格“{row['grid_name']}”（编码 {other}）",
                                HEADERS["grid_name"])
            if row.get("worker"):
                problem = _worker_problem(self._account(row["worker"]), self.villages[village_code])
                if problem:
                    raise _RowError(f"账号“{row['worker']}”{problem}", HEADERS["worker"])
        if "household_code" not in row:
            return
        household_code = row["household_code"]
        household_values = {key: row[key] for key in _HOUSEHOLD_FIELDS if key in row}
        _agree(self.households.get(household_code), household_values, f"户 {household_code}")
        existing_household = self._household(household_code)
        if existing_household is not None and existing_household.is_sample:
            raise _RowError(f"户编码 {household_code} 是示例数据的编码", HEADERS["household_code"])
        if "name" in row:
            first = self.people.get((household_code, row["name"]))
            if first is not None:
                raise _RowError(f"户 {household_code} 的 {row['name']} 在第 {first} 行已出现", HEADERS["name"])

    def _household(self, code: str) -> Household | None:
        if code not in self.household_rows:
            self.household_rows[code] = self.session.execute(
                select(Household).where(Household.code == code).options(selectinload(Household.residents))
            ).scalar_one_or_none()
        return self.household_rows[code]

    def _account(self, username: str) -> Account | None:
        if username not in self.accounts:
            self.accounts[username] = self.session.execute(
                select(Account).where(Account.username == username)
            ).scalar_one_or_none()
        return self.accounts[username]

    # -------------------------------------------------------------- writing
    def _write(self, line: int, row: dict[str, Any]) -> None:
        counted: list[tuple[Counts, str]] = []
        try:
            with self.session.begin_nested():
                if row["grid_code"] not in self.grids:
                    counted.append((self.report.grids, self._write_grid(row)))
                if "household_code" in row and row["household_code"] not in self.households:
                    counted.append((self.report.households, self._write_household(row)))
                if "name" in row:
                    counted.append((self.report.residents, self._write_resident(row)))
                self.session.flush()
        except IntegrityError as error:
            self.household_rows.pop(row.get("household_code"), None)  # rolled back with the savepoint
            reason = (str(error.orig).strip().splitlines() or [""])[0]
            raise _RowError(f"数据库拒绝了这一行：{reason}") from None
        for counts, outcome in counted:
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        grid_values = {key: row[key] for key in _GRID_FIELDS if key in row}
        self.grids.setdefault(row["grid_code"], (line, grid_values))
        self.grid_names.setdefault((row["village_code"], row["grid_name"]), (line, row["grid_code"]))
        if "household_code" in row:
            household_values = {key: row[key] for key in _HOUSEHOLD_FIELDS if key in row}
            self.households.setdefault(row["household_code"], (line, household_values))
        if "name" in row:
            self.people[(row["household_code"], row["name"])] = line
            if row["role"] == "head" and row["name"] != row["head_name"]:
                self.report.warnings.append(LineIssue(line, f"户主是{row['head_name']}，这一行的{row['name']}"
                                                            f"却填了“户主”", HEADERS["role"]))
        if row.get("_full_id"):
            self.report.warnings.append(LineIssue(
                line, "填了完整的身份证号：只保存了后四位；请从文件里删去完整号码", HEADERS["id_card_last4"]))

    def _write_grid(self, row: dict[str, Any]) -> str:
        values: dict[str, Any] = {"village_code": row["village_code"], "name": row["grid_name"],
                                  "kind": row["grid_kind"]}
        if "worker" in row:
            worker = row["worker"]
            values["worker_account_id"] = self._account(worker).id if worker else None
        grid = self.session.get(Grid, row["grid_code"])
        if grid is None:
            self.session.add(Grid(code=row["grid_code"], is_sample=False, **values))
            return "created"
        return _update(grid, values)

    def _write_household(self, row: dict[str, Any]) -> str:
        values = {key: row[key] for key in ("grid_code", "head_name", "address", "member_count", *_FLAGS)
                  if key in row}
        household = self._household(row["household_code"])
        if household is None:
            defaults = {flag: False for flag in _FLAGS}
            household = Household(code=row["household_code"], is_sample=False, **{**defaults, **values})
            household.residents = []
            self.session.add(household)
            self.household_rows[row["household_code"]] = household
            return "created"
        return _update(household, values)

    def _write_resident(self, row: dict[str, Any]) -> str:
        household = self._household(row["household_code"])
        values = {key: row[key] for key in _RESIDENT_FIELDS if key in row}
        resident = next((r for r in household.residents if r.name == row["name"]), None)
        if resident is None:
            household.residents.append(Resident(name=row["name"], is_sample=False,
                                                **{"phone": None, "id_card_last4": None, **values}))
            return "created"
        return _update(resident, values)

    # -------------------------------------------------------------- after all rows
    def _size_warnings(self) -> None:
        for grid_code, (line, values) in self.grids.items():
            grid = self.session.get(Grid, grid_code)
            warning = grid_size_warning(grid.kind, household_count(self.session, grid_code))
            if warning:
                self.report.warnings.append(LineIssue(line, f"网格 {grid_code}：{warning}", HEADERS["grid_code"]))
        for household_code, (line, values) in self.households.items():
            household = self._household(household_code)
            entered = len(household.residents)
            if entered > household.member_count:
                self.report.warnings.append(LineIssue(
                    line, f"户 {household_code} 登记了 {entered} 人，多于户人数 {household.member_count}",
                    HEADERS["member_count"]))


def _worker_problem(account: Account | None, village: Village) -> str | None:
    """Why an account may not be a grid worker of ``village`` (the rule of :func:`workflow.grids.assign_worker`)."""
    if account is None:
        return "不存在"
    if account.role != "grid_worker":
        return "不是网格员账号"
    if account.disabled_at is not None:
        return "已停用"
    if account.village_code != village.code:
        return f"是别的村/社区（{account.village_code}）的网格员，不是{village.name}的"
    return None


def _required(value: str | None, key: str, limit: int) -> str:
    if not value:
        raise _RowError(f"{HEADERS[key]}不能为空", HEADERS[key])
    if len(value) > limit:
        raise _RowError(f"{HEADERS[key]}最多 {limit} 个字", HEADERS[key])
    return value


def _member_count(value: str) -> int:
    text = value[:-2] if value.endswith(".0") else value
    if not text.isdigit():
        raise _RowError(f"户人数“{value}”不是整数", HEADERS["member_count"])
    count = int(text)
    if not HOUSEHOLD_MEMBERS_MIN <= count <= HOUSEHOLD_MEMBERS_MAX:
        raise _RowError(f"户人数 {count} 不在 {HOUSEHOLD_MEMBERS_MIN}–{HOUSEHOLD_MEMBERS_MAX} 之间",
                        HEADERS["member_count"])
    return count


def _flag(value: str, key: str) -> bool:
    text = value.lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _RowError(f"“{value}”应填 是 或 否", HEADERS[key])


def _agree(first: tuple[int, dict[str, Any]] | None, values: dict[str, Any], what: str) -> None:
    if first is None:
        return
    line, earlier = first
    for key, value in values.items():
        if key in earlier and earlier[key] != value:
            column = "村/社区编码" if key == "village_code" else ("网格编码" if key == "grid_code" else HEADERS[key])
            raise _RowError(f"{what} 的{column}与第 {line} 行不一致", column)


def _update(row: Any, values: dict[str, Any]) -> str:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return "updated" if changed else "unchanged"


# ---------------------------------------------------------------------- export
def export_rows(session: Session, *, include_sample: bool = False) -> list[dict[str, str]]:
    """The register as rows of the import format (code → text), by township, village, grid, household, person.

    Sample data (:mod:`workflow.grid_sample`) is left out unless ``include_sample``; the import refuses sample codes,
    so an export with samples is for reading only.
    """
    query = (select(Grid, Village, Township).join(Village, Village.code == Grid.village_code)
             .join(Township, Township.code == Village.township_code)
             .order_by(Township.code, Village.code, Grid.code))
    if not include_sample:
        query = query.where(Grid.is_sample.is_(False))
    rows: list[dict[str, str]] = []
    for grid, village, township in session.execute(query):
        base = {"township": township.name, "village": village.name, "village_code": village.code,
                "grid_code": grid.code, "grid_name": grid.name, "grid_kind": GRID_KIND_LABELS[grid.kind],
                "worker": grid.worker.username if grid.worker is not None else ""}
        households = list(session.execute(
            select(Household).where(Household.grid_code == grid.code).order_by(Household.code)
            .options(selectinload(Household.residents))
        ).scalars())
        if not households:
            rows.append(base)
        for household in households:
            with_household = {**base, "household_code": household.code, "head_name": household.head_name,
                              "address": household.address, "member_count": str(household.member_count),
                              **{flag: "是" if getattr(household, flag) else "否" for flag in _FLAGS}}
            residents = sorted(household.residents, key=lambda r: (r.role != "head", r.id))
            if not residents:
                rows.append(with_household)
            for resident in residents:
                rows.append({**with_household, "name": resident.name, "role": ROLE_LABELS[resident.role],
                             "phone": resident.phone or "", "id_card_last4": resident.id_card_last4 or ""})
    return rows


def export_grid_csv(session: Session, *, encoding: str = "utf-8-sig", include_sample: bool = False) -> bytes:
    """The register as CSV bytes with the Chinese headers, in the format :func:`import_grid_csv` reads.

    Args:
        encoding: ``utf-8-sig`` (UTF-8 with BOM, default: current Excel opens it correctly) or ``gb18030`` (GBK's
            superset, for old Excel; any Chinese name fits).
        include_sample: Include sample grids (not importable again).

    Raises:
        ValueError: Another encoding.
    """
    if encoding not in EXPORT_ENCODINGS:
        raise ValueError(f"encoding must be one of {EXPORT_ENCODINGS}, not {encoding!r}")
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header in COLUMNS])
    for row in export_rows(session, include_sample=include_sample):
        writer.writerow([row.get(key, "") for key, _ in COLUMNS])
    return out.getvalue().encode(encoding)
