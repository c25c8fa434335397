"""Understanding a transcript, as pure functions: words, numbers, arguments, matching, grammar."""
