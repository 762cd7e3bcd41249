"""Runs: the `runs` tag's API, the run service, requests, records, artifacts and the run store."""
