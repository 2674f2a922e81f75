"""Appointments at a counter outside the call: the day-before reminder job."""
