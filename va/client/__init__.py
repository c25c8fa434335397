"""The client daemon: audio in, phrases to the speech server, transcripts to commands.

- ``microphone``: audio sources (a PyAudio microphone, or files for ``--input``) and ``va devices``.
- ``listener``: the thread that cuts the audio into phrases with SpeechRecognition's energy detector.
- ``outbox``: the phrases waiting for the server: a bounded queue, exactly one reply each.
- ``link``: the websocket to the server: failover, reconnect, the hello.
- ``decide``: what a transcript leads to (nothing, a dry run, a command) and how a run ended.
- ``record``: the one journald record each phrase leaves.
- ``assistant``: the service that ties them to the commands (``va client``: va.cli.client).

Nothing here imports the speech engines (torch, whisper, ctranslate2): the client runs on small
machines and leaves transcription to the server.
"""
