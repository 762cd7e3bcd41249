"""The `qers` command line."""
