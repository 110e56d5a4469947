"""Replay determinism: the same inputs give byte-identical databases and outputs, every run."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from dapp.app import Application, Config, Outcome
from tests.inputs import CONFIG, Driver, action, erc20_deposit
from tests.test_app import ALICE, BOB, CAROL, TOKEN_A, TOKEN_B, TOKEN_C

ACCOUNTS = [ALICE, BOB, CAROL]
TOKENS = [TOKEN_A, TOKEN_B, TOKEN_C]


def scripted_inputs(seed: int, count: int) -> list[tuple[int, bytes, bytes]]:
    """(seconds after the previous input, sender, payload): a busy market, mistakes included."""
    rng = random.Random(seed)
    inputs: list[tuple[int, bytes, bytes]] = []
    for account in ACCOUNTS:
        for token in TOKENS:
            inputs.append((0, CONFIG.v2.erc20, erc20_deposit(token, account, 10**24)))
    for _ in range(count):
        sender = rng.choice(ACCOUNTS)
        a, b = rng.sample(TOKENS, 2)
        amount = rng.choice([1, 999, 10**18, 10**21, 10**25])
        args: dict[str, Any]
        method, args = rng.choice(
            [
                ("transfer", {"token": a, "to": rng.choice(ACCOUNTS), "amount": amount}),
                (
                    "stream",
                    {
                        "token": a,
                        "receiver": rng.choice(ACCOUNTS),
                        "amount": amount,
                        "duration": rng.choice([0, 1, 60, 3600]),
                    },
                ),
                ("cancel_stream", {"stream_id": rng.randint(1, 30)}),
                ("withdraw", {"token": a, "amount": amount}),
                (
                    "add_liquidity",
                    {
                        "token_a": a,
                        "token_b": b,
                        "token_a_desired": amount,
                        "token_b_desired": rng.choice([10**18, 10**21]),
                        "token_a_min": 0,
                        "token_b_min": 0,
                    },
                ),
                (
                    "remove_liquidity",
                    {
                        "token_a": a,
                        "token_b": b,
                        "liquidity": amount,
                        "amount_a_min": 0,
                        "amount_b_min": 0,
                    },
                ),
                ("swap", {"amount_in": amount, "amount_out_min": 0, "path": [a, b]}),
                (
                    "swap",
                    {
                        "amount_in": amount,
                        "amount_out_min": 0,
                        "path": [a, b],
                        "duration": rng.choice([60, 3600]),
                    },
                ),
                ("cancel_swap", {"swap_id": rng.randint(1, 10)}),
                ("swap_exact_out", {"amount_out": amount, "amount_in_max": 10**25, "path": [a, b]}),
            ]
        )
        payload = action(method, **args) if rng.random() > 0.05 else b'{"method": "oops"}'
        inputs.append((rng.choice([0, 1, 7, 600]), sender, payload))
    return inputs


def replay(directory: Path, inputs: list[tuple[int, bytes, bytes]]) -> tuple[str, list[Outcome]]:
    app = Application(directory / "state.sqlite", Config())
    driver = Driver(app)
    outcomes = [
        driver.send(sender, payload, at=driver.now + wait) for wait, sender, payload in inputs
    ]
    dump = app.store.dump()
    app.close()
    return dump, outcomes


def test_the_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    inputs = scripted_inputs(seed=4, count=300)
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first_dump, first = replay(tmp_path / "first", inputs)
    second_dump, second = replay(tmp_path / "second", inputs)
    assert first_dump == second_dump
    assert [(o.accepted, o.notices, o.vouchers, o.reports) for o in first] == [
        (o.accepted, o.notices, o.vouchers, o.reports) for o in second
    ]
    # and the market was busy: most kinds of input were accepted at least once
    accepted = {o.kind for o in first if o.accepted}
    assert {"deposit", "transfer", "stream", "add_liquidity", "swap", "withdraw"} <= accepted
    assert any(b"SwapOrderCompleted" in notice for o in first for notice in o.notices)
    assert any(not o.accepted for o in first)
    assert (tmp_path / "first" / "state.sqlite").read_bytes() == (
        tmp_path / "second" / "state.sqlite"
    ).read_bytes()
