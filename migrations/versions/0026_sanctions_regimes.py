"""Goods are screened under every sanctions regime: the UN's, the ministry's carry-out
approval, the US EAR; each regime has its own HS rules and authorisations, and each ledger
entry keeps its line, status and classification under each

The UN's rules were the only ones: a resource had one control class and a drawdown one
waiver line, so the ledger could not say "approved by the ministry, not exempted by the UN".
Existing HS rules become the UN regime's (with crude oil and natural gas liquids added, as
data); the ministry's regime asks approval of every item; the US regime asks a licence of
goods of US origin or with more than 10% US content, food and medicine aside.

Every waiver is under the regime of its authority; a blanket approval stands (drawdowns that
name no ministry line draw on it). Every existing entry keeps its hash and
gets one screening, under the regime it was checked against then (its waiver's, or the UN's
when it named none); the other regimes show as not checked at the time, never as covered.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Quantities and shares are kept as counts of millionths (`office.waivers.units.Quantity`).
MILLIONTHS = 1_000_000
CONTROLS = ("prohibited", "capped", "approval_required", "none")
OLD_CONTROLS = ("prohibited", "capped", "none")
STATUSES = (
    "draft",
    "requested",
    "granted",
    "partially_granted",
    "denied",
    "revoked",
    "expired",
    "withdrawn",
)
CLASSIFICATIONS = (
    "not_required",
    "uncovered",
    "denied",
    "pending",
    "outside_validity",
    "over_cap",
    "covered",
)

REGIMES = [
    {
        "id": 1,
        "code": "un",
        "position": 1,
        "in_force": True,
        "default_control": "none",
        "us_content_rule": False,
        "us_content_threshold": None,
        "name_en": "UN Security Council sanctions (1718 Committee)",
        "name_ko": "유엔 안보리 대북제재 (1718 위원회)",
        "note": "UNSCR 1718, 2375 and 2397; exemptions by the 1718 Committee (op. 25).",
    },
    {
        "id": 2,
        "code": "rok",
        "position": 2,
        "in_force": True,
        "default_control": "approval_required",
        "us_content_rule": False,
        "us_content_threshold": None,
        "name_en": "ROK carry-out approval (Ministry of Unification)",
        "name_ko": "대한민국 반출 승인 (통일부)",
        "note": "Inter-Korean Exchange and Cooperation Act: every item taken north needs the "
        "Minister's approval, individual or blanket.",
    },
    {
        "id": 3,
        "code": "us",
        "position": 3,
        "in_force": True,
        "default_control": "approval_required",
        "us_content_rule": True,
        "us_content_threshold": 10 * MILLIONTHS,
        "name_en": "US Export Administration Regulations",
        "name_ko": "미국 수출관리규정 (EAR)",
        "note": "A licence for items of US origin, or made abroad with US content above the "
        "de minimis share, other than food and medicine classed EAR99.",
    },
]
UN_RULES_ADDED = [
    ("2709", "capped", "UNSCR 2397 op. 4: crude oil"),
    ("271119", "prohibited", "UNSCR 2375 op. 13: natural gas liquids"),
]
US_RULES = [
    *((f"{chapter:02d}", "none", "EAR: food (EAR99), no licence") for chapter in range(1, 25)),
    ("30", "none", "EAR: medicine (EAR99), no licence"),
]
AUTHORITY_REGIME = {
    "un_1718_committee": 1,
    "rok_mou_individual": 2,
    "rok_mou_blanket": 2,
    "us_government": 3,
}


def _control(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(
        *values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(value) for value in values),
    )


def _widen_control(table: str, values: Sequence[str], old: Sequence[str]) -> None:
    with op.batch_alter_table(table) as batch:
        batch.alter_column(
            "control",
            type_=_control(values, "control"),
            existing_type=_control(old, "control"),
            existing_nullable=False,
        )


def upgrade() -> None:
    bind = op.get_bind()
    regimes = op.create_table(
        "regimes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("name_ko", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("in_force", sa.Boolean(), nullable=False),
        sa.Column("default_control", _control(CONTROLS, "default_control"), nullable=False),
        sa.Column("us_content_rule", sa.Boolean(), nullable=False),
        sa.Column("us_content_threshold", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regimes")),
        sa.UniqueConstraint("code", name=op.f("uq_regimes_code")),
        sa.UniqueConstraint("position", name=op.f("uq_regimes_position")),
    )
    op.bulk_insert(regimes, REGIMES)
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval('regimes_id_seq', 3)")

    # The HS rules are the UN regime's; each regime has its own.
    _widen_control("hs_rules", CONTROLS, OLD_CONTROLS)
    with op.batch_alter_table("hs_rules") as batch:
        batch.add_column(sa.Column("regime_id", sa.Integer(), nullable=True))
    op.execute("UPDATE hs_rules SET regime_id = 1")
    with op.batch_alter_table("hs_rules") as batch:
        batch.alter_column("regime_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("uq_hs_rules_prefix", type_="unique")
        batch.create_unique_constraint("uq_hs_rules_regime_id_prefix", ["regime_id", "prefix"])
        batch.create_foreign_key("fk_hs_rules_regime_id_regimes", "regimes", ["regime_id"], ["id"])
    rules = sa.table(
        "hs_rules",
        sa.column("regime_id", sa.Integer),
        sa.column("prefix", sa.String),
        sa.column("control", sa.String),
        sa.column("note", sa.String),
    )
    taken = {prefix for (prefix,) in bind.execute(sa.text("SELECT prefix FROM hs_rules"))}
    op.bulk_insert(
        rules,
        [
            {"regime_id": 1, "prefix": p, "control": c, "note": n}
            for p, c, n in UN_RULES_ADDED
            if p not in taken
        ]
        + [{"regime_id": 3, "prefix": p, "control": c, "note": n} for p, c, n in US_RULES],
    )

    # Resources record their origin and US content; their control under each regime.
    _widen_control("resources", CONTROLS, OLD_CONTROLS)
    with op.batch_alter_table("resources") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=2), nullable=False, server_default="KR")
        )
        batch.add_column(
            sa.Column(
                "us_content_percent",
                sa.BigInteger(),
                nullable=False,
                server_default="0",
            )
        )
    op.create_table(
        "resource_controls",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("regime_id", sa.Integer(), nullable=False),
        sa.Column("control", _control(CONTROLS, "control"), nullable=False),
        sa.Column(
            "basis",
            sa.Enum(
                "rule",
                "default",
                "not_subject",
                name="basis",
                native_enum=False,
                create_constraint=True,
                length=11,
            ),
            nullable=False,
        ),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["regime_id"], ["regimes.id"], name=op.f("fk_resource_controls_regime_id_regimes")
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_resource_controls_resource_id_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["hs_rules.id"],
            ondelete="SET NULL",
            name=op.f("fk_resource_controls_rule_id_hs_rules"),
        ),
        sa.PrimaryKeyConstraint("resource_id", "regime_id", name=op.f("pk_resource_controls")),
    )
    _determine_every_resource(bind)

    # Every waiver is under its authority's regime.
    with op.batch_alter_table("waivers") as batch:
        batch.add_column(sa.Column("regime_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("standing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # A blanket approval stands: drawdowns that name no ministry line draw on it.
    op.execute(
        sa.text(
            "UPDATE waivers SET standing = :yes WHERE authority = 'rok_mou_blanket'"
        ).bindparams(yes=True)
    )
    for authority, regime_id in AUTHORITY_REGIME.items():
        op.execute(
            sa.text(
                "UPDATE waivers SET regime_id = :regime WHERE authority = :authority"
            ).bindparams(regime=regime_id, authority=authority)
        )
    with op.batch_alter_table("waivers") as batch:
        batch.alter_column("regime_id", existing_type=sa.Integer(), nullable=False)
        batch.create_index("ix_waivers_regime_id", ["regime_id"], unique=False)
        batch.create_foreign_key("fk_waivers_regime_id_regimes", "regimes", ["regime_id"], ["id"])

    # The ledger: plain statements, never a batch (a batch may copy the table on SQLite and
    # lose the triggers that keep it append-only). SQLite adds a nullable column in place.
    op.add_column("drawdown_entries", sa.Column("regimes", sa.Text(), nullable=True))
    op.create_table(
        "entry_screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("regime_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("base_quantity", sa.BigInteger(), nullable=False),
        sa.Column("control", _control(CONTROLS, "control"), nullable=True),
        sa.Column("waiver_id", sa.Integer(), nullable=True),
        sa.Column("waiver_line_id", sa.Integer(), nullable=True),
        sa.Column(
            "waiver_status",
            sa.Enum(
                *STATUSES,
                name="waiver_status",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=True,
        ),
        sa.Column(
            "classification",
            sa.Enum(
                *CLASSIFICATIONS,
                name="classification",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["drawdown_entries.id"],
            name=op.f("fk_entry_screenings_entry_id_drawdown_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["regime_id"], ["regimes.id"], name=op.f("fk_entry_screenings_regime_id_regimes")
        ),
        sa.ForeignKeyConstraint(
            ["waiver_id"], ["waivers.id"], name=op.f("fk_entry_screenings_waiver_id_waivers")
        ),
        sa.ForeignKeyConstraint(
            ["waiver_line_id"],
            ["waiver_lines.id"],
            name=op.f("fk_entry_screenings_waiver_line_id_waiver_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_screenings")),
        sa.UniqueConstraint(
            "entry_id", "regime_id", name=op.f("uq_entry_screenings_entry_id_regime_id")
        ),
    )
    # Each entry was screened under one regime: its waiver's, or the UN's when it named none.
    op.execute(
        """
        INSERT INTO entry_screenings (entry_id, regime_id, position, seq, occurred_on,
            base_quantity, control, waiver_id, waiver_line_id, waiver_status, classification)
        SELECT e.id, r.id, r.position, e.seq, e.occurred_on, e.base_quantity, NULL,
            e.waiver_id, e.waiver_line_id, e.waiver_status, e.classification
        FROM drawdown_entries e
        LEFT JOIN waivers w ON w.id = e.waiver_id
        JOIN regimes r ON r.id = COALESCE(w.regime_id, 1)
        """
    )
    op.create_index(
        "ix_entry_screenings_line_day",
        "entry_screenings",
        ["waiver_line_id", "occurred_on", "base_quantity"],
    )
    op.create_index(
        "ix_entry_screenings_regime_class_seq",
        "entry_screenings",
        ["regime_id", "classification", "seq"],
    )
    op.create_index("ix_entry_screenings_waiver_seq", "entry_screenings", ["waiver_id", "seq"])


def _determine_every_resource(bind: sa.engine.Connection) -> None:
    """Each resource's control under each regime, as `office.waivers.regimes` works it out
    (longest prefix wins; the US regime only for US origin or content above its share)."""
    rules: dict[int, list[tuple[str, str, int]]] = {1: [], 2: [], 3: []}
    for rule_id, regime_id, prefix, control in bind.execute(
        sa.text("SELECT id, regime_id, prefix, control FROM hs_rules")
    ):
        rules[regime_id].append((prefix, control, rule_id))
    rows = []
    for resource_id, hs_code, origin, content in bind.execute(
        sa.text("SELECT id, hs_code, origin, us_content_percent FROM resources")
    ):
        for regime in REGIMES:
            threshold = regime["us_content_threshold"]
            if regime["us_content_rule"] and origin != "US" and (content or 0) <= threshold:
                rows.append((resource_id, regime["id"], "none", "not_subject", None))
                continue
            matching = [rule for rule in rules[regime["id"]] if hs_code.startswith(rule[0])]
            if matching:
                prefix, control, rule_id = max(matching, key=lambda rule: len(rule[0]))
                rows.append((resource_id, regime["id"], control, "rule", rule_id))
            else:
                rows.append((resource_id, regime["id"], regime["default_control"], "default", None))
    table = sa.table(
        "resource_controls",
        sa.column("resource_id", sa.Integer),
        sa.column("regime_id", sa.Integer),
        sa.column("control", sa.String),
        sa.column("basis", sa.String),
        sa.column("rule_id", sa.Integer),
    )
    if rows:
        op.bulk_insert(
            table,
            [
                dict(zip(("resource_id", "regime_id", "control", "basis", "rule_id"), row))
                for row in rows
            ],
        )


def downgrade() -> None:
    screened = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM drawdown_entries WHERE regimes IS NOT NULL"))
        .scalar()
    )
    if screened:
        # Their hashes cover what each regime held: dropping it would break the chain.
        raise RuntimeError(
            f"{screened} ledger entries were screened under several regimes; going below "
            "0026 would drop what their hashes cover. Restore a backup taken before 0026."
        )
    op.drop_index("ix_entry_screenings_waiver_seq", table_name="entry_screenings")
    op.drop_index("ix_entry_screenings_regime_class_seq", table_name="entry_screenings")
    op.drop_index("ix_entry_screenings_line_day", table_name="entry_screenings")
    op.drop_table("entry_screenings")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE drawdown_entries DROP COLUMN regimes")
    else:
        op.drop_column("drawdown_entries", "regimes")
    with op.batch_alter_table("waivers") as batch:
        batch.drop_constraint("fk_waivers_regime_id_regimes", type_="foreignkey")
        batch.drop_index("ix_waivers_regime_id")
        batch.drop_column("standing")
        batch.drop_column("regime_id")
    op.drop_table("resource_controls")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("us_content_percent")
        batch.drop_column("origin")
    op.execute("UPDATE resources SET control = 'prohibited' WHERE control = 'approval_required'")
    _widen_control("resources", OLD_CONTROLS, CONTROLS)
    op.execute("DELETE FROM hs_rules WHERE regime_id <> 1")
    op.execute("UPDATE hs_rules SET control = 'prohibited' WHERE control = 'approval_required'")
    with op.batch_alter_table("hs_rules") as batch:
        batch.drop_constraint("fk_hs_rules_regime_id_regimes", type_="foreignkey")
        batch.drop_constraint("uq_hs_rules_regime_id_prefix", type_="unique")
        batch.create_unique_constraint("uq_hs_rules_prefix", ["prefix"])
        batch.drop_column("regime_id")
    _widen_control("hs_rules", OLD_CONTROLS, CONTROLS)
    op.drop_table("regimes")
