"""The documents' part of the OpenAPI document (office.api.documents): its paths and its
schemas, which `openapi_document()` merges into the whole."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from office import inputs
from office.api import document_schemas
from office.documents.content import MEDIA_TYPES
from office.documents.models import RecordType

_REF = "#/components/schemas/{model}"
_FILE_PART = {
    "type": "string",
    "format": "binary",
    "description": "The file: a PDF, a JPEG, PNG or HEIC image, a Word, Excel or PowerPoint "
    "document or a CSV file (UTF-8), as large as the office's setting allows (25 MB unless "
    "set otherwise). Its content decides its type; its name must say the same.",
}
# The multipart forms' schemas, named as their text fields' models are, with the file added.
_FORMS = {"AttachIn": "AttachForm", "UploadIn": "SupersedeForm"}


def document_components() -> dict[str, Any]:
    """The schemas the documents' operations accept and return, by name."""
    models: list[Any] = [
        (document_schemas.AttachIn, "validation"),
        (document_schemas.UploadIn, "validation"),
        (document_schemas.WithdrawIn, "validation"),
    ]
    models += [(model, "serialization") for model in document_schemas.MODELS]
    _keys, definitions = models_json_schema(models, ref_template=_REF)
    components = dict(definitions["$defs"])
    for fields, form in _FORMS.items():
        schema = components.pop(fields)
        components[form] = {
            **schema,
            "title": form,
            "properties": {**schema["properties"], "file": _FILE_PART},
            "required": [*schema.get("required", []), "file"],
        }
    return components


def _form(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"$ref": _REF.format(model=name)}}},
    }


def document_paths() -> dict[str, Any]:
    """The documents' paths: a record's documents, a document, its file, and the changes."""
    # Here, not above: office.api.openapi imports this module.
    from office.api.openapi import _ERRORS, _WRITE_ERRORS, _body, _id_param, _json, _problem

    document_id = [_id_param("document_id")]
    not_there = _problem("No such document, or one of a record the caller may not see")
    may_not_change = _problem("The caller sees the record but may not change its documents")
    reads = {"400": _ERRORS["400"], "401": _ERRORS["401"]}
    uploads = {
        "401": _ERRORS["401"],
        "403": may_not_change,
        "413": _problem("The request is far larger than the largest file the office keeps"),
        "415": _problem("The body is not a multipart/form-data form"),
        "422": _problem(
            "Invalid fields, or a file the office does not keep (empty, too large, not what its "
            "name says, a kind it does not keep); `errors` maps each field to its messages"
        ),
    }
    return {
        "/documents": {
            "get": {
                "operationId": "listDocuments",
                "summary": "A record's documents, as its page lists them: the current ones, "
                "newest first, then the withdrawn ones",
                "description": (
                    "Who may see the record sees its documents. Earlier versions are each "
                    "document's `supersedes`, read with GET /documents/{document_id}."
                ),
                "parameters": [
                    {
                        "name": "record_type",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "enum": [t.value for t in RecordType]},
                        "description": "The kind of record",
                    },
                    {
                        "name": "key",
                        "in": "query",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "maxLength": document_schemas.KEY_MAX,
                            "pattern": inputs.LINE_PATTERN,
                        },
                        "description": (
                            "How its page's address names it: a waiver's, a delivery's, a "
                            "manifest line's or a work order's id; a daily log's day "
                            "(YYYY-MM-DD); a review item's kind and record, such as "
                            "`override-12`"
                        ),
                    },
                ],
                "responses": {
                    "200": _json("DocumentList", "The record and its documents"),
                    "404": _problem("No such record, or one the caller may not see"),
                    "422": _problem("A parameter missing"),
                    **reads,
                },
            },
            "post": {
                "operationId": "attachDocument",
                "summary": "Attach a file to a record, as its page's upload does (who may "
                "change the record)",
                "description": (
                    "A multipart/form-data form, as a browser sends it: `record_type`, `key`, "
                    "`title` (the file's name when empty), `kind` (one the record takes) and "
                    "`file`. The file is refused, and nothing stored, as on the page. A day "
                    "without its log, or a review thread nobody took up, gets one."
                ),
                "requestBody": _form("AttachForm"),
                "responses": {
                    "201": _json("DocumentOut", "Attached"),
                    "404": _problem("No such record, or one the caller may not see"),
                    **uploads,
                },
            },
        },
        "/documents/{document_id}": {
            "get": {
                "operationId": "getDocument",
                "summary": "A document: its record, its file's facts and SHA-256, its state",
                "parameters": document_id,
                "responses": {
                    "200": _json("DocumentOut", "The document"),
                    "404": not_there,
                    **reads,
                },
            }
        },
        "/documents/{document_id}/file": {
            "get": {
                "operationId": "getDocumentFile",
                "summary": "The document's file, byte for byte, as its page sends it",
                "description": (
                    "An attachment (Content-Disposition), in the content type decided at "
                    "upload, with `X-Content-Type-Options: nosniff` and the file's SHA-256 "
                    "in `Repr-Digest`."
                ),
                "parameters": document_id,
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {
                            media: {"schema": {"type": "string", "format": "binary"}}
                            for media in MEDIA_TYPES.values()
                        },
                    },
                    "403": _problem("Withdrawn: only the ministry's reviewers may still read it"),
                    "404": not_there,
                    **reads,
                },
            }
        },
        "/documents/{document_id}/supersede": {
            "post": {
                "operationId": "supersedeDocument",
                "summary": "Attach a newer version of a current document (who may change its "
                "record)",
                "description": (
                    "A multipart/form-data form: `file`, and `title` and `kind` if they "
                    "change (the old version's otherwise). The old version stays, superseded."
                ),
                "parameters": document_id,
                "requestBody": _form("SupersedeForm"),
                "responses": {
                    "201": _json("DocumentOut", "The new version"),
                    "404": not_there,
                    "409": _problem("Already superseded or withdrawn"),
                    **uploads,
                },
            }
        },
        "/documents/{document_id}/withdraw": {
            "post": {
                "operationId": "withdrawDocument",
                "summary": "Withdraw a current document with a reason (who may change its record)",
                "description": (
                    "The ministry's reviewers can still read it; others see that it was "
                    "withdrawn, and why."
                ),
                "parameters": document_id,
                "requestBody": _body("WithdrawIn"),
                "responses": {
                    "200": _json("DocumentOut", "The document, withdrawn"),
                    "403": may_not_change,
                    "404": not_there,
                    "409": _problem("Already superseded or withdrawn"),
                    **{k: v for k, v in _WRITE_ERRORS.items() if k != "403"},
                },
            }
        },
    }
