"""The compiled annealing kernel of `backend.planning.fast`, in the order a move goes through it.

`rng` draws numbers, `arrays` holds the model and the search state as flat arrays, `routes` edits the route
matrix, `moves` proposes the five moves, `timing` re-times a schedule (fully or only the affected cone) and
`anneal` runs the annealing loop. `jit` says how numba compiles them (plain Python without numba).
"""
