"""`va server`: the websocket app (``app``), its HTTP side (``http``: health, token, TLS) and the
batching worker that runs the engine (``transcriber``)."""
