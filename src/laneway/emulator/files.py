"""A minimal Files API, for what laneway forwards without reading (passthrough):

    POST /v1/files               multipart: `file` and `purpose`; the file object back
    GET  /v1/files               the caller's files, newest first
    GET  /v1/files/{id}/content  the bytes as uploaded

Per caller key, in memory, bounded (the oldest go first). No expiry, no other purposes' rules.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from email.message import MIMEPart
from email.parser import BytesParser
from email.policy import default
from typing import Any

from laneway.ids import new_id
from laneway.wire.errors import ApiError, invalid_request

MAX_FILES = 1000
_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    owner: str  # the caller's key id
    filename: str
    purpose: str
    created_at: int
    content: bytes

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


class Files:
    def __init__(self) -> None:
        self._files: OrderedDict[str, StoredFile] = OrderedDict()

    def upload(self, owner: str, content_type: str, body: bytes, now: float) -> dict[str, Any]:
        fields = _form(content_type, body)
        upload = fields.get("file")
        purpose = fields.get("purpose")
        if upload is None:
            raise invalid_request("Missing required parameter: 'file'.", param="file")
        if purpose is None:
            raise invalid_request("Missing required parameter: 'purpose'.", param="purpose")
        text = _bytes(purpose).decode("utf-8", "replace")
        if text not in _PURPOSES:
            raise invalid_request(f"Invalid value for 'purpose': '{text}'.", param="purpose")
        stored = StoredFile(
            new_id("file"),
            owner,
            upload.get_filename() or "upload",
            text,
            int(now),
            _bytes(upload),
        )
        self._files[stored.id] = stored
        while len(self._files) > MAX_FILES:
            self._files.popitem(last=False)
        return stored.json()

    def listing(self, owner: str) -> dict[str, Any]:
        data = [f.json() for f in reversed(self._files.values()) if f.owner == owner]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return {"object": "list", "data": data, "first_id": first, "last_id": last}

    def content(self, owner: str, file_id: str) -> bytes:
        found = self._files.get(file_id)
        if found is None or found.owner != owner:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return found.content


def _form(content_type: str, body: bytes) -> dict[str, MIMEPart]:
    """The parts of a multipart/form-data body by field name."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise invalid_request("The request must be multipart/form-data.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=default).parsebytes(head + body)
    fields: dict[str, MIMEPart] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = part
    return fields


def _bytes(part: MIMEPart) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""
