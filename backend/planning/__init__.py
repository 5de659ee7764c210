"""Home health care routing and scheduling (HHCRSP) planner."""
