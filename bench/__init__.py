"""Switchboard benchmarks: cold start, AWS calls per request, local end-to-end throughput."""
