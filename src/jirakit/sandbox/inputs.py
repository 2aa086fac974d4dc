"""Reading request input as Jira does, so hostile input gets Jira's 4xx, never a 500,
and nothing stored can later break a read.

One reader for every JSON body (`read_json`, behind `Ctx.json`):

- ``Content-Type`` must be ``application/json`` (any parameters) when there is a body:
  anything else, ``application/*+json`` included, is Jira's 415 (Jersey matches
  ``@Consumes(APPLICATION_JSON)`` exactly). An empty body is no body, whatever its type.
- Size: at most `MAX_BODY_BYTES`; more is a 413, refused from ``Content-Length`` before
  reading, or as soon as the stream passes the limit (a 50 MB body is never buffered).
- Syntax: strict RFC 8259 through orjson. Like Jackson's defaults in Jira, ``NaN``,
  ``Infinity``, numbers that overflow a double (``1e309``), invalid UTF-8 and lone UTF-16
  surrogates (``"\\ud800"``, which no JSON encoder can write back) are invalid payloads.
- Nesting: at most `MAX_DEPTH` levels. Jackson's default bound (``StreamReadConstraints``)
  is 1000; the sandbox's is lower on purpose: it stores parts of bodies (ADF documents,
  property values, remote link objects) and writes them back with orjson, which refuses
  documents nested beyond 255 levels. No real request comes close to 200.

Value checks shared by several routes live here too: durations (`duration_seconds`),
numbers for number fields (`number_value`), rich text (`adf_problem`) and text sizes.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson
from starlette.requests import Request

from jirakit.adf import AdfValidationError
from jirakit.adf import validate as validate_adf
from jirakit.sandbox.errors import JiraHttpError, bad_request

INVALID_PAYLOAD: Final = (
    "Invalid request payload. Refer to the REST API documentation and try again."
)
MAX_BODY_BYTES: Final = 10 * 1024 * 1024
MAX_DEPTH: Final = 200
#: Jira's limit for a text field or comment ("The entered text is too long. It exceeds the
#: allowed limit of 32,767 characters."). Rich text is measured as its ADF JSON.
MAX_TEXT: Final = 32767
#: Jira Cloud keeps number fields as doubles but refuses magnitudes above 1e14 (the
#: largest value its number fields take; see the openshift.io report quoting Jira).
MAX_NUMBER: Final = 1e14
#: Estimates and time spent are Java ``long`` seconds; the sandbox bounds one value so
#: that sums over thousands of worklogs stay far inside 64 bits.
MAX_DURATION_SECONDS: Final = 2**53

UNSUPPORTED_MEDIA: Final = (
    "Unsupported Media Type: send the body as JSON with 'Content-Type: application/json'."
)
TOO_LARGE: Final = f"The request body is larger than the limit of {MAX_BODY_BYTES} bytes."
TEXT_TOO_LONG: Final = (
    f"The entered text is too long. It exceeds the allowed limit of {MAX_TEXT:,} characters."
)

_JSON_TYPE = re.compile(r"^\s*application/json\s*(?:;.*)?$", re.IGNORECASE)


def is_json_type(content_type: str | None) -> bool:
    return bool(content_type) and _JSON_TYPE.match(content_type or "") is not None


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, at most ``limit`` bytes (413 beyond, without reading the rest)."""
    cached: bytes | None = getattr(request, "_body", None)
    if cached is not None:
        if len(cached) > limit:
            raise JiraHttpError(413, [TOO_LARGE])
        return cached
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise JiraHttpError(413, [TOO_LARGE])
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise JiraHttpError(413, [TOO_LARGE])
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # later reads (``request.body()``) see the same bytes
    return body


async def read_json(request: Request) -> Any:
    """The JSON body (``None`` when there is none), or Jira's 400/413/415."""
    raw = await read_body(request)
    if not raw.strip():
        return None
    if not is_json_type(request.headers.get("content-type")):
        raise JiraHttpError(415, [UNSUPPORTED_MEDIA])
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark: Jackson skips it
        raw = raw[3:]
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request(INVALID_PAYLOAD) from None
    if too_deep(data, MAX_DEPTH):
        raise bad_request(INVALID_PAYLOAD)
    return data


def too_deep(data: Any, limit: int) -> bool:
    """Whether arrays/objects nest more than ``limit`` levels (iteratively)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return False


# -- values ----------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])")
_UNIT = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}


def duration_seconds(text: Any) -> int | None:
    """A time-tracking duration (``1w 2d 3h 30m``; a bare number is minutes; 8-hour days,
    5-day weeks) in seconds, or ``None`` when it is not one or is out of range."""
    text = str(text).strip()
    if text.isdigit():
        secs = int(text) * 60
    else:
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            return None
        secs = int(sum(float(n) * _UNIT[u] for n, u in parts))
    return secs if 0 <= secs <= MAX_DURATION_SECONDS else None


def seconds_value(raw: Any) -> int | None:
    """A seconds count as Jira's JSON binding reads a ``long``: an integer, or a string
    of digits (Jackson coerces ``"600"``); ``None`` for anything else or out of range."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw.strip())
    if isinstance(raw, float) and raw == raw and abs(raw) != float("inf"):
        raw = int(raw)  # Jackson's ACCEPT_FLOAT_AS_INT: 600.5 is read as 600
    if not isinstance(raw, int):
        return None
    return raw if abs(raw) <= MAX_DURATION_SECONDS else None


def number_value(raw: Any) -> float | None:
    """A number field's value (finite, at most `MAX_NUMBER` in magnitude), or ``None``."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    if value != value or abs(value) > MAX_NUMBER:  # NaN, +-inf, too large
        return None
    return value


def adf_problem(doc: Any) -> str | None:
    """Why ``doc`` is not valid ADF (the official schema), or ``None`` when it is."""
    try:
        validate_adf(doc)
    except AdfValidationError as exc:
        return str(exc)
    except RecursionError:
        return "the document nests too deeply"
    return None


def text_too_long(value: Any) -> bool:
    """Rich text (ADF) longer than `MAX_TEXT` as JSON, or a string longer than it."""
    if isinstance(value, str):
        return len(value) > MAX_TEXT
    if value is None:
        return False
    return len(orjson.dumps(value).decode()) > MAX_TEXT


# -- body members, bound as Jira's Jackson binding binds them ------------------------------------
#
# Jackson (Jira's JSON binding) coerces scalars: a number or boolean where a string is
# expected is read as its text (``{"jql": 42}`` is the query ``42``), a string of digits
# where a number is expected is the number (``"600"``), a fraction where an integer is
# expected is truncated. It does not wrap a single value into a list, and an object or
# array where a scalar belongs is an error: those are 400 "Invalid request payload".


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def body_str(body: Any, key: str) -> str | None:
    """``body[key]`` as a string (``None`` when absent or null)."""
    value = body.get(key) if isinstance(body, dict) else None
    if value is None:
        return None
    text = _scalar_text(value)
    if text is None:
        raise bad_request(INVALID_PAYLOAD)
    return text


def body_int(body: Any, key: str, default: int) -> int:
    """``body[key]`` as a Java ``long`` (``default`` when absent or null)."""
    value = body.get(key) if isinstance(body, dict) else None
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise bad_request(INVALID_PAYLOAD)
    return value


def body_str_list(body: Any, key: str) -> list[str]:
    """``body[key]`` as a list of strings (empty when absent or null)."""
    value = body.get(key) if isinstance(body, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(INVALID_PAYLOAD)
    out = []
    for item in value:
        text = _scalar_text(item)
        if text is None:
            raise bad_request(INVALID_PAYLOAD)
        out.append(text)
    return out


def body_int_list(body: Any, key: str) -> list[int]:
    """``body[key]`` as a list of Java ``long`` values (empty when absent or null); a
    null or non-numeric item is a 400."""
    value = body.get(key) if isinstance(body, dict) else None
    if value is None:
        return []
    if not isinstance(value, list) or any(item is None for item in value):
        raise bad_request(INVALID_PAYLOAD)
    return [body_int({"item": item}, "item", 0) for item in value]


def body_dict(body: Any) -> dict[str, Any]:
    """The body as an object (400 otherwise)."""
    if not isinstance(body, dict):
        raise bad_request(INVALID_PAYLOAD)
    return body
