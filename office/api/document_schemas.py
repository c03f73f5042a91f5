"""Shapes of the documents' JSON (a document, a record's documents, a withdrawal; the text
fields of an upload's form): what the API accepts and returns there, and so its OpenAPI
schemas.

Only the shape lives here; the rules are the documents' services (office.documents).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from office import inputs
from office.api.review_schemas import Moment
from office.api.schemas import _In
from office.documents.models import DocumentKind, RecordType
from office.documents.services import REASON_MAX, TITLE_MAX

KEY_MAX = 100
KIND_MAX = 40
State = Literal["current", "superseded", "withdrawn"]


class UploadIn(_In):
    """The text fields of a new version's form (beside its `file`): both may be left out,
    for the old version's title and kind."""

    title: Annotated[str, Field(max_length=TITLE_MAX, pattern=inputs.LINE_PATTERN)] = ""
    # Read as written: the service judges it, with the page's message.
    kind: Annotated[
        str,
        Field(max_length=KIND_MAX),
        WithJsonSchema(
            {
                "type": "string",
                "enum": ["", *(kind.value for kind in DocumentKind)],
                "description": "One of the kinds the record takes",
            }
        ),
    ] = ""


class AttachIn(UploadIn):
    """The text fields of an upload's form (beside its `file`): the record it is attached to,
    its title (the file's name when empty) and its kind (one the record takes)."""

    record_type: RecordType
    key: Annotated[str, Field(min_length=1, max_length=KEY_MAX, pattern=inputs.LINE_PATTERN)]


class WithdrawIn(_In):
    reason: Annotated[str, Field(max_length=REASON_MAX, pattern=inputs.MULTILINE_PATTERN)] = ""


class RecordOut(BaseModel):
    """The record documents are attached to."""

    type: RecordType
    key: str = Field(description="How its address names it: an id, a day, a review item's kind-id")
    name: str
    page: str = Field(description="The record's page in the web app")


class DocumentOut(BaseModel):
    """One version of a document attached to a record, as its page shows it."""

    id: int
    record: RecordOut
    title: str
    kind: DocumentKind
    filename: str
    media_type: str = Field(description="Decided from the file's content at upload")
    size: int = Field(description="In bytes")
    sha256: str = Field(description="The file's SHA-256, in hex")
    uploaded_at: Moment
    uploaded_by: str | None
    state: State = Field(
        description="Superseded by a later version, or withdrawn (with when, by whom and why)"
    )
    withdrawn_at: Moment | None
    withdrawn_by: str | None
    withdrawn_reason: str | None
    supersedes: int | None = Field(description="The id of the version before it")
    superseded_by: int | None = Field(description="The id of the version after it")
    url: str = Field(description="Its address in this API")
    file_url: str | None = Field(
        description="The address of its file in this API; null when the caller may not read "
        "it: a withdrawn document is the ministry's reviewers' to read"
    )
    page: str = Field(description="The document's page in the web app")


class DocumentList(BaseModel):
    """A record's documents, as its page lists them: the current ones, newest first, then the
    withdrawn ones; earlier versions are each one's `supersedes`."""

    record: RecordOut
    items: list[DocumentOut]


MODELS: list[type[BaseModel]] = [DocumentOut, DocumentList]
