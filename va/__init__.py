"""va: a voice assistant that runs Python functions when you speak."""

__version__ = "0.1.0"
