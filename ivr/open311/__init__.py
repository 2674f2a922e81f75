"""Open311 GeoReport v2 (README "Open311"): the server's logic (services from the flow,
requests from tickets, reports filed by POST, API keys, rate limits) and the push of phone
tickets to a city's own GeoReport endpoint. The HTTP routes live in `webhooks/open311.py`."""
