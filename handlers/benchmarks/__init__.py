"""The sim-to-real gap benchmark: the suite, its report, and the API that serves it."""
