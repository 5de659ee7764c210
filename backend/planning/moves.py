"""Neighbourhood moves: each proposes replacement lists for the routes it changes (or None)."""

from __future__ import annotations

import random

from backend.planning.schedule import Model

Proposal = dict[int, list[int]]


def guided_position(route: list[int], start: list[float], target: float, rng: random.Random) -> int:
    """Insertion index near where `target` falls among the route's current start times."""
    pos = 0
    for t in route:
        if start[t] < target:
            pos += 1
        else:
            break
    pos += rng.randint(-1, 1)
    return min(max(pos, 0), len(route))


def insert_position(route: list[int], start: list[float], target: float, rng: random.Random) -> int:
    """Either a time-guided or a uniform insertion index."""
    if rng.random() < 0.7:
        return guided_position(route, start, target, rng)
    return rng.randint(0, len(route))


def relocate(
    model: Model, routes: list[list[int]], where: list[int], start: list[float], rng: random.Random
) -> Proposal | None:
    """Move one task to another position, possibly in another qualified caregiver's route."""
    t = rng.randrange(model.n_tasks)
    a = where[t]
    b = rng.choice(model.allowed[t])
    p = model.partner[t]
    if p >= 0 and where[p] == b:
        return None  # the two services of a patient need two different caregivers
    src = routes[a][:]
    i = src.index(t)
    del src[i]
    if a == b:
        j = insert_position(src, start, model.earliest[t] if rng.random() < 0.3 else start[t], rng)
        if j == i:
            return None
        src.insert(j, t)
        return {a: src}
    dst = routes[b][:]
    dst.insert(insert_position(dst, start, start[t] if rng.random() < 0.5 else model.earliest[t], rng), t)
    return {a: src, b: dst}


def swap(
    model: Model, routes: list[list[int]], where: list[int], start: list[float], rng: random.Random
) -> Proposal | None:
    """Exchange two tasks (in one route or across two routes whose caregivers can do each other's task)."""
    t1 = rng.randrange(model.n_tasks)
    a = where[t1]
    b = rng.choice(model.allowed[t1])
    rb = routes[b]
    if not rb:
        return None
    t2 = rb[rng.randrange(len(rb))]
    if t2 == t1 or not model.can[t2][a]:
        return None
    if a == b:
        r = rb[:]
        i, j = r.index(t1), r.index(t2)
        r[i], r[j] = t2, t1
        return {a: r}
    p1, p2 = model.partner[t1], model.partner[t2]
    if (p1 >= 0 and where[p1] == b) or (p2 >= 0 and where[p2] == a):
        return None
    ra, rb2 = routes[a][:], rb[:]
    ra[ra.index(t1)] = t2
    rb2[rb2.index(t2)] = t1
    return {a: ra, b: rb2}


def pair_move(
    model: Model, routes: list[list[int]], where: list[int], start: list[float], rng: random.Random
) -> Proposal | None:
    """Reassign both tasks of a synchronised patient to (possibly) new caregivers and positions."""
    t1 = rng.randrange(model.n_tasks)
    t2 = model.partner[t1]
    if t2 < 0:
        return relocate(model, routes, where, start, rng)
    b1 = rng.choice(model.allowed[t1])
    b2 = rng.choice(model.allowed[t2])
    if b1 == b2:
        return None
    out: Proposal = {}
    for k in {where[t1], where[t2], b1, b2}:
        out[k] = [x for x in routes[k] if x != t1 and x != t2]
    target = start[t1] if rng.random() < 0.5 else model.earliest[t1]
    r1 = out[b1]
    r1.insert(insert_position(r1, start, target, rng), t1)
    r2 = out[b2]
    j = insert_position(r2, start, start[t2] if rng.random() < 0.5 else target, rng)
    r2.insert(j, t2)
    return out


def two_opt(
    model: Model, routes: list[list[int]], where: list[int], start: list[float], rng: random.Random
) -> Proposal | None:
    """Reverse a short segment inside one route."""
    k = rng.randrange(len(routes))
    r = routes[k]
    if len(r) < 3:
        return None
    i = rng.randrange(len(r) - 1)
    j = min(len(r), i + rng.randint(2, 4))
    new = r[:i] + r[i:j][::-1] + r[j:]
    return {k: new}


def cross_exchange(
    model: Model, routes: list[list[int]], where: list[int], start: list[float], rng: random.Random
) -> Proposal | None:
    """Exchange route tails after a common time point between two caregivers (2-opt*), if abilities allow."""
    a = rng.randrange(len(routes))
    b = rng.randrange(len(routes))
    if a == b:
        return None
    ra, rb = routes[a], routes[b]
    if not ra and not rb:
        return None
    pivot = start[ra[rng.randrange(len(ra))]] if ra else start[rb[rng.randrange(len(rb))]]
    i = sum(1 for t in ra if start[t] < pivot) + rng.randint(0, 1)
    j = sum(1 for t in rb if start[t] < pivot) + rng.randint(0, 1)
    i, j = min(i, len(ra)), min(j, len(rb))
    tail_a, tail_b = ra[i:], rb[j:]
    if not tail_a and not tail_b:
        return None
    can = model.can
    if any(not can[t][b] for t in tail_a) or any(not can[t][a] for t in tail_b):
        return None
    partner, new_a, new_b = model.partner, ra[:i] + tail_b, rb[:j] + tail_a
    for tail, route in ((tail_b, new_a), (tail_a, new_b)):
        for t in tail:
            if partner[t] >= 0 and partner[t] in route:
                return None
    return {a: new_a, b: new_b}


def pair_shift(
    model: Model, routes: list[list[int]], where: list[int], start: list[float], rng: random.Random
) -> Proposal | None:
    """Move a synchronised patient earlier or later in both of its caregivers' routes at once."""
    t1 = rng.randrange(model.n_tasks)
    t2 = model.partner[t1]
    if t2 < 0:
        return two_opt(model, routes, where, start, rng)
    target = start[t1] + rng.uniform(-90.0, 90.0)
    out: Proposal = {}
    for t in (t1, t2):
        k = where[t]
        r = [x for x in routes[k] if x != t]
        r.insert(guided_position(r, start, target, rng), t)
        out[k] = r
    return out
