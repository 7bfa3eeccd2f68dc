"""The one place that builds and parses inline-button `callback_data`.

Telegram accepts at most 64 bytes of `callback_data`; building it here checks that at the
source, so a button that Telegram would refuse fails in a unit test, not in a user's chat.
The format is `namespace:arg:arg...`; parts must not contain `:`.
"""

from __future__ import annotations

from decimal import Decimal

MAX_BYTES = 64
SEP = ":"
# A button that only shows something (a page number): answered quietly by handlers/fallback.py.
NOOP = "noop"


class CallbackDataError(ValueError):
    pass


def pack(namespace: str, *args: str | int) -> str:
    parts = [namespace, *(str(a) for a in args)]
    for part in parts:
        if SEP in part:
            raise CallbackDataError(f"callback part {part!r} contains {SEP!r}")
    data = SEP.join(parts)
    if not namespace or len(data.encode("utf-8")) > MAX_BYTES:
        raise CallbackDataError(f"callback_data {data!r} is empty or over {MAX_BYTES} bytes")
    return data


def unpack(data: str | None) -> tuple[str, list[str]]:
    """Split into (namespace, args); an empty or foreign string gives ("", [])."""
    if not data:
        return "", []
    namespace, *args = data.split(SEP)
    return namespace, args


def decimal_arg(value: Decimal) -> str:
    """A point value inside callback_data: `8.5`, `30` (scores have at most two decimals)."""
    text = format(value.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def pattern(namespace: str) -> str:
    """Regex for a `CallbackQueryHandler` that takes one namespace."""
    return rf"^{namespace}(?::|$)"
