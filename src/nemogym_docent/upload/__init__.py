"""Sending runs to a Docent collection: keys, the client, exactly once."""
