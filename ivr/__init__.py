"""civicline: a phone IVR for city halls.

`ivr.engine` is the pure call engine; the rest of `ivr` is the shell around it: settings,
storage, jobs, the CLI and the web application.
"""
