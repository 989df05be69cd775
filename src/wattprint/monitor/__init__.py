"""Fleet monitoring: ``wattprint monitor`` (a Prometheus target for the whole machine) and
``wattprint run --push`` (a batch run's totals to a Pushgateway). Needs the ``monitor`` extra
(``prometheus-client``); nothing here is imported by ``import wattprint``."""
