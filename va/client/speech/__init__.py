"""va speaks: replies read aloud by Piper (``tts``), short sounds for what happened (``sounds``),
played on an output device (``player``), with the microphone gated while it plays so va never
hears itself (``gate``); ``voice`` ties them to the assistant."""
