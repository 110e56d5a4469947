"""The SQLite store: schema, one transaction per input, address interning, lossless amounts.

Everything the application knows lives in one SQLite file opened through the standard `sqlite3`
module. State code never commits on its own: the caller wraps each input in `transaction()`,
which commits every effect or none. A read-only store (for inspect) is opened with
`mode=ro`, so a write fails inside SQLite itself, not by convention.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
SCHEMA_VERSION = 5

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def encode_amount(value: int) -> int | str:
    """An integer as SQLite can hold it without loss: INTEGER if it fits in 64 bits, else TEXT."""
    if _INT64_MIN <= value <= _INT64_MAX:
        return value
    return str(value)


def decode_amount(stored: int | str) -> int:
    """The integer written by `encode_amount`."""
    return stored if isinstance(stored, int) else int(stored)


@dataclass(frozen=True)
class Progress:
    """Where the application stands: its last accepted input, and the application's address."""

    last_input_index: int | None
    last_timestamp: int
    app_contract: bytes | None


class Store:
    """A connection to the state database and the id of every address it has interned."""

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        if read_only:
            uri = f"file:{Path(self.path).resolve()}?mode=ro"
            self.connection = sqlite3.connect(uri, uri=True, isolation_level=None)
        else:
            self.connection = sqlite3.connect(self.path, isolation_level=None)
            # No fsync: inside the Cartesi machine there is no power loss to survive (the node
            # snapshots the whole machine), and an fsync per input costs ten times the input's
            # work. Write-ahead logging: a commit appends the pages it changed once (a rollback
            # journal writes each page twice), a rejected input rolls back, and a crashed
            # process loses only the input it was in; the read-only inspector reads the last
            # commit without blocking or being blocked.
            self.connection.execute("PRAGMA synchronous = OFF")
            self.connection.execute("PRAGMA journal_mode = WAL")
            self._create_schema()
        self._address_ids: dict[bytes, int] = {}

    def _create_schema(self) -> None:
        version = self.connection.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version != 0:
            raise RuntimeError(
                f"{self.path} has schema version {version}; this build reads version "
                f"{SCHEMA_VERSION}. Use a database made by the same release."
            )
        # executescript commits any open transaction first, so the script carries its own
        self.connection.executescript(
            f"BEGIN; {SCHEMA_PATH.read_text()} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything done inside, or roll all of it back if anything raises."""
        self.connection.execute("BEGIN IMMEDIATE" if not self.read_only else "BEGIN")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            # ids handed out inside the rolled-back transaction no longer exist
            self._address_ids.clear()
            raise
        self.connection.execute("COMMIT")

    def address_id(self, address: bytes) -> int | None:
        """The id of an address the store has seen, or None (nothing is written)."""
        cached = self._address_ids.get(address)
        if cached is not None:
            return cached
        row = self.connection.execute(
            "SELECT id FROM addresses WHERE address = ?", (address,)
        ).fetchone()
        if row is None:
            return None
        self._remember(address, row[0])
        return int(row[0])

    def intern_address(self, address: bytes) -> int:
        """The id of an address, adding it to the store on first sight."""
        known = self.address_id(address)
        if known is not None:
            return known
        cursor = self.connection.execute("INSERT INTO addresses (address) VALUES (?)", (address,))
        new_id = cursor.lastrowid
        assert new_id is not None
        self._remember(address, new_id)
        return new_id

    def address_of(self, address_id: int) -> bytes:
        row = self.connection.execute(
            "SELECT address FROM addresses WHERE id = ?", (address_id,)
        ).fetchone()
        if row is None:
            raise KeyError(address_id)
        return bytes(row[0])

    def _remember(self, address: bytes, address_id: int) -> None:
        # a bounded cache: memory must not grow with the number of accounts
        if len(self._address_ids) >= 65536:
            self._address_ids.clear()
        self._address_ids[address] = address_id

    def progress(self) -> Progress:
        index, timestamp, app_contract = self.connection.execute(
            "SELECT last_input_index, last_timestamp, app_contract FROM progress"
        ).fetchone()
        return Progress(index, timestamp, None if app_contract is None else bytes(app_contract))

    def record_input(self, input_index: int, timestamp: int) -> None:
        self.connection.execute(
            "UPDATE progress SET last_input_index = ?, last_timestamp = ?",
            (input_index, timestamp),
        )

    def record_app_contract(self, app_contract: bytes) -> None:
        self.connection.execute("UPDATE progress SET app_contract = ?", (app_contract,))

    def dump(self) -> str:
        """Every row of every table as SQL text: two stores are equal iff their dumps are."""
        return "\n".join(self.connection.iterdump())
