"""Numba kernels of the rebalance loop (`macrostack.simulate`): the allocator, execution and the
P&L of each holding period, in one compiled loop because each rebalance reads the net P&L that
the earlier ones produced. The rules are those of `layers.execution`, `layers.allocator` and
`pnl` (their docstrings state them); here they run without Python between rebalances.

Sums run in index order (Σ over instruments i = 0 … N−1, sessions in time order), so a run's
bits do not depend on the BLAS library or the CPU's vector width.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from macrostack.kernels import preload_blas
from macrostack.kernels.allocator_layout import SCALAR
from macrostack.kernels.book_layout import (
    ALLOCATED, CAPITAL, CAPPED, COST, EXECUTED, GROSS, GROSS_CAP, INSTRUMENT_CAP, NET, NO_TRADE_BUFFER,
    SCALAR_COMPUTE, SCALAR_PRECOMPUTED, TRADED,
)
from macrostack.kernels.regime import advance_regime
from macrostack.kernels.state import advance_features

preload_blas()  # before numba's first compile: its BLAS probe would import all of scipy.linalg

_JIT = dict(cache=True, nogil=True, error_model="numpy")

@njit(**_JIT)
def execute(w_alloc, w_prev, notional, nav, params, steps):
    """Executed weights of one rebalance into `steps` [4, N]: its rows are the weights after the
    instrument cap, the gross cap, the no-trade buffer and contract rounding (a step that is off
    copies its input). `notional` [N] and `nav` are read only when `params[CAPITAL]` is set."""
    n = w_alloc.shape[0]
    cap, gross_cap, buffer, capital = params[INSTRUMENT_CAP], params[GROSS_CAP], params[NO_TRADE_BUFFER], params[CAPITAL]
    w = steps[0]
    for i in range(n):
        x = w_alloc[i]
        if not math.isnan(cap):
            x = -cap if x < -cap else x
            x = cap if x > cap else x
        w[i] = x
    g = steps[1]
    gross = 0.0
    for i in range(n):
        gross += abs(w[i])
    binds = gross > gross_cap  # False when the cap is off (NaN)
    scale = gross_cap / gross if binds else 1.0
    for i in range(n):
        g[i] = w[i] * scale if binds else w[i]
    b = steps[2]
    for i in range(n):
        x = g[i]
        if buffer > 0.0 and abs(x - w_prev[i]) < buffer and x != w_prev[i]:
            x = w_prev[i]
        b[i] = x
    e = steps[3]
    for i in range(n):
        x = b[i]
        if not math.isnan(capital):
            k = notional[i]
            x = np.rint(x * nav / k) * k / nav if (math.isfinite(k) and k > 0.0) else 0.0
        e[i] = x


@njit(**_JIT)
def book_period(w, w_before, returns0, cost_per_unit, a, b, drift, held, daily, w_end):
    """P&L of one holding period [a, b) (`pnl` module docstring): `held[a:b]`, gross and net on
    `daily`, cost and turnover on session a; `w_end` ← the weights after its last return (it may
    be `w_before` itself: the trade is read before it is overwritten)."""
    n = w.shape[0]
    cost, traded = 0.0, 0.0
    for i in range(n):
        delta = abs(w[i] - w_before[i])
        cost += cost_per_unit[i] * delta
        traded += delta
    growth = np.ones(n)
    for i in range(n):
        w_end[i] = w[i]
    for d in range(a, b):
        r = returns0[d]
        row = held[d]
        gross = 0.0
        for i in range(n):
            row[i] = w_end[i]
            gross += row[i] * r[i]
        daily[GROSS, d] = gross
        daily[NET, d] = gross
        if drift:  # quantities fixed: w_i = w_exec,i · G_i / V after this session
            pnl = 0.0
            for i in range(n):
                growth[i] *= 1.0 + r[i]
                pnl += (growth[i] - 1.0) * w[i]
            nav = 1.0 + pnl
            for i in range(n):
                w_end[i] = w[i] * (growth[i] / nav)
    daily[COST, a] = cost
    daily[TRADED, a] = traded
    daily[NET, a] -= cost


@njit(**_JIT)
def book_rebalances(w_rt, returns0, costs0, spans, sessions, mode, precomputed, drift, params, notional,
                    rule, regime_scalars, corr20, corr60, start, table, wealth, decisions, carry,
                    steps, held, daily, scalars):
    """The rebalance loop of `simulate` (its docstring): at rebalance j book period j−1, advance
    the allocator through session t_j, `w_alloc[j] = w_rt[j] · s[t_{j−1}]`, execute.

    Writes `steps` [5, R, N] (allocated, capped, gross-capped, buffered, executed), `held` [T, N],
    `daily` [4, T] (gross, cost, traded, net), `scalars` [2, R] (applied, at the rebalance) and,
    in `SCALAR_COMPUTE` mode, the allocator's tables (`table`, `wealth`, `decisions`, `carry`).
    Returns −1, or the first session whose net P&L is not finite (the allocator refuses it)."""
    n_reb, n = w_rt.shape
    w_end = np.zeros(n)
    no_weights = np.zeros(n)
    step_rows = np.empty((4, n))
    enter = (rule[0], rule[1], rule[2], rule[3])
    exit_ = (rule[4], rule[5], rule[6], rule[7])
    dd_stress, dd_crisis, alpha, minimum = rule[8], rule[9], rule[10], rule[11]
    min_sessions = int(rule[12])
    s_prev, next_session = 1.0, 0
    equity, equity_upto = 1.0, -1
    for j in range(n_reb + 1):
        if j:
            k = j - 1
            a, b = spans[k, 0], spans[k, 1]
            if a < b:
                book_period(steps[EXECUTED, k], w_end, returns0, costs0[k], a, b, drift, held, daily, w_end)
        if j == n_reb:
            break
        t = sessions[j]
        if mode == SCALAR_COMPUTE:
            if t >= next_session:
                for d in range(max(next_session, start), t + 1):
                    if not math.isfinite(daily[NET, d]):
                        return d
                advance_features(daily[NET], next_session, t, start, corr20, corr60, table, wealth)
                advance_regime(table, next_session, t, enter, exit_, dd_stress, dd_crisis, regime_scalars, alpha,
                               minimum, min_sessions, decisions, carry)
                next_session = t + 1
            s_now, applied = decisions[t, SCALAR], s_prev
        elif mode == SCALAR_PRECOMPUTED:
            s_now, applied = precomputed[j], (precomputed[j - 1] if j else 1.0)
        else:
            s_now, applied = 1.0, 1.0
        scalars[0, j], scalars[1, j] = applied, s_now
        w_alloc = steps[ALLOCATED, j]
        for i in range(n):
            w_alloc[i] = w_rt[j, i] * applied
        nav = 1.0
        if not math.isnan(params[CAPITAL]):
            # NAV at the close of t: the equity through t is known (periods before j are booked).
            growth = 1.0
            for d in range(equity_upto + 1, t + 1):
                growth *= 1.0 + daily[NET, d]
            equity *= growth
            equity_upto = t
            nav = params[CAPITAL] * equity
        execute(w_alloc, steps[EXECUTED, j - 1] if j else no_weights, notional[j] if notional.shape[0] else no_weights,
                nav, params, step_rows)
        for s in range(4):
            steps[CAPPED + s, j] = step_rows[s]
        s_prev = s_now
    return -1
