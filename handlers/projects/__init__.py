"""Projects: named groups of assets, runs and batches; archived ones take no new work."""
