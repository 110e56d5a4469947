"""The store keeps every uint256 exactly, commits all or nothing, and is read-only for inspect."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dapp.store import SCHEMA_VERSION, Store, decode_amount, encode_amount

UINT256_MAX = 2**256 - 1
BOUNDARIES = [0, 1, 2**63 - 1, 2**63, 2**64, UINT256_MAX, -1, -(2**63), -(2**63) - 1]


@pytest.mark.parametrize("value", BOUNDARIES)
def test_amounts_survive_sqlite_at_the_int64_boundaries(value: int) -> None:
    store = Store()
    store.connection.execute("CREATE TABLE t (v)")
    store.connection.execute("INSERT INTO t VALUES (?)", (encode_amount(value),))
    (stored,) = store.connection.execute("SELECT v FROM t").fetchone()
    assert decode_amount(stored) == value


@given(st.integers(min_value=-(2**256), max_value=2**256))
def test_amount_encoding_round_trips(value: int) -> None:
    assert decode_amount(encode_amount(value)) == value


def test_amount_columns_are_never_converted_by_sqlite() -> None:
    """A TEXT amount in a typed (NUMERIC) column would become a lossy REAL; ours stay TEXT."""
    store = Store()
    store.connection.execute(
        "INSERT INTO tokens (token_id, supply) VALUES (1, ?)", (encode_amount(UINT256_MAX),)
    )
    kind, text = store.connection.execute("SELECT typeof(supply), supply FROM tokens").fetchone()
    assert (kind, text) == ("text", str(UINT256_MAX))


def test_transaction_rolls_back_every_effect() -> None:
    store = Store()
    before = store.dump()
    with pytest.raises(RuntimeError), store.transaction():
        store.intern_address(b"\x01" * 20)
        raise RuntimeError("boom")
    assert store.dump() == before
    assert store.address_id(b"\x01" * 20) is None  # the id cache forgot the rolled-back row


def test_transaction_commits() -> None:
    store = Store()
    with store.transaction():
        new_id = store.intern_address(b"\x02" * 20)
    assert store.address_id(b"\x02" * 20) == new_id
    assert store.address_of(new_id) == b"\x02" * 20


def test_read_only_store_refuses_writes_inside_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    Store(path).close()
    reader = Store(path, read_only=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.connection.execute("INSERT INTO addresses (address) VALUES (x'01')")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.intern_address(b"\x03" * 20)


def test_schema_is_created_once_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = Store(path)
    with first.transaction():
        first.intern_address(b"\x04" * 20)
    first.close()
    again = Store(path)  # reopening keeps the data
    assert again.address_id(b"\x04" * 20) is not None
    version = again.connection.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(RuntimeError, match="schema version 99"):
        Store(path)
