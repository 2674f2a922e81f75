"""Departments, office hours, holidays, transfer targets, callback slots and escalation.

Pure functions over a loaded flow and aware datetimes: no I/O, no clock.
"""
