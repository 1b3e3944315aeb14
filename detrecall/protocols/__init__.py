"""Evaluation protocols built on the one matcher and aggregator."""
