"""Personal data: what is held about a phone number (export), erasing it, and retention."""
