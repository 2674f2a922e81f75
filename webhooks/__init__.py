"""The HTTP/WebSocket edge (Twilio webhooks, Media Streams, browser stream)."""
