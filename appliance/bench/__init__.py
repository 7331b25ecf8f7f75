"""`appliance bench ...`: measurements recorded in docs/benchmarks.md."""
