"""Statuses and their moves: the status and job-state enums with their transition tables (states,
pure), the one way to change a status (changes: compare-and-set, durations stored), how long an
ended instance took (durations), and the signals a change fires (events)."""
