"""`/api/design`: segment an asset into parts, assemble them into a linkage, export a URDF."""
