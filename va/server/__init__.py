"""`va server`: the websocket app (``app``), its HTTP side (``http``: health, token, TLS) and the
batching worker that runs the engine (``transcriber``), shared with the Wyoming endpoint for
Home Assistant (``wyoming``)."""
