"""va: a voice assistant that runs Python functions when you speak."""

__version__ = "0.1.0"


def say(text: str) -> bool:
    """Speak `text` on the client running this command, now or later (a timer that rings).

    Returns False when speech is off (``speech.enabled: false``) or no client runs here."""
    from va.client.speech.voice import say as speak

    return speak(text)
