"""The ledger's pure helpers: canonical JSON, record hashes, verify, export."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.ports import LedgerRecord, NoticeLevel
from bot.storage.ledger_tools import (
    GENESIS_HASH,
    canonical_payload,
    export_records,
    make_record,
    parse_records,
    record_from_json,
    record_hash,
    record_to_json,
    verify_records,
)
from core.types import Leg, Right, Side

NY = ZoneInfo("America/New_York")


def leg() -> Leg:
    return Leg(
        right=Right.PUT,
        side=Side.SELL,
        strike=Decimal("4015"),
        expiry=date(2023, 3, 22),
        bid=Decimal("1.10"),
        ask=Decimal("1.20"),
        delta=-0.1,
        iv=0.185,
    )


def chain(count: int) -> list[LedgerRecord]:
    records: list[LedgerRecord] = []
    for i in range(1, count + 1):
        records.append(
            make_record(
                seq=i,
                event_id=f"ev-{i}",
                kind="condor",
                at=datetime(2023, 3, 22, 10, i, tzinfo=NY).isoformat(),
                payload=canonical_payload({"i": i}),
                prev_hash=records[-1].hash if records else GENESIS_HASH,
            )
        )
    return records


def test_canonical_payload_of_a_domain_dataclass_is_exact_sorted_and_compact():
    assert canonical_payload(leg()) == (
        '{"ask":"1.20","bid":"1.10","delta":-0.1,"expiry":"2023-03-22","iv":0.185,'
        '"right":"P","side":"SELL","strike":"4015"}'
    )


def test_canonical_payload_is_the_same_for_equal_values_in_any_order():
    one = {"b": (1, 2), "a": {"z": NoticeLevel.SILENT, "y": datetime(2023, 3, 22, 9, tzinfo=NY)}}
    two = {"a": {"y": datetime(2023, 3, 22, 9, tzinfo=NY), "z": "silent"}, "b": [1, 2]}
    assert canonical_payload(one) == canonical_payload(two)
    assert (
        canonical_payload(one) == '{"a":{"y":"2023-03-22T09:00:00-04:00","z":"silent"},"b":[1,2]}'
    )


def test_canonical_payload_spells_non_finite_floats_and_sorts_sets():
    payload = {"nan": float("nan"), "up": float("inf"), "down": float("-inf"), "s": {3, 1, 2}}
    assert canonical_payload(payload) == '{"down":"-inf","nan":"nan","s":[1,2,3],"up":"inf"}'


def test_canonical_payload_keeps_unicode_as_text():
    assert canonical_payload({"note": "Δ ≤ 0.10"}) == '{"note":"Δ ≤ 0.10"}'


def test_canonical_payload_rejects_what_json_cannot_hold():
    with pytest.raises(TypeError, match="cannot put object"):
        canonical_payload({"x": object()})


def test_record_hash_is_sha256_of_the_fields_as_a_json_array():
    text = json.dumps([1, "ev", "condor", "at", "{}", GENESIS_HASH], separators=(",", ":"))
    assert record_hash(1, "ev", "condor", "at", "{}", GENESIS_HASH) == (
        hashlib.sha256(text.encode()).hexdigest()
    )


@pytest.mark.parametrize("field", ["seq", "event_id", "kind", "at", "payload", "prev_hash"])
def test_record_hash_changes_with_every_field(field):
    base: dict[str, Any] = {
        "seq": 1,
        "event_id": "e",
        "kind": "k",
        "at": "a",
        "payload": "{}",
        "prev_hash": "0",
    }
    changed = {**base, field: 2 if field == "seq" else "other"}
    assert record_hash(**base) != record_hash(**changed)


def test_verify_records_of_an_empty_ledger_is_ok_at_genesis():
    check = verify_records([])
    assert (check.ok, check.records, check.head, check.broken_seq) == (True, 0, GENESIS_HASH, None)


def test_verify_records_of_a_good_chain_reports_its_head():
    records = chain(5)
    check = verify_records(records)
    assert (check.ok, check.records, check.head) == (True, 5, records[-1].hash)


def test_verify_records_names_an_edited_payload():
    records = chain(5)
    records[2] = replace(records[2], payload='{"i":99}')
    check = verify_records(records)
    assert (check.ok, check.broken_seq, check.records) == (False, 3, 2)
    assert check.problem.startswith("payload hash mismatch")
    assert check.head == records[1].hash


def test_verify_records_names_a_broken_prev_link():
    records = chain(5)
    records[3] = make_record(
        seq=4, event_id="ev-4", kind="condor", at="x", payload="{}", prev_hash="f" * 64
    )
    check = verify_records(records)
    assert (check.ok, check.broken_seq) == (False, 4)
    assert check.problem.startswith("prev link mismatch")


def test_verify_records_names_a_seq_gap():
    records = chain(5)
    del records[1]
    check = verify_records(records)
    assert (check.ok, check.broken_seq) == (False, 3)
    assert check.problem == "seq gap: expected seq 2, found 3"


def test_verify_records_names_a_repeated_event():
    records = chain(2)
    records.append(
        make_record(
            seq=3, event_id="ev-1", kind="condor", at="x", payload="{}", prev_hash=records[1].hash
        )
    )
    check = verify_records(records)
    assert (check.ok, check.broken_seq) == (False, 3)
    assert "already recorded at seq 1" in check.problem


def test_exported_records_verify_on_their_own_after_a_json_round_trip():
    records = chain(4)
    rows = json.loads(json.dumps(export_records(records)))
    assert rows[0] == {
        "seq": 1,
        "event_id": "ev-1",
        "kind": "condor",
        "at": records[0].at,
        "payload": '{"i":1}',
        "prev_hash": GENESIS_HASH,
        "hash": records[0].hash,
    }
    assert parse_records(rows) == records
    assert verify_records(parse_records(rows)).ok


def test_record_json_round_trips():
    record = chain(1)[0]
    assert record_from_json(record_to_json(record)) == record


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"seq": 1}, "lacks event_id"),
        (
            {
                "seq": "1",
                "event_id": "e",
                "kind": "k",
                "at": "a",
                "payload": "",
                "prev_hash": "",
                "hash": "",
            },
            "seq must be an integer",
        ),
        (
            {
                "seq": 1,
                "event_id": 5,
                "kind": "k",
                "at": "a",
                "payload": "",
                "prev_hash": "",
                "hash": "",
            },
            "event_id must be text",
        ),
    ],
)
def test_parse_records_rejects_malformed_rows(row, message):
    with pytest.raises(ValueError, match=message):
        parse_records([row])
