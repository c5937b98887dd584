"""The scheduler process: one loop per pod that keeps work moving."""
