"""Reading an utterance as a command: the grammar-guided recognizer (``recognizer``) and the forced
prefixes it decodes from (``prefixes``)."""
