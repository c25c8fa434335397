"""`va server`: the websocket app (``app``), its HTTP side (``http``: health, token, TLS) and the
batching worker that runs the engine (``transcriber``). Rooms of their own: reading utterances as
commands (``recognition``), the household of clients (``household``) and Home Assistant
(``homeassistant``: Wyoming, zeroconf)."""
