"""A firing's life: recorded as a run, decided under row locks, read back, swept up."""
