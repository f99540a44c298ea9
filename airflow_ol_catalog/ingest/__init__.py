"""The write path: namespaces, tokens, and storing accepted events."""
