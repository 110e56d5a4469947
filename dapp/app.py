"""The application: one advance or inspect request in, its outputs out (PROTOCOL §1–§3, §5).

Each advance runs in one SQLite transaction: it is accepted with all its effects and one notice,
or rolled back to the byte and answered with one report. `StreamdexError` is caught here and
nowhere else; any other exception is a bug, reported as INTERNAL_ERROR after the same rollback,
so no input can stop the loop. Inspect reads through a second, read-only connection.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapp.actions import ACTIONS, Context
from dapp.addresses import parse_address
from dapp.amm.pair import Pairs
from dapp.amm.router import Router
from dapp.amm.twamm import Twamm
from dapp.codec import (
    Metadata,
    Voucher,
    decode_action,
    decode_erc20_deposit,
    decode_ether_deposit,
    decode_hex,
    decode_metadata,
    decode_relayed_address,
    error_payload,
    notice_payload,
)
from dapp.errors import (
    AlreadyProcessed,
    BadPayload,
    InternalError,
    InvalidTime,
    StreamdexError,
)
from dapp.events import Event
from dapp.inspect import Inspector
from dapp.ledger import Ledger
from dapp.rollup import Request, RollupServer
from dapp.stats.config import MarketConfig
from dapp.stats.record import Recorder
from dapp.store import Store

log = logging.getLogger("streamdex.input")


@dataclass(frozen=True)
class Portals:
    """The contracts whose inputs are deposits, in one Rollups version."""

    erc20: bytes
    ether: bytes


@dataclass(frozen=True)
class Config:
    """Where deposits come from (PROTOCOL §2.1); defaults are the deterministic deployments."""

    v2: Portals = Portals(
        erc20=parse_address("0xACA6586A0Cf05bD831f2501E7B4aea550dA6562D"),
        ether=parse_address("0xA632c5c05812c6a6149B7af5C56117d1D2603828"),
    )
    v1: Portals = Portals(
        erc20=parse_address("0x9C21AEb2093C32DDbC53eEF24B873BDCd1aDa1DB"),
        ether=parse_address("0xFfdbe43d4c855BF7e0f105c400A50857f53AB044"),
    )
    v1_dapp_address_relay: bytes = parse_address("0xF5DE34d6BbC0446E2a45719E718efEbaaE179daE")
    market: MarketConfig = field(default_factory=MarketConfig)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """STREAMDEX_ERC20_PORTAL and STREAMDEX_ETHER_PORTAL (v2), STREAMDEX_V1_ERC20_PORTAL,
        STREAMDEX_V1_ETHER_PORTAL and STREAMDEX_V1_DAPP_ADDRESS_RELAY override the defaults;
        the market statistics read theirs in dapp.stats.config (ConfigError when unusable)."""
        default = cls()

        def address(name: str, fallback: bytes) -> bytes:
            value = environ.get(name)
            return fallback if not value else parse_address(value)

        return cls(
            v2=Portals(
                address("STREAMDEX_ERC20_PORTAL", default.v2.erc20),
                address("STREAMDEX_ETHER_PORTAL", default.v2.ether),
            ),
            v1=Portals(
                address("STREAMDEX_V1_ERC20_PORTAL", default.v1.erc20),
                address("STREAMDEX_V1_ETHER_PORTAL", default.v1.ether),
            ),
            v1_dapp_address_relay=address(
                "STREAMDEX_V1_DAPP_ADDRESS_RELAY", default.v1_dapp_address_relay
            ),
            market=MarketConfig.from_environment(environ),
        )


@dataclass(frozen=True)
class Outcome:
    """What one advance produced: the verdict and the outputs to hand to the rollup server."""

    accepted: bool
    kind: str  # the method, "deposit", "dapp_address", or "?" when the input could not be read
    notices: tuple[bytes, ...] = ()
    vouchers: tuple[Voucher, ...] = ()
    reports: tuple[bytes, ...] = ()
    error: str | None = None  # the report's code when rejected


@dataclass
class _Applied:
    kind: str
    actor: bytes | None = None  # the wallet that sent the input (a deposit's depositor)
    vouchers: list[Voucher] = field(default_factory=list)


class Application:
    """The state database and the handlers of advance and inspect requests."""

    def __init__(self, database: str | Path, config: Config | None = None) -> None:
        if str(database) == ":memory:":
            raise ValueError("the application needs a database file: inspect opens it read-only")
        self.config = config or Config.from_environment()
        self.store = Store(database)
        self.events: list[Event] = []
        self.ledger = Ledger(self.store, self.events)
        self.pairs = Pairs(self.store, self.ledger, self.events)
        self.twamm = Twamm(self.store, self.ledger, self.pairs, self.events)
        self.router = Router(self.pairs, self.ledger, self.twamm)
        self.recorder = Recorder(self.store, self.ledger, self.config.market)
        self.inspector = Inspector(Store(database, read_only=True), self.config.market)

    def close(self) -> None:
        self.store.close()
        self.inspector.close()

    # --- the rollup loop's handler ----------------------------------------------------------------
    def handle(self, request: Request, server: RollupServer) -> bool:
        """Answer one request from the rollup server; True accepts it, False rejects it."""
        data = request.get("data")
        if request.get("request_type") == "inspect_state":
            payload = data.get("payload") if isinstance(data, dict) else None
            try:
                path = decode_hex(payload)
            except BadPayload as err:
                server.report(error_payload(err.code, str(err)))
            else:
                server.report(self.inspect(path))
            return True
        outcome = self.advance(data)
        for notice in outcome.notices:
            server.notice(notice)
        for voucher in outcome.vouchers:
            server.voucher(voucher.destination, voucher.value, voucher.payload)
        for report in outcome.reports:
            server.report(report)
        return outcome.accepted

    # --- advance ----------------------------------------------------------------------------------
    def advance(self, data: object) -> Outcome:
        """Apply one input atomically; never raises for anything the input contains."""
        started = time.perf_counter_ns()
        input_index: int | None = None
        applied = _Applied("?")
        try:
            raw = data if isinstance(data, dict) else {}
            metadata = decode_metadata(raw.get("metadata"))
            input_index = metadata.input_index
            payload = decode_hex(raw.get("payload"))
            with self.store.transaction():
                self.events.clear()
                last = self.store.progress()
                if last.last_input_index is not None and (
                    metadata.input_index <= last.last_input_index
                ):
                    raise AlreadyProcessed(
                        f"input {metadata.input_index} was already processed (the last accepted "
                        f"input is {last.last_input_index}); nothing was done again"
                    )
                if metadata.timestamp < last.last_timestamp:
                    raise InvalidTime(
                        f"the input's time {metadata.timestamp} is before the last input's "
                        f"({last.last_timestamp})"
                    )
                self._apply(metadata, payload, last.app_contract, applied)
                self.recorder.record(
                    metadata.input_index, metadata.timestamp, applied.actor, self.events
                )
                self.store.record_input(metadata.input_index, metadata.timestamp)
                outcome = Outcome(
                    accepted=True,
                    kind=applied.kind,
                    notices=(notice_payload(metadata.input_index, self.events),),
                    vouchers=tuple(applied.vouchers),
                )
        except StreamdexError as err:  # raised before the statistics are recorded
            outcome = _rejected(applied.kind, err.code, str(err))
        except Exception as err:  # a bug: roll back (done), report, and keep serving
            log.exception("input %s failed inside streamdex", input_index)
            self.recorder.forget()  # the failure may have come after the statistics were kept
            outcome = _rejected(
                applied.kind,
                InternalError.code,
                f"streamdex failed on this input ({type(err).__name__}); nothing was changed. "
                "Please report it with the input.",
            )
        finally:
            self.events.clear()
        _log_input(input_index, outcome, started)
        return outcome

    def _apply(
        self, metadata: Metadata, payload: bytes, app_contract: bytes | None, applied: _Applied
    ) -> None:
        """Carry out the input, naming it in `applied` as soon as it is known what it is."""
        sender = metadata.msg_sender
        v1 = metadata.dialect == "v1"
        portals = self.config.v1 if v1 else self.config.v2
        if sender == portals.erc20:
            applied.kind = "deposit"
            deposit = decode_erc20_deposit(payload, v1=v1)
        elif sender == portals.ether:
            applied.kind = "deposit"
            deposit = decode_ether_deposit(payload)
        elif v1 and sender == self.config.v1_dapp_address_relay:
            applied.kind = "dapp_address"
            self.store.record_app_contract(decode_relayed_address(payload))
            return
        else:
            action = decode_action(payload)
            applied.kind = action.method
            applied.actor = sender
            # what the sender's stream swaps have earned is theirs to spend (PROTOCOL §4.1)
            self.twamm.settle_recipient(sender, metadata.timestamp)
            context = Context(
                sender=sender,
                now=metadata.timestamp,
                dialect=metadata.dialect,
                app_contract=metadata.app_contract or app_contract,
                ledger=self.ledger,
                pairs=self.pairs,
                router=self.router,
                twamm=self.twamm,
            )
            ACTIONS[action.method](context, action.args)
            applied.vouchers = context.vouchers
            return
        applied.actor = deposit.sender
        self.ledger.deposit(deposit.token, deposit.sender, deposit.amount, metadata.timestamp)

    # --- inspect ----------------------------------------------------------------------------------
    def inspect(self, payload: bytes) -> bytes:
        """The JSON answer to an inspect path (PROTOCOL §5); never writes."""
        return self.inspector.answer(payload)


def _rejected(kind: str, code: str, message: str) -> Outcome:
    return Outcome(accepted=False, kind=kind, reports=(error_payload(code, message),), error=code)


def _log_input(input_index: int | None, outcome: Outcome, started_ns: int) -> None:
    line: dict[str, Any] = {
        "input_index": input_index,
        "method": outcome.kind,
        "status": "accept" if outcome.accepted else "reject",
        "us": (time.perf_counter_ns() - started_ns) // 1000,
    }
    if outcome.error is not None:
        line["error"] = outcome.error
    log.info(json.dumps(line, separators=(",", ":")))
