"""The fault campaign (issue 9): interrupts, crashes, concurrent operators, outages, API faults,
fuzzed input, secret canaries and torn writes, each against the rehearsal services with real
terraform. Figures and rerun commands: docs/reliability.md."""
