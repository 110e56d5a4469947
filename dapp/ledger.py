"""The streamable-token ledger: balances, instant transfers and escrowed streams (PROTOCOL §4.1).

An account's holding of a token is a settled `Position` plus its current rates, as Superfluid's
realtimeBalanceOf; the starts and ends of streams are rows of `rate_changes` keyed by
(account, token, time). Reading a balance at t applies only the rate changes due up to t, and
creating a stream writes a fixed number of rows, so neither scans an account's streams. A stream
escrows its whole amount when created (as Sablier), so a sender can never become insolvent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dapp.addresses import ZERO_ADDRESS, to_checksum_address
from dapp.errors import (
    InsufficientBalance,
    InvalidAmount,
    InvalidRecipient,
    InvalidTime,
    InvalidToken,
    NotStreamSender,
    StreamEnded,
    StreamNotFound,
    Unsupported,
)
from dapp.events import (
    Deposit,
    Event,
    StreamCancelled,
    StreamCreated,
    Transfer,
    Withdrawal,
)
from dapp.store import Store, decode_amount, encode_amount

UINT256_MAX = 2**256 - 1
MAX_TIMESTAMP = 2**63 - 1  # SQLite INTEGER; far beyond any block timestamp


def check_amount(amount: int, what: str = "amount") -> None:
    """Reject anything that is not a positive uint256."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"{what} must be an integer, got {amount!r}")
    if amount <= 0:
        raise InvalidAmount(f"{what} must be positive, got {amount}")
    if amount > UINT256_MAX:
        raise InvalidAmount(f"{what} {amount} does not fit in a uint256")


def streamed_amount(amount: int, start: int, duration: int, at: int) -> int:
    """How much of a stream has reached its receiver at time `at` (PROTOCOL §4.1)."""
    if at < start or (at == start and duration > 0):
        return 0
    if at >= start + duration:
        return amount
    return (amount // duration) * (at - start)


@dataclass
class Position:
    """One account's holding of one token, exact at `updated_at`.

    `available` is spendable; `escrow` is what the account's outgoing streams have not streamed
    yet. Both move with the rates as time passes; balance = available + escrow.
    """

    available: int = 0
    escrow: int = 0
    inflow_rate: int = 0
    outflow_rate: int = 0
    updated_at: int = 0
    # whether the store holds a row for it: a row appears and goes with the token's holders count
    stored: bool = field(default=False, compare=False)

    @property
    def balance(self) -> int:
        return self.available + self.escrow

    def is_empty(self) -> bool:
        return not (self.available or self.escrow or self.inflow_rate or self.outflow_rate)

    def accrue(self, until: int) -> None:
        elapsed = until - self.updated_at
        self.available += self.inflow_rate * elapsed
        self.escrow -= self.outflow_rate * elapsed
        self.updated_at = until


@dataclass(frozen=True)
class RateChange:
    """What happens to an account's rates and balances at `at` (summed over its streams)."""

    at: int
    inflow_rate_delta: int = 0
    outflow_rate_delta: int = 0
    inflow_lump: int = 0
    outflow_lump: int = 0

    def apply_to(self, position: Position) -> None:
        position.accrue(self.at)
        position.inflow_rate += self.inflow_rate_delta
        position.outflow_rate += self.outflow_rate_delta
        position.available += self.inflow_lump
        position.escrow -= self.outflow_lump

    def plus(self, other: RateChange) -> RateChange:
        return RateChange(
            self.at,
            self.inflow_rate_delta + other.inflow_rate_delta,
            self.outflow_rate_delta + other.outflow_rate_delta,
            self.inflow_lump + other.inflow_lump,
            self.outflow_lump + other.outflow_lump,
        )

    def negated(self) -> RateChange:
        return RateChange(
            self.at,
            -self.inflow_rate_delta,
            -self.outflow_rate_delta,
            -self.inflow_lump,
            -self.outflow_lump,
        )

    def is_empty(self) -> bool:
        return not (
            self.inflow_rate_delta
            or self.outflow_rate_delta
            or self.inflow_lump
            or self.outflow_lump
        )


@dataclass(frozen=True)
class Stream:
    id: int
    token: bytes
    sender: bytes
    receiver: bytes
    amount: int
    start: int
    duration: int
    cancelled_at: int | None

    @property
    def rate(self) -> int:
        return self.amount // self.duration if self.duration else 0

    @property
    def remainder(self) -> int:
        return self.amount - self.rate * self.duration

    @property
    def end(self) -> int:
        return self.start + self.duration

    def streamed_at(self, at: int) -> int:
        if self.cancelled_at is not None:
            at = min(at, self.cancelled_at)
        return streamed_amount(self.amount, self.start, self.duration, at)

    def status_at(self, at: int) -> str:
        """pending, active, ended or cancelled (the vocabulary of the /streams route)."""
        if self.cancelled_at is not None and self.cancelled_at <= at:
            return "cancelled"
        if self.streamed_at(at) == self.amount:
            return "ended"
        return "active" if at >= self.start else "pending"

    def rate_changes(self) -> tuple[tuple[RateChange, RateChange], ...]:
        """(sender's, receiver's) changes at the start and at the end of this stream."""
        if self.duration == 0:
            return (
                (
                    RateChange(self.start, outflow_lump=self.amount),
                    RateChange(self.start, inflow_lump=self.amount),
                ),
            )
        rate, remainder = self.rate, self.remainder
        return (
            (
                RateChange(self.start, outflow_rate_delta=rate),
                RateChange(self.start, inflow_rate_delta=rate),
            ),
            (
                RateChange(self.end, outflow_rate_delta=-rate, outflow_lump=remainder),
                RateChange(self.end, inflow_rate_delta=-rate, inflow_lump=remainder),
            ),
        )


class Ledger:
    """Every token balance of every account, and the streams between them.

    Write methods take the input's time `now` (the block timestamp), settle the positions they
    touch to `now`, and append one event per state change to `events`.
    """

    def __init__(self, store: Store, events: list[Event]) -> None:
        self.store = store
        self.events = events
        self._sql = store.connection

    # --- reads (never write, so inspect can use them on a read-only store) ----------------------
    def position(self, account: bytes, token: bytes, at: int) -> Position:
        """The account's holding at time `at` (≥ its last change), computed without writing."""
        account_id = self.store.address_id(account)
        token_id = self.store.address_id(token)
        if account_id is None or token_id is None:
            return Position(updated_at=at)
        return self._load(account_id, token_id, at, settle=False)

    def supply(self, token: bytes) -> int:
        """Deposits − withdrawals of a token (for an LP token: minted − burned)."""
        token_id = self.store.address_id(token)
        if token_id is None:
            return 0
        return self._supply(token_id)

    def stream(self, stream_id: int) -> Stream:
        row = self._sql.execute(
            "SELECT t.address, s.address, r.address, streams.amount, start, duration, cancelled_at"
            " FROM streams"
            " JOIN addresses t ON t.id = token_id"
            " JOIN addresses s ON s.id = sender_id"
            " JOIN addresses r ON r.id = receiver_id"
            " WHERE streams.id = ?",
            (stream_id,),
        ).fetchone()
        if row is None:
            raise StreamNotFound(f"there is no stream with id {stream_id}")
        token, sender, receiver, amount, start, duration, cancelled_at = row
        return Stream(
            stream_id,
            bytes(token),
            bytes(sender),
            bytes(receiver),
            decode_amount(amount),
            start,
            duration,
            cancelled_at,
        )

    def is_pair(self, address: bytes) -> bool:
        return self._listed(address, "SELECT 1 FROM pairs WHERE pair_id = ?")

    def is_order_pool(self, address: bytes) -> bool:
        return self._listed(address, "SELECT 1 FROM order_pools WHERE account_id = ?")

    def _listed(self, address: bytes, query: str) -> bool:
        """Whether `query` finds the address's id (an unknown address is in no table)."""
        address_id = self.store.address_id(address)
        if address_id is None:
            return False
        return self._sql.execute(query, (address_id,)).fetchone() is not None

    # --- statistics kept with the state ---------------------------------------------------------
    def add_volume(self, token: bytes, amount: int) -> None:
        """Count `amount` of `token` as swapped through a pair (in or out)."""
        if not amount:
            return
        token_id = self._id(token)
        row = self._sql.execute("SELECT volume FROM tokens WHERE token_id = ?", (token_id,))
        volume = decode_amount(row.fetchone()[0]) + amount
        self._sql.execute(
            "UPDATE tokens SET volume = ? WHERE token_id = ?", (encode_amount(volume), token_id)
        )

    # --- deposits and withdrawals ---------------------------------------------------------------
    def deposit(self, token: bytes, account: bytes, amount: int, now: int) -> None:
        """Credit a portal deposit: the only way new tokens enter the application."""
        self._issue(token, account, amount, now)
        self.events.append(Deposit(token, account, amount))

    def withdraw(self, token: bytes, account: bytes, amount: int, now: int) -> None:
        """Burn from the account's available balance; the caller emits the voucher."""
        if self.is_pair(token):
            raise InvalidToken(
                f"{to_checksum_address(token)} is a streamdex LP token and exists only inside "
                "the application; remove liquidity to withdraw the pair's tokens"
            )
        self._retire(token, account, amount, now)
        self.events.append(Withdrawal(token, account, amount))

    def mint(self, token: bytes, account: bytes, amount: int, now: int) -> None:
        """Create LP tokens (an ERC-20 mint: a Transfer from the zero address)."""
        self._issue(token, account, amount, now)
        self.events.append(Transfer(token, ZERO_ADDRESS, account, amount))

    def burn(self, token: bytes, account: bytes, amount: int, now: int) -> None:
        """Destroy LP tokens (an ERC-20 burn: a Transfer to the zero address)."""
        self._retire(token, account, amount, now)
        self.events.append(Transfer(token, account, ZERO_ADDRESS, amount))

    def _issue(self, token: bytes, account: bytes, amount: int, now: int) -> None:
        check_amount(amount)
        token_id = self.store.intern_address(token)
        supply = self._supply(token_id) + amount
        if supply > UINT256_MAX:
            raise InvalidAmount(
                f"crediting {amount} would take the supply of {to_checksum_address(token)} "
                "above 2**256 - 1"
            )
        self._set_supply(token_id, supply)  # first: a new token's row must exist for _save
        account_id = self.store.intern_address(account)
        position = self._load(account_id, token_id, now, settle=True)
        position.available += amount
        self._save(account_id, token_id, position)

    def _retire(self, token: bytes, account: bytes, amount: int, now: int) -> None:
        check_amount(amount)
        token_id, account_id, position = self._spendable(token, account, amount, now)
        position.available -= amount
        self._save(account_id, token_id, position)
        self._set_supply(token_id, self._supply(token_id) - amount)

    # --- transfers ------------------------------------------------------------------------------
    def transfer(self, token: bytes, sender: bytes, receiver: bytes, amount: int, now: int) -> None:
        """An instant transfer asked for by a user: pairs and the zero address cannot receive."""
        self.check_recipient(receiver)
        self.move(token, sender, receiver, amount, now)

    def move(self, token: bytes, sender: bytes, receiver: bytes, amount: int, now: int) -> None:
        """An instant transfer between any two accounts (the AMM pays pairs through this)."""
        check_amount(amount)
        token_id, sender_id, source = self._spendable(token, sender, amount, now)
        receiver_id = self.store.intern_address(receiver)
        if receiver_id == sender_id:
            raise InvalidRecipient(f"{to_checksum_address(sender)} cannot pay itself")
        target = self._load(receiver_id, token_id, now, settle=True)
        source.available -= amount
        target.available += amount
        self._save(sender_id, token_id, source)
        self._save(receiver_id, token_id, target)
        self.events.append(Transfer(token, sender, receiver, amount))

    # --- streams --------------------------------------------------------------------------------
    def create_stream(
        self,
        token: bytes,
        sender: bytes,
        receiver: bytes,
        amount: int,
        start: int,
        duration: int,
        now: int,
        *,
        to_order_pool: bool = False,
    ) -> int:
        """Escrow `amount` now and stream it over [start, start + duration); returns the id.

        Only a stream swap streams into an order pool (`to_order_pool`); users cannot.
        """
        check_amount(amount)
        if not to_order_pool:
            self.check_recipient(receiver)
        if receiver == sender:
            raise InvalidRecipient(f"{to_checksum_address(sender)} cannot stream to itself")
        if start < now:
            raise InvalidTime(f"start {start} is in the past (the input's time is {now})")
        if duration < 0:
            raise InvalidTime(f"duration must be 0 or more seconds, got {duration}")
        if start + duration > MAX_TIMESTAMP:
            raise InvalidTime(f"start + duration must stay below {MAX_TIMESTAMP + 1}")
        token_id, sender_id, source = self._spendable(token, sender, amount, now)
        receiver_id = self.store.intern_address(receiver)
        source.available -= amount
        source.escrow += amount
        cursor = self._sql.execute(
            "INSERT INTO streams (token_id, sender_id, receiver_id, amount, start, duration)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_id, sender_id, receiver_id, encode_amount(amount), start, duration),
        )
        stream_id = cursor.lastrowid
        assert stream_id is not None
        stream = Stream(stream_id, token, sender, receiver, amount, start, duration, None)
        target: Position | None = None
        for sender_change, receiver_change in stream.rate_changes():
            if sender_change.at > now:
                self._schedule(sender_id, token_id, sender_change)
                self._schedule(receiver_id, token_id, receiver_change)
                continue
            # due now: apply at once, since every row of rate_changes must stay pending
            if target is None:
                target = self._load(receiver_id, token_id, now, settle=True)
            sender_change.apply_to(source)
            receiver_change.apply_to(target)
        self._save(sender_id, token_id, source)
        if target is not None:
            self._save(receiver_id, token_id, target)
        self.events.append(
            StreamCreated(stream_id, token, sender, receiver, start, duration, amount, stream.rate)
        )
        return stream_id

    def cancel_stream(
        self, stream_id: int, caller: bytes, now: int, *, of_stream_swap: bool = False
    ) -> Stream:
        """Stop a stream: the receiver keeps what has streamed, the sender gets the rest back.

        A stream into an order pool is a stream swap's escrow: only cancelling the swap stops it
        (`of_stream_swap`), or the pool would be left selling what it never receives.
        """
        stream = self.stream(stream_id)
        if not of_stream_swap and self.is_order_pool(stream.receiver):
            raise Unsupported(
                f"stream {stream_id} is the input of a stream swap; stop it with cancel_swap"
            )
        if caller != stream.sender:
            raise NotStreamSender(
                f"only the sender {to_checksum_address(stream.sender)} can cancel stream "
                f"{stream_id}"
            )
        if stream.cancelled_at is not None:
            raise StreamEnded(f"stream {stream_id} was already cancelled at {stream.cancelled_at}")
        if stream.streamed_at(now) == stream.amount:
            raise StreamEnded(f"stream {stream_id} has already streamed all of its amount")
        self._stop(stream, now)
        return stream

    def stop_streams_to(self, receiver: bytes, now: int) -> None:
        """Cancel every unfinished stream into `receiver`, refunding the senders.

        A pair's address is known before the pair exists; a stream sent there before then must
        not keep paying the pair outside its reserves once it does.
        """
        receiver_id = self.store.address_id(receiver)
        if receiver_id is None:
            return
        stream_ids = self._sql.execute(
            "SELECT id FROM streams WHERE receiver_id = ? AND cancelled_at IS NULL ORDER BY id",
            (receiver_id,),
        ).fetchall()
        for (stream_id,) in stream_ids:
            stream = self.stream(stream_id)
            if stream.streamed_at(now) < stream.amount:
                self._stop(stream, now)

    def _stop(self, stream: Stream, now: int) -> None:
        streamed = stream.streamed_at(now)
        token_id = self._id(stream.token)
        sender_id = self._id(stream.sender)
        receiver_id = self._id(stream.receiver)
        source = self._load(sender_id, token_id, now, settle=True)
        target = self._load(receiver_id, token_id, now, settle=True)
        for sender_change, receiver_change in stream.rate_changes():
            if sender_change.at > now:  # still scheduled: take it out of the schedule
                self._schedule(sender_id, token_id, sender_change.negated())
                self._schedule(receiver_id, token_id, receiver_change.negated())
            else:  # the start is behind us: its rates flow now, stop them
                source.outflow_rate -= sender_change.outflow_rate_delta
                target.inflow_rate -= receiver_change.inflow_rate_delta
        refunded = stream.amount - streamed
        source.escrow -= refunded
        source.available += refunded
        self._save(sender_id, token_id, source)
        self._save(receiver_id, token_id, target)
        self._sql.execute("UPDATE streams SET cancelled_at = ? WHERE id = ?", (now, stream.id))
        self.events.append(
            StreamCancelled(
                stream.id, stream.token, stream.sender, stream.receiver, now, streamed, refunded
            )
        )

    # --- rows -----------------------------------------------------------------------------------
    def check_recipient(self, receiver: bytes) -> None:
        """Users may not send to the zero address (tokens lost) or to a pair (not in reserves)."""
        if receiver == ZERO_ADDRESS:
            raise InvalidRecipient("the zero address cannot receive tokens")
        if self.is_pair(receiver):
            raise InvalidRecipient(
                f"{to_checksum_address(receiver)} is a streamdex pair; use add_liquidity or swap "
                "to send tokens to a pair"
            )
        if self.is_order_pool(receiver):
            raise InvalidRecipient(
                f"{to_checksum_address(receiver)} holds a pair's stream swaps; use swap with a "
                "duration to sell into it"
            )

    def _id(self, address: bytes) -> int:
        address_id = self.store.address_id(address)
        assert address_id is not None, "a stored stream names only interned addresses"
        return address_id

    def _spendable(
        self, token: bytes, account: bytes, amount: int, now: int
    ) -> tuple[int, int, Position]:
        """(token id, account id, settled position) of an account that can spend `amount`."""
        token_id = self.store.address_id(token)
        account_id = self.store.address_id(account)
        position = (
            Position(updated_at=now)
            if token_id is None or account_id is None
            else self._load(account_id, token_id, now, settle=True)
        )
        if position.available < amount:
            raise InsufficientBalance(
                f"{to_checksum_address(account)} has {position.available} of "
                f"{to_checksum_address(token)} available, needs {amount}"
            )
        assert token_id is not None and account_id is not None  # amount > 0 was available
        return token_id, account_id, position

    def _load(self, account_id: int, token_id: int, at: int, *, settle: bool) -> Position:
        """The position at `at`, applying due rate changes; `settle` deletes the applied rows."""
        row = self._sql.execute(
            "SELECT available, escrow, inflow_rate, outflow_rate, updated_at FROM balances"
            " WHERE account_id = ? AND token_id = ?",
            (account_id, token_id),
        ).fetchone()
        if row is None:
            position = Position()  # zero rates: any starting time accrues nothing
        else:
            position = Position(
                decode_amount(row[0]),
                decode_amount(row[1]),
                decode_amount(row[2]),
                decode_amount(row[3]),
                row[4],
                stored=True,
            )
            if at < position.updated_at:
                raise InvalidTime(
                    f"time {at} is before this balance last changed ({position.updated_at})"
                )
        due = self._sql.execute(
            "SELECT at, inflow_rate_delta, outflow_rate_delta, inflow_lump, outflow_lump"
            " FROM rate_changes WHERE account_id = ? AND token_id = ? AND at <= ? ORDER BY at",
            (account_id, token_id, at),
        ).fetchall()
        for change_at, inflow_delta, outflow_delta, inflow_lump, outflow_lump in due:
            RateChange(
                change_at,
                decode_amount(inflow_delta),
                decode_amount(outflow_delta),
                decode_amount(inflow_lump),
                decode_amount(outflow_lump),
            ).apply_to(position)
        position.accrue(at)
        if settle and due:
            self._sql.execute(
                "DELETE FROM rate_changes WHERE account_id = ? AND token_id = ? AND at <= ?",
                (account_id, token_id, at),
            )
        return position

    def _save(self, account_id: int, token_id: int, position: Position) -> None:
        assert position.available >= 0 and position.escrow >= 0, position
        if position.is_empty():
            if position.stored:
                self._sql.execute(
                    "DELETE FROM balances WHERE account_id = ? AND token_id = ?",
                    (account_id, token_id),
                )
                self._count_holder(token_id, -1)
                position.stored = False
            return
        if not position.stored:
            self._count_holder(token_id, +1)
            position.stored = True
        self._sql.execute(
            "INSERT OR REPLACE INTO balances"
            " (account_id, token_id, available, escrow, inflow_rate, outflow_rate, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                account_id,
                token_id,
                encode_amount(position.available),
                encode_amount(position.escrow),
                encode_amount(position.inflow_rate),
                encode_amount(position.outflow_rate),
                position.updated_at,
            ),
        )

    def _schedule(self, account_id: int, token_id: int, change: RateChange) -> None:
        """Add `change` to the account's pending row at `change.at` (deleting it if it nets out)."""
        row = self._sql.execute(
            "SELECT inflow_rate_delta, outflow_rate_delta, inflow_lump, outflow_lump"
            " FROM rate_changes WHERE account_id = ? AND token_id = ? AND at = ?",
            (account_id, token_id, change.at),
        ).fetchone()
        if row is not None:
            change = change.plus(RateChange(change.at, *(decode_amount(v) for v in row)))
        if change.is_empty():
            if row is not None:
                self._sql.execute(
                    "DELETE FROM rate_changes WHERE account_id = ? AND token_id = ? AND at = ?",
                    (account_id, token_id, change.at),
                )
            return
        self._sql.execute(
            "INSERT OR REPLACE INTO rate_changes (account_id, token_id, at, inflow_rate_delta,"
            " outflow_rate_delta, inflow_lump, outflow_lump) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                account_id,
                token_id,
                change.at,
                encode_amount(change.inflow_rate_delta),
                encode_amount(change.outflow_rate_delta),
                encode_amount(change.inflow_lump),
                encode_amount(change.outflow_lump),
            ),
        )

    def _supply(self, token_id: int) -> int:
        row = self._sql.execute("SELECT supply FROM tokens WHERE token_id = ?", (token_id,))
        found = row.fetchone()
        return 0 if found is None else decode_amount(found[0])

    def _set_supply(self, token_id: int, supply: int) -> None:
        self._sql.execute(
            "INSERT INTO tokens (token_id, supply) VALUES (?, ?)"
            " ON CONFLICT (token_id) DO UPDATE SET supply = excluded.supply",
            (token_id, encode_amount(supply)),
        )

    def _count_holder(self, token_id: int, change: int) -> None:
        self._sql.execute(
            "UPDATE tokens SET holders = holders + ? WHERE token_id = ?", (change, token_id)
        )
