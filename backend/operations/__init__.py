"""Operations: what the platform tells the people who run it (metrics)."""
