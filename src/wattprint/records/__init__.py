"""What a run leaves behind: the record's dataclasses (and, later, the store and exporters)."""
