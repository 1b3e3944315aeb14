"""What is computed on matches: the operating point, the confusion matrix, the bootstrap,
comparisons of two models."""
