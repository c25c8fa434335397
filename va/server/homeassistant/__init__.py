"""Home Assistant's side of the server: the Wyoming endpoint (``wyoming``), what it announces in
``info`` (``info``), the audio it reads (``audio_input``) and its zeroconf announcement
(``announce``)."""
