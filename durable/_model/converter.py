"""The one converter between Python values and JSON: payloads and history events.

Payloads (inputs, outputs, event data) are unstructured into JSON values at
the call site, so a value that cannot become JSON fails where it was passed,
with a message naming its type and where inside it the problem sits. They are
structured back into the annotated type of the parameter that receives them.
History events are tagged with their class name under ``"type"``; fields left
at their default are omitted. Never pickle.
"""

from __future__ import annotations

import functools
import json
import json.scanner
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from durable._model.collector import LONG_READ, collector_paused
from durable._model.events import EVENT_TYPES, HistoryEvent, JSONValue
from durable.errors import PayloadError

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_DECODER = json.JSONDecoder()
# The decoder's own scanner: one C call per stored event (typeshed types its argument oddly).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]

__all__ = ["PayloadConverter", "default_converter"]

_SCALARS = (str, int, float, bool, type(None))
_SURROGATE = re.compile("[\ud800-\udfff]")


class PayloadConverter:
    """Converts payloads and history events to and from JSON values and text."""

    def __init__(self, converter: cattrs.Converter | None = None) -> None:
        self._converter = converter or make_converter()
        self._converter.register_structure_hook(datetime, _structure_datetime)
        self._converter.register_unstructure_hook(datetime, _unstructure_datetime)
        self._event_unstructure = {
            klass: make_dict_unstructure_fn(
                klass, self._converter, _cattrs_omit_if_default=True, timestamp=override()
            )
            for klass in EVENT_TYPES.values()
        }
        self._event_structure = {
            klass: self._converter.get_structure_hook(klass) for klass in EVENT_TYPES.values()
        }

    @property
    def cattrs(self) -> cattrs.Converter:
        """The underlying cattrs converter, for registering hooks of your own types."""
        return self._converter

    def to_json(self, value: Any, *, what: str) -> JSONValue:
        """Unstructure `value` into a JSON value, or fail naming `what` and the type.

        Args:
            value: any value the converter knows: JSON types, datetimes, enums,
                attrs classes, dataclasses, and their compositions.
            what: where the value was given, for the error message
                (e.g. ``"input of activity 'charge'"``).

        Raises:
            PayloadError: the value, or something inside it, cannot become JSON.
        """
        if isinstance(value, _SCALARS):
            if isinstance(value, str):
                _check_text(value, what, "$")
            elif isinstance(value, float) and not math.isfinite(value):
                _check_json(value, what, "float")  # raises, naming NaN or Infinity
            return value
        try:
            plain = self._converter.unstructure(value)
        except Exception as error:
            raise PayloadError(
                f"{what}: cannot convert a value of type {type(value).__name__} to JSON: {error}"
            ) from error
        _check_json(plain, what, type(value).__name__)
        return plain

    def from_json(self, value: JSONValue, annotation: Any, *, what: str) -> Any:
        """Structure a JSON value into `annotation`, or fail naming `what` and the path."""
        if annotation is Any or annotation is None or annotation is type(None):
            return value
        try:
            return self._converter.structure(value, annotation)
        except Exception as error:
            detail = "; ".join(cattrs.transform_error(error)) if _is_cattrs(error) else str(error)
            raise PayloadError(
                f"{what}: cannot structure {_describe(value)} as {_type_name(annotation)}: {detail}"
            ) from error

    def event_to_json(self, event: HistoryEvent) -> dict[str, JSONValue]:
        """The JSON form of a history event, tagged with its type."""
        body: dict[str, JSONValue] = {"type": type(event).__name__}
        body.update(self._event_unstructure[type(event)](event))
        return body

    def event_from_json(self, data: dict[str, JSONValue]) -> HistoryEvent:
        """The history event a JSON form describes; fails naming the type tag."""
        if not isinstance(data, dict):
            raise PayloadError(f"unknown history event type {None!r}")
        return self._event_from_fields(dict(data))

    def _event_from_fields(self, fields: dict[str, JSONValue]) -> HistoryEvent:
        """`event_from_json` of a dict the caller gives up (its type tag is popped)."""
        tag = fields.pop("type", None)
        klass = EVENT_TYPES.get(tag) if isinstance(tag, str) else None
        if klass is None:
            raise PayloadError(f"unknown history event type {tag!r}")
        try:
            return self._event_structure[klass](fields, klass)  # type: ignore[no-any-return]
        except Exception as error:
            detail = "; ".join(cattrs.transform_error(error)) if _is_cattrs(error) else str(error)
            raise PayloadError(f"invalid {tag} event: {detail}") from error

    def dumps(self, value: JSONValue) -> str:
        """JSON text of a JSON value: compact, key order kept, no NaN."""
        if value is None:  # most outputs and custom statuses: no encoder call
            return "null"
        return _ENCODER.encode(value)

    def loads(self, text: str) -> JSONValue:
        """The JSON value of JSON text."""
        if text == "null":
            return None
        return json.loads(text)

    def dump_event(self, event: HistoryEvent) -> str:
        """JSON text of a history event."""
        return self.dumps(self.event_to_json(event))

    def load_event(self, text: str) -> HistoryEvent:
        """The history event of JSON text (as `dump_event` writes it: compact, one object)."""
        try:
            data, end = _DECODER.raw_decode(text)
        except (json.JSONDecodeError, TypeError):
            data, end = None, -1
        if end != len(text):  # not what dump_event writes: let json.loads say what is wrong
            data = json.loads(text)
        if not isinstance(data, dict):
            raise PayloadError(f"unknown history event type {None!r}")
        return self._event_from_fields(data)

    def load_events(self, texts: Iterable[str]) -> list[HistoryEvent]:
        """`load_event` of each text, with less work per event: a stored history is long.

        Texts as `dump_event` writes them go the short way; any other text goes
        through `load_event`, which parses it or says what is wrong with it. A
        long history is read with the garbage collector paused (see
        `durable._model.collector`).
        """
        texts = texts if isinstance(texts, Sequence) else list(texts)
        if len(texts) < LONG_READ:
            return self._load_events(texts)
        with collector_paused():
            return self._load_events(texts)

    def _load_events(self, texts: Sequence[str]) -> list[HistoryEvent]:
        structure = self._event_structure
        events: list[HistoryEvent] = []
        for text in texts:
            try:
                data, end = _SCAN(text, 0)
                if end == len(text):
                    klass = EVENT_TYPES[data.pop("type")]
                    events.append(structure[klass](data, klass))
                    continue
            except Exception:  # not a stored event as written: the long way says why
                pass
            events.append(self.load_event(text))
        return events


def _check_json(value: Any, what: str, root_type: str) -> None:
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _check_text(item, what, path)
            continue
        if isinstance(item, _SCALARS):
            if isinstance(item, float) and not math.isfinite(item):
                name = "NaN" if item != item else ("Infinity" if item > 0 else "-Infinity")
                raise PayloadError(f"{what}: {name} at {path} is not valid JSON")
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise PayloadError(
                        f"{what}: a dict key of type {type(key).__name__} at {path} "
                        "cannot become JSON (keys must be str)"
                    )
                _check_text(key, what, f"{path} (the key {key!r})")
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
        else:
            where = "" if path == "$" else f" (inside {root_type}, at {path})"
            raise PayloadError(
                f"{what}: cannot convert a value of type {type(item).__name__}{where} to JSON; "
                "use JSON types, datetimes, enums, attrs classes or dataclasses"
            )


def _check_text(text: str, what: str, path: str) -> None:
    """Fail on an unpaired surrogate: stored JSON is UTF-8, which cannot hold one."""
    if not text.isascii():
        surrogate = _SURROGATE.search(text)
        if surrogate is not None:
            raise PayloadError(
                f"{what}: the string at {path} holds the unpaired surrogate "
                f"{surrogate.group()!r}, which UTF-8 JSON cannot hold"
            )


def _structure_datetime(value: Any, _: Any) -> datetime:
    if type(value) is str:  # the stored form: ISO 8601 in UTC, parsed without a detour
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is UTC:
            return parsed
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise ValueError(f"expected an ISO 8601 datetime string, got {_describe(value)}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _unstructure_datetime(value: datetime) -> str:
    return value.isoformat()


def _is_cattrs(error: Exception) -> bool:
    return isinstance(error, cattrs.BaseValidationError | cattrs.StructureHandlerNotFoundError)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


@functools.cache
def default_converter() -> PayloadConverter:
    """The converter used where none is given, built once (building one takes milliseconds).

    Register hooks on a converter of your own (``App(converter=...)``), not on this one.
    """
    return PayloadConverter()
