-- streamdex state: the one schema file (dapp/store.py applies it and sets PRAGMA user_version).
--
-- Amounts are uint256 and do not fit SQLite's 64-bit INTEGER. Columns that hold amounts are
-- declared without a type (BLOB affinity, so SQLite never converts what it is given) and hold an
-- INTEGER when the value fits in 64 signed bits, else its decimal TEXT (store.encode_amount).
-- Never do arithmetic on them in SQL; Python reads them back with store.decode_amount.

-- Every address the application has seen (accounts, tokens, pairs), interned to a small id.
CREATE TABLE addresses (
    id      INTEGER PRIMARY KEY,
    address BLOB NOT NULL UNIQUE            -- 20 bytes
);

-- Tokens held in the application: ERC-20s and Ether deposited through the portals, and the LP
-- token of every pair (at the pair's address). supply = deposits − withdrawals (LP: minted − burned);
-- holders = accounts with a settled, non-empty position (a row of balances); volume = all that
-- was swapped in or out of pairs, as Uniswap's subgraph counts a token's tradeVolume.
CREATE TABLE tokens (
    token_id INTEGER PRIMARY KEY REFERENCES addresses (id),
    supply   NOT NULL,
    holders  INTEGER NOT NULL DEFAULT 0,
    volume   NOT NULL DEFAULT 0
);

-- Where the application stands: one row, written by every accepted input (a rejected input
-- leaves the database exactly as it was, this row included).
CREATE TABLE progress (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    last_input_index INTEGER,               -- NULL until the first accepted input
    last_timestamp   INTEGER NOT NULL,      -- the time (seconds) of that input; 0 before
    app_contract     BLOB                   -- v1: learnt from the DAppAddressRelay; v2: metadata
);
INSERT INTO progress (id, last_input_index, last_timestamp, app_contract) VALUES (1, NULL, 0, NULL);

-- One account's holding of one token, settled at updated_at (PROTOCOL §4.1):
--   available(t) = available + inflow_rate·(t − updated_at)   (+ pending rate_changes)
--   escrow(t)    = escrow − outflow_rate·(t − updated_at)     (outgoing stream amounts not yet streamed)
--   balance(t)   = available(t) + escrow(t)
-- A row whose values are all zero is deleted: an absent row reads as zero.
CREATE TABLE balances (
    account_id   INTEGER NOT NULL,
    token_id     INTEGER NOT NULL,
    available    NOT NULL,
    escrow       NOT NULL,
    inflow_rate  NOT NULL,
    outflow_rate NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, token_id)
) WITHOUT ROWID;

-- Future changes to an account's rates (stream starts and ends) and the lumps due then (a
-- stream's remainder, a delayed instant transfer), summed per (account, token, time). Every row
-- is pending: settling an account applies and deletes the rows at or before the settlement time.
CREATE TABLE rate_changes (
    account_id         INTEGER NOT NULL,
    token_id           INTEGER NOT NULL,
    at                 INTEGER NOT NULL,
    inflow_rate_delta  NOT NULL,
    outflow_rate_delta NOT NULL,
    inflow_lump        NOT NULL,
    outflow_lump       NOT NULL,
    PRIMARY KEY (account_id, token_id, at)
) WITHOUT ROWID;

CREATE TABLE streams (
    id           INTEGER PRIMARY KEY,
    token_id     INTEGER NOT NULL,
    sender_id    INTEGER NOT NULL,
    receiver_id  INTEGER NOT NULL,
    amount       NOT NULL,
    start        INTEGER NOT NULL,
    duration     INTEGER NOT NULL,
    cancelled_at INTEGER                    -- NULL unless the sender cancelled it
);
CREATE INDEX streams_by_sender ON streams (sender_id, token_id);
CREATE INDEX streams_by_receiver ON streams (receiver_id, token_id);

-- Uniswap V2 pairs; pair_id is the address id of the pair, which is also its LP token.
CREATE TABLE pairs (
    pair_id   INTEGER PRIMARY KEY REFERENCES addresses (id),
    token0_id INTEGER NOT NULL,
    token1_id INTEGER NOT NULL,
    reserve0  NOT NULL,
    reserve1  NOT NULL,
    UNIQUE (token0_id, token1_id)
);

-- Stream swaps (PROTOCOL §4.3, dapp/amm/twamm.py). Each pair with orders has two order pools,
-- pool 0 selling token0 and pool 1 selling token1, whose tokens sit at the pair's order-pool
-- account (a ledger account of its own, so that the pair's balances stay its reserves).
-- advanced_at: the virtual orders are executed up to this time; earnings: proceeds per unit of
-- sale rate, scaled by 2**128 (twamm_math.EARNINGS_SCALE), only ever growing.
CREATE TABLE order_pools (
    pair_id     INTEGER PRIMARY KEY REFERENCES pairs (pair_id),
    account_id  INTEGER NOT NULL UNIQUE,    -- the order-pool account (twamm.order_pool_address)
    advanced_at INTEGER NOT NULL,
    sale_rate0  NOT NULL,
    sale_rate1  NOT NULL,
    earnings0   NOT NULL,
    earnings1   NOT NULL
);

-- Future changes of the sale rates (order starts and ends) and the remainders sold at an end,
-- summed per (pair, time); every row is pending, as in rate_changes. A row that sums to nothing
-- stays: the pair must still stop at that time, where an order starts or ends.
CREATE TABLE order_pool_changes (
    pair_id          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    sale_rate0_delta NOT NULL,
    sale_rate1_delta NOT NULL,
    lump0            NOT NULL,
    lump1            NOT NULL,
    PRIMARY KEY (pair_id, at)
) WITHOUT ROWID;

-- The accumulators at each time the pair passed a change (an order starting later reads its
-- starting value here; an order is paid at its end from the value at its end, never a later one).
CREATE TABLE order_pool_snapshots (
    pair_id   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    earnings0 NOT NULL,
    earnings1 NOT NULL,
    PRIMARY KEY (pair_id, at)
) WITHOUT ROWID;

-- One stream swap. Its input is escrowed as a ledger stream (stream_id) from the trader to the
-- order-pool account; its proceeds are paid to recipient up to paid_to (an accumulator value):
-- in part when the recipient spends, in full at the end or when cancelled (settled = 1).
CREATE TABLE swap_orders (
    id             INTEGER PRIMARY KEY,
    pair_id        INTEGER NOT NULL,
    trader_id      INTEGER NOT NULL,
    recipient_id   INTEGER NOT NULL,
    sells_token0   INTEGER NOT NULL,        -- 1: sells token0 for token1; 0: the reverse
    amount_in      NOT NULL,
    sale_rate      NOT NULL,
    start          INTEGER NOT NULL,
    duration       INTEGER NOT NULL,
    end_at         INTEGER NOT NULL,        -- start + duration
    stream_id      INTEGER NOT NULL,
    paid_to,                                -- accumulator value paid up to; NULL until started
    bought         NOT NULL,                -- proceeds paid so far
    cancelled_at   INTEGER,
    settled        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX swap_orders_by_end ON swap_orders (pair_id, end_at) WHERE settled = 0;
CREATE INDEX swap_orders_by_recipient ON swap_orders (recipient_id) WHERE settled = 0;
CREATE INDEX swap_orders_by_trader ON swap_orders (trader_id);

-- Pairs by their second token (a token's pairs are those listing it first or second).
CREATE INDEX pairs_by_token1 ON pairs (token1_id);

-- === Market statistics (dapp/stats) =============================================================
-- Written by dapp/stats/record.py from each accepted input's events, inside the input's
-- transaction; read by the stats routes. USD columns are fixed point 10**18 (dapp/stats/numbers),
-- valued at the prices of the state after the input; times are seconds. Every log is
-- append-only and ordered by (ts, id).

-- When each pair was created. (What the recorder carries from one input to the next, the
-- reserves and tracked reserve USD after the pair's last event, is its latest hour bucket's close.)
CREATE TABLE stat_pairs (
    pair_id       INTEGER PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    created_input INTEGER NOT NULL
);

-- Every swap, in processing order; id is the trade_id. A pair's executed stream-swap flow is a
-- swap too (stream = 1, account = the order pools, ts = the end of the executed interval).
-- The c_ columns are the pair's running totals up to and including the row, so that a window
-- of a pair is the difference of two rows found through swap_log_by_pair.
CREATE TABLE swap_log (
    id              INTEGER PRIMARY KEY,
    pair_id         INTEGER NOT NULL,
    ts              INTEGER NOT NULL,
    input_index     INTEGER NOT NULL,
    event_index     INTEGER NOT NULL,
    stream          INTEGER NOT NULL,
    account_id      INTEGER NOT NULL,       -- the taker: the input's sender, or the order pools
    sender_id       INTEGER NOT NULL,       -- as in the Swap event
    to_id           INTEGER NOT NULL,
    amount0_in      NOT NULL,
    amount1_in      NOT NULL,
    amount0_out     NOT NULL,
    amount1_out     NOT NULL,
    reserve0        NOT NULL,               -- after the swap
    reserve1        NOT NULL,
    amount_usd      NOT NULL,               -- tracked (whitelisted sides only)
    amount_usd_untracked NOT NULL,
    fee_usd         NOT NULL,
    c_volume0       NOT NULL,               -- Σ |amount0_in − amount0_out|
    c_volume1       NOT NULL,
    c_in0           NOT NULL,               -- Σ amount0_in (the fee is 0.3% of it)
    c_in1           NOT NULL,
    c_usd           NOT NULL,
    c_usd_untracked NOT NULL,
    c_fee_usd       NOT NULL,
    c_count         INTEGER NOT NULL,
    c_buys          INTEGER NOT NULL        -- swaps that took the base token out (CoinGecko's buys)
);
CREATE INDEX swap_log_by_pair ON swap_log (pair_id, ts);
CREATE INDEX swap_log_by_ts ON swap_log (ts);
CREATE INDEX swap_log_by_account ON swap_log (account_id, ts);

-- Every Mint and Burn; c_ columns as in swap_log.
CREATE TABLE liquidity_log (
    id          INTEGER PRIMARY KEY,
    pair_id     INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    input_index INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    burn        INTEGER NOT NULL,           -- 0: Mint, 1: Burn
    account_id  INTEGER NOT NULL,           -- the input's sender
    sender_id   INTEGER NOT NULL,
    to_id       INTEGER NOT NULL,
    amount0     NOT NULL,
    amount1     NOT NULL,
    liquidity   NOT NULL,
    amount_usd  NOT NULL,
    reserve0    NOT NULL,
    reserve1    NOT NULL,
    c_mints     INTEGER NOT NULL,
    c_burns     INTEGER NOT NULL
);
CREATE INDEX liquidity_log_by_pair ON liquidity_log (pair_id, ts);
CREATE INDEX liquidity_log_by_kind ON liquidity_log (burn, ts);
CREATE INDEX liquidity_log_by_account ON liquidity_log (account_id, ts);

-- Every StreamCreated and StreamCancelled, for account activity.
CREATE TABLE stream_log (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    input_index INTEGER NOT NULL,
    event_index INTEGER NOT NULL,
    cancelled   INTEGER NOT NULL,           -- 0: created, 1: cancelled
    stream_id   INTEGER NOT NULL,
    token_id    INTEGER NOT NULL,
    sender_id   INTEGER NOT NULL,
    receiver_id INTEGER NOT NULL,
    amount      NOT NULL,                   -- created: the deposit; cancelled: the refund
    amount_usd  NOT NULL
);
CREATE INDEX stream_log_by_sender ON stream_log (sender_id, ts);
CREATE INDEX stream_log_by_receiver ON stream_log (receiver_id, ts);

-- Hour (span 3600) and day (span 86400) buckets that saw activity; `data` is the list of the
-- fields of dapp/stats/figures.PairCandle or TokenCandle, in marshal format 2 (Figures.dump).
CREATE TABLE pair_candles (
    pair_id INTEGER NOT NULL,
    span    INTEGER NOT NULL,
    start   INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (pair_id, span, start)
) WITHOUT ROWID;

CREATE TABLE token_candles (
    token_id INTEGER NOT NULL,
    span     INTEGER NOT NULL,
    start    INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (token_id, span, start)
) WITHOUT ROWID;

-- Σ tracked reserve USD over pairs (each as of its last event) at the end of each hour that changed
-- it: the latest row is the running total; earlier ones give the change of TVL over a window.
CREATE TABLE tvl_hours (
    start   INTEGER PRIMARY KEY,
    tvl_usd NOT NULL
);

-- Per account: `data` (dapp/stats/figures.AccountFigures, stored as the buckets are) for the wallet
-- features; last_swap_ts and last_liquidity_ts count unique traders and LPs in a window.
CREATE TABLE stat_accounts (
    account_id        INTEGER PRIMARY KEY,
    last_swap_ts      INTEGER,
    last_liquidity_ts INTEGER,              -- its last Mint or Burn: unique LPs in a window
    data              BLOB NOT NULL
);
CREATE INDEX stat_accounts_by_swap ON stat_accounts (last_swap_ts) WHERE last_swap_ts IS NOT NULL;
CREATE INDEX stat_accounts_by_liquidity ON stat_accounts (last_liquidity_ts)
    WHERE last_liquidity_ts IS NOT NULL;

-- Per account and pair: when it last swapped there, and whether it provided liquidity.
CREATE TABLE stat_account_pairs (
    account_id   INTEGER NOT NULL,
    pair_id      INTEGER NOT NULL,
    last_swap_ts INTEGER,
    provided     INTEGER NOT NULL,
    PRIMARY KEY (account_id, pair_id)
) WITHOUT ROWID;
CREATE INDEX stat_account_pairs_by_swap ON stat_account_pairs (pair_id, last_swap_ts)
    WHERE last_swap_ts IS NOT NULL;

-- Per account: every token it swapped, provided or streamed.
CREATE TABLE stat_account_tokens (
    account_id INTEGER NOT NULL,
    token_id   INTEGER NOT NULL,
    PRIMARY KEY (account_id, token_id)
) WITHOUT ROWID;
