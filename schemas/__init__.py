"""The event contract of the migration chain: Avro schemas, topic catalogue, wire codec.

Everything else (producers, processors, projections) imports this package; it imports nothing of
theirs.
"""
