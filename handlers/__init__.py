"""The QERS service: app wiring, handlers, middleware, errors, logging and the CLI."""
