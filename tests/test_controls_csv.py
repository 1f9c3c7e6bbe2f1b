"""One controls-CSV reader for `tracker controls import` and the API's CSV import."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tracker.cli.main import main
from tracker.domain.errors import InvalidRowsError
from tracker.mapping.controls_io import read_controls, read_controls_csv
from tracker.storage.controls import ControlStore


def _problems(data: bytes) -> list[str]:
    with pytest.raises(InvalidRowsError) as caught:
        read_controls_csv("c.csv", data)
    return [str(p) for p in caught.value.problems]


def test_every_column_is_kept() -> None:
    data = (
        b"id,title,owner,tags,family,parent\n"
        b"AC-2,Accounts,ann,a;b|c,Access Control,\n"
        b"AC-2(1),Auto,,,AC,AC-2\n"
    )
    base, enhancement = read_controls("c.csv", data)
    assert (base.family, base.parent, base.tags) == ("Access Control", None, ("a", "b", "c"))
    assert (enhancement.family, enhancement.parent) == ("AC", base.key)


def test_every_bad_row_is_reported_by_number() -> None:
    data = b"id,title\nA,One\n,no id\nA,again\nB,x,extra\n\nC,fine\n"
    assert _problems(data) == [
        "row 3, column id: empty id; every control needs an identifier",
        "row 4, column id: duplicate of row 2 ('A')",
        "row 5: more cells than header columns; quote cells that contain commas",
    ]


def test_an_unterminated_quote_is_refused_naming_its_row() -> None:
    # a lenient reader imports A and one control whose title swallows B
    (problem,) = _problems(b'id,title\nA,"open quote\nB,second\n')
    assert problem.startswith("row 2: a quoted cell starting on line 2 is never closed")


def test_a_cell_over_the_field_limit_names_its_row() -> None:
    limit = csv.field_size_limit()
    data = b"id,description\nA,short\nB," + b"y" * (limit + 1) + b"\nC,z\n"
    (problem,) = _problems(data)
    assert problem.startswith(f"row 3: a cell starting on line 3 is longer than {limit} characters")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"title\nx\n", "row 1: the header row needs an `id` column (found: title)"),
        (b"id,weird\nA,1\n", "row 1: unknown column(s) weird"),
        (b"id\n", "no data rows under the header"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"id,\nA,\nB,oops\n", "row 3: a cell under a column with no name"),
    ],
)
def test_file_level_problems(data: bytes, expected: str) -> None:
    assert _problems(data)[0].startswith(expected)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exited.value.code or 0), out.out, out.err


def test_cli_import_keeps_family_and_parent_and_reports_every_row(
    db_env: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, "org", "create", "acme")[0] == 0
    good = tmp_path / "controls.csv"
    good.write_bytes(b"id,title,family,parent\nAC-2,Accounts,AC,\nAC-2(1),Automated,AC,AC-2\n")
    code, out, _ = _cli(capsys, "controls", "import", "acme", str(good), "--format", "json")
    assert code == 0 and json.loads(out)["created"] == 2
    stored = {c.id: c for c in ControlStore(db_env).controls("acme")}
    assert stored["AC-2(1)"].family == "AC" and stored["AC-2(1)"].parent == stored["AC-2"].key

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'id,title\nAC-3,Three\n,no id\nAC-3,dupe\nAC-4,"never closed\nAC-5,x\n')
    code, _, err = _cli(capsys, "controls", "import", "acme", str(bad))
    assert code == 4  # invalid input
    assert "3 problems; nothing was imported" in err
    assert "row 3, column id: empty id" in err and "row 4, column id: duplicate of row 2" in err
    assert "row 5: a quoted cell starting on line 5 is never closed" in err
    assert {c.id for c in ControlStore(db_env).controls("acme")} == {"AC-2", "AC-2(1)"}
