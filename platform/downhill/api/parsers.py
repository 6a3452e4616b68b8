"""Request bodies as the API reads them: DRF's parsers, refusing text no database column can hold.

The views hand request bodies to the services as they are, past the DRF serializer fields that
would otherwise refuse NUL and surrogate characters; PostgreSQL rejects a NUL in any text, and
no database can store a lone surrogate (a JSON "\\ud800"), so either became a 500 on write.
Here they become a 400 naming the field, for every body of every view that uses these parsers;
so does a JSON body nested past the decoder's depth (a RecursionError, which DRF let through).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import QueryDict
from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from .streamed_form import FormError, read_form


def refuse_unstorable_text(value, field: str = "non_field_errors") -> None:
    """Raise a ValidationError naming the field (`rows[0].x`) of the first string, key or
    value, in `value` that holds a NUL or a lone surrogate. Iterative: a body nested as deep
    as the JSON decoder allows must not exhaust the stack here."""
    pending = [(field, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                raise ValidationError({where: [problem]})
        elif isinstance(item, QueryDict):  # a form: each field may hold several values
            pending.extend((_join(where, key), v) for key, vs in item.lists() for v in vs)
            pending.extend((where, key) for key in item)
        elif isinstance(item, Mapping):
            pending.extend((_join(where, str(key)), v) for key, v in item.items())
            pending.extend((where, key) for key in item)
        elif isinstance(item, list):
            pending.extend((f"{where}[{i}]", v) for i, v in enumerate(item))


def _join(where: str, key: str) -> str:
    return key if where == "non_field_errors" else f"{where}.{key}"


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as from a JSON "\\ud800"
        return "must be valid Unicode text; it holds a lone surrogate."
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        refuse_unstorable_text(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_unstorable_text(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        streamed = getattr((parser_context or {}).get("view"), "streamed", None)
        if streamed is not None and streamed.will_take():
            parsed = _streamed_form(stream, media_type, streamed)
        else:
            parsed = super().parse(stream, media_type, parser_context)
        refuse_unstorable_text(parsed.data)  # the text fields; files are the services' to read
        return parsed


def _streamed_form(stream, media_type: str, streamed) -> parsers.DataAndFiles:
    """A large upload's form, its file stored (and read) as it arrives (streamed_form.py)."""
    _, params = parse_header_parameters(media_type)
    boundary = params.get("boundary", "")
    if not boundary:
        raise ParseError("Multipart form parse error - no boundary in the Content-Type")

    def take_file(file_name: str):
        streamed.start(file_name)
        return streamed

    try:
        data, files = read_form(stream, boundary.encode("latin-1"), take_file)
    except FormError as exc:
        raise ParseError(f"Multipart form parse error - {exc}") from exc
    return parsers.DataAndFiles(data, files)
