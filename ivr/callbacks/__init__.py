"""Callbacks: the jobs that place them, and the calls' outcomes."""
