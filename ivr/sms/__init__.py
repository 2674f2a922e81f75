"""The SMS conversation (pure) and the inbound shell around it."""
