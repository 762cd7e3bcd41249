"""Batches across reality profiles with domain randomisation, their reports, and compare."""
