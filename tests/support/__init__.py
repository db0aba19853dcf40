"""Test helpers shared by integration tests, end-to-end tests and benchmarks."""
