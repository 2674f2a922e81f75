"""callflows.yaml: its schema, loader, validator and the registry of loaded versions."""
