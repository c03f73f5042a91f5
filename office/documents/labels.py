"""On-screen names of the documents' vocabulary, in Korean and English."""

from __future__ import annotations

from office.documents.models import DocumentKind, RecordType
from office.i18n import _l, register_labels

KIND_LABELS = {
    DocumentKind.EXEMPTION_LETTER: _l("exemption letter"),
    DocumentKind.APPROVAL: _l("approval or licence"),
    DocumentKind.AMENDMENT: _l("amendment or amendment request"),
    DocumentKind.CORRESPONDENCE: _l("correspondence"),
    DocumentKind.CARRY_OUT_APPROVAL: _l("carry-out approval"),
    DocumentKind.CUSTOMS_DECLARATION: _l("customs declaration"),
    DocumentKind.PACKING_LIST: _l("packing list"),
    DocumentKind.INVOICE: _l("invoice"),
    DocumentKind.CERTIFICATE: _l("certificate (origin, conformity)"),
    DocumentKind.QUOTE: _l("quote"),
    DocumentKind.DIP_PHOTO: _l("dip photo"),
    DocumentKind.METER_PHOTO: _l("meter photo"),
    DocumentKind.PHOTO: _l("photo"),
    DocumentKind.REPORT: _l("report"),
    DocumentKind.OTHER: _l("other"),
}
RECORD_LABELS = {
    RecordType.WAIVER: _l("waiver"),
    RecordType.DELIVERY: _l("delivery"),
    RecordType.DELIVERY_LINE: _l("manifest line"),
    RecordType.WORK_ORDER: _l("work order"),
    RecordType.DAILY_LOG: _l("daily log"),
    RecordType.REVIEW_ITEM: _l("review thread"),
}

register_labels({DocumentKind: KIND_LABELS, RecordType: RECORD_LABELS})
