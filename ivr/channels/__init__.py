"""Channels adapt a phone line to the engine: they turn what happens on the line into events
and carry out the line actions. A channel never holds dialog logic."""
