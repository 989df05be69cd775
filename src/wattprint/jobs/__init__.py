"""Multi-node jobs: one measuring process per node, one job record (``JobTracker``,
``wattprint job``). See docs/multi-node.md."""
