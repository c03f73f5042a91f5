"""Roster CSV: UTF-8 and EUC-KR both read; any bad row means nothing is saved, and every bad
row is reported by its line; the export reads back in."""

import pytest
from sqlalchemy import func, select

from office.staffing import services
from office.staffing.models import Side, StaffMember
from tests.factories import NOW, make_person

HEADER = "name_ko,name_latin,side,category,agency,position,duty_qualified,active_from,active_until"
ROWS = [
    "김철수,Kim Cheolsu,south,official,통일부,duty_officer,yes,2018-09-14,",
    "리광혁,,north,official,조국평화통일위원회,staff,no,2018-09-14,",
    "박기술,Park Gisul,south,support,KT,technician,,2018-09-14,2018-12-31",
]


def people(session) -> int:
    return session.scalar(select(func.count()).select_from(StaffMember))


def csv_bytes(rows: list[str], encoding: str = "utf-8", header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "euc-kr", "cp949"])
def test_a_roster_in_utf8_or_euc_kr_is_imported(session, encoding):
    added = services.import_roster(session, csv_bytes(ROWS, encoding), actor=None, now=NOW)
    assert [p.name_ko for p in added] == ["김철수", "리광혁", "박기술"]
    assert added[0].is_duty_qualified and not added[2].is_duty_qualified
    assert added[1].side is Side.NORTH and added[1].name_latin == ""
    assert str(added[2].active_until) == "2018-12-31"


def test_a_missing_column_is_named_and_nothing_is_saved(session):
    header = "name_ko,name_latin,category,agency,position,duty_qualified,active_from"
    with pytest.raises(services.RosterImportError) as error:
        services.import_roster(
            session,
            csv_bytes(["x,y,official,,staff,,2018-09-14"], header=header),
            actor=None,
            now=NOW,
        )
    assert error.value.errors == [(1, "Missing columns: side.")]
    assert people(session) == 0


def test_every_bad_row_is_reported_by_line_and_nothing_is_saved(session):
    rows = [
        ROWS[0],
        "이영희,Lee Younghee,east,official,,staff,,2018-09-14,",
        "최민호,Choi Minho,south,official,,staff,,2018-02-30,",
        ",No Name,south,official,,staff,,2018-09-14,",
        "정다은,,south,official,,staff,,2018-09-14,",
        "강도윤,Kang Doyun,south,official,,staff,,2018-10-01,2018-09-01",
        ROWS[2],
    ]
    with pytest.raises(services.RosterImportError) as error:
        services.import_roster(session, csv_bytes(rows), actor=None, now=NOW)
    lines = [line for line, _message in error.value.errors]
    assert lines == [3, 4, 5, 6, 7]
    messages = dict(error.value.errors)
    assert "side: east is not one of south, north" in messages[3]
    assert "2018-02-30 is not a date" in messages[4]
    assert "name in Korean" in messages[5]
    assert "Latin letters" in messages[6]
    assert "cannot be before" in messages[7]
    assert people(session) == 0


def test_duplicates_in_the_file_and_on_the_roster_are_refused(session):
    make_person(session, name="김철수")
    existing = session.scalar(select(StaffMember))
    rows = [
        f"김철수,{existing.name_latin},south,official,,staff,,2018-09-14,",
        ROWS[2],
        ROWS[2],
    ]
    with pytest.raises(services.RosterImportError) as error:
        services.import_roster(session, csv_bytes(rows), actor=None, now=NOW)
    assert [(line, "already" in m or "twice" in m) for line, m in error.value.errors] == [
        (2, True),
        (4, True),
    ]
    assert "appears twice (also on line 3)" in error.value.errors[1][1]
    assert people(session) == 1


def test_text_that_is_neither_utf8_nor_euc_kr_is_refused(session):
    with pytest.raises(services.RosterImportError, match="1 error;"):
        services.import_roster(session, b"\xff\xfe\x00\x00\xff" * 10, actor=None, now=NOW)


def test_five_thousand_rows_import_in_one_go(session):
    rows = [f"직원{n},Staff {n},south,support,,staff,no,2018-09-14," for n in range(5000)]
    added = services.import_roster(session, csv_bytes(rows), actor=None, now=NOW)
    assert len(added) == 5000 and people(session) == 5000


def test_the_export_reads_back_in(session):
    services.import_roster(session, csv_bytes(ROWS), actor=None, now=NOW)
    exported = services.export_roster(session)
    for person in session.scalars(select(StaffMember)):
        session.delete(person)
    session.flush()
    again = services.import_roster(session, exported.encode("utf-8"), actor=None, now=NOW)
    assert sorted(p.name_ko for p in again) == sorted(["김철수", "리광혁", "박기술"])
