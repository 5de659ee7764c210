"""How the kernel is compiled with numba (plain Python without it).

Every kernel function is compiled without numba's reference counting (`_nrt=False`): the kernel allocates
nothing (its buffers come from `arrays`), so reading an array out of one of the `arrays` tuples is a plain load,
not the pair of atomic operations it would otherwise cost on every call of a helper. Helpers are `inline`d
into their callers (no call, no copying of the model's arrays into it); the timing passes are `separate`
functions (large, and called only for the moves worth re-timing), which keeps the first compilation short.
numba's disk cache checks only the entry point's own file for changes, not the files of the helpers it calls:
`compile_entry` fingerprints every file of this package and drops the cached entry point when one changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

try:  # pragma: no cover - depends on the environment
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

F = TypeVar("F", bound=Callable[..., Any])
# numba's options for every kernel function: no reference counting (see above).
OPTIONS: dict[str, Any] = {"nogil": True, "_nrt": False}


def inline(func: F) -> F:
    """`func` compiled into each compiled caller (numba's inline="always"); unchanged without numba."""
    if not HAVE_NUMBA:
        return func
    return cast(F, numba.njit(inline="always", **OPTIONS)(func))


def separate(func: F) -> F:
    """`func` compiled by numba as a function of its own when a compiled caller first needs it."""
    if not HAVE_NUMBA:
        return func
    return cast(F, numba.njit(**OPTIONS)(func))


def compile_entry(func: Callable[..., Any]) -> Any:
    """`func` compiled by numba and cached on disk (next to this package, else in the user's cache directory);
    compiled in memory, once per process, when neither is writable (a read-only image)."""
    try:
        entry = numba.njit(cache=True, **OPTIONS)(func)
    except RuntimeError:
        return numba.njit(cache=False, **OPTIONS)(func)
    _drop_if_stale(entry)
    return entry


def _drop_if_stale(entry: Any) -> None:
    """Empty `entry`'s disk cache when a file of this package changed since it was written."""
    cache = getattr(entry, "_cache", None)
    folder = getattr(cache, "cache_path", None)
    if cache is None or folder is None:
        return
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    mark = Path(folder) / f"{entry.py_func.__module__}.{entry.py_func.__qualname__}.sources"
    try:
        if mark.is_file() and mark.read_text() == digest.hexdigest():
            return
        cache.flush()
        mark.write_text(digest.hexdigest())
    except OSError:  # the folder cannot be written after all: numba falls back the same way
        return
