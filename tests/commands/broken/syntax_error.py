"""A command module with a syntax error: loading it must fail on its own."""


def fine() -> str:
    return "fine"


def broken(:
    pass
