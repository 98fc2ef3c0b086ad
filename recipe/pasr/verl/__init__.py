"""verl 0.9.1 glue: reward manager, group hook in the agent loop, training metrics."""
