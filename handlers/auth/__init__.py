"""Authentication and roles: API keys, JWT bearer tokens, the operation → role table."""
