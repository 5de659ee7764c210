"""The work order's record and its life: the order, its visit and proofs, its history, the transitions it may make
and its service-level deadlines. Every domain that acts on orders builds on this package; taking, changing and
showing orders through the API is ``backend.requests``, above them all."""
