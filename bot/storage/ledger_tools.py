"""Pure helpers for the hash-chained ledger: canonical JSON, record hashes, verify, export.

The chain: record `n` holds `prev_hash` = `hash` of record `n - 1` (64 zeros for the first) and
its own `hash` = SHA-256 over the canonical JSON array
`[seq, event_id, kind, at, payload, prev_hash]`. Changing any field of any record, dropping one or
reordering them breaks either that record's hash or the next record's link, and `verify_records`
names the first record where that shows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.ports import LedgerCheck, LedgerRecord

#: `prev_hash` of the first record.
GENESIS_HASH = "0" * 64

_RECORD_FIELDS = ("seq", "event_id", "kind", "at", "payload", "prev_hash", "hash")


def _plain(obj: Any) -> Any:  # noqa: C901 - one branch per JSON-able shape
    if isinstance(obj, Enum):
        return _plain(obj.value)
    if obj is None or isinstance(obj, bool | str | int):
        return obj
    if isinstance(obj, float):
        # JSON has no NaN or infinities; spell them so the payload stays strict, lossless JSON.
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, Decimal):
        return str(obj)  # exact, at the tick the event carries
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {_key(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return sorted((_plain(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    item = getattr(obj, "item", None)  # numpy scalars, without importing numpy
    if callable(item) and type(obj).__module__ == "numpy":
        return _plain(item())
    raise TypeError(f"cannot put {type(obj).__name__} into a ledger payload: {obj!r}")


def _key(key: Any) -> str:
    plain = _plain(key)
    return plain if isinstance(plain, str) else json.dumps(plain)


def canonical_payload(obj: Any) -> str:
    """Return `obj` as canonical JSON: sorted keys, no spaces, UTF-8 text.

    Dataclasses become objects of their fields, enums their values, `Decimal` an exact string,
    dates and times ISO 8601, tuples and lists arrays, sets sorted arrays, NaN and infinities
    the strings "nan", "inf", "-inf". The same event always gives the same text, so its hash is
    reproducible.

    Raises:
        TypeError: If `obj` holds something with no JSON shape.
    """
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(seq: int, event_id: str, kind: str, at: str, payload: str, prev_hash: str) -> str:
    """Return the SHA-256 (hex) of one record's fields, in chain order."""
    text = json.dumps(
        [seq, event_id, kind, at, payload, prev_hash], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_record(
    *, seq: int, event_id: str, kind: str, at: str, payload: str, prev_hash: str
) -> LedgerRecord:
    """Return a new record with its hash computed."""
    return LedgerRecord(
        seq=seq,
        event_id=event_id,
        kind=kind,
        at=at,
        payload=payload,
        prev_hash=prev_hash,
        hash=record_hash(seq, event_id, kind, at, payload, prev_hash),
    )


def record_to_json(record: LedgerRecord) -> str:
    """Return one record as canonical JSON (how the Redis ledger stores it)."""
    return json.dumps(export_records([record])[0], sort_keys=True, separators=(",", ":"))


def record_from_json(text: str) -> LedgerRecord:
    """Parse one record stored by `record_to_json`.

    Raises:
        ValueError: If the text is not a record.
    """
    return parse_records([json.loads(text)])[0]


def verify_records(records: Iterable[LedgerRecord]) -> LedgerCheck:
    """Walk the chain and return ok, or the first broken record and what is wrong with it.

    Checked per record, in order: its seq follows the one before (a gap or repeat means records
    were dropped or reordered), its event id was not recorded before, its `prev_hash` equals the
    `hash` of the record before, and its `hash` matches its contents (a mismatch means the
    record was edited after it was written).
    """
    head = GENESIS_HASH
    seen: dict[str, int] = {}
    count = 0
    for count, record in enumerate(records, start=1):
        problem = _problem(record, count, head, seen)
        if problem:
            return LedgerCheck(
                ok=False, records=count - 1, head=head, broken_seq=record.seq, problem=problem
            )
        seen[record.event_id] = record.seq
        head = record.hash
    return LedgerCheck(ok=True, records=count, head=head)


def _problem(record: LedgerRecord, expected_seq: int, prev: str, seen: Mapping[str, int]) -> str:
    if record.seq != expected_seq:
        return f"seq gap: expected seq {expected_seq}, found {record.seq}"
    if record.event_id in seen:
        return f"event {record.event_id!r} already recorded at seq {seen[record.event_id]}"
    if record.prev_hash != prev:
        return (
            f"prev link mismatch: prev_hash {record.prev_hash[:12]}... but record"
            f" {expected_seq - 1} hashes to {prev[:12]}..."
        )
    computed = record_hash(
        record.seq, record.event_id, record.kind, record.at, record.payload, record.prev_hash
    )
    if computed != record.hash:
        return (
            f"payload hash mismatch: stored hash {record.hash[:12]}... but the contents hash to"
            f" {computed[:12]}... (the record was changed after it was written)"
        )
    return ""


def export_records(records: Iterable[LedgerRecord]) -> list[dict[str, Any]]:
    """Return the records as plain dicts (every field, payload as its canonical text).

    The payload stays text, not a parsed object, so an exported file can be verified on its
    own: `verify_records(parse_records(rows))`.
    """
    return [{name: getattr(record, name) for name in _RECORD_FIELDS} for record in records]


def parse_records(rows: Sequence[Mapping[str, Any]]) -> list[LedgerRecord]:
    """Return records from dicts as `export_records` writes them.

    Raises:
        ValueError: If a row misses a field or has one of the wrong type.
    """
    records = []
    for index, row in enumerate(rows):
        missing = [name for name in _RECORD_FIELDS if name not in row]
        if missing:
            raise ValueError(f"ledger row {index} lacks {', '.join(missing)}: {dict(row)!r}")
        seq = row["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError(f"ledger row {index}: seq must be an integer, was {seq!r}")
        texts = {name: row[name] for name in _RECORD_FIELDS if name != "seq"}
        wrong = [name for name, value in texts.items() if not isinstance(value, str)]
        if wrong:
            raise ValueError(f"ledger row {index}: {', '.join(wrong)} must be text: {dict(row)!r}")
        records.append(LedgerRecord(seq=seq, **texts))
    return records
