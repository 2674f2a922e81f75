"""What the citizen may do to their report in each status (issue 23), the same by phone
and by SMS: add a note while it is open, close it while it is open or resolved (the problem
went away), reopen it once resolved or closed (the problem is still there)."""

from __future__ import annotations

OPEN = ("registered", "in_progress")
CLOSABLE = (*OPEN, "resolved")
REOPENABLE = ("resolved", "closed")
REOPENED = "in_progress"
"""Where a reopened report goes: back to the department's work."""
