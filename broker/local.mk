# broker: fragment owned by the broker module.
