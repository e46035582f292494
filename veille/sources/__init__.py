"""Collection: fetch sources, parse each access method into one item type, normalise, dedupe."""
