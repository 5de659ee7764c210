"""The five moves of `planning.moves` on the route matrix: relocate, swap, pair move, segment reversal, tail
exchange. Each backs up the routes it changes (`routes.save`) and returns how many: 0 when it proposes nothing."""

from __future__ import annotations

from typing import Any

from backend.planning.kernel.arrays import Backup, ModelArrays, Routes
from backend.planning.kernel.jit import inline
from backend.planning.kernel.rng import below, rnd
from backend.planning.kernel.routes import insert_at, insert_position, remove_at, restore, save


@inline
def propose(m: ModelArrays, rt: Routes, bk: Backup, start: Any, rs: Any, cum: Any) -> int:
    """Draw a move by its weight (`cum`, cumulated) and a task, and make it; the number of routes changed."""
    u = rnd(rs) * cum[cum.shape[0] - 1]
    move = 0
    while cum[move] < u:
        move += 1
    t = below(rs, m.node.shape[0])
    if move == 2 and m.partner[t] < 0:
        move = 0  # a pair move on a single service is a relocation
    if move == 0:
        return relocate(m, rt, bk, start, rs, t)
    if move == 1:
        return swap(m, rt, bk, rs, t)
    if move == 2:
        return pair_move(m, rt, bk, start, rs, t)
    if move == 3:
        return reverse_segment(rt, bk, rs)
    return exchange_tails(m, rt, bk, start, rs)


@inline
def _allowed_caregiver(m: ModelArrays, rs: Any, t: int) -> int:
    """A caregiver drawn among those allowed to do task t."""
    return int(m.al_idx[m.al_ptr[t] + below(rs, m.al_ptr[t + 1] - m.al_ptr[t])])


@inline
def relocate(m: ModelArrays, rt: Routes, bk: Backup, start: Any, rs: Any, t: int) -> int:
    """Move task t to another place in its route or into an allowed caregiver's route."""
    R, L = rt.R, rt.L
    a = rt.where[t]
    b = _allowed_caregiver(m, rs, t)
    p = m.partner[t]
    if p >= 0 and rt.where[p] == b:
        return 0
    nm = save(rt, a, bk, 0)
    i = rt.pos[t]
    remove_at(R, L, a, i)
    if a == b:
        target = m.earliest[t] if rnd(rs) < 0.3 else start[t]
        j = insert_position(R, L, a, start, target, rs)
        if j == i:
            restore(rt, bk, nm)
            return 0
        insert_at(R, L, a, j, t)
    else:
        nm = save(rt, b, bk, nm)
        target = start[t] if rnd(rs) < 0.5 else m.earliest[t]
        insert_at(R, L, b, insert_position(R, L, b, start, target, rs), t)
    return nm


@inline
def swap(m: ModelArrays, rt: Routes, bk: Backup, rs: Any, t: int) -> int:
    """Swap task t with a task of an allowed caregiver's route (her own included)."""
    R, L, where, pos = rt.R, rt.L, rt.where, rt.pos
    a = where[t]
    b = _allowed_caregiver(m, rs, t)
    if L[b] == 0:
        return 0
    t2 = R[b, below(rs, L[b])]
    if t2 == t or m.can[t2, a] == 0:
        return 0
    if a == b:
        nm = save(rt, a, bk, 0)
        R[a, pos[t]] = t2
        R[a, pos[t2]] = t
        return nm
    p1 = m.partner[t]
    p2 = m.partner[t2]
    if (p1 >= 0 and where[p1] == b) or (p2 >= 0 and where[p2] == a):
        return 0
    nm = save(rt, a, bk, 0)
    nm = save(rt, b, bk, nm)
    R[a, pos[t]] = t2
    R[b, pos[t2]] = t
    return nm


@inline
def pair_move(m: ModelArrays, rt: Routes, bk: Backup, start: Any, rs: Any, t: int) -> int:
    """Move both tasks of t's double service to two different allowed caregivers."""
    R, L = rt.R, rt.L
    t2 = m.partner[t]
    b1 = _allowed_caregiver(m, rs, t)
    b2 = _allowed_caregiver(m, rs, t2)
    if b1 == b2:
        return 0
    ka = rt.where[t]
    kb = rt.where[t2]
    nm = save(rt, ka, bk, 0)
    nm = save(rt, kb, bk, nm)
    nm = save(rt, b1, bk, nm)
    nm = save(rt, b2, bk, nm)
    remove_at(R, L, ka, rt.pos[t])
    if kb == ka:
        j = 0
        while R[kb, j] != t2:
            j += 1
        remove_at(R, L, kb, j)
    else:
        remove_at(R, L, kb, rt.pos[t2])
    target = start[t] if rnd(rs) < 0.5 else m.earliest[t]
    insert_at(R, L, b1, insert_position(R, L, b1, start, target, rs), t)
    target2 = start[t2] if rnd(rs) < 0.5 else target
    insert_at(R, L, b2, insert_position(R, L, b2, start, target2, rs), t2)
    return nm


@inline
def reverse_segment(rt: Routes, bk: Backup, rs: Any) -> int:
    """Reverse two to four consecutive tasks of a random route."""
    R, L = rt.R, rt.L
    k = below(rs, L.shape[0])
    n = L[k]
    if n < 3:
        return 0
    i = below(rs, n - 1)
    j = i + 2 + below(rs, 3)
    if j > n:
        j = n
    nm = save(rt, k, bk, 0)
    lo = i
    hi = j - 1
    while lo < hi:
        x = R[k, lo]
        R[k, lo] = R[k, hi]
        R[k, hi] = x
        lo += 1
        hi -= 1
    return nm


@inline
def exchange_tails(m: ModelArrays, rt: Routes, bk: Backup, start: Any, rs: Any) -> int:
    """Exchange the tails of two random routes, cut near the start time of one of their tasks."""
    R, L = rt.R, rt.L
    K = L.shape[0]
    a = below(rs, K)
    b = below(rs, K)
    if a == b:
        return 0
    na = L[a]
    nb = L[b]
    if na == 0 and nb == 0:
        return 0
    pivot = start[R[a, below(rs, na)]] if na > 0 else start[R[b, below(rs, nb)]]
    i = _count_before(R, L, a, start, pivot) + below(rs, 2)
    j = _count_before(R, L, b, start, pivot) + below(rs, 2)
    if i > na:
        i = na
    if j > nb:
        j = nb
    if i == na and j == nb:
        return 0
    if not _tail_fits(m, rt, a, i, b, j) or not _tail_fits(m, rt, b, j, a, i):
        return 0
    nm = save(rt, a, bk, 0)
    nm = save(rt, b, bk, nm)
    # mods[0] = a (backup row 0), mods[1] = b (backup row 1)
    x = i
    for y in range(j, nb):
        R[a, x] = bk.BK[1, y]
        x += 1
    L[a] = x
    x = j
    for y in range(i, na):
        R[b, x] = bk.BK[0, y]
        x += 1
    L[b] = x
    return nm


@inline
def _count_before(R: Any, L: Any, k: int, start: Any, pivot: float) -> int:
    """How many tasks of route k start before `pivot`."""
    c = 0
    for x in range(L[k]):
        if start[R[k, x]] < pivot:
            c += 1
    return c


@inline
def _tail_fits(m: ModelArrays, rt: Routes, a: int, i: int, b: int, j: int) -> bool:
    """Whether route a's tasks from position i on may join route b after its first j tasks."""
    for x in range(i, rt.L[a]):
        tt = rt.R[a, x]
        if m.can[tt, b] == 0:
            return False
        p = m.partner[tt]
        # the partner would share route b: it is in b's head, or it moves to a with b's tail
        if p >= 0 and rt.where[p] == b and rt.pos[p] < j:
            return False
    return True
