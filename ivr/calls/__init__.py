"""Calls: the runner that stores and replays them, its storage actions, the stale-call sweep
and the turns a supervisor reads."""
