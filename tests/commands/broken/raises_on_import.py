"""A command module that fails while being imported."""

raise ImportError("this pack needs a library that is not installed")
