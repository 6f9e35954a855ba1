"""Kubernetes resource quantities ("250m", "1.5", "256Mi", "1G", "129e6") as plain numbers.

The Kubernetes client has a parser too, but importing it pulls in the whole client; placement and
status must stay importable without it.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([numkMGTPE]i?|Ki)?\s*$")


def parse_quantity(value: str | int | float) -> Decimal:
    """Parse a Kubernetes quantity; raises ``ValueError`` naming the bad value."""
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value))
    suffix = (match.group(2) or "") if match else ""
    if match is None or suffix not in _SUFFIXES:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[suffix]
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from exc


def cpu_millis(value: str | int | float) -> int:
    """CPU quantity in millicores ("250m" -> 250, "2" -> 2000), rounded up like the scheduler."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def memory_bytes(value: str | int | float) -> int:
    """Memory quantity in bytes ("256Mi" -> 268435456)."""
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def format_cpu(millis: int) -> str:
    """Millicores for people: 1500 -> "1.5", 250 -> "250m"."""
    if millis % 1000 == 0:
        return str(millis // 1000)
    if millis > 1000 and millis % 100 == 0:
        return f"{millis / 1000:g}"
    return f"{millis}m"


def format_memory(num_bytes: int) -> str:
    """Bytes for people in binary units: 268435456 -> "256Mi"."""
    for suffix, size in (("Ti", 2 ** 40), ("Gi", 2 ** 30), ("Mi", 2 ** 20), ("Ki", 2 ** 10)):
        if num_bytes >= size:
            amount = num_bytes / size
            return f"{amount:.0f}{suffix}" if amount == int(amount) else f"{amount:.1f}{suffix}"
    return str(num_bytes)
