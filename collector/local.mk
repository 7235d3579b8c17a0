# collector: fragment owned by the collector module.
