"""Callbacks: the seed's payloads, signed, delivered by jobs, to allowed addresses only."""
