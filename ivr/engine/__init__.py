"""The call engine: one session per call, events in, actions out. No I/O, no clock."""
