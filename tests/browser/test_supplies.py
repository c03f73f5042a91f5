"""Deliveries and repair works in a real browser: an administrator prepares, screens, crosses
and receives a north-bound delivery, runs a work order on what came in, and sends the tool it
brought back south; and a crossing with a line over its waiver line's cap is refused whole.

The live server and its demo database are shared by every browser test of the run, so these
tests make their own deliveries and work orders and never count rows. Their deliveries name the
demo's MOU-2018-0611 (the ministry's approval of the repair materials, valid 2018-06-11 to
2018-12-31) as their carry-out approval, and each line draws on its line under the ministry's
regime: after the demo, its water heater and welder lines have 2 left each and its steel line
is used up. Every regime is in force, as migrated; there is no UN exemption for these goods,
as in 2018, so the lines the UN bans go with the government's position as the reason to let
them cross anyway. Crossings are recorded on days inside the approval's validity; the
screening is for the planned day, which is the crossing day.
"""

import re
import secrets

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

ADMIN = DEMO_LOGINS[0]
REPAIRS = "MOU-2018-0611"
# The demo's last water heaters on site came in on 2018-08-23: ours, received before, are the
# oldest lot, so the work order's use (oldest lots first) takes ours.
CROSSED, RECEIVED = "2018-08-20", "2018-08-21"
WELDER_BACK_BY = "2018-10-31"
POSITION = "The government's position: no 1718 Committee exemption requested."
UN = "UN Security Council sanctions (1718 Committee)"
ROK = "ROK carry-out approval (Ministry of Unification)"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3).upper()}"


def section(page, heading: str):
    """The article headed `heading`: each form of a page is one."""
    return page.locator("article", has=page.get_by_role("heading", name=heading, exact=True))


def flashed(page, message: str) -> None:
    expect(page.locator(".flashes").get_by_text(message, exact=True)).to_be_visible()


def status_badge(page):
    return page.locator("div.actions .badge").first


def manifest_cells(page, line_no: int):
    manifest = page.locator("h2 + div table").first
    return manifest.locator("tbody tr").nth(line_no - 1).locator("td")


def left_on_line(cell) -> tuple[int, int]:
    """What the screening says the first line it draws on has left, before and after it."""
    found = re.search(r"left (-?[\d,]+) → (-?[\d,]+)", cell.inner_text())
    assert found is not None, cell.inner_text()
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


def new_delivery(page, reference: str, *, direction: str, planned: str) -> str:
    nav_to(page, "Deliveries")
    page.wait_for_url("**/deliveries/")
    page.get_by_role("button", name="New delivery").click()
    page.wait_for_url("**/deliveries/new")
    expect(page.get_by_label("Crossing point")).to_have_value("Gyeongui road, Dorasan")
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Direction").select_option(direction)
    page.get_by_label("Planned for").fill(planned)
    page.get_by_label("Carrier").fill("현대아산 (Hyundai Asan)")
    page.get_by_label("Vehicles").fill("1 lorry")
    if direction == "north":
        # Its label goes on to say the approval's type, title and status today.
        approvals = page.get_by_label("Ministry carry-out approval (north-bound)")
        option = approvals.locator("option", has_text=f"{REPAIRS} · ")
        approvals.select_option(option.get_attribute("value"))
    else:
        page.get_by_label("Ministry carry-in approval number (south-bound)").fill(unique("MOU-CI"))
        page.get_by_label("Carry-in approval (south-bound)").select_option("individual")
    page.get_by_label("Customs declaration number").fill(unique("40125-18"))
    page.get_by_role("button", name="Create delivery").click()
    page.wait_for_url(re.compile(r"/deliveries/\d+$"))
    flashed(page, f"Delivery {reference} created as a draft; add its manifest lines.")
    expect(page.get_by_role("heading", level=1)).to_have_text(reference)
    expect(status_badge(page)).to_have_text("draft")
    return page.url


def add_line(page, resource: str, quantity: str, unit: str, **more) -> None:
    """Add a manifest line; `waiver_line` (its own, if any) and `reason` (to let it cross
    anyway) as given in `more`."""
    form = section(page, "Add a manifest line")
    form.get_by_label("Resource", exact=True).select_option(label=resource)
    form.get_by_label("Description").fill(more.get("description", ""))
    form.get_by_label("Quantity", exact=True).fill(quantity)
    form.get_by_label("Unit", exact=True).select_option(unit)
    form.get_by_label("Gross weight, kg").fill(more.get("kg", ""))
    form.get_by_label("Unit value, KRW").fill(more.get("krw", ""))
    form.get_by_label("Unit value, USD").fill(more.get("usd", ""))
    form.get_by_label("Purpose").select_option("repair")
    if "waiver_line" in more:
        # Its label goes on to say the waiver's status on the planned day.
        option = form.locator("#waiver_line_id option", has_text=f"{more['waiver_line']} · ")
        form.get_by_label("Waiver line").select_option(option.get_attribute("value"))
    if "reason" in more:
        form.get_by_label(
            "Reason to let it cross anyway if it is not covered (flags it for review)"
        ).fill(more["reason"])
    if "back_by" in more:
        form.get_by_label("Must come back (equipment taken in for a while)").check()
        form.get_by_label("Back by").fill(more["back_by"])
    form.get_by_role("button", name="Add line").click()
    flashed(page, "Line added.")


def approve(page) -> None:
    section(page, "Next step").get_by_role("button", name="Approved", exact=True).click()
    flashed(page, "Approved: the manifest is fixed.")
    expect(status_badge(page)).to_have_text("approved")


def cross_and_receive(page, crossed: str, received: str) -> None:
    step = section(page, "Next step")
    # Offered: the planned day, which both tests cross on.
    expect(step.get_by_label("Date", exact=True)).to_have_value(crossed)
    step.get_by_label("Date", exact=True).fill(crossed)
    step.get_by_role("button", name="Crossed", exact=True).click()
    flashed(page, "Crossed: every line is on the ledger.")
    expect(status_badge(page)).to_have_text("crossed")

    step = section(page, "Next step")
    expect(step.get_by_label("Date", exact=True)).to_have_value(crossed)  # the day it crossed
    step.get_by_label("Date", exact=True).fill(received)
    step.get_by_role("button", name="Received", exact=True).click()
    flashed(page, "Received: the goods are on-site stock.")
    expect(status_badge(page)).to_have_text("received")
    expect(page.locator("dl.facts")).to_contain_text(f"crossed {crossed} · received {received}")


def stock_lot(page, resource_name: str, origin: str) -> tuple[str, list[str]]:
    """Open the on-site stock of `resource_name`; return the id and cells of the lot from
    `origin` (a delivery's reference and line)."""
    page.goto("/deliveries/")
    page.get_by_role("link", name="On-site stock").click()
    page.get_by_role("link", name=resource_name, exact=True).click()
    page.wait_for_url(re.compile(r"/deliveries/stock\?resource=\d+$"))
    lots = page.locator("h2 + div table")
    row = lots.locator("tbody tr", has=page.get_by_role("cell", name=origin, exact=True))
    expect(row).to_have_count(1)
    cells = row.locator("td").all_inner_texts()
    return re.match(r"#(\d+)", cells[0])[1], cells


def test_administrator_delivers_repairs_with_the_materials_and_returns_the_tool(page):
    north, south, number = unique("BT-N"), unique("BT-S"), unique("BT-W")
    log_in(page, ADMIN)

    # Prepare a north-bound delivery: the header, then its manifest, screened line by line.
    new_delivery(page, north, direction="north", planned=CROSSED)
    add_line(
        page,
        "water_heater · Electric water heaters (pieces)",
        "2",
        "piece",
        reason=POSITION,
        description="Lodging block B, 2nd floor",
        kg="64",
        krw="465000",
        usd="415.18",
    )
    add_line(
        page,
        "welder · Arc welding machines (pieces)",
        "1",
        "piece",
        reason=POSITION,
        description="For the stair railings",
        kg="85",
        krw="2800000",
        usd="2500",
        back_by=WELDER_BACK_BY,
    )
    expect(page.get_by_role("columnheader", name=f"Screening for {CROSSED}")).to_be_visible()
    # Under each regime: banned by the UN with no exemption (let through with the reason),
    # covered by the ministry's approval, not of US origin.
    for line_no, waiver_line, quantity in ((1, 4, 2), (2, 7, 1)):
        cells = manifest_cells(page, line_no)
        expect(cells.nth(6)).to_have_text("-")
        screening = cells.nth(7)
        expect(screening.locator(".regime-name")).to_have_text(
            [UN, ROK, "US Export Administration Regulations"]
        )
        expect(screening.locator(".badge")).to_have_text(
            [
                "prohibited",
                "uncovered",
                "approval required",
                "covered",
                "not controlled",
                "not required",
            ]
        )
        expect(screening).to_contain_text(f"{REPAIRS} · {waiver_line}")
        expect(screening).to_contain_text(f"override: {POSITION}")
        before, after = left_on_line(screening)
        assert before - after == quantity and after >= 0
    expect(manifest_cells(page, 1).nth(3)).to_have_text(re.compile(r"^2 pieces\s*64 kg$"))
    expect(manifest_cells(page, 2).nth(1)).to_contain_text(f"back by {WELDER_BACK_BY}")
    screenshot(page, "delivery-screening")

    # Approve, cross on a day the waiver covers, receive.
    approve(page)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)  # the manifest is fixed
    cross_and_receive(page, CROSSED, RECEIVED)
    on_the_ledger = page.get_by_role("link", name="on the ledger")
    expect(on_the_ledger).to_have_count(2)
    screenshot(page, "delivery-received")
    delivery_page = page.url
    on_the_ledger.first.click()
    page.wait_for_url(re.compile(r"/ledger/\d+$"))
    expect(status_badge(page)).to_have_text("uncovered")  # under the UN: recorded anyway
    facts = page.locator("dl.facts")
    for fact in ("2 pieces", CROSSED, f"delivery ({north}/1)", POSITION):
        expect(facts).to_contain_text(fact)
    regimes = page.locator("table.regimes tbody tr")
    expect(regimes.nth(0)).to_contain_text("uncovered")
    expect(regimes.nth(1)).to_contain_text(f"{REPAIRS} · line 4")
    expect(regimes.nth(1)).to_contain_text("covered")
    page.goto(delivery_page)

    # The goods are on-site lots, each remembering its delivery and waiver line.
    heater, cells = stock_lot(page, "Electric water heaters", f"{north}/1")
    assert cells[1] == RECEIVED and cells[4].startswith(f"{REPAIRS} · 4")
    assert cells[5:] == ["2", "0", "0", "2"]
    welder, cells = stock_lot(page, "Arc welding machines", f"{north}/2")
    assert f"back by {WELDER_BACK_BY}" in cells[0] and cells[4].startswith(f"{REPAIRS} · 7")
    assert cells[5:] == ["1", "0", "0", "1"]
    screenshot(page, "stock-lots")

    # A work order: create, approve, start, use a water heater, add a cost, assign the welder.
    nav_to(page, "Repairs")
    page.get_by_role("button", name="New work order").click()
    page.wait_for_url("**/repairs/new")
    page.get_by_label("Number").fill(number)
    page.get_by_label("Area").select_option("living_quarters")
    page.get_by_label("Room or place").fill("Lodging block B")
    page.get_by_label("Work", exact=True).fill("Hot water on the 2nd floor; stair railings.")
    page.get_by_label("Contractor").fill("Browser test contractor")
    page.get_by_label("Budget, KRW").fill("5,000,000")
    page.get_by_label("Funding decision (council meeting)").fill("Council 298th meeting")
    page.get_by_label("Planned start").fill("2018-08-22")
    page.get_by_label("Planned end").fill("2018-09-14")
    page.get_by_role("button", name="Create work order").click()
    page.wait_for_url(re.compile(r"/repairs/\d+$"))
    flashed(page, f"Work order {number} created.")
    expect(status_badge(page)).to_have_text("planned")
    for status, on, shown in (
        ("approved", "2018-08-22", "approved"),
        ("in_progress", "2018-08-24", "in progress"),
    ):
        step = section(page, "Next step")
        step.get_by_label("New status").select_option(status)
        step.get_by_label("On", exact=True).fill(on)
        step.get_by_role("button", name="Change status").click()
        flashed(page, "Status changed.")
        expect(status_badge(page)).to_have_text(shown)
    expect(page.locator("dl.facts")).to_contain_text("2018-08-24 –")  # the actual start
    work_order_page = page.url

    use = section(page, "Use material from the store")
    use.get_by_label("Material").select_option(label="water_heater · Electric water heaters")
    use.get_by_label("Quantity").fill("1")
    use.get_by_label("Unit").select_option("piece")
    use.get_by_label("Used on").fill("2018-08-27")
    use.get_by_role("button", name="Record use").click()
    flashed(page, "Material use recorded.")
    used = page.get_by_test_id("materials").locator("tbody tr")
    expect(used).to_have_count(1)
    expect(used.locator("td")).to_have_text(
        [
            "2018-08-27",
            "Electric water heaters",
            "1 piece",
            re.compile(rf"^#{heater}: 1 · covered\s+granted$"),
            "465,000",
        ]
    )

    cost = section(page, "Add a cost")
    cost.get_by_label("Date").fill("2018-08-31")
    cost.get_by_label("Amount, KRW").fill("1200000")
    cost.get_by_label("For").fill("Installation labour")
    cost.get_by_role("button", name="Add cost").click()
    flashed(page, "Cost recorded.")
    expect(page.get_by_test_id("spend")).to_have_text(
        "1,665,000 of 5,000,000 KRW spent (materials 465,000, other 1,200,000)"
    )

    assign = section(page, "Assign equipment")
    assign.get_by_label("Equipment on site").select_option(label=f"#{welder} · welder · {north}/2")
    assign.get_by_label("Note").fill("Stair railings")
    assign.get_by_role("button", name="Assign").click()
    flashed(page, "Equipment assigned.")
    equipment = page.locator("table", has=page.get_by_role("columnheader", name="Back by"))
    expect(equipment.locator("tbody td")).to_have_text(
        [f"#{welder}", "Arc welding machines", WELDER_BACK_BY, "1 piece", "Stair railings"]
    )
    expect(equipment.locator(".badge.bad")).to_have_text(WELDER_BACK_BY)  # overdue by now
    screenshot(page, "work-order")

    # The welder is overdue; a south-bound delivery takes it back.
    page.goto("/deliveries/")
    overdue = page.locator("article.overdue tbody tr", has_text=f"{north}/2")
    expect(overdue.locator("td")).to_have_text(
        [f"#{welder}", "Arc welding machines", f"{north}/2", WELDER_BACK_BY, "1 piece"]
    )
    new_delivery(page, south, direction="south", planned="2018-10-05")
    back = section(page, "Carry a lot back south")
    back.get_by_label("Lot on site").select_option(
        label=f"#{welder} · welder · Materials store · {north}/2 · 1"
    )
    back.get_by_label("Quantity").fill("1")
    back.get_by_role("button", name="Add line").click()
    flashed(page, "Line added.")
    expect(manifest_cells(page, 1).nth(1)).to_contain_text(f"return of lot {welder}")
    expect(manifest_cells(page, 1).nth(6)).to_have_text(f"lot #{welder} back south")
    approve(page)
    cross_and_receive(page, "2018-10-05", "2018-10-05")
    screenshot(page, "delivery-returned")

    # The welder is no longer on site: not overdue, returned on the work order and in stock.
    page.goto("/deliveries/")
    expect(page.locator("article.overdue tbody tr", has_text=f"{north}/2")).to_have_count(0)
    page.goto(work_order_page)
    expect(equipment.locator("tbody td").nth(3)).to_have_text("returned")
    expect(equipment.locator(".badge.bad")).to_have_count(0)
    _, cells = stock_lot(page, "Arc welding machines", f"{north}/2")
    assert cells[5:] == ["1", "0", "1", "0"]


def waiver_used(page) -> dict[str, str]:
    """What each line of the repairs waiver has used, by resource code."""
    page.goto("/waivers/")
    page.get_by_role("link", name=REPAIRS, exact=True).click()
    page.wait_for_url(re.compile(r"/waivers/\d+$"))
    rows = page.locator("table").first.locator("tbody tr")
    return {
        re.search(r"\((\w+)\)", cells[1])[1]: cells[4]
        for cells in (row.locator("td").all_inner_texts() for row in rows.all())
    }


def test_crossing_with_a_line_over_its_cap_is_refused_whole(page):
    reference = unique("BT-X")
    log_in(page, ADMIN)
    used_before = waiver_used(page)

    delivery_page = new_delivery(page, reference, direction="north", planned="2018-08-29")
    add_line(page, "paint · Paint (kg)", "10", "kg")
    add_line(page, "steel · Steel sections (t)", "2", "t")
    before, after = left_on_line(manifest_cells(page, 2).nth(7))
    assert (before, after) == (0, -2)  # the demo used the approval's steel line up
    approve(page)

    # In Korean: the crossing is refused whole, and the page names the line and why.
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    step = section(page, "다음 단계")
    step.get_by_label("날짜", exact=True).fill("2018-08-29")
    step.get_by_role("button", name="통과함", exact=True).click()
    refused = page.get_by_test_id("crossing-refused")
    expect(refused.locator("strong")).to_have_text(
        "통과가 거부되었습니다. 아무것도 기록되지 않았습니다."
    )
    # Steel, under each regime that refuses it: banned by the UN, over the approval's line.
    expect(refused.locator("li")).to_have_count(1)
    expect(refused.locator("li")).to_contain_text("2번 항목: 유엔 안보리 대북제재 (1718 위원회): ")
    expect(refused.locator("li")).to_contain_text(
        f"대한민국 반출 승인 (통일부): 면제·승인 {REPAIRS}의 1번 항목은 0톤 남았는데, "
        "이 인출은 2톤입니다."
    )
    expect(status_badge(page)).to_have_text("승인")
    expect(page.get_by_role("link", name="원장 기록")).to_have_count(0)
    screenshot(page, "delivery-crossing-refused")

    # Still approved, nothing on the ledger, and the attempt kept on the delivery's page.
    page.goto(delivery_page)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(status_badge(page)).to_have_text("approved")
    expect(page.get_by_role("link", name="on the ledger")).to_have_count(0)
    expect(section(page, "Next step").get_by_role("button", name="Crossed")).to_be_visible()
    expect(page.get_by_test_id("refused-attempts").locator("li")).to_contain_text([REPAIRS])
    assert waiver_used(page) == used_before
