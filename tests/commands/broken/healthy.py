"""Loads fine next to its broken neighbours."""


def still_works() -> str:
    """Prove a broken module does not stop the others."""
    return "still works"
