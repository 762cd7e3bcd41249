"""Health: version, engine and storage probes, the job backend."""
