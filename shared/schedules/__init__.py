"""Cron schedules: parsing, the time walk, catch-up, the due scan and its pages."""
