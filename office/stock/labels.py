"""On-screen names of the stock's vocabulary, in Korean and English."""

from __future__ import annotations

from office.i18n import _l, register_labels
from office.stock.models import LotSource

LOT_SOURCE_LABELS = {
    LotSource.OPENING: _l("opening stock"),
    LotSource.FUEL_RECEIPT: _l("fuel receipt"),
    LotSource.DELIVERY: _l("delivery"),
}

register_labels({LotSource: LOT_SOURCE_LABELS})
