"""Map the monitor's watchlist snapshot (one dict per symbol, as the app has it) to the
raw rows ``watchlist.ingest_raw`` takes.

Per symbol dict:
  - keys that are columns of ``watch_signal_raw`` (``COLUMNS``, the list in
    sql/functions/watchlist_data.raw_field_kind.sql) stay top-level;
  - the cross-exchange details (``pairs_top``, ``funding_diff_top``, ``exchanges``,
    ``matrix``, ``notes``) go to ``meta``; ``exchanges`` keeps only the entries with a
    quote (a ``price_bid``, ``price_ask`` or ``funding_rate``), as the seed plan says;
  - ``factors`` / ``extra_factors`` (dicts) and any other unknown numeric key go to
    ``meta.factors`` (the long tail); any other unknown key goes to ``meta`` under its name;
  - a ``meta`` dict given by the caller is kept and the above merged into it;
  - ``ts`` defaults to the snapshot time ``at`` when the dict has none.

Values are made JSON-ready here and validated in SQL (watchlist_data.raw_row_problems),
except what JSON or jsonb cannot carry at all:
  - ``None`` values are dropped at the top level (a missing column is NULL anyway), in
    the ``exchanges`` entries and in the factors; deeper inside meta they stay JSON null;
  - NaN / +-inf become the strings "NaN" / "Infinity" / "-Infinity": in a column SQL
    rejects the row with "not a finite number"; inside ``meta`` they are kept as strings
    (meta is not validated; a NaN factor is information);
  - datetimes become ISO 8601 strings; a naive datetime gets no invented zone, so SQL
    rejects it as naive; Decimals become floats, numpy scalars their Python value;
  - a string with a NUL byte or a lone surrogate (jsonb refuses the whole payload), a
    value JSON cannot represent (a set, an object), an integer beyond double precision's
    range (no column or factor can hold it), a value nested deeper than MAX_DEPTH levels,
    or a row that cannot be read at all (a mapping whose methods raise) rejects the row
    here: ``Reject(row, field, reason)``, the row is never sent, and the other rows of the
    snapshot are not affected.
"""

from __future__ import annotations

import json
import math

try:  # optional speed-up of encode(); the standard library path gives the same meaning
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None
import numbers
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

# The columns of watchlist_data.watch_signal_raw the writer API accepts (raw_field_kind).
COLUMNS = frozenset(
    {
        "ts",
        "next_funding_time",
        "exchange",
        "symbol",
        "signal_type",
        "type_class",
        "status",
        "triggered",
        "crossings_1h",
        "meta",
        "spot_price",
        "futures_price",
        "spread_rel",
        "funding_rate",
        "funding_interval_hours",
        "range_1h",
        "range_12h",
        "volatility",
        "slope_3m",
        "drift_ratio",
        "best_buy_high_sell_low",
        "best_sell_high_buy_low",
        "volume_quote",
        "sweep_impact",
        "book_imbalance",
        "bid_ask_spread",
        "spread_zscore_1h",
        "spread_zscore_12h",
        "spread_momentum_15m",
        "funding_zscore_7d",
        "funding_trend_3d",
        "funding_vol_7d",
        "funding_diff_max",
        "funding_term_slope",
        "rv_1h",
        "rv_12h",
        "hv_ratio",
        "premium_index_diff",
        "oi_jump_around_funding",
    }
)
META_KEYS = frozenset({"pairs_top", "funding_diff_top", "exchanges", "matrix", "notes"})
FACTOR_KEYS = ("factors", "extra_factors")
# The deepest nesting a row may have (the row object is level 1, meta level 2, ...). The
# monitor's deepest value, a cross-exchange matrix cell, is at level 5; PostgreSQL's JSON
# parser recurses per level, and the embedded engine's stack is small.
MAX_DEPTH = 64
_FLOAT_MAX = sys.float_info.max
_SHOWN_PATH = 120  # a reason names at most this much of a value's path


@dataclass(frozen=True)
class Reject:
    row: int  # index in the submitted snapshot (or in the batch, for SQL rejects)
    field: str
    reason: str
    key: tuple | None = None  # (exchange, symbol, ts) when the row has them


class _Bad(Exception):
    def __init__(self, path: str, reason: str):
        super().__init__(path, reason)
        self.path, self.reason = path, reason


def _nonfinite(v: float) -> str:
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


def _check_str(s: str, path: str) -> str:
    if "\x00" in s:
        raise _Bad(path, "string contains a NUL byte (\\u0000), which PostgreSQL jsonb refuses")
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad(path, "string is not valid Unicode (lone surrogate), which PostgreSQL jsonb refuses") from None
    return s


def _check_int(v: int, path: str) -> int:
    if -_FLOAT_MAX <= v <= _FLOAT_MAX:
        return v
    digits = v.bit_length() * 0.30103
    raise _Bad(path, f"integer of about {digits:.0f} digits is beyond the range of a double precision number")


def _deeper(path: str, depth: int) -> _Bad:
    return _Bad(path, f"nested deeper than {MAX_DEPTH} levels")


def clean(v: Any, path: str, depth: int = 1) -> Any:
    """A JSON-ready copy of v (see the module doc); raises _Bad for what cannot be sent.
    ``depth`` is v's nesting level (the row itself is 1)."""
    t = type(v)
    if t is str:
        return _check_str(v, path)
    if t is float:
        return v if math.isfinite(v) else _nonfinite(v)
    if t is bool:
        return v
    if t is int:
        return _check_int(v, path)
    if t is dict or isinstance(v, Mapping):
        if depth > MAX_DEPTH:
            raise _deeper(path, depth)
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                if not isinstance(k, (str, int, float, bool)):
                    raise _Bad(path, f"key {k!r} is not a string")
                k = str(k)
            sub = f"{path}.{k}"
            out[_check_str(k, sub)] = clean(x, sub, depth + 1)
        return out
    if t is list or t is tuple:
        if depth > MAX_DEPTH:
            raise _deeper(path, depth)
        return [clean(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]
    if v is None:
        return None
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, str):
        return _check_str(str(v), path)
    if isinstance(v, Decimal):
        return clean(float(v), path, depth)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return _check_int(int(v), path)
    if isinstance(v, numbers.Real):
        try:
            f = float(v)
        except OverflowError:
            raise _Bad(path, "number is beyond the range of a double precision number") from None
        return clean(f, path, depth)
    if type(v).__module__ == "numpy" and hasattr(v, "tolist"):  # numpy scalars and arrays
        return clean(v.tolist(), path, depth)
    raise _Bad(path, f"value of type {type(v).__name__} cannot be represented in JSON")


def _default(v: Any) -> Any:
    """json.dumps fallback for the fast path: the types clean() converts without a question."""
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, Decimal) or (isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral)):
        return float(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if type(v).__module__ == "numpy" and hasattr(v, "tolist"):
        return v.tolist()
    raise TypeError


# A JSON string, or a bare NaN / Infinity / -Infinity token (which json.dumps writes for
# non-finite floats when allow_nan is on): the tokens become strings, the strings stay.
_NONFINITE = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN')


def _quote_nonfinite(m: re.Match) -> str:
    tok = m.group(0)
    return tok if tok[0] == '"' else f'"{tok}"'


def _depth_ok(row: Any) -> bool:
    """Is no container in ``row`` nested deeper than MAX_DEPTH (the row itself is 1)?"""
    stack = [(row, 1)]
    while stack:
        v, d = stack.pop()
        if d > MAX_DEPTH:
            return False
        kids = v.values() if isinstance(v, Mapping) else v
        stack.extend((x, d + 1) for x in kids if isinstance(x, (Mapping, list, tuple)))
    return True


def _shallow(text: str | bytes, row: Any) -> bool:
    """Cheap depth bound on an encoded row: a text with at most MAX_DEPTH opening brackets
    (counted in strings too) cannot nest deeper; otherwise the row itself is walked."""
    n = text.count(b"[" if type(text) is bytes else "[") + text.count(b"{" if type(text) is bytes else "{")
    return n <= MAX_DEPTH or _depth_ok(row)


# Three hundred digits in a row: possibly an integer beyond double precision's range
# (the standard encoder writes any int); clean() then decides.
_LONG_NUMBER = re.compile(r"\d{300}")


def encode(row: Mapping) -> str:
    """Compact JSON text of a shaped row.

    Fastest path: orjson (several times the standard encoder's speed on these rows; figures
    in docs/benchmarks.md), taken only when its
    output cannot differ in meaning from the standard path's: no ``null`` in it (orjson
    writes NaN/inf as null, where this module sends "NaN"/"Infinity" strings; a real None
    deep in meta also sends the row down the standard path) and no NUL escape (refused by
    jsonb; the standard path reports it). orjson refuses integers beyond 64 bits, nesting
    beyond 255 levels, lone surrogates and unknown types: such a row goes to clean(). Then
    the standard C encoder (non-finite floats written as tokens, then quoted; a NUL or a
    lone surrogate shows in its output). Anything else (unknown types, odd keys, huge
    integers, deep nesting) goes through clean(), which converts what it can and raises
    _Bad for the rest. Every path holds the depth bound (MAX_DEPTH)."""
    if _orjson is not None:
        try:
            out = _orjson.dumps(row, default=_default)
        except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
            return _encode_clean(row)
        if b"null" not in out and b"\\u0000" not in out:
            if _shallow(out, row):
                return out.decode()
            return _encode_clean(row)
    try:
        text = json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=_default)
        if (
            "\\u0000" not in text
            and (text.isascii() or _utf8_ok(text))
            and (_orjson is not None or not _LONG_NUMBER.search(text))
            and _shallow(text, row)
        ):
            if "NaN" in text or "Infinity" in text:
                text = _NONFINITE.sub(_quote_nonfinite, text)
            return text
    except (ValueError, TypeError, RecursionError):
        pass
    return _encode_clean(row)


def _encode_clean(row: Mapping) -> str:
    return json.dumps(clean(row, ""), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _is_number(v: Any) -> bool:
    t = type(v)
    if t is float or t is int:
        return True
    return t is not bool and t is not str and isinstance(v, (numbers.Real, Decimal))


def _has_quote(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return True
    return (
        entry.get("price_bid") is not None
        or entry.get("price_ask") is not None
        or entry.get("funding_rate") is not None
    )


def shape(item: Mapping, at: Any = None) -> dict:
    """One per-symbol dict -> one raw row (not yet cleaned): columns top-level, the rest in meta."""
    row: dict = {}
    meta: dict = dict(item.get("meta") or {}) if isinstance(item.get("meta"), Mapping) else {}
    factors: dict = {}
    if isinstance(meta.get("factors"), Mapping):
        factors.update((fk, fv) for fk, fv in meta["factors"].items() if fv is not None)
    for k, v in item.items():
        if v is None or k == "meta":
            continue
        if k in COLUMNS:
            row[k] = v
        elif k == "exchanges" and isinstance(v, (list, tuple)):
            meta[k] = [
                {ek: ev for ek, ev in e.items() if ev is not None} if type(e) is dict else e
                for e in v
                if e is not None and _has_quote(e)
            ]
        elif k in META_KEYS:
            meta[k] = v
        elif k in FACTOR_KEYS and isinstance(v, Mapping):
            factors.update((fk, fv) for fk, fv in v.items() if fv is not None)
        elif _is_number(v):
            factors[k] = v
        else:
            meta[k] = v
    if "meta" in item and not isinstance(item["meta"], Mapping) and item["meta"] is not None:
        row["meta"] = item["meta"]  # not an object: let SQL say so
    else:
        if factors:
            meta["factors"] = factors
        if meta:
            row["meta"] = meta
    if "ts" not in row and at is not None:
        row["ts"] = at
    return row


def row_key(row: Mapping) -> tuple | None:
    if not isinstance(row, Mapping):
        return None
    return (row.get("exchange"), row.get("symbol"), row.get("ts"))


def printable(text: str) -> str:
    """``text`` safe to print and log: lone surrogates, NUL and other control characters
    as backslash escapes (a key of a refused row may hold any of them)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _field_and_reason(path: str, reason: str) -> tuple[str, str]:
    """A value's path -> (its top-level field, the reason with the path when it is deeper)."""
    path = printable(path.lstrip("."))
    field = path.split(".", 1)[0].split("[", 1)[0] or "(row)"
    if path == field:
        return field, reason
    if len(path) > _SHOWN_PATH:
        path = path[: _SHOWN_PATH - 3] + "..."
    return field, f"{path}: {reason}"


def _safe_key(item: Mapping, at: Any) -> tuple | None:
    try:
        ex, sym, ts = row_key(item)
        return tuple(clean(x, "") for x in (ex, sym, at if ts is None else ts))
    except Exception:
        return None


def to_raw_rows(snapshot: Iterable[Any], at: Any = None) -> tuple[list[tuple[int, str]], list[Reject]]:
    """Map a snapshot to raw rows, each as compact JSON text with its index in the
    snapshot; the rows that cannot be sent come back as Rejects instead (one bad row never
    costs the others)."""
    good: list[tuple[int, str]] = []
    rejects: list[Reject] = []
    for i, item in enumerate(snapshot):
        if not isinstance(item, Mapping):
            rejects.append(Reject(i, "(row)", f"a row must be an object, got {type(item).__name__}"))
            continue
        try:
            good.append((i, encode(shape(item, at))))
        except _Bad as bad:
            field, reason = _field_and_reason(bad.path, bad.reason)
            rejects.append(Reject(i, field, reason, _safe_key(item, at)))
        except (RecursionError, MemoryError) as exc:
            rejects.append(Reject(i, "(row)", f"cannot be encoded: {type(exc).__name__}", _safe_key(item, at)))
        except Exception as exc:  # a mapping that cannot be read (its methods raise)
            reason = f"cannot be read: {type(exc).__name__}: {str(exc)[:200]}"
            rejects.append(Reject(i, "(row)", reason, _safe_key(item, at)))
    return good, rejects


# The typed columnar form (watchlist.ingest_raw_columns): each column's SQL array type.
_TEXT_COLUMNS = ("ts", "next_funding_time", "exchange", "symbol", "signal_type", "type_class", "status")
COLUMN_TYPES = {
    **dict.fromkeys(_TEXT_COLUMNS, "text[]"),
    "triggered": "boolean[]",
    "crossings_1h": "integer[]",
    "meta": "jsonb[]",
    **dict.fromkeys(sorted(COLUMNS - set(_TEXT_COLUMNS) - {"triggered", "crossings_1h", "meta"}), "double precision[]"),
}
_INT4 = (-(2**31), 2**31 - 1)


def to_columns(rows: list, dumps: Any = None) -> dict[str, list] | None:
    """Decoded raw rows (dicts as ``encode`` wrote them) as typed columns for
    ``watchlist.ingest_raw_columns``: {column: [value of row 0, row 1, ...]}, only the
    columns some row carries (None where a row has no value; meta wrapped as Jsonb, encoded
    with ``dumps``). None when any row holds a value that is not exactly of its column's type
    (not an object, an unknown field, a string for a number, a bool for a number, a whole
    number outside int4 for crossings_1h, a non-finite float, a meta that is not an object):
    the caller then sends the batch as JSON (watchlist.ingest_raw), and SQL names the row,
    field and reason. Values are never converted except whole numbers to float in the
    double precision columns (as the JSON cast does)."""
    from psycopg.types.json import Jsonb

    n = len(rows)
    cols: dict[str, list] = {}
    for i, row in enumerate(rows):
        if type(row) is not dict:
            return None
        for k, v in row.items():
            if v is None:
                continue
            kind = COLUMN_TYPES.get(k)
            t = type(v)
            if kind == "text[]":
                if t is not str:
                    return None
            elif kind == "double precision[]":
                if t is int:
                    try:
                        v = float(v)
                    except OverflowError:
                        return None
                elif t is not float:
                    return None
                if not math.isfinite(v):
                    return None
            elif kind == "boolean[]":
                if t is not bool:
                    return None
            elif kind == "integer[]":
                if t is not int or not _INT4[0] <= v <= _INT4[1]:
                    return None
            elif kind == "jsonb[]":
                if t is not dict:
                    return None
                v = Jsonb(v, dumps=dumps) if dumps is not None else Jsonb(v)
            else:
                return None
            col = cols.get(k)
            if col is None:
                col = cols[k] = [None] * n
            col[i] = v
    return cols
