"""Design tools: split an asset into parts, and link parts into a robot."""
